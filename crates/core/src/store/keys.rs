//! Signing keys.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::model::{AuditEvent, SigningKey};

#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key, oldest first.
    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Inserts the new keys and replaces the changed ones in one transaction (a rotation).
    /// `Conflict("kid")` if an inserted kid exists; `NotFound("key")` if an updated one does not.
    async fn save_keys(&self, insert: &[SigningKey], update: &[SigningKey], audit: &[AuditEvent]) -> StoreResult<()>;
    /// Inserts `keys` only if there are no keys at all, atomically: of instances starting at once
    /// on an empty store exactly one creates the first keys (`true`); the others get `false` and
    /// use the winner's.
    async fn create_first_keys(&self, keys: &[SigningKey], audit: &[AuditEvent]) -> StoreResult<bool>;
}
