//! The store layer that answers `get_client` and `get_access_token` from the [`NearCache`];
//! everything else goes to the layer beneath unchanged (the SQL store tells the cache about its
//! own writes, and the database's triggers about everyone's).

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::clock::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{ClientId, FamilyId, UserId};
use keygate_core::model::{AccessToken, AuditEvent, Client, RefreshRotation, RefreshToken, TokenFamily};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{ClientStore, Stores, TokenStore};

use super::shelf::Shelf;
use super::{NearCache, Outcome};

struct NearStores {
    inner: Stores,
    near: Arc<NearCache>,
}

/// `stores` with client and access-token lookups answered from `near` while it is trusted.
/// Put it above every other layer (the Redis cache included): a hit then costs no round trip.
pub fn layer_near(stores: Stores, near: &Arc<NearCache>) -> Stores {
    let layer = Arc::new(NearStores {
        inner: stores.clone(),
        near: near.clone(),
    });
    Stores {
        clients: layer.clone(),
        tokens: layer,
        ..stores
    }
}

impl NearStores {
    async fn lookup<K, V, F>(&self, shelf: &Shelf<K, V>, kind: &'static str, key: &K, load: F) -> StoreResult<Option<V>>
    where
        K: Eq + Hash + Clone,
        V: Clone,
        F: Future<Output = StoreResult<Option<V>>>,
    {
        if !self.near.trusted() {
            self.near.count(kind, Outcome::Bypassed);
            return load.await;
        }
        if let Some(value) = shelf.get(key) {
            self.near.count(kind, Outcome::Hit);
            return Ok(Some(value));
        }
        self.near.count(kind, Outcome::Miss);
        let ticket = shelf.ticket();
        let found = load.await?;
        if let Some(value) = &found {
            shelf.fill(ticket, key.clone(), value.clone());
        }
        Ok(found)
    }
}

#[async_trait]
impl ClientStore for NearStores {
    async fn create_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.clients.create_client(client, audit).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        let load = self.inner.clients.get_client(id);
        self.lookup(&self.near.clients, "client", id, load).await
    }

    async fn update_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.clients.update_client(client, audit).await
    }

    async fn set_client_secret(
        &self,
        id: &ClientId,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        self.inner.clients.set_client_secret(id, digest, now, audit).await
    }

    async fn delete_client(&self, id: &ClientId, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.inner.clients.delete_client(id, audit).await
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>> {
        self.inner.clients.list_clients(page).await
    }
}

#[async_trait]
impl TokenStore for NearStores {
    async fn create_family(
        &self,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
        access: Option<&AccessToken>,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        self.inner.tokens.create_family(family, refresh, access, audit).await
    }

    async fn get_family(&self, id: FamilyId) -> StoreResult<Option<TokenFamily>> {
        self.inner.tokens.get_family(id).await
    }

    async fn get_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshToken>> {
        self.inner.tokens.get_refresh_token(digest).await
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshToken,
        access: Option<&AccessToken>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<RefreshRotation> {
        self.inner
            .tokens
            .rotate_refresh_token(old, new, access, now, audit)
            .await
    }

    async fn revoke_family(&self, id: FamilyId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.inner.tokens.revoke_family(id, now, audit).await
    }

    async fn revoke_families_of_user(
        &self,
        user: UserId,
        client: Option<&ClientId>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        self.inner
            .tokens
            .revoke_families_of_user(user, client, now, audit)
            .await
    }

    async fn revoke_families_of_client(
        &self,
        client: &ClientId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        self.inner.tokens.revoke_families_of_client(client, now, audit).await
    }

    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        self.inner.tokens.create_access_token(token).await
    }

    async fn get_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessToken>> {
        let load = self.inner.tokens.get_access_token(digest);
        self.lookup(&self.near.access_tokens, "access_token", digest, load)
            .await
    }

    async fn revoke_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        self.inner.tokens.revoke_access_token(digest, now, audit).await
    }
}
