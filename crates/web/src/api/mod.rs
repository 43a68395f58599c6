//! The account JSON API (DESIGN §4): registration, login, sessions, verification, reset, TOTP,
//! personal access tokens, export and erasure, with RFC 9457 problem responses and the JSON CSRF
//! rule (JSON bodies only, no foreign `Origin`). The session and PAT extractors, the client
//! metadata and the problem type are the floor's ([`crate::http`]); the routes are in
//! `routes.rs`.

pub mod account;
pub mod auth;
pub mod credentials;
mod guard;
pub mod schema;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::login_answer;
pub use guard::JsonBody;

pub use crate::http::{AccountsApi, ClientMeta, InvalidProxy, TrustedProxies};
use crate::state::AppState;

/// Largest account API body: generous for any field, far below what would make hashing costly.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// The account API's request rules around its routes: the JSON CSRF rule and content type
/// ([`guard`]), the body limit, and `Cache-Control: no-store` on every answer.
pub fn rules(routes: Router<AppState>, state: AppState) -> Router<AppState> {
    routes
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
