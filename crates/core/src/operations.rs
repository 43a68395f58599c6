//! Operator actions behind the admin API: client administration (the audited functions of
//! [`crate::oauth`] with this service's clock), token revocation by user or client, statistics,
//! the audit log, the admin personal access token check and the database ping for readiness.

use std::sync::Arc;

use serde_json::json;

use crate::accounts::RequestMeta;
use crate::clock::Clock;
use crate::error::StoreResult;
use crate::ids::{ClientId, UserId};
use crate::model::{AuditAction, AuditEvent, AuditFilter, Client, Outcome};
use crate::oauth::{ClientMetadata, OAuthResult, create_client, delete_client, rotate_secret, update_client};
use crate::paging::{Page, PageRequest};
use crate::secret_token::SecretToken;
use crate::store::{MaintenanceStore, StoreStats, Stores};

/// The PAT scope that grants the admin API.
pub const ADMIN_SCOPE: &str = "admin";

/// What a personal access token may do on the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminPat {
    /// Unknown, revoked, expired, or its owner is inactive: not a credential.
    Invalid,
    /// A valid token without the admin scope: authenticated, not allowed.
    NotAdmin,
    /// Carries the admin scope; the owner acts.
    Admin(UserId),
}

/// Whose refresh-token families an operator revokes.
#[derive(Clone, Debug)]
pub enum TokenOwner {
    /// A user's, optionally only those issued to one client.
    User(UserId, Option<ClientId>),
    /// Every family of one client.
    Client(ClientId),
}

/// The operator's service; one per server.
#[derive(Clone)]
pub struct Operations {
    stores: Stores,
    clock: Arc<dyn Clock>,
}

impl Operations {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>) -> Self {
        Operations { stores, clock }
    }

    /// The database, for the readiness probe (which only asks whether it answers).
    pub fn database(&self) -> &dyn MaintenanceStore {
        self.stores.maintenance.as_ref()
    }

    pub async fn stats(&self) -> StoreResult<StoreStats> {
        self.stores.maintenance.stats(self.clock.now()).await
    }

    pub async fn audit(&self, filter: &AuditFilter, page: &PageRequest) -> StoreResult<Page<AuditEvent>> {
        self.stores.audit.list_audit(filter, page).await
    }

    /// What `pat` may do on the admin API: nothing if it is unknown, revoked, expired or its
    /// owner inactive; administer if it carries the admin scope.
    pub async fn admin_pat(&self, pat: &SecretToken) -> StoreResult<AdminPat> {
        let now = self.clock.now();
        let Some(pat) = self
            .stores
            .pats
            .get_pat_by_digest(&pat.digest())
            .await?
            .filter(|p| p.is_usable(now))
        else {
            return Ok(AdminPat::Invalid);
        };
        let user = self.stores.users.get_user(pat.user_id).await?;
        if !user.is_some_and(|u| u.is_active()) {
            return Ok(AdminPat::Invalid);
        }
        Ok(if pat.scope.contains(ADMIN_SCOPE) {
            AdminPat::Admin(pat.user_id)
        } else {
            AdminPat::NotAdmin
        })
    }

    /// Revokes the families of `owner`, with one `token_revoked` event by `actor`; returns how
    /// many families were revoked.
    pub async fn revoke_tokens(&self, owner: &TokenOwner, actor: &str, meta: &RequestMeta) -> StoreResult<u64> {
        let now = self.clock.now();
        let mut event = AuditEvent::new(AuditAction::TokenRevoked, actor, Outcome::Success, now)
            .from_request(meta.ip.clone(), meta.user_agent.clone())
            .details(json!({ "by": "admin" }));
        match owner {
            TokenOwner::User(user, client) => {
                event.user_id = Some(*user);
                event.client_id = client.clone();
                self.stores
                    .tokens
                    .revoke_families_of_user(*user, client.as_ref(), now, &[event])
                    .await
            }
            TokenOwner::Client(client) => {
                event.client_id = Some(client.clone());
                self.stores
                    .tokens
                    .revoke_families_of_client(client, now, &[event])
                    .await
            }
        }
    }

    pub async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>> {
        self.stores.clients.list_clients(page).await
    }

    pub async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.stores.clients.get_client(id).await
    }

    /// Registers a client; the secret (confidential clients) is returned this once.
    pub async fn create_client(
        &self,
        metadata: &ClientMetadata,
        actor: &str,
        meta: &RequestMeta,
    ) -> OAuthResult<(Client, Option<SecretToken>)> {
        create_client(self.stores.clients.as_ref(), metadata, actor, meta, self.clock.now()).await
    }

    /// Changes the fields `metadata` sets; `None` for an unknown client.
    pub async fn update_client(
        &self,
        id: &ClientId,
        metadata: &ClientMetadata,
        actor: &str,
        meta: &RequestMeta,
    ) -> OAuthResult<Option<(Client, Option<SecretToken>)>> {
        update_client(
            self.stores.clients.as_ref(),
            id,
            metadata,
            actor,
            meta,
            self.clock.now(),
        )
        .await
    }

    /// Deletes a client with its consents, codes and token families; false if unknown.
    pub async fn delete_client(&self, id: &ClientId, actor: &str, meta: &RequestMeta) -> OAuthResult<bool> {
        delete_client(self.stores.clients.as_ref(), id, actor, meta, self.clock.now()).await
    }

    /// A new secret for a confidential client; `None` for an unknown client.
    pub async fn rotate_secret(
        &self,
        id: &ClientId,
        actor: &str,
        meta: &RequestMeta,
    ) -> OAuthResult<Option<SecretToken>> {
        rotate_secret(self.stores.clients.as_ref(), id, actor, meta, self.clock.now()).await
    }
}
