//! OAuth clients and remembered consents in memory.

use std::ops::Bound;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::{ClientId, UserId};
use keygate_core::model::{AuditEvent, Client, Consent};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{ClientStore, ConsentStore};

use super::MemoryStore;
use super::state::page_of;

#[async_trait]
impl ClientStore for MemoryStore {
    async fn create_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        if st.clients.contains_key(&client.id) {
            return Err(StoreError::Conflict("client_id"));
        }
        st.clients.insert(client.id.clone(), client.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        Ok(self.lock()?.clients.get(id).cloned())
    }

    async fn update_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        let slot = st.clients.get_mut(&client.id).ok_or(StoreError::NotFound("client"))?;
        *slot = client.clone();
        st.record_audit(audit);
        Ok(())
    }

    async fn set_client_secret(
        &self,
        id: &ClientId,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut st = self.lock()?;
        let client = st.clients.get_mut(id).ok_or(StoreError::NotFound("client"))?;
        client.secret_digest = Some(*digest);
        client.updated_at = now;
        st.record_audit(audit);
        Ok(())
    }

    async fn delete_client(&self, id: &ClientId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut st = self.lock()?;
        if st.clients.remove(id).is_none() {
            return Ok(false);
        }
        st.consents.retain(|(_, client), _| client != id);
        st.codes.retain(|_, c| c.client_id != *id);
        st.delete_families_where(|f| f.client_id == *id);
        st.refresh_tokens.retain(|_, t| t.client_id != *id);
        st.access_tokens.retain(|_, t| t.client_id != *id);
        st.record_audit(audit);
        Ok(true)
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>> {
        let after = match &page.after {
            Some(cursor) => Bound::Excluded(ClientId(cursor.clone())),
            None => Bound::Unbounded,
        };
        let st = self.lock()?;
        let items = st
            .clients
            .range((after, Bound::Unbounded))
            .map(|(id, c)| (id.0.clone(), c.clone()));
        Ok(page_of(items, page))
    }
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn get_consent(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Consent>> {
        Ok(self.lock()?.consents.get(&(user, client.clone())).cloned())
    }

    async fn put_consent(&self, consent: &Consent, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut st = self.lock()?;
        st.consents
            .insert((consent.user_id, consent.client_id.clone()), consent.clone());
        st.record_audit(audit);
        Ok(())
    }

    async fn delete_consent(&self, user: UserId, client: &ClientId) -> StoreResult<bool> {
        Ok(self.lock()?.consents.remove(&(user, client.clone())).is_some())
    }

    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>> {
        let st = self.lock()?;
        Ok(st
            .consents
            .iter()
            .filter(|((u, _), _)| *u == user)
            .map(|(_, c)| c.clone())
            .collect())
    }
}
