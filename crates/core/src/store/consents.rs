//! Remembered consents.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::ids::{ClientId, UserId};
use crate::model::{AuditEvent, Consent};

#[async_trait]
pub trait ConsentStore: Send + Sync {
    async fn get_consent(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Consent>>;
    /// Inserts or replaces the consent of this user to this client, writing `audit` in the same
    /// transaction.
    async fn put_consent(&self, consent: &Consent, audit: &[AuditEvent]) -> StoreResult<()>;
    async fn delete_consent(&self, user: UserId, client: &ClientId) -> StoreResult<bool>;
    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>>;
}
