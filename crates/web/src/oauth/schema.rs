//! The request and response shapes of the OAuth endpoints that the handlers parse or build by
//! hand (forms, discovery, JWKS, userinfo, errors), for the OpenAPI document only
//! (`crate::openapi`); the integration suite `openapi` checks real answers against them.

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// An RFC 6749 §5.2 error (token, introspection, revocation, userinfo).
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    #[schema(example = "invalid_grant")]
    pub error: String,
    pub error_description: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

/// POST /oauth2/token (form-encoded). A confidential client authenticates with HTTP Basic
/// (`client_secret_basic`) or `client_id` + `client_secret` in the form (`client_secret_post`);
/// a public client sends only `client_id`.
#[derive(Serialize, ToSchema)]
pub struct TokenForm {
    pub grant_type: GrantType,
    /// authorization_code: the code from the redirect.
    pub code: Option<String>,
    /// authorization_code: the redirect URI of the authorization request, when it named one.
    pub redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier (RFC 7636), required for public clients.
    pub code_verifier: Option<String>,
    /// refresh_token: the refresh token to rotate.
    pub refresh_token: Option<String>,
    /// refresh_token, client_credentials: a space-separated subset of the granted scopes.
    pub scope: Option<String>,
    pub client_id: Option<String>,
    #[schema(format = Password)]
    pub client_secret: Option<String>,
}

/// POST /oauth2/introspect and /oauth2/revoke (form-encoded), client-authenticated as for the
/// token endpoint.
#[derive(Serialize, ToSchema)]
pub struct TokenHandleForm {
    pub token: String,
    /// `access_token` or `refresh_token`: a hint, never required.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    #[schema(format = Password)]
    pub client_secret: Option<String>,
}

/// POST /oauth2/userinfo with the token in a form body (RFC 6750 §2.2) instead of the header.
#[derive(Serialize, ToSchema)]
pub struct UserinfoForm {
    pub access_token: String,
}

/// The claims of the token's user that its scopes grant; `sub` always.
#[derive(Serialize, ToSchema)]
pub struct UserinfoClaims {
    pub sub: String,
    /// With `email`.
    pub email: Option<String>,
    /// With `email`.
    pub email_verified: Option<bool>,
    /// With `profile`.
    pub preferred_username: Option<String>,
    /// With `profile` (Unix seconds).
    pub updated_at: Option<i64>,
}

/// One public key (RFC 7517): RSA (`n`, `e`), EC P-256 (`crv`, `x`, `y`) or Ed25519 (`crv`, `x`).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub alg: String,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// OpenID Connect Discovery 1.0 / RFC 8414 metadata.
#[derive(Serialize, ToSchema)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub end_session_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub userinfo_signing_alg_values_supported: Vec<String>,
    pub access_token_signing_alg_values_supported: Vec<String>,
    pub introspection_signing_alg_values_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub claims_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub prompt_values_supported: Vec<String>,
    pub frontchannel_logout_supported: bool,
    pub backchannel_logout_supported: bool,
}

/// The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636): in the query
/// (GET) or a form body (POST).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    /// Only `code`.
    pub response_type: String,
    /// `query` (default) or `form_post`.
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// Required for public clients (S256).
    pub code_challenge: Option<String>,
    /// Only `S256`.
    pub code_challenge_method: Option<String>,
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    /// Seconds.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
}

/// The same fields as [`AuthorizeQuery`], in a form body.
#[derive(Serialize, ToSchema)]
pub struct AuthorizeForm {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub response_type: String,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
}

/// RFC 8414's name for the discovery document: the same document as
/// `/.well-known/openid-configuration`, served by the same handler.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "The authorization server metadata (cacheable for an hour)", body = DiscoveryDocument)))]
pub fn authorization_server_metadata() {}
