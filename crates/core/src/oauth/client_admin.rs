//! Managing clients (admin API and `keygate client …` share these): create, update, rotate the
//! secret, delete, each recorded in the audit log in the same transaction.

use serde_json::json;

use super::audit::RequestMeta;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::registration::{ClientMetadata, apply_metadata, new_client};
use crate::clock::Timestamp;
use crate::error::StoreError;
use crate::ids::ClientId;
use crate::model::{AuditAction, AuditEvent, Client, Outcome};
use crate::secret_token::{SecretKind, SecretToken};
use crate::store::ClientStore;

fn event(action: AuditAction, client: &ClientId, actor: &str, meta: &RequestMeta, now: Timestamp) -> AuditEvent {
    AuditEvent::new(action, actor, Outcome::Success, now)
        .client(client.clone())
        .from_request(meta.ip.clone(), meta.user_agent.clone())
}

fn not_found() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, "no such client")
}

/// Registers a client; the secret (confidential clients) is returned this once.
pub async fn create_client(
    store: &dyn ClientStore,
    metadata: &ClientMetadata,
    actor: &str,
    meta: &RequestMeta,
    now: Timestamp,
) -> OAuthResult<(Client, Option<SecretToken>)> {
    let (client, secret) = new_client(metadata, now)?;
    let audit = event(AuditAction::ClientCreated, &client.id, actor, meta, now)
        .details(json!({ "auth_method": client.auth_method.as_str(), "first_party": client.first_party }));
    match store.create_client(&client, &[audit]).await {
        Ok(()) => Ok((client, secret)),
        Err(StoreError::Conflict(_)) => Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "a client with this client_id exists",
        )),
        Err(err) => Err(err.into()),
    }
}

/// Changes the fields `metadata` sets. Returns the client and, if it became confidential, its
/// new secret. `Ok(None)` when there is no such client.
pub async fn update_client(
    store: &dyn ClientStore,
    id: &ClientId,
    metadata: &ClientMetadata,
    actor: &str,
    meta: &RequestMeta,
    now: Timestamp,
) -> OAuthResult<Option<(Client, Option<SecretToken>)>> {
    let Some(current) = store.get_client(id).await? else {
        return Ok(None);
    };
    let (client, secret) = apply_metadata(&current, metadata, now)?;
    // Only the names of the changed fields: terse, and never a value.
    let changed: Vec<String> = serde_json::to_value(metadata)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
        .unwrap_or_default();
    let audit = event(AuditAction::ClientUpdated, id, actor, meta, now).details(json!({ "fields": changed }));
    match store.update_client(&client, &[audit]).await {
        Ok(()) => Ok(Some((client, secret))),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Gives a confidential client a new secret (the old one stops working at once).
pub async fn rotate_secret(
    store: &dyn ClientStore,
    id: &ClientId,
    actor: &str,
    meta: &RequestMeta,
    now: Timestamp,
) -> OAuthResult<Option<SecretToken>> {
    let Some(client) = store.get_client(id).await? else {
        return Ok(None);
    };
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "a public client has no secret",
        ));
    }
    let secret = SecretToken::generate(SecretKind::ClientSecret);
    let audit = event(AuditAction::ClientSecretRotated, id, actor, meta, now);
    match store.set_client_secret(id, &secret.digest(), now, &[audit]).await {
        Ok(()) => Ok(Some(secret)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Deletes a client with its consents, codes and token families; false if unknown.
pub async fn delete_client(
    store: &dyn ClientStore,
    id: &ClientId,
    actor: &str,
    meta: &RequestMeta,
    now: Timestamp,
) -> OAuthResult<bool> {
    let audit = event(AuditAction::ClientDeleted, id, actor, meta, now);
    Ok(store.delete_client(id, &[audit]).await?)
}

/// The error an admin tool shows for an unknown client id.
pub fn unknown_client() -> OAuthError {
    not_found()
}
