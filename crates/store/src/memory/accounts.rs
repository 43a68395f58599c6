//! Users and their second factors in memory.

use std::ops::Bound;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::UserId;
use keygate_core::model::{AuditEvent, PasswordHash, RecoveryCode, TotpCredential, User};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{CredentialStore, UserFilter, UserStore};

use super::MemoryStore;
use super::state::page_of;

/// The address an erased account keeps: unique, valid, and telling nothing about the person.
fn erased_email(id: UserId) -> StoreResult<Email> {
    Email::parse(&format!("erased-{}@erased.invalid", id.0.simple())).map_err(|e| StoreError::Internal(Box::new(e)))
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        let key = user.email.normalized();
        if st.emails.contains_key(&key) {
            return Err(StoreError::Conflict("email"));
        }
        if st.users.contains_key(&user.id) {
            return Err(StoreError::Conflict("user_id"));
        }
        st.emails.insert(key, user.id);
        st.users.insert(user.id, user.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let st = self.lock()?;
        let found = st
            .emails
            .get(&email.normalized())
            .and_then(|id| st.users.get(id))
            .filter(|u| u.deleted_at.is_none())
            .cloned();
        Ok(found)
    }

    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        let old_key = match st.users.get(&user.id) {
            Some(old) => old.email.normalized(),
            None => return Err(StoreError::NotFound("user")),
        };
        let new_key = user.email.normalized();
        if st.emails.get(&new_key).is_some_and(|owner| *owner != user.id) {
            return Err(StoreError::Conflict("email"));
        }
        st.emails.remove(&old_key);
        st.emails.insert(new_key, user.id);
        st.users.insert(user.id, user.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_session: Option<&TokenDigest>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let user = st.users.get_mut(&id).ok_or(StoreError::NotFound("user"))?;
        user.password_hash = Some(hash.clone());
        user.updated_at = now;
        st.end_sessions_of_user(id, keep_session);
        st.revoke_families_where(now, |f| f.user_id == Some(id));
        st.void_reset_links(id, now);
        st.record_audit(audit);
        Ok(())
    }

    async fn set_user_active(&self, id: UserId, active: bool, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        let user = st.users.get_mut(&id).ok_or(StoreError::NotFound("user"))?;
        user.updated_at = now;
        if active {
            user.disabled_at = None;
        } else {
            user.disabled_at.get_or_insert(now);
            st.end_sessions_of_user(id, None);
            st.revoke_families_where(now, |f| f.user_id == Some(id));
        }
        st.record_audit(audit);
        Ok(())
    }

    async fn erase_user(&self, id: UserId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        let replacement = erased_email(id)?;
        let mut st = self.lock()?;
        let user = st.users.get_mut(&id).ok_or(StoreError::NotFound("user"))?;
        let old_key = user.email.normalized();
        user.email = replacement;
        user.password_hash = None;
        user.email_verified_at = None;
        user.failed_logins = 0;
        user.locked_until = None;
        user.roles = Default::default();
        user.updated_at = now;
        user.deleted_at.get_or_insert(now);
        if st.emails.get(&old_key) == Some(&id) {
            st.emails.remove(&old_key);
        }
        st.totp.remove(&id);
        st.recovery_codes.remove(&id);
        st.end_sessions_of_user(id, None);
        st.email_tokens.retain(|_, t| t.user_id != id);
        st.consents.retain(|(user, _), _| *user != id);
        st.codes.retain(|_, c| c.user_id != id);
        st.delete_families_where(|f| f.user_id == Some(id));
        st.refresh_tokens.retain(|_, t| t.user_id != Some(id));
        st.access_tokens.retain(|_, t| t.user_id != Some(id));
        st.pats.retain(|_, p| p.user_id != id);
        // Scrubbed after recording, so the erasure's own event keeps no address either.
        st.record_audit(audit);
        for event in st.audit.values_mut().filter(|e| e.user_id == Some(id)) {
            event.ip = None;
            event.user_agent = None;
        }
        Ok(())
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Page<User>> {
        let after = match &page.after {
            Some(cursor) => {
                Bound::Excluded(UserId::parse(cursor).ok_or_else(|| StoreError::Corrupt("bad user cursor".into()))?)
            }
            None => Bound::Unbounded,
        };
        let st = self.lock()?;
        let live = st
            .users
            .range((after, Bound::Unbounded))
            .filter(|(_, u)| u.deleted_at.is_none() && filter.matches(u))
            .map(|(id, u)| (id.to_string(), u.clone()));
        Ok(page_of(live, page))
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn get_totp(&self, user: UserId) -> StoreResult<Option<TotpCredential>> {
        Ok(self.lock()?.totp.get(&user).cloned())
    }

    async fn put_totp(&self, cred: &TotpCredential, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        st.totp.insert(cred.user_id, cred.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn delete_totp(&self, user: UserId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let existed = st.totp.remove(&user).is_some();
        st.recovery_codes.remove(&user);
        st.record_audit(audit);
        Ok(existed)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let Some(cred) = st.totp.get_mut(&user) else {
            return Ok(false);
        };
        if cred.last_used_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        cred.last_used_step = Some(step);
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[TokenDigest],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let codes = digests
            .iter()
            .map(|d| RecoveryCode {
                user_id: user,
                digest: *d,
                created_at: now,
                used_at: None,
            })
            .collect();
        let mut st = self.lock()?;
        st.recovery_codes.insert(user, codes);
        st.record_audit(audit);
        Ok(())
    }

    async fn use_recovery_code(&self, user: UserId, digest: &TokenDigest, now: Timestamp) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let code = st
            .recovery_codes
            .get_mut(&user)
            .and_then(|codes| codes.iter_mut().find(|c| c.digest == *digest && c.used_at.is_none()));
        match code {
            Some(c) => {
                c.used_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn count_unused_recovery_codes(&self, user: UserId) -> StoreResult<u32> {
        let st = self.lock()?;
        let n = st
            .recovery_codes
            .get(&user)
            .map_or(0, |codes| codes.iter().filter(|c| c.used_at.is_none()).count());
        Ok(n as u32)
    }
}
