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
    /// Applies a change planned from `seen` (the keys as `list_keys` returned them) only if the
    /// stored keys are still exactly `seen`, atomically. Of instances that plan at once (creating
    /// the first keys from an empty store, a scheduled rotation, publishing next keys) exactly one
    /// applies its plan (`true`); the others get `false`, store nothing and reload.
    async fn save_keys_if_unchanged(
        &self,
        seen: &[SigningKey],
        insert: &[SigningKey],
        update: &[SigningKey],
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;
}
