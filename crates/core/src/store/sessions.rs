//! Server-side login sessions.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::{SessionId, UserId};
use crate::model::{AuditEvent, Session};

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session, audit: &[AuditEvent]) -> StoreResult<()>;
    /// The session whose cookie secret has this digest, live or not (the caller checks expiry).
    async fn get_session(&self, digest: &TokenDigest) -> StoreResult<Option<Session>>;
    /// Updates last-seen and the idle expiry.
    async fn touch_session(
        &self,
        digest: &TokenDigest,
        last_seen: Timestamp,
        idle_expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Gives the session a new cookie secret (same id), and may raise its `amr`; false if unknown.
    async fn rekey_session(&self, old: &TokenDigest, new: &TokenDigest, amr: &[String]) -> StoreResult<bool>;
    async fn delete_session(&self, digest: &TokenDigest, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Ends one session of this user by its public id; false if it is not theirs or unknown.
    async fn delete_user_session(&self, user: UserId, id: SessionId, audit: &[AuditEvent]) -> StoreResult<bool>;
    /// Ends every session of the user except `except`; returns how many.
    async fn delete_sessions_of_user(
        &self,
        user: UserId,
        except: Option<&TokenDigest>,
        audit: &[AuditEvent],
    ) -> StoreResult<u64>;
    /// The user's live sessions, newest first.
    async fn list_sessions_of_user(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<crate::model::Session>>;
}
