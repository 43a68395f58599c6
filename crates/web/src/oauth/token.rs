//! POST /oauth2/token, /oauth2/introspect and /oauth2/revoke: client-authenticated form posts
//! (`application/x-www-form-urlencoded` only, RFC 6749 §3.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_core::model::Client;
use keygate_core::oauth::{OAuthError, TokenRequest};

use super::form::{Params, client_credentials, require_form};
use super::response::TokenEndpointError;
use super::schema::{TokenForm, TokenHandleForm};
use crate::http::metrics::TOKENS_ISSUED;
use crate::http::{ClientMeta, json_no_store, no_store};
use crate::state::AppState;

/// Checks the content type, parses the body and authenticates the client.
async fn authenticated(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(Client, Params), OAuthError> {
    require_form(headers)?;
    let mut params = Params::parse(body)?;
    let credentials = client_credentials(headers, &mut params)?;
    let client = state.oauth.tokens.authenticate_client(&credentials).await?;
    Ok((client, params))
}

fn token_request(params: &mut Params) -> Result<TokenRequest, OAuthError> {
    let missing = |name: &str| OAuthError::invalid_request(format!("{name} is required"));
    match params.get("grant_type") {
        Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
            code: params.take("code").ok_or_else(|| missing("code"))?,
            redirect_uri: params.take("redirect_uri"),
            code_verifier: params.take("code_verifier"),
        }),
        Some("refresh_token") => Ok(TokenRequest::RefreshToken {
            refresh_token: params.take("refresh_token").ok_or_else(|| missing("refresh_token"))?,
            scope: params.take("scope"),
        }),
        Some("client_credentials") => Ok(TokenRequest::ClientCredentials {
            scope: params.take("scope"),
        }),
        Some(_) => Err(OAuthError::new(
            keygate_core::oauth::ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
        None => Err(missing("grant_type")),
    }
}

#[utoipa::path(post, path = "/oauth2/token", tag = "oauth", security(("client_secret_basic" = []), ()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Tokens (RFC 6749 §5.1; `id_token` with the `openid` scope)", body = keygate_core::oauth::TokenResponse)))]
pub async fn token(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenEndpointError> {
    let (client, mut params) = authenticated(&state, &headers, &body).await?;
    let request = token_request(&mut params)?;
    let grant = request.grant_type().as_str();
    let response = state.oauth.tokens.exchange(&client, request, &meta).await?;
    // client_id is bounded: clients are created by the operator, never by callers.
    metrics::counter!(TOKENS_ISSUED, "grant" => grant, "client_id" => client.id.as_str().to_owned()).increment(1);
    Ok(json_no_store(StatusCode::OK, &response))
}

#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth", security(("client_secret_basic" = []), ()),
    description = "RFC 7662, for confidential clients; a client sees only its own tokens (others are `{\"active\": false}`).",
    request_body(content = TokenHandleForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The token's state; an inactive token is `{\"active\": false}` alone", body = keygate_core::oauth::Introspection)))]
pub async fn introspect(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenEndpointError> {
    let (client, params) = authenticated(&state, &headers, &body).await?;
    if client.is_public() {
        return Err(OAuthError::invalid_client("a public client cannot introspect tokens").into());
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let answer = state.oauth.tokens.introspect(&client, token, &meta).await?;
    Ok(json_no_store(StatusCode::OK, &answer))
}

#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth", security(("client_secret_basic" = []), ()),
    description = "RFC 7009; a refresh token takes its family with it. An unknown token is not an error.",
    request_body(content = TokenHandleForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or there was nothing to revoke")))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenEndpointError> {
    let (client, params) = authenticated(&state, &headers, &body).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    state.oauth.tokens.revoke(&client, token, &meta).await?;
    let mut response = StatusCode::OK.into_response();
    no_store(response.headers_mut());
    Ok(response)
}
