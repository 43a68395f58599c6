//! /admin/keys (list, rotate), /admin/tokens/revoke (by user or client), /admin/stats and
//! /admin/audit (filters and cursor paging).

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use keygate_core::Timestamp;
use keygate_core::ids::{AuditId, ClientId, UserId};
use keygate_core::jose::RotateMode;
use keygate_core::model::{AuditAction, AuditEvent, AuditFilter, SigningKey};
use keygate_core::operations::TokenOwner;
use keygate_core::paging::PageRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::schema::{AuditPage, KeyList, RevokeAnswer, RotateAnswer, Stats};
use super::{Admin, AdminError, log_store};
use crate::http::ClientMeta;
use crate::state::AppState;

/// A key as listed: never its private part.
pub fn key_view(key: &SigningKey) -> Value {
    let time = |t: Option<Timestamp>| t.map(Timestamp::to_rfc3339);
    json!({
        "kid": key.kid.0,
        "alg": key.alg.as_str(),
        "state": key.state.as_str(),
        "created_at": key.created_at.to_rfc3339(),
        "activated_at": time(key.activated_at),
        "retired_at": time(key.retired_at),
        "remove_after": time(key.remove_after),
    })
}

#[utoipa::path(get, path = "/admin/keys", tag = "admin", security(("admin_bearer" = [])),
    responses((status = 200, description = "The signing keys (public facts only)", body = KeyList)))]
pub async fn list_keys(State(state): State<AppState>, _admin: Admin) -> Result<Response, AdminError> {
    let keys = state.oauth.keys.list().await?;
    let items: Vec<Value> = keys.iter().map(key_view).collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Rotate now even if the successor key has not been published for the lead time.
    #[serde(default)]
    pub immediately: bool,
}

#[utoipa::path(post, path = "/admin/keys/rotate", tag = "admin", security(("admin_bearer" = [])), request_body(content = Option<RotateBody>, description = "Optional; an empty body rotates when ready"),
    responses((status = 200, description = "What changed and the keys now", body = RotateAnswer)))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let body: RotateBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| AdminError::BadRequest(format!("invalid body: {e}")))?
    };
    let mode = if body.immediately {
        RotateMode::Immediately
    } else {
        RotateMode::WhenReady
    };
    let changes = state
        .oauth
        .keys
        .rotate(mode, &admin.actor, &meta)
        .await
        .map_err(|err| match err {
            keygate_core::oauth::KeyError::Store(e) => AdminError::Store(e),
            keygate_core::oauth::KeyError::Jose(e) => AdminError::OAuth(e.into()),
        })?;
    let waiting: Vec<Value> = changes
        .waiting
        .iter()
        .map(|(alg, ready)| json!({ "alg": alg.as_str(), "ready_at": ready.to_rfc3339() }))
        .collect();
    let rotated: Vec<&str> = changes.rotated.iter().map(|a| a.as_str()).collect();
    let keys = state.oauth.keys.list().await?;
    Ok(Json(json!({
        "rotated": rotated,
        "waiting": waiting,
        "keys": keys.iter().map(key_view).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
}

#[utoipa::path(post, path = "/admin/tokens/revoke", tag = "admin", security(("admin_bearer" = [])), request_body = RevokeBody,
    responses((status = 200, description = "Token families revoked", body = RevokeAnswer)))]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Json(body): Json<RevokeBody>,
) -> Result<Response, AdminError> {
    let user = match &body.user_id {
        Some(text) => {
            Some(UserId::parse(text).ok_or_else(|| AdminError::BadRequest("user_id is not a user id".into()))?)
        }
        None => None,
    };
    let client = body.client_id.map(ClientId);
    let owner = match (user, client) {
        (Some(user), client) => TokenOwner::User(user, client),
        (None, Some(client)) => TokenOwner::Client(client),
        (None, None) => return Err(AdminError::BadRequest("give user_id, client_id or both".into())),
    };
    let revoked = state.operations.revoke_tokens(&owner, &admin.actor, &meta).await?;
    Ok(Json(json!({ "revoked_families": revoked })).into_response())
}

#[utoipa::path(get, path = "/admin/stats", tag = "admin", security(("admin_bearer" = [])),
    responses((status = 200, description = "Counts of what the store holds", body = Stats)))]
pub async fn stats(State(state): State<AppState>, _admin: Admin) -> Result<Response, AdminError> {
    let stats = state.operations.stats().await?;
    Ok(Json(json!({
        "users": stats.users,
        "clients": stats.clients,
        "live_sessions": stats.live_sessions,
        "live_refresh_tokens": stats.live_refresh_tokens,
        "live_access_tokens": stats.live_access_tokens,
        "live_personal_access_tokens": stats.live_personal_access_tokens,
        "rows": stats.rows,
        "database_bytes": stats.database_bytes,
        "audit_events_dropped": stats.audit_events_dropped,
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 or Unix seconds.
    pub from: Option<String>,
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn parse_time(text: &str, name: &str) -> Result<Timestamp, AdminError> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(Timestamp::from_unix_seconds(seconds));
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| Timestamp::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| AdminError::BadRequest(format!("{name} must be RFC 3339 or Unix seconds")))
}

pub fn event_view(event: &AuditEvent) -> Value {
    json!({
        "id": event.id.to_string(),
        "at": event.at.to_rfc3339(),
        "action": event.action.as_str(),
        "actor": event.actor,
        "user_id": event.user_id.map(|u| u.to_string()),
        "client_id": event.client_id.as_ref().map(|c| c.0.clone()),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "outcome": event.outcome.as_str(),
        "details": event.details,
    })
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", security(("admin_bearer" = [])), params(AuditQuery),
    responses((status = 200, description = "Audit events, newest first", body = AuditPage)))]
pub async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AdminError> {
    let filter = AuditFilter {
        user_id: match &query.user_id {
            Some(t) => Some(UserId::parse(t).ok_or_else(|| AdminError::BadRequest("user_id is not a user id".into()))?),
            None => None,
        },
        client_id: query.client_id.map(ClientId),
        action: match &query.action {
            Some(t) => {
                Some(AuditAction::parse(t).ok_or_else(|| AdminError::BadRequest(format!("unknown action `{t}`")))?)
            }
            None => None,
        },
        from: query.from.as_deref().map(|t| parse_time(t, "from")).transpose()?,
        until: query.until.as_deref().map(|t| parse_time(t, "until")).transpose()?,
    };
    if let Some(cursor) = &query.cursor
        && AuditId::parse(cursor).is_none()
    {
        return Err(AdminError::BadRequest("cursor is not one this API returned".into()));
    }
    let page = PageRequest {
        after: query.cursor,
        limit: query.limit.unwrap_or(100),
    };
    let page = state.operations.audit(&filter, &page).await.inspect_err(log_store)?;
    let items: Vec<Value> = page.items.iter().map(event_view).collect();
    Ok(Json(json!({ "items": items, "next_cursor": page.next })).into_response())
}
