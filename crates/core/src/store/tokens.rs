//! Token families, refresh tokens and opaque access tokens.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::model::{AccessToken, AuditEvent, RefreshRotation, RefreshToken, TokenFamily};

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates a family with its first refresh token (if any) and opaque access token (if any).
    async fn create_family(
        &self,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
        access: Option<&AccessToken>,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    async fn get_family(&self, id: FamilyId) -> StoreResult<Option<TokenFamily>>;
    async fn get_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshToken>>;
    /// Marks `old` used and stores `new` (and its opaque access token) in one transaction, if
    /// `old` is unused and neither it nor its family is revoked. Atomic: of concurrent calls on
    /// one token exactly one gets `Rotated`.
    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshToken,
        access: Option<&AccessToken>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<RefreshRotation>;
    /// Revokes the family and every refresh and opaque access token in it; false if unknown.
    async fn revoke_family(&self, id: FamilyId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Revokes every family of the user (optionally only those of one client); returns how many.
    async fn revoke_families_of_user(
        &self,
        user: UserId,
        client: Option<&ClientId>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64>;
    /// Revokes every family of the client; returns how many.
    async fn revoke_families_of_client(
        &self,
        client: &ClientId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64>;
    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()>;
    async fn get_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessToken>>;
    async fn revoke_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;
}
