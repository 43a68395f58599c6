//! The admin API (DESIGN §4): bearer = the configured `admin_token` (compared in constant time)
//! or a personal access token carrying the `admin` scope (`keygate admin-token create`). JSON in
//! and out; errors as `{"error", "error_description"}` (RFC 7591 style, so a refused client
//! registration reads like one from any authorization server).

pub mod clients;
pub mod ops;
pub mod schema;
pub mod users;

pub use ops::{event_view, key_view};

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keygate_core::StoreError;
use keygate_core::oauth::OAuthError;
use keygate_core::operations::AdminPat;
use keygate_core::secret_token::{SecretKind, SecretToken, constant_time_eq};
use serde_json::json;

pub use crate::state::AdminSettings;

use crate::http::authorization::{self, Scheme};
use crate::http::error::cause_chain;
use crate::http::{limits, log_if_server_side, no_store};
use crate::state::AppState;

/// The PAT scope that grants the admin API.
pub use keygate_core::operations::ADMIN_SCOPE;

/// Who called: `admin` (the configured token) or `user:<id>` (an admin PAT).
pub struct Admin {
    pub actor: String,
}

pub enum AdminError {
    Unauthorized,
    /// Authenticated, but not as an administrator.
    Forbidden,
    NotFound(&'static str),
    BadRequest(String),
    /// The change conflicts with stored state (an address already taken).
    Conflict(String),
    /// Password hashing is saturated: retry shortly.
    Busy,
    /// The server's fault; the cause goes to the log, not to the caller.
    Internal(String),
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<OAuthError> for AdminError {
    fn from(err: OAuthError) -> Self {
        AdminError::OAuth(err)
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        AdminError::Store(err)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            AdminError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid admin bearer token is required".to_owned(),
            ),
            AdminError::Forbidden => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "this token does not carry the admin scope".to_owned(),
            ),
            AdminError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", format!("no such {what}")),
            AdminError::BadRequest(text) => (StatusCode::BAD_REQUEST, "invalid_request", text),
            AdminError::Conflict(text) => (StatusCode::CONFLICT, "conflict", text),
            AdminError::Busy => {
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({ "error": "temporarily_unavailable", "error_description": "the server is busy; retry shortly" })),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                no_store(response.headers_mut());
                return response;
            }
            AdminError::Internal(cause) => {
                tracing::error!(error = %cause, "admin request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the server failed; see its log".to_owned(),
                )
            }
            AdminError::OAuth(err) => {
                log_if_server_side(&err);
                let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
                (status, err.code.as_str(), err.description.into_owned())
            }
            AdminError::Store(err) => {
                return crate::http::error::ApiError::Store(err).into_response();
            }
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keygate-admin\""),
            );
        }
        no_store(response.headers_mut());
        response
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = authorization::credentials(&parts.headers, Scheme::Bearer)
            .ok()
            .flatten()
            .ok_or(AdminError::Unauthorized)?;
        if bearer.starts_with(SecretKind::PersonalAccessToken.prefix()) {
            return admin_pat(state, bearer).await;
        }
        match &state.admin.token {
            Some(token) if constant_time_eq(token.as_bytes(), bearer.as_bytes()) => Ok(Admin {
                actor: "admin".to_owned(),
            }),
            _ => Err(AdminError::Unauthorized),
        }
    }
}

/// A usable PAT with the `admin` scope whose owner is an active account; a valid PAT without
/// that scope is authenticated but not allowed (403).
async fn admin_pat(state: &AppState, bearer: &str) -> Result<Admin, AdminError> {
    let secret = SecretToken::parse(SecretKind::PersonalAccessToken, bearer).map_err(|_| AdminError::Unauthorized)?;
    match state.operations.admin_pat(&secret).await? {
        AdminPat::Admin(owner) => Ok(Admin {
            actor: format!("user:{owner}"),
        }),
        AdminPat::NotAdmin => Err(AdminError::Forbidden),
        AdminPat::Invalid => Err(AdminError::Unauthorized),
    }
}

/// Logs a store failure the admin API could not turn into an answer.
pub(crate) fn log_store(err: &StoreError) {
    tracing::error!(error = %cause_chain(err), "admin request failed");
}

/// Longest string anywhere in an admin API body (client names, redirect URIs, scope lists).
pub const ADMIN_FIELD_LIMIT: usize = 4096;

/// Refuses an admin JSON body with a string over [`ADMIN_FIELD_LIMIT`] or holding a control
/// character, before a handler stores any of it; a caller who is no admin gets 401 first, so the
/// rules of the body are no answer to strangers. (Bodies that are not JSON reach the handler,
/// which answers its own 400.)
async fn check_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(refused) = Admin::from_request_parts(&mut parts, &state).await {
        return refused.into_response();
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Err(err) = limits::check_json(&value, |_| ADMIN_FIELD_LIMIT)
    {
        return AdminError::BadRequest(err.to_string()).into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// The admin API's rule around its routes: [`check_body`] (authenticated first, then the body's
/// field limits).
pub fn rules(routes: Router<AppState>, state: AppState) -> Router<AppState> {
    routes.layer(axum::middleware::from_fn_with_state(state, check_body))
}
