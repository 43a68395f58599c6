//! OAuth clients.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::ClientId;
use crate::model::{AuditEvent, Client};
use crate::paging::{Page, PageRequest};

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Conflict("client_id")` if the id is taken.
    async fn create_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()>;
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>>;
    /// Replaces the stored record; `NotFound("client")` if it does not exist.
    async fn update_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Sets a new secret digest; `NotFound("client")` if it does not exist.
    async fn set_client_secret(
        &self,
        id: &ClientId,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Deletes the client with its consents, codes and token families; false if unknown.
    async fn delete_client(&self, id: &ClientId, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Clients ordered by id.
    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>>;
}
