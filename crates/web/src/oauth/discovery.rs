//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS. The metadata document is built once at
//! start; the JWKS is serialised whenever the key set is rebuilt, never per request.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keygate_core::jose::ALGS;
use keygate_core::oauth::OAuthSettings;
use serde_json::json;

use crate::state::AppState;

/// Claims Keygate can put in ID tokens and userinfo answers.
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "email",
    "email_verified",
    "preferred_username",
    "updated_at",
];

/// The metadata document, serialised once.
pub fn metadata(settings: &OAuthSettings, scopes: &[String]) -> Bytes {
    let issuer = &settings.issuer;
    let algs: Vec<&str> = ALGS.iter().map(|a| a.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/oauth2/jwks"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": &auth_methods[..2],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "access_token_signing_alg_values_supported": algs,
        "introspection_signing_alg_values_supported": [],
        "authorization_response_iss_parameter_supported": true,
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    });
    Bytes::from(document.to_string())
}

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

pub async fn discovery(State(state): State<AppState>) -> Response {
    json_bytes(state.oauth.discovery.clone(), 3600)
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.oauth.tokens.keys().current();
    json_bytes(Bytes::copy_from_slice(keys.jwks_json.as_bytes()), 300)
}
