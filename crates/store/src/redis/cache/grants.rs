//! Cached clients, opaque access tokens and personal access tokens, and the purge: which lookups
//! are served from the cache, and which version keys each write invalidates (after the durable
//! write, whatever its outcome). Refresh tokens and families are never cached (single use and
//! revocation are security state), so rotation needs no invalidation.

use async_trait::async_trait;
use keygate_core::clock::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{ClientId, FamilyId, PatId, UserId};
use keygate_core::model::{
    AccessToken, AuditEvent, Client, PersonalAccessToken, RefreshRotation, RefreshToken, TokenFamily,
};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{ClientStore, MaintenanceStore, PatStore, PurgeReport, StoreStats, TokenStore};

use super::versions::{self as v, entry};
use super::{CachedStores, both};

#[async_trait]
impl ClientStore for CachedStores {
    async fn create_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.clients.create_client(client, audit).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        let load = self.inner.clients.get_client(id);
        self.cache.lookup(entry::client(id), vec![v::client(id)], load).await
    }

    async fn update_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        let result = self.inner.clients.update_client(client, audit).await;
        let delivered = self.cache.invalidate([v::client(&client.id)]).await;
        both(result, delivered)
    }

    async fn set_client_secret(
        &self,
        id: &ClientId,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let result = self.inner.clients.set_client_secret(id, digest, now, audit).await;
        let delivered = self.cache.invalidate([v::client(id)]).await;
        both(result, delivered)
    }

    /// Deleting a client deletes its token families: its access tokens depend on its version.
    async fn delete_client(&self, id: &ClientId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let result = self.inner.clients.delete_client(id, audit).await;
        let delivered = self.cache.invalidate([v::client(id)]).await;
        both(result, delivered)
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>> {
        self.inner.clients.list_clients(page).await
    }
}

#[async_trait]
impl TokenStore for CachedStores {
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
        let result = self.inner.tokens.revoke_family(id, now, audit).await;
        let delivered = self.cache.invalidate([v::family(id)]).await;
        both(result, delivered)
    }

    /// Access tokens carry their user: the user's version covers them (with or without `client`).
    async fn revoke_families_of_user(
        &self,
        user: UserId,
        client: Option<&ClientId>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let result = self
            .inner
            .tokens
            .revoke_families_of_user(user, client, now, audit)
            .await;
        let delivered = self.cache.invalidate([v::user(user)]).await;
        both(result, delivered)
    }

    async fn revoke_families_of_client(
        &self,
        client: &ClientId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let result = self.inner.tokens.revoke_families_of_client(client, now, audit).await;
        let delivered = self.cache.invalidate([v::client(client)]).await;
        both(result, delivered)
    }

    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        self.inner.tokens.create_access_token(token).await
    }

    async fn get_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessToken>> {
        let load = self.inner.tokens.get_access_token(digest);
        let known = vec![v::access_token(digest), v::purge()];
        self.cache.lookup(entry::access_token(digest), known, load).await
    }

    async fn revoke_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let result = self.inner.tokens.revoke_access_token(digest, now, audit).await;
        let delivered = self.cache.invalidate([v::access_token(digest)]).await;
        both(result, delivered)
    }
}

#[async_trait]
impl PatStore for CachedStores {
    async fn create_pat(&self, pat: &PersonalAccessToken, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.pats.create_pat(pat, audit).await
    }

    /// Depends on the PAT's own version (revoke, touch) and its user's (erasure).
    async fn get_pat_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<PersonalAccessToken>> {
        let load = self.inner.pats.get_pat_by_digest(digest);
        self.cache.lookup(entry::pat(digest), Vec::new(), load).await
    }

    async fn list_pats_of_user(&self, user: UserId) -> StoreResult<Vec<PersonalAccessToken>> {
        self.inner.pats.list_pats_of_user(user).await
    }

    async fn revoke_pat(&self, user: UserId, id: PatId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        let result = self.inner.pats.revoke_pat(user, id, now, audit).await;
        let delivered = self.cache.invalidate([v::pat(id)]).await;
        both(result, delivered)
    }

    async fn touch_pat(&self, id: PatId, now: Timestamp) -> StoreResult<()> {
        let result = self.inner.pats.touch_pat(id, now).await;
        let delivered = self.cache.invalidate([v::pat(id)]).await;
        both(result, delivered)
    }
}

#[async_trait]
impl MaintenanceStore for CachedStores {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.maintenance.ping().await
    }

    async fn stats(&self, now: Timestamp) -> StoreResult<StoreStats> {
        self.inner.maintenance.stats(now).await
    }

    /// A purge that deleted sessions or access tokens makes every cached one stale (the janitor
    /// runs every few minutes, so this costs little), so deleted records are never served.
    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport> {
        // A failed purge may have deleted some records before failing: invalidate then too.
        let result = self.inner.maintenance.purge_expired(now, audit_before, batch).await;
        if result
            .as_ref()
            .ok()
            .is_none_or(|r| r.sessions > 0 || r.access_tokens > 0)
        {
            let delivered = self.cache.invalidate([v::purge()]).await;
            return both(result, delivered);
        }
        result
    }
}
