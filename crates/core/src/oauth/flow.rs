//! The authorization flow's decisions, one method per step (authorize, show the consent page,
//! decide on consent), each returning what the web layer is to do next: send the user to sign in,
//! ask again, show the consent page, hand the client its code, or answer with an error. The
//! request waiting for consent and the consent records are kept through the store traits
//! ([`super::consent`]).

use std::future::Future;

use super::TokenService;
use super::authorize::{AuthorizeParams, AuthorizeRejection, AuthorizeRequest, ResponseMode, check_request};
use super::code::CodeGrant;
use super::consent::PendingAuthorization;
use super::error::{ErrorCode, OAuthError};
use crate::accounts::{AccountError, RequestMeta, SessionAuth};
use crate::ids::UserId;
use crate::secret_token::SecretToken;

/// Where an answer for the client goes: its checked redirect URI, the response mode and `state`.
#[derive(Clone, Debug)]
pub struct ClientReply {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

impl ClientReply {
    pub(super) fn of(request: &AuthorizeRequest) -> Self {
        ClientReply {
            redirect_uri: request.redirect_uri.clone(),
            response_mode: request.response_mode,
            state: request.state.clone(),
        }
    }

    pub(super) fn error(&self, error: OAuthError) -> AuthorizeOutcome {
        AuthorizeOutcome::Error(AuthorizeRejection::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
            error,
        })
    }
}

/// What the web layer is to do after a step of the flow.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Nobody is signed in: to the sign-in page, and back to this request afterwards.
    SignIn { login_hint: Option<String> },
    /// The user must sign in again (`prompt=login`, `max_age`); the new sign-in replaces the
    /// session `replaces` (Keygate's `kg_reauth`), which stays until then.
    Reauthenticate {
        login_hint: Option<String>,
        replaces: String,
    },
    /// The user is to be asked on the consent page; the pending request's id.
    AskConsent(String),
    /// The code for the client.
    Issue { reply: ClientReply, code: SecretToken },
    /// The pending request is unknown, used, someone else's or no longer valid for its client.
    Expired,
    /// An error for a page of its own, or for the client's checked redirect URI.
    Error(AuthorizeRejection),
}

/// What the consent page shows.
#[derive(Debug)]
pub enum ConsentPrompt {
    Ask { client_name: String, scopes: Vec<String> },
    Expired,
    Error(OAuthError),
}

impl TokenService {
    /// `/oauth2/authorize`: checks the request, then (with the browser's session, looked up only
    /// once the request is known to be sound) decides on sign-in, re-authentication, consent or
    /// the code.
    pub async fn authorize(
        &self,
        params: &AuthorizeParams,
        session: impl Future<Output = Result<Option<SessionAuth>, AccountError>>,
    ) -> AuthorizeOutcome {
        let request = match check_request(self.stores.clients.as_ref(), params).await {
            Ok(request) => request,
            Err(rejection) => return AuthorizeOutcome::Error(rejection),
        };
        let reply = ClientReply::of(&request);
        let session = match session.await {
            Ok(session) => session,
            Err(err) => {
                tracing::error!(error = %err, "authorize: cannot read the session");
                return reply.error(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "cannot check the sign-in session",
                ));
            }
        };
        let Some(session) = session else {
            if request.prompt.none {
                return reply.error(OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"));
            }
            return AuthorizeOutcome::SignIn {
                login_hint: request.login_hint.clone(),
            };
        };
        if request.needs_login(session.session.id, session.session.auth_time, self.clock.now()) {
            if request.prompt.none {
                return reply.error(OAuthError::new(ErrorCode::LoginRequired, "the user must sign in again"));
            }
            // The session stays until the new sign-in succeeds (which replaces it): a link from
            // another site with prompt=login cannot sign the user out.
            let replaces = request
                .reauth_from
                .clone()
                .unwrap_or_else(|| session.session.id.to_string());
            return AuthorizeOutcome::Reauthenticate {
                login_hint: request.login_hint.clone(),
                replaces,
            };
        }
        match self.needs_consent(&request, session.user.id).await {
            Ok(false) => self.issue(&request, &session).await,
            Ok(true) if request.prompt.none => reply.error(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented",
            )),
            Ok(true) => match PendingAuthorization::of(&request, session.user.id).keep(self).await {
                Ok(id) => AuthorizeOutcome::AskConsent(id),
                Err(err) => reply.error(err),
            },
            Err(err) => reply.error(err),
        }
    }

    /// The consent page for pending request `id`, if it is `user`'s and its client still exists.
    pub async fn consent_prompt(&self, user: UserId, id: &str) -> ConsentPrompt {
        let pending = match PendingAuthorization::load(self, id).await {
            Ok(Some(p)) if p.user_id == user => p,
            Ok(_) => return ConsentPrompt::Expired,
            Err(err) => return ConsentPrompt::Error(err),
        };
        match self.stores.clients.get_client(&pending.client_id()).await {
            Ok(Some(client)) => ConsentPrompt::Ask {
                client_name: client.name,
                scopes: pending.scopes(),
            },
            Ok(None) => ConsentPrompt::Expired,
            Err(err) => ConsentPrompt::Error(err.into()),
        }
    }

    /// The user's answer on the consent page: the pending request is used up (once, whoever of two
    /// tabs comes first), checked again against its client's current registration, and either
    /// refused to the client or remembered (audited) and answered with the code.
    pub async fn decide_consent(
        &self,
        session: &SessionAuth,
        id: &str,
        allow: bool,
        meta: &RequestMeta,
    ) -> AuthorizeOutcome {
        // Whose it is first: another user's POST with this id must leave it pending for its owner.
        match PendingAuthorization::load(self, id).await {
            Ok(Some(p)) if p.user_id == session.user.id => {}
            Ok(_) => return AuthorizeOutcome::Expired,
            Err(err) => return AuthorizeOutcome::Error(AuthorizeRejection::Page(err)),
        }
        let pending = match PendingAuthorization::take(self, id).await {
            Ok(Some(p)) => p,
            Ok(None) => return AuthorizeOutcome::Expired,
            Err(err) => return AuthorizeOutcome::Error(AuthorizeRejection::Page(err)),
        };
        let request = match pending.into_request(self).await {
            Ok(Some(request)) => request,
            Ok(None) => return AuthorizeOutcome::Expired,
            Err(err) => return AuthorizeOutcome::Error(AuthorizeRejection::Page(err)),
        };
        let reply = ClientReply::of(&request);
        if request.scope.is_empty() {
            return reply.error(OAuthError::invalid_scope(
                "the client is no longer registered for these scopes",
            ));
        }
        if !allow {
            return reply.error(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"));
        }
        match self.remember_consent(&request, session.user.id, meta).await {
            Ok(()) => self.issue(&request, session).await,
            Err(outcome) => outcome,
        }
    }

    /// Issues the code for `request`; a failure goes to the client.
    async fn issue(&self, request: &AuthorizeRequest, session: &SessionAuth) -> AuthorizeOutcome {
        let grant = CodeGrant {
            client_id: request.client.id.clone(),
            user_id: session.user.id,
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.as_ref().map(|c| c.as_str().to_owned()),
            auth_time: session.session.auth_time,
            amr: session.session.amr.clone(),
        };
        let reply = ClientReply::of(request);
        match self.issue_code(grant).await {
            Ok(code) => AuthorizeOutcome::Issue { reply, code },
            Err(err) => reply.error(err),
        }
    }
}
