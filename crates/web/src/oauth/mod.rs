//! The OAuth 2.1 / OpenID Connect endpoints: discovery, JWKS, authorize with consent, token,
//! introspection, revocation, userinfo and RP-initiated logout, plus the state they share
//! (token service, signing keys, discovery document) and its background upkeep.

mod audit_sink;
mod authorize;
mod consent;
mod discovery;
mod form;
mod logout;
mod respond;
mod response;
mod token;
mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use keygate_core::Clock;
use keygate_core::crypto::SecretBox;
use keygate_core::oauth::{KeyError, KeyManager, OAuthSettings, TokenService};
use keygate_core::store::Stores;

pub use audit_sink::BatchingAuditSink;
pub use form::{Params, client_credentials};
pub use response::{BearerError, TokenEndpointError, json_no_store, log_if_server_side, no_store};

use crate::error::cause_chain;
use crate::state::AppState;

/// What the OAuth endpoints need besides the shared state.
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
        let discovery = discovery::metadata(&options.settings, &options.scopes);
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

/// The OAuth routes. `/consent` sits behind the form CSRF layer; `/oauth2/authorize` cannot
/// (relying parties POST to it cross-site) and needs no CSRF protection: it changes nothing
/// without the user's consent, which is given on `/consent`.
pub fn routes(state: AppState) -> Router<AppState> {
    let consent = Router::new()
        .route("/consent", get(consent::consent_page).post(consent::consent_submit))
        .layer(axum::middleware::from_fn_with_state(state, crate::csrf::protect));
    Router::new()
        .merge(consent)
        .route(
            "/oauth2/authorize",
            get(authorize::authorize).post(authorize::authorize),
        )
        .route("/oauth2/logout", get(logout::logout))
        .route("/.well-known/openid-configuration", get(discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery::discovery))
        .route("/oauth2/jwks", get(discovery::jwks))
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/introspect", post(token::introspect))
        .route("/oauth2/revoke", post(token::revoke))
        .route("/oauth2/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
}
