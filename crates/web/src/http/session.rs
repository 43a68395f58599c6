//! The session cookie (`keygate_session`, or `__Host-keygate_session` with `Secure` under an https
//! issuer; always HttpOnly, SameSite=Lax, Path=/), and the extractors that find who is calling:
//! [`CurrentSession`] (a browser session; pages and /oauth2/authorize use it) and [`Caller`]
//! (a session or a personal access token limited to its scopes).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use keygate_core::accounts::{AccountError, Authenticated, SessionAuth};
use keygate_core::model::User;
use keygate_core::secret_token::SecretToken;

use super::AccountsApi;
use super::problem::problem_for;
use crate::authorization::{self, Scheme};
use crate::state::AppState;

pub const COOKIE_NAME: &str = "keygate_session";
pub const SECURE_COOKIE_NAME: &str = "__Host-keygate_session";

impl AccountsApi {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        }
    }

    fn cookie_attributes(&self) -> &'static str {
        if self.secure_cookies {
            "; HttpOnly; SameSite=Lax; Path=/; Secure"
        } else {
            "; HttpOnly; SameSite=Lax; Path=/"
        }
    }
}

/// The `Set-Cookie` header that hands the browser its session secret.
pub fn set_session_cookie(api: &AccountsApi, token: &SecretToken) -> (HeaderName, HeaderValue) {
    let max_age = api.service.config().session_absolute.as_secs();
    let value = format!(
        "{}={}{}; Max-Age={max_age}",
        api.cookie_name(),
        token.expose(),
        api.cookie_attributes()
    );
    // A token is `[A-Za-z0-9_]` only, so the header value is always valid.
    let header = HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    (SET_COOKIE, header)
}

/// The `Set-Cookie` header that removes the session cookie.
pub fn clear_session_cookie(api: &AccountsApi) -> (HeaderName, HeaderValue) {
    let value = format!("{}={}; Max-Age=0", api.cookie_name(), api.cookie_attributes());
    let header = HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    (SET_COOKIE, header)
}

/// The session cookie's value in the request, if any.
pub fn session_cookie(api: &AccountsApi, headers: &HeaderMap) -> Option<String> {
    let name = api.cookie_name();
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The live session of the request's cookie, if any. Store failures are errors.
pub async fn find_session(state: &AppState, headers: &HeaderMap) -> Result<Option<SessionAuth>, AccountError> {
    match session_cookie(&state.accounts, headers) {
        Some(cookie) => state.accounts.service.authenticate_session(&cookie).await,
        None => Ok(None),
    }
}

/// A logged-in browser session. As an extractor it answers 401 (problem JSON) without one; use
/// `Option<CurrentSession>` to handle the anonymous case yourself (pages redirect to /login).
#[derive(Clone, Debug)]
pub struct CurrentSession(pub SessionAuth);

impl CurrentSession {
    pub fn user(&self) -> &User {
        &self.0.user
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match find_session(state, &parts.headers).await {
            Ok(Some(auth)) => Ok(CurrentSession(auth)),
            Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
            Err(err) => Err(problem_for(err)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        find_session(state, &parts.headers)
            .await
            .map(|found| found.map(CurrentSession))
            .map_err(problem_for)
    }
}

/// Whoever calls the account API: a session, or a personal access token (`Authorization:
/// Bearer kgp_…`, which wins over a cookie). A bad bearer token is a 401, never a fallback.
#[derive(Clone, Debug)]
pub struct Caller(pub Authenticated);

impl Caller {
    pub fn user(&self) -> &User {
        self.0.user()
    }

    /// Sessions may do everything; a token only what its scopes allow.
    pub fn require_scope(&self, scope: &'static str) -> Result<(), AccountError> {
        match &self.0 {
            Authenticated::Session(_) => Ok(()),
            Authenticated::Pat { pat, .. } if pat.scope.contains(scope) => Ok(()),
            Authenticated::Pat { .. } => Err(AccountError::InsufficientScope(scope)),
        }
    }

    /// Password, TOTP, token creation and erasure need a session; a token cannot do them.
    pub fn require_session(&self) -> Result<&SessionAuth, AccountError> {
        match &self.0 {
            Authenticated::Session(auth) => Ok(auth),
            Authenticated::Pat { .. } => Err(AccountError::SessionRequired),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let service = &state.accounts.service;
        // A malformed bearer header is a 401 too, never a fall back to the cookie.
        let bearer = authorization::credentials(&parts.headers, Scheme::Bearer)
            .map_err(|_| problem_for(AccountError::Unauthenticated))?;
        if let Some(token) = bearer {
            return match service.authenticate_pat(token).await {
                Ok(Some((pat, user))) => Ok(Caller(Authenticated::Pat { pat, user })),
                Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
                Err(err) => Err(problem_for(err)),
            };
        }
        match find_session(state, &parts.headers).await {
            Ok(Some(auth)) => Ok(Caller(Authenticated::Session(auth))),
            Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
            Err(err) => Err(problem_for(err)),
        }
    }
}
