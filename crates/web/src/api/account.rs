//! Handlers for the signed-in user's own data: profile, sessions, activity, export, erasure.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::{AccountError, Authenticated, SCOPE_ACCOUNT_READ, SCOPE_ACCOUNT_WRITE, activity_json};
use keygate_core::ids::SessionId;
use keygate_core::paging::PageRequest;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::guard::JsonBody;
use super::schema::{ActivityPage, SessionList};
use crate::http::{AccountFailure, Caller, ClientMeta, clear_session_cookie};
use crate::state::AppState;

type ApiResult = Result<Response, AccountFailure>;

#[utoipa::path(get, path = "/api/auth/me", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:read"])),
    responses((status = 200, description = "The signed-in account", body = keygate_core::accounts::Profile)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_READ)?;
    let profile = state.accounts.service.profile(caller.user()).await?;
    Ok(Json(profile).into_response())
}

#[utoipa::path(get, path = "/api/auth/sessions", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:read"])),
    responses((status = 200, description = "The account's live sessions", body = SessionList)))]
pub async fn list_sessions(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_READ)?;
    let current = match &caller.0 {
        Authenticated::Session(auth) => Some(auth.session.id),
        Authenticated::Pat { .. } => None,
    };
    let sessions: Vec<_> = state
        .accounts
        .service
        .list_sessions(caller.user())
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "amr": s.amr,
                "created_at": s.created_at.to_rfc3339(),
                "last_seen_at": s.last_seen_at.to_rfc3339(),
                "expires_at": s.idle_expires_at.min(s.absolute_expires_at).to_rfc3339(),
                "current": Some(s.id) == current,
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })).into_response())
}

#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:write"])),
    params(("id" = String, Path, description = "A session id from `GET /api/auth/sessions`")),
    responses((status = 204, description = "The session is over")))]
pub async fn end_session(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_WRITE)?;
    let id = SessionId::parse(&id).ok_or(AccountError::NotFound("session"))?;
    state.accounts.service.end_session(caller.user(), id, &meta).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    limit: Option<u32>,
    after: Option<String>,
}

#[utoipa::path(get, path = "/api/auth/activity", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:read"])), params(PageQuery),
    responses((status = 200, description = "The account's audit events, newest first", body = ActivityPage)))]
pub async fn activity(State(state): State<AppState>, caller: Caller, Query(query): Query<PageQuery>) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_READ)?;
    let page = PageRequest {
        after: query.after,
        limit: query.limit.unwrap_or(50).min(200),
    };
    let page = state.accounts.service.activity(caller.user(), &page).await?;
    let items: Vec<_> = page.items.iter().map(activity_json).collect();
    Ok(Json(json!({ "items": items, "next": page.next })).into_response())
}

#[utoipa::path(get, path = "/api/auth/export", tag = "account", security(("session_cookie" = []), ("pat_bearer" = ["account:read"])),
    responses((status = 200, description = "Everything Keygate keeps about the account (a download)",
        body = keygate_core::accounts::AccountExport)))]
pub async fn export(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_scope(SCOPE_ACCOUNT_READ)?;
    let export = state.accounts.service.export(caller.user()).await?;
    let disposition = (
        header::CONTENT_DISPOSITION,
        "attachment; filename=\"keygate-account.json\"",
    );
    Ok(([disposition], Json(export)).into_response())
}

/// A body holding only the account password (erasing the account, turning TOTP off).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    #[schema(value_type = String, format = Password)]
    pub(crate) password: Zeroizing<String>,
}

#[utoipa::path(delete, path = "/api/auth/account", tag = "account", request_body = PasswordBody, security(("session_cookie" = [])),
    responses((status = 204, description = "Erased; the cookie is cleared")))]
pub async fn delete_account(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult {
    let auth = caller.require_session()?;
    state
        .accounts
        .service
        .erase_account(&auth.user, &body.password, &meta)
        .await?;
    Ok((StatusCode::NO_CONTENT, [clear_session_cookie(&state.accounts)]).into_response())
}
