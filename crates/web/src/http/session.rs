//! The session cookie (`keygate_session`, or `__Host-keygate_session` with `Secure` under an https
//! issuer; always HttpOnly, SameSite=Lax, Path=/), the account service it is checked against, and
//! the extractors that find who is calling: [`CurrentSession`] (a browser session) and [`Caller`]
//! (a session or a personal access token limited to its scopes). They work on any router state
//! that hands out the [`AccountsApi`] (`FromRef`).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use keygate_core::accounts::{AccountError, Accounts, Authenticated, SessionAuth};
use keygate_core::model::User;
use keygate_core::secret_token::SecretToken;

use super::account_error::problem_for;
use super::authorization::{self, Scheme};
use super::cookies;
use super::proxies::TrustedProxies;

/// The session cookie's name over http; `__Host-` is put in front over https.
pub const COOKIE_NAME: &str = "keygate_session";
pub const SECURE_COOKIE_NAME: &str = "__Host-keygate_session";

/// The account service and what the HTTP side needs to know to call it for a request.
#[derive(Clone, Debug)]
pub struct AccountsApi {
    pub service: Accounts,
    /// The issuer's origin (`scheme://host[:port]`), the only `Origin` a state-changing request may carry.
    pub issuer_origin: String,
    /// Cookies are `Secure` and `__Host-` prefixed when the issuer is https.
    pub secure_cookies: bool,
    pub trusted_proxies: TrustedProxies,
}

impl AccountsApi {
    pub fn new(service: Accounts, issuer: &str, trusted_proxies: TrustedProxies) -> Self {
        AccountsApi {
            service,
            issuer_origin: origin_of(issuer),
            secure_cookies: issuer.starts_with("https://"),
            trusted_proxies,
        }
    }

    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        }
    }
}

/// `https://id.example.com/tenant` -> `https://id.example.com`.
pub fn origin_of(issuer: &str) -> String {
    let Some((scheme, rest)) = issuer.split_once("://") else {
        return issuer.to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
}

/// The `Set-Cookie` header that hands the browser its session secret.
pub fn set_session_cookie(api: &AccountsApi, token: &SecretToken) -> (HeaderName, HeaderValue) {
    let max_age = api.service.config().session_absolute;
    // A token is `[A-Za-z0-9_]` only, so the header value is always valid.
    let header = cookies::set(COOKIE_NAME, token.expose(), api.secure_cookies, Some(max_age))
        .unwrap_or_else(|| HeaderValue::from_static(""));
    (SET_COOKIE, header)
}

/// The `Set-Cookie` header that removes the session cookie.
pub fn clear_session_cookie(api: &AccountsApi) -> (HeaderName, HeaderValue) {
    (SET_COOKIE, cookies::clear(COOKIE_NAME, api.secure_cookies))
}

/// The session cookie's value in the request, if any.
pub fn session_cookie(api: &AccountsApi, headers: &HeaderMap) -> Option<String> {
    cookies::read(headers, COOKIE_NAME, api.secure_cookies)
}

/// The live session of the request's cookie, if any. Store failures are errors.
pub async fn find_session(api: &AccountsApi, headers: &HeaderMap) -> Result<Option<SessionAuth>, AccountError> {
    match session_cookie(api, headers) {
        Some(cookie) => api.service.authenticate_session(&cookie).await,
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

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    Arc<AccountsApi>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = Arc::<AccountsApi>::from_ref(state);
        match find_session(&api, &parts.headers).await {
            Ok(Some(auth)) => Ok(CurrentSession(auth)),
            Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
            Err(err) => Err(problem_for(err)),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    Arc<AccountsApi>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let api = Arc::<AccountsApi>::from_ref(state);
        find_session(&api, &parts.headers)
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

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<AccountsApi>: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = Arc::<AccountsApi>::from_ref(state);
        // A malformed bearer header is a 401 too, never a fall back to the cookie.
        let bearer = authorization::credentials(&parts.headers, Scheme::Bearer)
            .map_err(|_| problem_for(AccountError::Unauthenticated))?;
        if let Some(token) = bearer {
            return match api.service.authenticate_pat(token).await {
                Ok(Some((pat, user))) => Ok(Caller(Authenticated::Pat { pat, user })),
                Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
                Err(err) => Err(problem_for(err)),
            };
        }
        match find_session(&api, &parts.headers).await {
            Ok(Some(auth)) => Ok(Caller(Authenticated::Session(auth))),
            Ok(None) => Err(problem_for(AccountError::Unauthenticated)),
            Err(err) => Err(problem_for(err)),
        }
    }
}
