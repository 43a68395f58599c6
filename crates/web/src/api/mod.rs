//! The account JSON API (DESIGN §4): registration, login, sessions, verification, reset, TOTP,
//! personal access tokens, export and erasure, with RFC 9457 problem responses, the JSON CSRF
//! rule (JSON bodies only, no foreign `Origin`) and the session-cookie and PAT extractors that
//! the HTML pages and the OAuth endpoints reuse.

mod account;
mod auth;
mod background_mail;
mod client_ip;
mod credentials;
mod guard;
mod problem;
mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{delete, get, post};
use keygate_core::accounts::Accounts;
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::login_answer;
pub use background_mail::BackgroundMailer;
pub use client_ip::{ClientMeta, InvalidProxy, TrustedProxies};
pub use guard::JsonBody;
pub use problem::{AccountFailure, ApiProblem, PROBLEM_BASE, problem_for};
pub use session::{
    COOKIE_NAME, Caller, CurrentSession, SECURE_COOKIE_NAME, clear_session_cookie, find_session, session_cookie,
    set_session_cookie,
};

use crate::state::AppState;

/// Largest account API body: generous for any field, far below what would make hashing costly.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// The `/api/auth/...` routes with their request rules.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/verify-email/{token}", get(auth::verify_email_get))
        .route("/api/auth/verify-email", post(auth::verify_email_post))
        .route("/api/auth/resend-verification", post(auth::resend_verification))
        .route("/api/auth/forgot-password", post(auth::forgot_password))
        .route("/api/auth/reset-password", post(auth::reset_password))
        .route("/api/auth/change-password", post(auth::change_password))
        .route("/api/auth/me", get(account::me))
        .route("/api/auth/sessions", get(account::list_sessions))
        .route("/api/auth/sessions/{id}", delete(account::end_session))
        .route("/api/auth/activity", get(account::activity))
        .route("/api/auth/export", get(account::export))
        .route("/api/auth/account", delete(account::delete_account))
        .route("/api/auth/totp/setup", post(credentials::totp_setup))
        .route("/api/auth/totp/enable", post(credentials::totp_enable))
        .route("/api/auth/totp/disable", post(credentials::totp_disable))
        .route(
            "/api/auth/tokens",
            get(credentials::list_tokens).post(credentials::create_token),
        )
        .route("/api/auth/tokens/{id}", delete(credentials::revoke_token))
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// What the account API needs besides the shared state.
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
}

/// `https://id.example.com/tenant` -> `https://id.example.com`.
fn origin_of(issuer: &str) -> String {
    let Some((scheme, rest)) = issuer.split_once("://") else {
        return issuer.to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
}
