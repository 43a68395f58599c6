//! Remembered consents.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::ids::{ClientId, UserId};
use crate::model::Consent;

#[async_trait]
pub trait ConsentStore: Send + Sync {
    async fn get_consent(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Consent>>;
    /// Inserts or replaces the consent of this user to this client.
    async fn put_consent(&self, consent: &Consent) -> StoreResult<()>;
    async fn delete_consent(&self, user: UserId, client: &ClientId) -> StoreResult<bool>;
    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>>;
}
