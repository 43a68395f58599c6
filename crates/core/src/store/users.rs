//! User accounts.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::email::Email;
use crate::error::StoreResult;
use crate::ids::UserId;
use crate::model::{AuditEvent, PasswordHash, User};
use crate::paging::{Page, PageRequest};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict("email")` when the address is taken, in any letter case.
    async fn create_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Looks up by the normalised address; erased accounts are not found.
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// Replaces the stored record; `NotFound("user")` if it does not exist, `Conflict("email")`
    /// if the new address is taken.
    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Sets the password and, in the same transaction, ends every session of the user except
    /// `keep_session` and revokes every token family of the user (refresh and access tokens).
    /// Personal access tokens are the user's own keys and stay.
    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_session: Option<&TokenDigest>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Deactivates (ending every session and grant of the user) or reactivates an account.
    async fn set_user_active(&self, id: UserId, active: bool, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()>;
    /// GDPR erasure: removes personal data, credentials, sessions, tokens, consents and PATs;
    /// keeps the row (email replaced) and the user's audit rows with IP and user agent removed.
    async fn erase_user(&self, id: UserId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Accounts matching `filter` in id order (ids are time-ordered UUIDv7, so creation order),
    /// erased ones excluded.
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Page<User>>;
}

/// Which accounts a listing returns; every field set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// The start of the normalised (lower-case) address.
    pub email_prefix: Option<String>,
    pub verified: Option<bool>,
    pub active: Option<bool>,
}

impl UserFilter {
    /// Whether `user` (not erased) passes the filter.
    pub fn matches(&self, user: &User) -> bool {
        self.email_prefix
            .as_deref()
            .is_none_or(|prefix| user.email.normalized_str().starts_with(prefix))
            && self.verified.is_none_or(|v| user.is_verified() == v)
            && self.active.is_none_or(|a| (user.disabled_at.is_none()) == a)
    }
}
