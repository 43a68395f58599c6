//! Second factors: the TOTP credential and recovery codes.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::UserId;
use crate::model::{AuditEvent, TotpCredential};

#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn get_totp(&self, user: UserId) -> StoreResult<Option<TotpCredential>>;
    /// Inserts or replaces the user's TOTP credential.
    async fn put_totp(&self, cred: &TotpCredential, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Removes the TOTP credential and every recovery code.
    async fn delete_totp(&self, user: UserId, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Records that a code for time step `step` was accepted; false if that step or a later one
    /// was already used (a replay). Atomic.
    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool>;
    /// Replaces all recovery codes of the user with these.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[TokenDigest],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Marks an unused recovery code used; false if unknown or used before. Atomic.
    async fn use_recovery_code(&self, user: UserId, digest: &TokenDigest, now: Timestamp) -> StoreResult<bool>;
    async fn count_unused_recovery_codes(&self, user: UserId) -> StoreResult<u32>;
}
