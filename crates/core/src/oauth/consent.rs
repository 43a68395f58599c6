//! Consent: whether the user must be asked (first-party clients and scopes already granted skip
//! it), the request kept in the ephemeral store while the user decides, and the consent record,
//! written with its audit event.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::TokenService;
use super::authorize::{AuthorizeRejection, AuthorizeRequest, Prompt, ResponseMode};
use super::error::{ErrorCode, OAuthError};
use super::flow::{AuthorizeOutcome, ClientReply};
use crate::accounts::RequestMeta;
use crate::ids::{ClientId, UserId};
use crate::model::{AuditAction, AuditEvent, Consent, GrantType, Outcome};
use crate::pkce::CodeChallenge;
use crate::redirect_uri;
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

/// How long a user may take to decide.
const PENDING_TTL: Duration = Duration::from_secs(600);

fn key(id: &str) -> String {
    format!("oauth:consent:{id}")
}

/// An authorization request waiting for the user's decision.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PendingAuthorization {
    pub(super) user_id: UserId,
    client_id: String,
    redirect_uri: String,
    form_post: bool,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

impl PendingAuthorization {
    pub(super) fn of(request: &AuthorizeRequest, user_id: UserId) -> Self {
        PendingAuthorization {
            user_id,
            client_id: request.client.id.0.clone(),
            redirect_uri: request.redirect_uri.clone(),
            form_post: request.response_mode == ResponseMode::FormPost,
            scope: request.scope.to_string(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.as_ref().map(|c| c.as_str().to_owned()),
        }
    }

    pub(super) fn client_id(&self) -> ClientId {
        ClientId(self.client_id.clone())
    }

    /// The scopes asked for, in order.
    pub(super) fn scopes(&self) -> Vec<String> {
        self.scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Keeps the request under a random id (a CSRF-kind token: unguessable, never stored in clear
    /// anywhere but the user's URL) and returns the id.
    pub(super) async fn keep(&self, service: &TokenService) -> Result<String, OAuthError> {
        let id = SecretToken::generate(SecretKind::Csrf).expose()[4..].to_owned();
        let value = serde_json::to_vec(self).map_err(|e| OAuthError {
            cause: Some(Box::new(e)),
            ..OAuthError::new(ErrorCode::ServerError, "cannot keep the request")
        })?;
        service
            .stores
            .ephemeral
            .put(&key(&id), &value, service.clock.now(), PENDING_TTL)
            .await?;
        Ok(id)
    }

    pub(super) async fn load(service: &TokenService, id: &str) -> Result<Option<Self>, OAuthError> {
        let raw = service.stores.ephemeral.get(&key(id), service.clock.now()).await?;
        Ok(raw.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Removes the request; of concurrent takes, one gets it.
    pub(super) async fn take(service: &TokenService, id: &str) -> Result<Option<Self>, OAuthError> {
        let raw = service.stores.ephemeral.take(&key(id), service.clock.now()).await?;
        Ok(raw.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// The request again, checked against its client's current registration: None when the
    /// client is gone, may no longer use the code grant or no longer has the redirect URI; the
    /// scope keeps only what the client is still registered for.
    pub(super) async fn into_request(self, service: &TokenService) -> Result<Option<AuthorizeRequest>, OAuthError> {
        let Some(client) = service.stores.clients.get_client(&ClientId(self.client_id)).await? else {
            return Ok(None);
        };
        let registered = redirect_uri::find_match(client.redirect_uris.iter().map(String::as_str), &self.redirect_uri);
        if registered.is_none() || !client.allows_grant(GrantType::AuthorizationCode) {
            return Ok(None);
        }
        let scope = Scopes::parse(&self.scope)
            .unwrap_or_default()
            .intersection(&client.scope);
        let code_challenge = match self.code_challenge {
            Some(c) => Some(
                CodeChallenge::from_request(&c, Some("S256"))
                    .map_err(|e| OAuthError::invalid_request(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Some(AuthorizeRequest {
            client,
            redirect_uri: self.redirect_uri,
            response_mode: if self.form_post {
                ResponseMode::FormPost
            } else {
                ResponseMode::Query
            },
            scope,
            state: self.state,
            nonce: self.nonce,
            code_challenge,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            reauth_from: None,
        }))
    }
}

impl TokenService {
    /// Whether the user must be asked.
    pub(super) async fn needs_consent(&self, request: &AuthorizeRequest, user: UserId) -> Result<bool, OAuthError> {
        if request.client.first_party {
            return Ok(false);
        }
        if request.prompt.consent {
            return Ok(true);
        }
        let given = self.stores.consents.get_consent(user, &request.client.id).await?;
        Ok(!given.is_some_and(|c| request.scope.is_subset_of(&c.scope)))
    }

    /// Adds the request's scopes to the user's consent to its client, with a `consent_granted`
    /// audit event in the same write. A failure to read is an error page, a failure to write
    /// goes to the client.
    pub(super) async fn remember_consent(
        &self,
        request: &AuthorizeRequest,
        user: UserId,
        meta: &RequestMeta,
    ) -> Result<(), AuthorizeOutcome> {
        let now = self.clock.now();
        let granted = match self.stores.consents.get_consent(user, &request.client.id).await {
            Ok(Some(c)) => c.scope.iter().chain(request.scope.iter()).collect::<Scopes>(),
            Ok(None) => request.scope.clone(),
            Err(err) => return Err(AuthorizeOutcome::Error(AuthorizeRejection::Page(err.into()))),
        };
        let event = AuditEvent::new(
            AuditAction::ConsentGranted,
            format!("user:{user}"),
            Outcome::Success,
            now,
        )
        .user(user)
        .client(request.client.id.clone())
        .from_request(meta.ip.clone(), meta.user_agent.clone())
        .details(json!({ "scope": granted.to_string() }));
        let consent = Consent {
            user_id: user,
            client_id: request.client.id.clone(),
            scope: granted,
            granted_at: now,
            updated_at: now,
        };
        if let Err(err) = self.stores.consents.put_consent(&consent, &[event]).await {
            return Err(ClientReply::of(request).error(err.into()));
        }
        Ok(())
    }
}
