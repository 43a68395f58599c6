//! The discovery document (OIDC Discovery 1.0, RFC 8414): endpoints, supported grants, methods,
//! algorithms and claims. Built once at start-up; the web layer serves it as it is.

use serde_json::{Value, json};

use super::settings::OAuthSettings;
use crate::jose::ALGS;

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

/// The metadata document (OIDC Discovery 1.0, RFC 8414): what this server publishes about itself.
pub fn discovery_document(settings: &OAuthSettings, scopes: &[String]) -> Value {
    let issuer = &settings.issuer;
    let algs: Vec<&str> = ALGS.iter().map(|a| a.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    json!({
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
    })
}
