//! What the OAuth endpoints and the admin API share: the token service, the signing keys and the
//! discovery document, and their start-up (keys loaded or created, the audit writer, the key
//! upkeep timer).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use keygate_core::Clock;
use keygate_core::crypto::SecretBox;
use keygate_core::oauth::{KeyError, KeyManager, OAuthSettings, TokenService, discovery_document};
use keygate_core::store::Stores;

use super::audit_sink::BatchingAuditSink;
use crate::http::error::cause_chain;

/// The OAuth provider: token service, signing keys, discovery document.
pub struct OAuthState {
    pub tokens: TokenService,
    pub keys: KeyManager,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
}

/// OAuth settings from the server's configuration.
#[derive(Clone, Debug)]
pub struct OAuthOptions {
    pub settings: OAuthSettings,
    /// Scopes published in discovery (the standard ones plus any the operator defines).
    pub scopes: Vec<String>,
    /// How often the key set is checked (rotation due, keys rotated by another instance).
    pub key_check_interval: Duration,
}

impl OAuthState {
    /// Loads (or, on first start, creates) the signing keys, starts the audit writer and the key
    /// maintenance timer. Call within a Tokio runtime.
    pub async fn start(
        stores: Stores,
        clock: Arc<dyn Clock>,
        secret_box: Arc<SecretBox>,
        options: OAuthOptions,
    ) -> Result<Arc<OAuthState>, KeyError> {
        let keys = KeyManager::start(
            stores.keys.clone(),
            secret_box,
            clock.clone(),
            options.settings.rotation,
        )
        .await?;
        let sink = Arc::new(BatchingAuditSink::start(stores.audit.clone()));
        let discovery = Bytes::from(discovery_document(&options.settings, &options.scopes).to_string());
        let tokens = TokenService::new(stores, clock, keys.ring(), options.settings, sink);
        let state = Arc::new(OAuthState {
            tokens,
            keys,
            discovery,
        });
        spawn_key_upkeep(Arc::downgrade(&state), options.key_check_interval);
        Ok(state)
    }
}

/// How often an instance looks for keys another instance rotated (one small query).
const KEY_CHANGE_POLL: Duration = Duration::from_secs(1);

/// Publishes next keys, performs due rotations and picks up other instances' rotations (within
/// about a second, besides the full check every `every`). Stops when the state is dropped.
fn spawn_key_upkeep(state: std::sync::Weak<OAuthState>, every: Duration) {
    let watcher = state.clone();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(KEY_CHANGE_POLL);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            timer.tick().await;
            let Some(state) = watcher.upgrade() else { return };
            match state.keys.pick_up_changes().await {
                Ok(true) => tracing::info!("picked up signing keys changed by another instance"),
                Ok(false) => {}
                // The full check below logs failures; this one runs every second.
                Err(err) => tracing::debug!(error = %cause_chain(&err), "cannot check the signing keys"),
            }
        }
    });
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(every.max(Duration::from_secs(1)));
        timer.tick().await;
        loop {
            timer.tick().await;
            let Some(state) = state.upgrade() else { return };
            match state.keys.maintain().await {
                Ok(changes) if !changes.rotated.is_empty() => {
                    tracing::info!(algs = ?changes.rotated, "signing keys rotated on schedule");
                }
                Ok(_) => {}
                Err(err) => tracing::error!(error = %cause_chain(&err), "signing key maintenance failed"),
            }
        }
    });
}
