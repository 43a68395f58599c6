//! /admin/users: list (cursor paging, email-prefix search, verified and active filters), create,
//! show, update (email, verified, active), delete (the same erasure as the self-service one), and
//! per account: set password, unlock, sessions (list, end one, end all), revoke all tokens, reset
//! TOTP, grant and revoke roles. Every change is audited with the admin as actor.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::{AccountError, NewUser, Operator, UserChanges, UserStatus};
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{Role, Session, User};
use keygate_core::operations::TokenOwner;
use keygate_core::paging::PageRequest;
use keygate_core::store::UserFilter;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::schema::{
    AdminErrorBody, EndedSessions, RevokeAnswer, TotpReset, UserDetail, UserPage, UserSessionList, UserSessionView,
    UserView,
};
use super::{Admin, AdminError};
use crate::http::ClientMeta;
use crate::state::AppState;

impl From<AccountError> for AdminError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Store(e) => AdminError::Store(e),
            AccountError::NotFound(what) => AdminError::NotFound(what),
            AccountError::Conflict(text) => AdminError::Conflict(text.to_owned()),
            AccountError::Busy => AdminError::Busy,
            AccountError::Internal(cause) => AdminError::Internal(cause),
            other => AdminError::BadRequest(other.to_string()),
        }
    }
}

/// The operator behind an admin request, for the audit log.
fn operator(admin: &Admin, meta: keygate_core::accounts::RequestMeta) -> Operator {
    Operator::new(admin.actor.clone(), meta)
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(bytes).map_err(|e| AdminError::BadRequest(format!("invalid body: {e}")))
}

/// The account behind `{id}` (erased ones are gone).
async fn account(state: &AppState, id: &str) -> Result<User, AdminError> {
    let id = UserId::parse(id).ok_or(AdminError::NotFound("user"))?;
    state.accounts.service.user_by_id(id).await.map_err(|e| match e {
        AccountError::NotFound(_) => AdminError::NotFound("user"),
        other => other.into(),
    })
}

/// An account as the admin API shows it: never its password hash.
fn user_view(user: &User) -> UserView {
    let time = |t: Option<keygate_core::Timestamp>| t.map(|t| t.to_rfc3339());
    UserView {
        id: user.id.to_string(),
        email: user.email.as_str().to_owned(),
        email_verified: user.is_verified(),
        email_verified_at: time(user.email_verified_at),
        active: user.is_active(),
        disabled_at: time(user.disabled_at),
        has_password: user.password_hash.is_some(),
        roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        created_at: user.created_at.to_rfc3339(),
        updated_at: user.updated_at.to_rfc3339(),
    }
}

/// [`user_view`] with the lock, TOTP and session figures.
fn user_detail_view(user: &User, status: &UserStatus) -> UserDetail {
    UserDetail {
        user: user_view(user),
        locked: status.is_locked(),
        locked_until: status.locked_until.map(|t| t.to_rfc3339()),
        totp_enabled: status.totp_enabled,
        live_sessions: status.sessions.len() as u64,
    }
}

fn session_view(session: &Session) -> UserSessionView {
    UserSessionView {
        id: session.id.to_string(),
        ip: session.ip.clone(),
        user_agent: session.user_agent.clone(),
        amr: session.amr.clone(),
        created_at: session.created_at.to_rfc3339(),
        last_seen_at: session.last_seen_at.to_rfc3339(),
        expires_at: session.idle_expires_at.min(session.absolute_expires_at).to_rfc3339(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Addresses starting with this (case-insensitive).
    pub email: Option<String>,
    pub verified: Option<bool>,
    pub active: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/users", operation_id = "list_users", tag = "admin", security(("admin_bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of accounts, oldest first", body = UserPage)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let filter = UserFilter {
        email_prefix: query.email.filter(|e| !e.is_empty()),
        verified: query.verified,
        active: query.active,
    };
    if let Some(cursor) = &query.cursor
        && UserId::parse(cursor).is_none()
    {
        return Err(AdminError::BadRequest("cursor is not one this API returned".into()));
    }
    let page = PageRequest {
        after: query.cursor,
        limit: query.limit.unwrap_or(100),
    };
    let page = state.accounts.service.list_users(&filter, &page).await?;
    let items = page.items.iter().map(user_view).collect();
    Ok(Json(UserPage {
        items,
        next_cursor: page.next,
    })
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub email: String,
    /// Without one the account cannot sign in with a password until one is set.
    #[schema(value_type = Option<String>)]
    pub password: Option<Zeroizing<String>>,
    #[serde(default)]
    pub verified: bool,
}

#[utoipa::path(post, path = "/admin/users", operation_id = "create_user", tag = "admin", security(("admin_bearer" = [])), request_body = CreateBody,
    responses((status = 201, description = "The new account", body = UserView),
        (status = 409, description = "The address is taken", body = AdminErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let body: CreateBody = parse_body(&bytes)?;
    let new = NewUser {
        email: body.email,
        password: body.password,
        verified: body.verified,
    };
    let user = state.accounts.service.create_user(new, &operator(&admin, meta)).await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))).into_response())
}

