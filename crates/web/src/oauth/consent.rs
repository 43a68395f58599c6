//! The consent step: whether it is needed (first-party clients and scopes already granted skip
//! it), the pending request kept in the ephemeral store while the user decides, and GET/POST
//! /consent (behind the form CSRF layer; buttons `action=allow` / `action=deny`).

use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use keygate_core::Scopes;
use keygate_core::accounts::SessionAuth;
use keygate_core::ids::{ClientId, UserId};
use keygate_core::model::{Consent, GrantType};
use keygate_core::oauth::{AuthorizeRequest, ErrorCode, OAuthError, Prompt, ResponseMode};
use keygate_core::pkce::CodeChallenge;
use keygate_core::redirect_uri;
use keygate_core::secret_token::{SecretKind, SecretToken};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::authorize::{error_page, expired_page, issue};
use super::respond::error_to_client;
use crate::http::csrf::CsrfToken;
use crate::http::html::PageBase;
use crate::http::{find_session, see_other};
use crate::state::AppState;

/// How long a user may take to decide.
const PENDING_TTL: Duration = Duration::from_secs(600);

fn key(id: &str) -> String {
    format!("oauth:consent:{id}")
}

/// Whether the user must be asked.
pub async fn needs_consent(
    state: &AppState,
    request: &AuthorizeRequest,
    session: &SessionAuth,
) -> Result<bool, OAuthError> {
    if request.client.first_party {
        return Ok(false);
    }
    if request.prompt.consent {
        return Ok(true);
    }
    let given = state
        .stores
        .consents
        .get_consent(session.user.id, &request.client.id)
        .await?;
    Ok(!given.is_some_and(|c| request.scope.is_subset_of(&c.scope)))
}

/// An authorization request waiting for the user's decision.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingAuthorization {
    user_id: UserId,
    client_id: String,
    redirect_uri: String,
    form_post: bool,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

