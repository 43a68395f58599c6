//! Personal access tokens.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::{PatId, UserId};
use crate::model::{AuditEvent, PersonalAccessToken};

#[async_trait]
pub trait PatStore: Send + Sync {
    async fn create_pat(&self, pat: &PersonalAccessToken, audit: &[AuditEvent]) -> StoreResult<()>;
    async fn get_pat_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<PersonalAccessToken>>;
    /// The user's tokens, revoked ones excluded, newest first.
    async fn list_pats_of_user(&self, user: UserId) -> StoreResult<Vec<PersonalAccessToken>>;
    /// Revokes one of the user's tokens; false if it is not theirs, unknown or already revoked.
    async fn revoke_pat(&self, user: UserId, id: PatId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Records a use. Callers throttle this (at most once a minute per token).
    async fn touch_pat(&self, id: PatId, now: Timestamp) -> StoreResult<()>;
}
