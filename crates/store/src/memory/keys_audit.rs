//! Personal access tokens, signing keys and the audit log in memory.

use std::ops::Bound;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::{AuditId, PatId, UserId};
use keygate_core::model::{AuditEvent, AuditFilter, PersonalAccessToken, SigningKey};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{AuditStore, PatStore, SigningKeyStore};

use super::MemoryStore;
use super::state::{State, page_of};

#[async_trait]
impl PatStore for MemoryStore {
    async fn create_pat(&self, pat: &PersonalAccessToken, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.pats.contains_key(&pat.id) || st.pats.values().any(|p| p.digest == pat.digest) {
            return Err(StoreError::Conflict("pat"));
        }
        st.pats.insert(pat.id, pat.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn get_pat_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<PersonalAccessToken>> {
        let st = self.lock()?;
        Ok(st.pats.values().find(|p| p.digest == *digest).cloned())
    }

    async fn list_pats_of_user(&self, user: UserId) -> StoreResult<Vec<PersonalAccessToken>> {
        let st = self.lock()?;
        let mut pats: Vec<PersonalAccessToken> = st
            .pats
            .values()
            .filter(|p| p.user_id == user && p.revoked_at.is_none())
            .cloned()
            .collect();
        pats.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
        Ok(pats)
    }

    async fn revoke_pat(&self, user: UserId, id: PatId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let Some(pat) = st
            .pats
            .get_mut(&id)
            .filter(|p| p.user_id == user && p.revoked_at.is_none())
        else {
            return Ok(false);
        };
        pat.revoked_at = Some(now);
        st.record_audit(audit);
        Ok(true)
    }

    async fn touch_pat(&self, id: PatId, now: Timestamp) -> StoreResult<()> {
        let mut st = self.lock()?;
        if let Some(pat) = st.pats.get_mut(&id) {
            pat.last_used_at = Some(now);
        }
        Ok(())
    }
}

#[async_trait]
impl SigningKeyStore for MemoryStore {
    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let st = self.lock()?;
        let mut keys = st.keys.clone();
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(keys)
    }

    async fn save_keys(&self, insert: &[SigningKey], update: &[SigningKey], audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        apply_keys(&mut st, insert, update, audit)
    }

    async fn save_keys_if_unchanged(
        &self,
        seen: &[SigningKey],
        insert: &[SigningKey],
        update: &[SigningKey],
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut st = self.lock()?;
        let mut current = st.keys.clone();
        current.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        if current != seen {
            return Ok(false);
        }
        apply_keys(&mut st, insert, update, audit).map(|()| true)
    }
}

/// A rotation under the store's lock: all or nothing.
fn apply_keys(st: &mut State, insert: &[SigningKey], update: &[SigningKey], audit: &[AuditEvent]) -> StoreResult<()> {
    for (i, key) in insert.iter().enumerate() {
        let taken = st.keys.iter().chain(&insert[..i]).any(|k| k.kid == key.kid);
        if taken {
            return Err(StoreError::Conflict("kid"));
        }
    }
    if update.iter().any(|u| !st.keys.iter().any(|k| k.kid == u.kid)) {
        return Err(StoreError::NotFound("key"));
    }
    for changed in update {
        if let Some(slot) = st.keys.iter_mut().find(|k| k.kid == changed.kid) {
            *slot = changed.clone();
        }
    }
    st.keys.extend(insert.iter().cloned());
    st.record_audit(audit);
    Ok(())
}

fn matches(filter: &AuditFilter, e: &AuditEvent) -> bool {
    filter.user_id.is_none_or(|u| e.user_id == Some(u))
        && filter
            .client_id
            .as_ref()
            .is_none_or(|c| e.client_id.as_ref() == Some(c))
        && filter.action.is_none_or(|a| e.action == a)
        && filter.from.is_none_or(|from| e.at >= from)
        && filter.until.is_none_or(|until| e.at < until)
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.lock()?.record_audit(events);
        Ok(())
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> StoreResult<Page<AuditEvent>> {
        let before = match &page.after {
            Some(cursor) => {
                Bound::Excluded(AuditId::parse(cursor).ok_or_else(|| StoreError::Corrupt("bad audit cursor".into()))?)
            }
            None => Bound::Unbounded,
        };
        let st = self.lock()?;
        let items = st
            .audit
            .range((Bound::Unbounded, before))
            .rev()
            .filter(|(_, e)| matches(filter, e))
            .map(|(id, e)| (id.to_string(), e.clone()));
        Ok(page_of(items, page))
    }
}
