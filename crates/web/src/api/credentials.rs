//! Handlers for second factors and personal access tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::{AccountError, NewPat, SCOPE_ACCOUNT_READ, SCOPE_ACCOUNT_WRITE};
use keygate_core::ids::PatId;
use keygate_core::model::PersonalAccessToken;
use serde::Deserialize;
use serde_json::json;

use super::account::PasswordBody;
use super::guard::JsonBody;
use super::schema::{CreatedPat, PatList, RecoveryCodes, TotpSetup};
use crate::http::{AccountFailure, Caller, ClientMeta};
use crate::state::AppState;

type ApiResult = Result<Response, AccountFailure>;

#[utoipa::path(post, path = "/api/auth/totp/setup", tag = "account", security(("session_cookie" = [])),
    responses((status = 200, description = "A new secret, not yet enabled", body = TotpSetup)))]
pub async fn totp_setup(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let auth = caller.require_session()?;
    let setup = state.accounts.service.totp_setup(&auth.user).await?;
    let body = json!({ "secret": setup.secret, "otpauth_uri": setup.otpauth_uri });
    Ok(Json(body).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    code: String,
}

#[utoipa::path(post, path = "/api/auth/totp/enable", tag = "account", request_body = CodeBody, security(("session_cookie" = [])),
    responses((status = 200, description = "Enabled; the recovery codes are shown once", body = RecoveryCodes)))]
pub async fn totp_enable(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    JsonBody(body): JsonBody<CodeBody>,
) -> ApiResult {
    let auth = caller.require_session()?;
    let codes = state
        .accounts
        .service
        .totp_enable(&auth.user, &body.code, &meta)
        .await?;
    Ok(Json(json!({ "recovery_codes": codes })).into_response())
}

#[utoipa::path(post, path = "/api/auth/totp/disable", tag = "account", request_body = PasswordBody, security(("session_cookie" = [])),
    responses((status = 204, description = "Two-step verification is off")))]
pub async fn totp_disable(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult {
    let auth = caller.require_session()?;
    state
        .accounts
        .service
        .totp_disable(&auth.user, &body.password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn pat_json(pat: &PersonalAccessToken) -> serde_json::Value {
    json!({
        "id": pat.id,
        "name": pat.name,
        "display_prefix": pat.display_prefix,
        "scopes": pat.scope.iter().collect::<Vec<_>>(),
        "created_at": pat.created_at.to_rfc3339(),
        "expires_at": pat.expires_at.map(|t| t.to_rfc3339()),
        "last_used_at": pat.last_used_at.map(|t| t.to_rfc3339()),
    })
}

#[utoipa::path(get, path = "/api/auth/tokens", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:read"])),
    responses((status = 200, description = "The account's personal access tokens (never their secrets)", body = PatList)))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_READ)?;
    let tokens: Vec<_> = state
        .accounts
        .service
        .list_pats(caller.user())
        .await?
        .iter()
        .map(pat_json)
        .collect();
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateTokenBody {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[utoipa::path(post, path = "/api/auth/tokens", tag = "account", request_body = CreateTokenBody, security(("session_cookie" = [])),
    responses((status = 201, description = "Created; `token` is shown in this answer only", body = CreatedPat)))]
pub async fn create_token(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    JsonBody(body): JsonBody<CreateTokenBody>,
) -> ApiResult {
    let auth = caller.require_session()?;
    let new = NewPat {
        name: body.name,
        scopes: body.scopes,
        expires_in_days: body.expires_in_days,
    };
    let created = state.accounts.service.create_pat(&auth.user, new, &meta).await?;
    let mut body = pat_json(&created.pat);
    body["token"] = json!(created.token.expose());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/api/auth/tokens/{id}", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:write"])),
    params(("id" = String, Path, description = "A token id from `GET /api/auth/tokens`")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_WRITE)?;
    let id = PatId::parse(&id).ok_or(AccountError::NotFound("token"))?;
    state.accounts.service.revoke_pat(caller.user(), id, &meta).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
