//! The account service (no HTTP): registration, login with lockout and throttling, sessions,
//! email verification, password reset and change, TOTP, personal access tokens, export, erasure
//! and activity. The JSON API and the HTML pages both call it.

mod config;
mod emails;
mod error;
mod hasher;
mod lifecycle;
mod login;
mod mfa;
mod pats;
mod personal_data;
mod recovery;
mod register;
mod sessions;
mod throttle;
mod totp;
mod user_admin;

use std::sync::Arc;

use crate::clock::{Clock, Timestamp};
use crate::crypto::SecretBox;
use crate::ids::UserId;
use crate::mail::Mailer;
use crate::model::{AuditAction, AuditEvent, Outcome};
use crate::store::Stores;

pub use config::AccountsConfig;
pub use error::{AccountError, AccountResult};
pub use hasher::{HashError, InlineHasher, PasswordHasher};
pub use lifecycle::{NewUser, Operator};
pub use login::{LoginRequest, LoginSuccess, MfaPending, PasswordStep};
pub use pats::{CreatedPat, NewPat, PAT_SCOPES, SCOPE_ACCOUNT_READ, SCOPE_ACCOUNT_WRITE};
pub use personal_data::{AccountExport, Profile, activity_json};
pub use sessions::{Authenticated, SessionAuth};
pub use totp::TotpSetup;
pub use user_admin::{UserChanges, UserStatus};

/// Where a request came from, for audit rows, session records and per-IP counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's address (the socket peer, or X-Forwarded-For behind a trusted proxy).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The account service. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
    clock: Arc<dyn Clock>,
    hasher: Arc<dyn PasswordHasher>,
    mailer: Arc<dyn Mailer>,
    secret_box: Arc<SecretBox>,
    config: AccountsConfig,
    issuer: String,
}

/// Everything the service is built from.
pub struct AccountsDeps {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub mailer: Arc<dyn Mailer>,
    pub secret_box: Arc<SecretBox>,
    pub config: AccountsConfig,
    /// The issuer URL (no trailing slash): links in emails start with it.
    pub issuer: String,
}

impl Accounts {
    pub fn new(deps: AccountsDeps) -> Self {
        Accounts {
            inner: Arc::new(Inner {
                stores: deps.stores,
                clock: deps.clock,
                hasher: deps.hasher,
                mailer: deps.mailer,
                secret_box: deps.secret_box,
                config: deps.config,
                issuer: deps.issuer,
            }),
        }
    }

    pub fn config(&self) -> &AccountsConfig {
        &self.inner.config
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// An audit event about `user`, acted by that user, from this request.
    fn user_event(&self, action: AuditAction, user: UserId, outcome: Outcome, meta: &RequestMeta) -> AuditEvent {
        AuditEvent::new(action, format!("user:{user}"), outcome, self.now())
            .user(user)
            .from_request(meta.ip.clone(), meta.user_agent.clone())
    }
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("config", &self.inner.config)
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}
