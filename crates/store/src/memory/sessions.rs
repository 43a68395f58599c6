//! Login sessions and mailed single-use tokens in memory.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{AuditEvent, EmailToken, EmailTokenKind, Session};
use keygate_core::store::{EmailTokenStore, SessionStore};

use super::MemoryStore;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.sessions.contains_key(&session.digest) || st.sessions.values().any(|s| s.id == session.id) {
            return Err(StoreError::Conflict("session"));
        }
        st.sessions.insert(session.digest, session.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn get_session(&self, digest: &TokenDigest) -> StoreResult<Option<Session>> {
        Ok(self.lock()?.sessions.get(digest).cloned())
    }

    async fn touch_session(
        &self,
        digest: &TokenDigest,
        last_seen: Timestamp,
        idle_expires_at: Timestamp,
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        if let Some(s) = st.sessions.get_mut(digest) {
            s.last_seen_at = last_seen;
            s.idle_expires_at = idle_expires_at;
        }
        Ok(())
    }

    async fn rekey_session(&self, old: &TokenDigest, new: &TokenDigest, amr: &[String]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if old != new && st.sessions.contains_key(new) {
            return Err(StoreError::Conflict("session"));
        }
        let Some(mut session) = st.sessions.remove(old) else {
            return Ok(false);
        };
        session.digest = *new;
        session.amr = amr.to_vec();
        st.sessions.insert(*new, session);
        Ok(true)
    }

    async fn delete_session(&self, digest: &TokenDigest, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.sessions.remove(digest).is_none() {
            return Ok(false);
        }
        st.record_audit(audit);
        Ok(true)
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let digest = st
            .sessions
            .values()
            .find(|s| s.user_id == user && s.id == id)
            .map(|s| s.digest);
        let Some(digest) = digest else {
            return Ok(false);
        };
        st.sessions.remove(&digest);
        st.record_audit(audit);
        Ok(true)
    }

    async fn delete_sessions_of_user(
        &self,
        user: UserId,
        except: Option<&TokenDigest>,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut st = self.lock()?;
        let ended = st.end_sessions_of_user(user, except);
        st.record_audit(audit);
        Ok(ended)
    }

    async fn list_sessions_of_user(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<Session>> {
        let st = self.lock()?;
        let mut live: Vec<Session> = st
            .sessions
            .values()
            .filter(|s| s.user_id == user && s.is_live(now))
            .cloned()
            .collect();
        live.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(live)
    }
}

#[async_trait]
impl EmailTokenStore for MemoryStore {
    async fn issue_email_token(&self, token: &EmailToken, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.email_tokens.contains_key(&token.digest) {
            return Err(StoreError::Conflict("email_token"));
        }
        for older in st
            .email_tokens
            .values_mut()
            .filter(|t| t.user_id == token.user_id && t.kind == token.kind && t.used_at.is_none())
        {
            older.used_at = Some(token.created_at);
        }
        st.email_tokens.insert(token.digest, token.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn consume_email_token(
        &self,
        digest: &TokenDigest,
        kind: EmailTokenKind,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<Option<EmailToken>> {
        let mut st = self.lock()?;
        let Some(token) = st
            .email_tokens
            .get_mut(digest)
            .filter(|t| t.kind == kind && t.used_at.is_none() && now < t.expires_at)
        else {
            return Ok(None);
        };
        token.used_at = Some(now);
        let consumed = token.clone();
        st.record_audit(audit);
        Ok(Some(consumed))
    }
}
