//! The store traits, split by capability. Every backend (memory, SQLite, PostgreSQL) implements all
//! of them and passes the same contract tests.
//!
//! Mutations that a security action performs take `audit: &[AuditEvent]`: the backend writes those
//! events in the same transaction as the change, so the log never misses or invents an action.

use std::sync::Arc;

mod audit;
mod clients;
mod codes;
mod consents;
mod credentials;
mod email_tokens;
mod ephemeral;
mod keys;
mod maintenance;
mod pats;
mod sessions;
mod tokens;
mod users;

pub use audit::AuditStore;
pub use clients::ClientStore;
pub use codes::CodeStore;
pub use consents::ConsentStore;
pub use credentials::CredentialStore;
pub use email_tokens::EmailTokenStore;
pub use ephemeral::EphemeralStore;
pub use keys::SigningKeyStore;
pub use maintenance::{MaintenanceStore, PurgeReport, StoreStats};
pub use pats::PatStore;
pub use sessions::SessionStore;
pub use tokens::TokenStore;
pub use users::{UserFilter, UserStore};

/// Every store a running server uses, as trait objects so the backend is chosen at start-up.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub email_tokens: Arc<dyn EmailTokenStore>,
    pub clients: Arc<dyn ClientStore>,
    pub consents: Arc<dyn ConsentStore>,
    pub codes: Arc<dyn CodeStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub pats: Arc<dyn PatStore>,
    pub keys: Arc<dyn SigningKeyStore>,
    pub audit: Arc<dyn AuditStore>,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub maintenance: Arc<dyn MaintenanceStore>,
}

/// A backend that implements every durable capability; `Stores::from_backend` shares one instance.
pub trait DurableBackend:
    UserStore
    + CredentialStore
    + SessionStore
    + EmailTokenStore
    + ClientStore
    + ConsentStore
    + CodeStore
    + TokenStore
    + PatStore
    + SigningKeyStore
    + AuditStore
    + EphemeralStore
    + MaintenanceStore
{
}

impl<T> DurableBackend for T where
    T: UserStore
        + CredentialStore
        + SessionStore
        + EmailTokenStore
        + ClientStore
        + ConsentStore
        + CodeStore
        + TokenStore
        + PatStore
        + SigningKeyStore
        + AuditStore
        + EphemeralStore
        + MaintenanceStore
{
}

impl Stores {
    /// One backend serving every capability (the ephemeral store can be swapped afterwards, e.g. for Redis).
    pub fn from_backend<B: DurableBackend + 'static>(backend: Arc<B>) -> Self {
        Stores {
            users: backend.clone(),
            credentials: backend.clone(),
            sessions: backend.clone(),
            email_tokens: backend.clone(),
            clients: backend.clone(),
            consents: backend.clone(),
            codes: backend.clone(),
            tokens: backend.clone(),
            pats: backend.clone(),
            keys: backend.clone(),
            audit: backend.clone(),
            ephemeral: backend.clone(),
            maintenance: backend,
        }
    }
}
