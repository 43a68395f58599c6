//! Authorization codes, token families, refresh tokens and opaque access tokens in memory.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::{ClientId, FamilyId, UserId};
use keygate_core::model::{
    AccessToken, AuditEvent, AuthorizationCode, CodeRedemption, RefreshRotation, RefreshToken, TokenFamily,
};
use keygate_core::store::{CodeStore, TokenStore};

use super::MemoryStore;

#[async_trait]
impl CodeStore for MemoryStore {
    async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.codes.contains_key(&code.digest) {
            return Err(StoreError::Conflict("code"));
        }
        st.codes.insert(code.digest, code.clone());
        Ok(())
    }

    async fn get_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>> {
        Ok(self.lock()?.codes.get(digest).cloned())
    }

    async fn redeem_code(&self, digest: &TokenDigest, family: FamilyId, now: Timestamp) -> StoreResult<CodeRedemption> {
        let mut st = self.lock()?;
        let Some(code) = st.codes.get_mut(digest) else {
            return Ok(CodeRedemption::Unknown);
        };
        if code.used_at.is_some() {
            return Ok(CodeRedemption::Replayed(code.clone()));
        }
        let before = code.clone();
        code.used_at = Some(now);
        code.family_id = Some(family);
        Ok(CodeRedemption::Redeemed(before))
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn create_family(
        &self,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
        access: Option<&AccessToken>,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.families.contains_key(&family.id) {
            return Err(StoreError::Conflict("family"));
        }
        if refresh.is_some_and(|r| st.refresh_tokens.contains_key(&r.digest)) {
            return Err(StoreError::Conflict("refresh_token"));
        }
        if access.is_some_and(|a| st.access_tokens.contains_key(&a.digest)) {
            return Err(StoreError::Conflict("access_token"));
        }
        st.families.insert(family.id, family.clone());
        if let Some(r) = refresh {
            st.refresh_tokens.insert(r.digest, r.clone());
        }
        if let Some(a) = access {
            st.access_tokens.insert(a.digest, a.clone());
        }
        st.record_audit(audit);
        Ok(())
    }

    async fn get_family(&self, id: FamilyId) -> StoreResult<Option<TokenFamily>> {
        Ok(self.lock()?.families.get(&id).cloned())
    }

    async fn get_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshToken>> {
        Ok(self.lock()?.refresh_tokens.get(digest).cloned())
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshToken,
        access: Option<&AccessToken>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<RefreshRotation> {
        let mut st = self.lock()?;
        let Some(current) = st.refresh_tokens.get(old).cloned() else {
            return Ok(RefreshRotation::Unknown);
        };
        let family_revoked = st
            .families
            .get(&current.family_id)
            .is_none_or(|f| f.revoked_at.is_some());
        if current.revoked_at.is_some() || family_revoked {
            return Ok(RefreshRotation::Revoked(current));
        }
        if current.used_at.is_some() {
            return Ok(RefreshRotation::Reused(current));
        }
        if st.refresh_tokens.contains_key(&new.digest) {
            return Err(StoreError::Conflict("refresh_token"));
        }
        if access.is_some_and(|a| st.access_tokens.contains_key(&a.digest)) {
            return Err(StoreError::Conflict("access_token"));
        }
        if let Some(t) = st.refresh_tokens.get_mut(old) {
            t.used_at = Some(now);
        }
        st.refresh_tokens.insert(new.digest, new.clone());
        if let Some(a) = access {
            st.access_tokens.insert(a.digest, a.clone());
        }
        st.record_audit(audit);
        Ok(RefreshRotation::Rotated(current))
    }

    async fn revoke_family(&self, id: FamilyId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.revoke_family(id, now).is_none() {
            return Ok(false);
        }
        st.record_audit(audit);
        Ok(true)
    }

    async fn revoke_families_of_user(
        &self,
        user: UserId,
        client: Option<&ClientId>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut st = self.lock()?;
        let n = st.revoke_families_where(now, |f| {
            f.user_id == Some(user) && client.is_none_or(|c| f.client_id == *c)
        });
        st.record_audit(audit);
        Ok(n)
    }

    async fn revoke_families_of_client(
        &self,
        client: &ClientId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut st = self.lock()?;
        let n = st.revoke_families_where(now, |f| f.client_id == *client);
        st.record_audit(audit);
        Ok(n)
    }

    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.access_tokens.contains_key(&token.digest) {
            return Err(StoreError::Conflict("access_token"));
        }
        st.access_tokens.insert(token.digest, token.clone());
        Ok(())
    }

    async fn get_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessToken>> {
        Ok(self.lock()?.access_tokens.get(digest).cloned())
    }

    async fn revoke_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let Some(token) = st.access_tokens.get_mut(digest) else {
            return Ok(false);
        };
        token.revoked_at.get_or_insert(now);
        st.record_audit(audit);
        Ok(true)
    }
}
