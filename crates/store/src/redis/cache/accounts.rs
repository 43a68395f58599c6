//! Cached users and sessions: which lookups are served from the cache, and which version keys
//! each write invalidates (after the durable write, whatever its outcome: a failed write that
//! might still have committed must not leave a stale entry behind).

use async_trait::async_trait;
use keygate_core::clock::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::error::StoreResult;
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{AuditEvent, PasswordHash, Session, User};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{SessionStore, UserFilter, UserStore};

use super::versions::{self as v, entry};
use super::{CachedStores, both};

#[async_trait]
impl UserStore for CachedStores {
    /// Nothing to invalidate: absent records are never cached.
    async fn create_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.users.create_user(user, audit).await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let load = self.inner.users.get_user(id);
        self.cache.lookup(entry::user(id), vec![v::user(id)], load).await
    }

    /// Cached by the normalised address; the entry depends on the user's version, which every
    /// change of their address (or erasure) bumps, so an address that moved is never served.
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let load = self.inner.users.find_user_by_email(email);
        self.cache.lookup(entry::user_by_email(email), Vec::new(), load).await
    }

    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let result = self.inner.users.update_user(user, audit).await;
        let delivered = self.cache.invalidate([v::user(user.id)]).await;
        both(result, delivered)
    }

    /// The user's version covers the account, all their sessions (including the kept one, which
    /// is simply read again) and all their access tokens.
    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_session: Option<&TokenDigest>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let result = self.inner.users.set_password(id, hash, keep_session, now, audit).await;
        let delivered = self.cache.invalidate([v::user(id)]).await;
        both(result, delivered)
    }

    async fn set_user_active(&self, id: UserId, active: bool, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        let result = self.inner.users.set_user_active(id, active, now, audit).await;
        let delivered = self.cache.invalidate([v::user(id)]).await;
        both(result, delivered)
    }

    /// Erasure removes sessions, tokens and PATs too: all depend on the user's version.
    async fn erase_user(&self, id: UserId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        let result = self.inner.users.erase_user(id, now, audit).await;
        let delivered = self.cache.invalidate([v::user(id)]).await;
        both(result, delivered)
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Page<User>> {
        self.inner.users.list_users(filter, page).await
    }
}

#[async_trait]
impl SessionStore for CachedStores {
    async fn create_session(&self, session: &Session, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.sessions.create_session(session, audit).await
    }

    async fn get_session(&self, digest: &TokenDigest) -> StoreResult<Option<Session>> {
        let load = self.inner.sessions.get_session(digest);
        let known = vec![v::session(digest), v::purge()];
        self.cache.lookup(entry::session(digest), known, load).await
    }

    async fn touch_session(
        &self,
        digest: &TokenDigest,
        last_seen: Timestamp,
        idle_expires_at: Timestamp,
    ) -> StoreResult<()> {
        let result = self
            .inner
            .sessions
            .touch_session(digest, last_seen, idle_expires_at)
            .await;
        let delivered = self.cache.invalidate([v::session(digest)]).await;
        both(result, delivered)
    }

    async fn rekey_session(&self, old: &TokenDigest, new: &TokenDigest, amr: &[String]) -> StoreResult<bool> {
        let result = self.inner.sessions.rekey_session(old, new, amr).await;
        let delivered = self.cache.invalidate([v::session(old), v::session(new)]).await;
        both(result, delivered)
    }

    async fn delete_session(&self, digest: &TokenDigest, audit: &[AuditEvent]) -> StoreResult<bool> {
        let result = self.inner.sessions.delete_session(digest, audit).await;
        let delivered = self.cache.invalidate([v::session(digest)]).await;
        both(result, delivered)
    }

    /// The digest is not known here: the user's version covers every session of theirs.
    async fn delete_user_session(&self, user: UserId, id: SessionId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let result = self.inner.sessions.delete_user_session(user, id, audit).await;
        let delivered = self.cache.invalidate([v::user(user)]).await;
        both(result, delivered)
    }

    async fn delete_sessions_of_user(
        &self,
        user: UserId,
        except: Option<&TokenDigest>,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let result = self.inner.sessions.delete_sessions_of_user(user, except, audit).await;
        let delivered = self.cache.invalidate([v::user(user)]).await;
        both(result, delivered)
    }

    async fn list_sessions_of_user(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<Session>> {
        self.inner.sessions.list_sessions_of_user(user, now).await
    }
}
