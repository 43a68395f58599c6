//! Small answers every feature gives: `Cache-Control: no-store`, a JSON body that must not be
//! cached, a 303 redirect, and the log line of an OAuth error that is the server's fault.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::oauth::OAuthError;
use serde::Serialize;

use super::error::cause_chain;

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON body that must not be cached (token, introspection and userinfo answers).
pub fn json_no_store<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

/// A 303 to `location` (a local path), the answer to every successful form post.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Logs a server-side error with its cause (never a secret: causes are store and key errors).
pub fn log_if_server_side(err: &OAuthError) {
    if err.is_server_side() {
        tracing::error!(error = %cause_chain(err), "OAuth request failed");
    }
}
