//! Starting the OAuth provider: the signing keys loaded (or created on first start), the audit
//! batcher, and the key upkeep: publishing next keys, rotating when due, and picking up keys
//! another instance rotated.

use std::sync::{Arc, Weak};
use std::time::Duration;

use keygate_core::Clock;
use keygate_core::crypto::SecretBox;
use keygate_core::oauth::{KeyError, KeyManager, TokenService};
use keygate_core::store::Stores;
use keygate_web::error::cause_chain;
use keygate_web::oauth::{OAuthOptions, OAuthState};

use super::audit_sink::BatchingAuditSink;

/// How often an instance looks for keys another instance rotated (one small query).
const KEY_CHANGE_POLL: Duration = Duration::from_secs(1);

/// Loads (or, on first start, creates) the signing keys, starts the audit writer and the key
/// upkeep timers (which stop when the state is dropped). Call within a Tokio runtime.
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
    let tokens = TokenService::new(stores, clock, keys.ring(), options.settings, sink);
    let state = Arc::new(OAuthState::new(tokens, keys, &options.scopes));
    spawn_key_upkeep(Arc::downgrade(&state), options.key_check_interval);
    Ok(state)
}

/// Publishes next keys, performs due rotations and picks up other instances' rotations (within
/// about a second, besides the full check every `every`). Stops when the state is dropped.
fn spawn_key_upkeep(state: Weak<OAuthState>, every: Duration) {
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
