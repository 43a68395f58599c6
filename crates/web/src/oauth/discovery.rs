//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS. The metadata document is built once at
//! start; the JWKS is serialised whenever the key set is rebuilt, never per request.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::schema::{DiscoveryDocument, Jwks};
use crate::state::AppState;

fn json_bytes(bytes: Bytes, max_age: u32) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses((status = 200, description = "The OpenID Provider metadata (cacheable for an hour)", body = DiscoveryDocument)))]
pub async fn discovery(State(state): State<AppState>) -> Response {
    json_bytes(state.oauth.discovery.clone(), 3600)
}

#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth",
    responses((status = 200, description = "The public signing keys (cacheable for five minutes)", body = Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.oauth.tokens.keys().current();
    json_bytes(Bytes::copy_from_slice(keys.jwks_json.as_bytes()), 300)
}
