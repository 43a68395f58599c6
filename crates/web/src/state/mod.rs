//! The state every handler shares: stores, clock, metrics, the part of the configuration the web
//! layer needs, and the services behind the features (accounts, OAuth, admin settings, pages).
//! It imports the floor ([`crate::http`]) and core, never a feature module; the floor's
//! extractors reach their part of it through `FromRef`.

mod oauth;
mod ready;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keygate_core::Clock;
use keygate_core::crypto::SecretBox;
use keygate_core::mail::Mailer;
use keygate_core::operations::Operations;
use keygate_core::store::Stores;

use axum::extract::FromRef;

pub use oauth::{OAuthOptions, OAuthState};
pub use ready::{ReadinessProbe, ReadyCheck};

use crate::http::AccountsApi;
use crate::http::html::Pages;
use crate::http::metrics::{Metrics, MetricsToken};

/// Settings of the HTTP layer, taken from the server's configuration at start-up.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The issuer exactly as configured (no trailing slash). An `https` issuer also turns on HSTS.
    pub issuer: String,
    /// A request that takes longer is answered with 503.
    pub request_timeout: Duration,
    /// Requests with a larger body are answered with 413 before a handler reads them.
    pub body_limit_bytes: usize,
    /// How long `/health/ready` waits for a component before it counts it as down.
    pub ready_timeout: Duration,
    /// A folder whose page templates replace the built-in ones of the same name.
    pub templates_dir: Option<PathBuf>,
    /// When set, `/metrics` answers only requests carrying it as a bearer token.
    pub metrics_token: Option<MetricsToken>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            issuer: "http://127.0.0.1:8080".to_owned(),
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            ready_timeout: Duration::from_secs(2),
            templates_dir: None,
            metrics_token: None,
        }
    }
}

/// The admin settings from configuration.
#[derive(Clone, Default)]
pub struct AdminSettings {
    /// `admin_token` (at least 32 characters), if configured.
    pub token: Option<String>,
}

impl std::fmt::Debug for AdminSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSettings")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Cheap to clone: one shared allocation, since axum clones the state for every extractor and
/// middleware of every request. Its parts are reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct AppParts {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<WebConfig>,
    pub metrics: Metrics,
    /// The encryption key for secrets at rest (TOTP secrets, private signing keys).
    pub secret_box: Arc<SecretBox>,
    /// Outgoing email (sends in the background: a slow mail server never delays an answer).
    pub mailer: Arc<dyn Mailer>,
    /// The account service and the account API's settings.
    pub accounts: Arc<AccountsApi>,
    /// The OAuth provider: token service, signing keys, discovery document.
    pub oauth: Arc<OAuthState>,
    /// The admin API's bearer token.
    pub admin: Arc<AdminSettings>,
    /// Operator actions (clients, revocation, stats, audit log, readiness of the database).
    pub operations: Arc<Operations>,
    /// The HTML pages' templates and cookie settings.
    pub pages: Arc<Pages>,
    /// Backends besides the database that `/health/ready` asks (see [`AppState::with_ready_check`]).
    pub ready_checks: Arc<[ReadyCheck]>,
}

/// The parts of [`AppState`] beyond stores, clock, configuration and metrics.
pub struct Services {
    pub secret_box: Arc<SecretBox>,
    pub mailer: Arc<dyn Mailer>,
    pub accounts: Arc<AccountsApi>,
    pub oauth: Arc<OAuthState>,
    pub admin: Arc<AdminSettings>,
}

impl AppState {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, config: WebConfig, metrics: Metrics, services: Services) -> Self {
        let pages = Arc::new(Pages::new(&config.issuer, config.templates_dir.clone()));
        let operations = Arc::new(Operations::new(stores.clone(), clock.clone()));
        AppState(Arc::new(AppParts {
            stores,
            clock,
            config: Arc::new(config),
            metrics,
            secret_box: services.secret_box,
            mailer: services.mailer,
            accounts: services.accounts,
            oauth: services.oauth,
            admin: services.admin,
            operations,
            pages,
            ready_checks: Arc::new([]),
        }))
    }

    /// Adds a component to `/health/ready`.
    pub fn with_ready_check(mut self, check: ReadyCheck) -> Self {
        let mut checks = self.ready_checks.to_vec();
        checks.push(check);
        Arc::make_mut(&mut self.0).ready_checks = checks.into();
        self
    }
}

impl FromRef<AppState> for Arc<AccountsApi> {
    fn from_ref(state: &AppState) -> Self {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for Arc<Pages> {
    fn from_ref(state: &AppState) -> Self {
        state.pages.clone()
    }
}
