//! GET and POST /oauth2/userinfo: the bearer token comes in the `Authorization` header or (POST)
//! the form body, never the query string (RFC 6750 §2.3 is not offered: URLs end up in logs).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use keygate_core::oauth::OAuthError;

use super::form::{Params, require_form};
use super::response::BearerError;
use super::schema::{OAuthErrorBody, UserinfoClaims, UserinfoForm};
use crate::http::authorization::{self, Scheme};
use crate::http::json_no_store;
use crate::state::AppState;

#[utoipa::path(method(get, post), path = "/oauth2/userinfo", tag = "oauth", security(("access_token" = [])),
    description = "The token in the `Authorization: Bearer` header, or (POST) as `access_token` in a form body; never in the query.",
    request_body(content = Option<UserinfoForm>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The claims the token's scopes grant", body = UserinfoClaims),
        (status = 401, description = "No token, or not a valid one (`WWW-Authenticate: Bearer`, RFC 6750 §3); a bad token also gets an error body", body = Option<OAuthErrorBody>),
    ))]
pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BearerError> {
    let in_query = uri
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == "access_token"));
    if in_query {
        // Treated as no token at all: 401 with a bare Bearer challenge (DESIGN §4).
        return Err(BearerError(None));
    }
    let from_header = authorization::credentials(&headers, Scheme::Bearer)
        .map_err(|_| {
            BearerError(Some(OAuthError::invalid_request(
                "the Authorization header is malformed",
            )))
        })?
        .map(str::to_owned);
    let from_body = if method == Method::POST && !body.is_empty() {
        // RFC 6750 §2.2: a body token only in a form body.
        require_form(&headers).map_err(|e| BearerError(Some(e)))?;
        Params::parse(&body)
            .map_err(|e| BearerError(Some(e)))?
            .take("access_token")
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(BearerError(Some(OAuthError::invalid_request(
                "send the access token once, in the header or the body",
            ))));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(BearerError(None)),
    };
    let claims = state
        .oauth
        .tokens
        .userinfo(&token)
        .await
        .map_err(|e| BearerError(Some(e)))?;
    Ok(json_no_store(StatusCode::OK, &claims))
}
