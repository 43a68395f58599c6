//! Email verification and password reset tokens.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::model::{AuditEvent, EmailToken, EmailTokenKind};

#[async_trait]
pub trait EmailTokenStore: Send + Sync {
    /// Stores a new token and, in the same transaction, invalidates the user's older unused
    /// tokens of the same kind: only the newest link works.
    async fn issue_email_token(&self, token: &EmailToken, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Marks an unused, unexpired token of this kind used and returns it; None otherwise.
    /// Atomic: of concurrent calls, one wins.
    async fn consume_email_token(
        &self,
        digest: &TokenDigest,
        kind: EmailTokenKind,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<Option<EmailToken>>;
}