impl PendingAuthorization {
    /// Keeps the request under a random id (a CSRF-kind token: unguessable, never stored in clear
    /// anywhere but the user's URL) and returns the id.
    pub async fn store(
        state: &AppState,
        request: &AuthorizeRequest,
        session: &SessionAuth,
    ) -> Result<String, OAuthError> {
        let pending = PendingAuthorization {
            user_id: session.user.id,
            client_id: request.client.id.0.clone(),
            redirect_uri: request.redirect_uri.clone(),
            form_post: request.response_mode == ResponseMode::FormPost,
            scope: request.scope.to_string(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.as_ref().map(|c| c.as_str().to_owned()),
        };
        let id = SecretToken::generate(SecretKind::Csrf).expose()[4..].to_owned();
        let value = serde_json::to_vec(&pending).map_err(|e| OAuthError {
            cause: Some(Box::new(e)),
            ..OAuthError::new(ErrorCode::ServerError, "cannot keep the request")
        })?;
        state
            .stores
            .ephemeral
            .put(&key(&id), &value, state.clock.now(), PENDING_TTL)
            .await?;
        Ok(id)
    }

    /// The request again, checked against its client's current registration: None when the
    /// client is gone, may no longer use the code grant or no longer has the redirect URI; the
    /// scope keeps only what the client is still registered for.
    async fn into_request(self, state: &AppState) -> Result<Option<AuthorizeRequest>, OAuthError> {
        let Some(client) = state.stores.clients.get_client(&ClientId(self.client_id)).await? else {
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

async fn load(state: &AppState, id: &str) -> Result<Option<PendingAuthorization>, OAuthError> {
    let raw = state.stores.ephemeral.get(&key(id), state.clock.now()).await?;
    Ok(raw.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// What each scope lets the client do, in words.
fn describe(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Know who you are",
        "profile" => "See your profile",
        "email" => "See your email address",
        "offline_access" => "Stay connected when you are not using it",
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub struct ConsentQuery {
    pub id: Option<String>,
}

pub async fn consent_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(query): Query<ConsentQuery>,
) -> Response {
    let Some(id) = query.id else {
        return expired_page(&state);
    };
    let session = match find_session(&state.accounts, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return see_other(&format!("/login?return_to=%2Fconsent%3Fid%3D{id}")),
        Err(_) => {
            return error_page(
                &state,
                &OAuthError::new(ErrorCode::TemporarilyUnavailable, "please retry"),
            );
        }
    };
    let pending = match load(&state, &id).await {
        Ok(Some(p)) if p.user_id == session.user.id => p,
        Ok(_) => return expired_page(&state),
        Err(err) => return error_page(&state, &err),
    };
    let client = match state
        .stores
        .clients
        .get_client(&ClientId(pending.client_id.clone()))
        .await
    {
        Ok(Some(client)) => client,
        Ok(None) => return expired_page(&state),
        Err(err) => return error_page(&state, &err.into()),
    };
    let scopes: Vec<_> = pending
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| context! { name => s, description => describe(s) })
        .collect();
    let base = PageBase::new(&csrf).signed_in(true);
    let extra = context! {
        client_name => client.name,
        scopes => scopes,
        hidden => vec![context! { name => "consent_id", value => id }],
        action => "/consent",
        user_email => session.user.email.as_str(),
    };
    state.pages.render("consent.html", StatusCode::OK, &base, extra)
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    pub action: Option<String>,
    pub consent_id: Option<String>,
}

pub async fn consent_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let Some(id) = form.consent_id else {
        return expired_page(&state);
    };
    let session = match find_session(&state.accounts, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return expired_page(&state),
        Err(_) => {
            return error_page(
                &state,
                &OAuthError::new(ErrorCode::TemporarilyUnavailable, "please retry"),
            );
        }
    };
    // Whose it is first: another user's POST with this id must leave it pending for its owner.
    let pending = match load(&state, &id).await {
        Ok(Some(p)) if p.user_id == session.user.id => p,
        Ok(_) => return expired_page(&state),
        Err(err) => return error_page(&state, &err),
    };
    // Then used up, once: of two tabs deciding at once, one goes on.
    match state.stores.ephemeral.take(&key(&id), state.clock.now()).await {
        Ok(Some(_)) => {}
        Ok(None) => return expired_page(&state),
        Err(err) => return error_page(&state, &err.into()),
    }
    let request = match pending.into_request(&state).await {
        Ok(Some(request)) => request,
        Ok(None) => return expired_page(&state),
        Err(err) => return error_page(&state, &err),
    };
    let issuer = state.oauth.tokens.settings().issuer.clone();
    if request.scope.is_empty() {
        let narrowed = OAuthError::invalid_scope("the client is no longer registered for these scopes");
        return error_to_client(
            &request.redirect_uri,
            request.response_mode,
            &issuer,
            request.state.as_deref(),
            &narrowed,
        );
    }
    if form.action.as_deref() != Some("allow") {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return error_to_client(
            &request.redirect_uri,
            request.response_mode,
            &issuer,
            request.state.as_deref(),
            &denied,
        );
    }
    let now = state.clock.now();
    let previous = state
        .stores
        .consents
        .get_consent(session.user.id, &request.client.id)
        .await;
    let granted = match previous {
        Ok(Some(c)) => c.scope.iter().chain(request.scope.iter()).collect::<Scopes>(),
        Ok(None) => request.scope.clone(),
        Err(err) => return error_page(&state, &err.into()),
    };
    let consent = Consent {
        user_id: session.user.id,
        client_id: request.client.id.clone(),
        scope: granted,
        granted_at: now,
        updated_at: now,
    };
    if let Err(err) = state.stores.consents.put_consent(&consent).await {
        return error_to_client(
            &request.redirect_uri,
            request.response_mode,
            &issuer,
            request.state.as_deref(),
            &err.into(),
        );
    }
    issue(&state, &request, &session).await
}
