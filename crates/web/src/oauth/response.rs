//! OAuth responses: RFC 6749 §5.2 JSON errors (401 with `WWW-Authenticate` for
//! `invalid_client`), RFC 6750 bearer errors, and `Cache-Control: no-store` on everything that
//! may carry a token.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::oauth::{ErrorCode, OAuthError};
use serde::Serialize;

use crate::http::error::RETRY_AFTER_SECS;
use crate::http::respond::{json_no_store, log_if_server_side, no_store};

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// An OAuth error as the token, introspection and revocation endpoints answer it.
pub struct TokenEndpointError(pub OAuthError);

impl From<OAuthError> for TokenEndpointError {
    fn from(err: OAuthError) -> Self {
        TokenEndpointError(err)
    }
}

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let err = self.0;
        log_if_server_side(&err);
        let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = ErrorBody {
            error: err.code.as_str(),
            error_description: &err.description,
        };
        let mut response = json_no_store(status, &body);
        let headers = response.headers_mut();
        if err.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"keygate\", charset=\"UTF-8\""),
            );
        }
        if err.code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

/// An RFC 6750 error of a bearer-protected resource (userinfo). A request without a token gets
/// a bare challenge; a bad token `error="invalid_token"`.
pub struct BearerError(pub Option<OAuthError>);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let Some(err) = self.0 else {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            no_store(response.headers_mut());
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keygate\""),
            );
            return response;
        };
        if err.is_server_side() {
            return TokenEndpointError(err).into_response();
        }
        let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let challenge = format!(
            "Bearer realm=\"keygate\", error=\"{}\", error_description=\"{}\"",
            err.code.as_str(),
            err.description.replace(['"', '\\'], "'")
        );
        let body = ErrorBody {
            error: err.code.as_str(),
            error_description: &err.description,
        };
        let mut response = json_no_store(status, &body);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