#[utoipa::path(get, path = "/admin/users/{id}", operation_id = "show_user", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 200, description = "The account with its lock, TOTP and session figures", body = UserDetail)))]
pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let status = state.accounts.service.user_status(&user).await?;
    Ok(Json(user_detail_view(&user, &status)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    pub email: Option<String>,
    pub verified: Option<bool>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/admin/users/{id}", operation_id = "update_user", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")), request_body = UpdateBody,
    description = "A new address is unverified unless `verified` is true; `active: false` ends every session and grant.",
    responses((status = 200, description = "The account after the change", body = UserDetail),
        (status = 409, description = "The address is taken", body = AdminErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let body: UpdateBody = parse_body(&bytes)?;
    let user = account(&state, &id).await?;
    let changes = UserChanges {
        email: body.email,
        verified: body.verified,
        active: body.active,
    };
    let service = &state.accounts.service;
    let user = service.update_user(&user, &changes, &operator(&admin, meta)).await?;
    let status = service.user_status(&user).await?;
    Ok(Json(user_detail_view(&user, &status)).into_response())
}

#[utoipa::path(delete, path = "/admin/users/{id}", operation_id = "delete_user", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    description = "Erases the account (GDPR): personal data, credentials, sessions and tokens go; anonymised audit rows stay.",
    responses((status = 204, description = "Erased")))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    state
        .accounts
        .service
        .erase_as_operator(&user, &operator(&admin, meta))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    #[schema(value_type = String)]
    pub password: Zeroizing<String>,
}

#[utoipa::path(post, path = "/admin/users/{id}/password", operation_id = "set_user_password", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")), request_body = PasswordBody,
    description = "Ends the account's sessions and refresh tokens and voids its reset links.",
    responses((status = 204, description = "The password is set")))]
pub async fn set_password(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let body: PasswordBody = parse_body(&bytes)?;
    let user = account(&state, &id).await?;
    state
        .accounts
        .service
        .set_password_as_operator(&user, &body.password, &operator(&admin, meta))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/admin/users/{id}/unlock", operation_id = "unlock_user", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 204, description = "The lock is lifted and the failure budget starts afresh")))]
pub async fn unlock(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    state
        .accounts
        .service
        .unlock_user(&user, &operator(&admin, meta))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/admin/users/{id}/sessions", operation_id = "list_user_sessions", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 200, description = "The account's live sessions, newest first", body = UserSessionList)))]
pub async fn sessions(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let sessions = state.accounts.service.list_sessions(&user).await?;
    let items = sessions.iter().map(session_view).collect();
    Ok(Json(UserSessionList { items }).into_response())
}

#[utoipa::path(delete, path = "/admin/users/{id}/sessions", operation_id = "end_user_sessions", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 200, description = "How many sessions ended", body = EndedSessions)))]
pub async fn end_sessions(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let ended = state
        .accounts
        .service
        .end_all_sessions(&user, &operator(&admin, meta))
        .await?;
    Ok(Json(EndedSessions { ended_sessions: ended }).into_response())
}

#[utoipa::path(delete, path = "/admin/users/{id}/sessions/{session}", operation_id = "end_user_session", tag = "admin", security(("admin_bearer" = [])),
    params(("id" = String, Path, description = "The account id"), ("session" = String, Path, description = "The session id")),
    responses((status = 204, description = "The session ended")))]
pub async fn end_session(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path((id, session)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let session = SessionId::parse(&session).ok_or(AdminError::NotFound("session"))?;
    state
        .accounts
        .service
        .end_user_session(&user, session, &operator(&admin, meta))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/admin/users/{id}/tokens/revoke", operation_id = "revoke_user_tokens", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 200, description = "Every token family of the account is revoked", body = RevokeAnswer)))]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let revoked = state
        .operations
        .revoke_tokens(&TokenOwner::User(user.id, None), &admin.actor, &meta)
        .await?;
    Ok(Json(RevokeAnswer {
        revoked_families: revoked,
    })
    .into_response())
}

#[utoipa::path(post, path = "/admin/users/{id}/totp/reset", operation_id = "reset_user_totp", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")),
    responses((status = 200, description = "TOTP and recovery codes removed (a lost device)", body = TotpReset)))]
pub async fn reset_totp(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let removed = state
        .accounts
        .service
        .reset_totp(&user, &operator(&admin, meta))
        .await?;
    Ok(Json(TotpReset { totp_removed: removed }).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: String,
}

/// POST grants `{role}`, DELETE on `/roles/{role}` revokes it; both answer the account.
#[utoipa::path(post, path = "/admin/users/{id}/roles", operation_id = "grant_user_role", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The account id")), request_body = RoleBody,
    responses((status = 200, description = "The account with the role", body = UserView)))]
pub async fn grant_role(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let body: RoleBody = parse_body(&bytes)?;
    let role = Role::parse(&body.role).map_err(|e| AdminError::BadRequest(e.to_string()))?;
    change_role(state, admin, meta, id, role, true).await
}

#[utoipa::path(delete, path = "/admin/users/{id}/roles/{role}", operation_id = "revoke_user_role", tag = "admin", security(("admin_bearer" = [])),
    params(("id" = String, Path, description = "The account id"), ("role" = String, Path, description = "The role, e.g. admin")),
    responses((status = 200, description = "The account without the role", body = UserView)))]
pub async fn revoke_role(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path((id, role)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let role = Role::parse(&role).map_err(|e| AdminError::BadRequest(e.to_string()))?;
    change_role(state, admin, meta, id, role, false).await
}

async fn change_role(
    state: AppState,
    admin: Admin,
    meta: keygate_core::accounts::RequestMeta,
    id: String,
    role: Role,
    granted: bool,
) -> Result<Response, AdminError> {
    let user = account(&state, &id).await?;
    let service = &state.accounts.service;
    service.set_role(&user, role, granted, &operator(&admin, meta)).await?;
    let user = service.user_by_id(user.id).await?;
    Ok(Json(user_view(&user)).into_response())
}
