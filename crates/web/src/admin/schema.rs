//! The shapes of the admin API's answers for the OpenAPI document (`crate::openapi`). The
//! `/admin/users` handlers answer with these types themselves; the others build their JSON by
//! hand, and the integration suite `openapi` checks real answers against these shapes.

use std::collections::BTreeMap;

use keygate_core::oauth::ClientView;
use serde::Serialize;
use utoipa::ToSchema;

/// Every admin API error (RFC 7591 style).
#[derive(Serialize, ToSchema)]
pub struct AdminErrorBody {
    #[schema(example = "unauthorized")]
    pub error: String,
    pub error_description: String,
}

/// A page of clients; `next_cursor` is the `cursor` of the following page.
#[derive(Serialize, ToSchema)]
pub struct ClientPage {
    pub items: Vec<ClientView>,
    pub next_cursor: Option<String>,
}

/// The new secret, shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}

/// A signing key as listed: never its private part.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[schema(example = "RS256")]
    pub alg: String,
    #[schema(example = "active")]
    pub state: String,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub retired_at: Option<String>,
    pub remove_after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

/// An algorithm whose successor key is published and becomes usable at `ready_at`.
#[derive(Serialize, ToSchema)]
pub struct WaitingKey {
    pub alg: String,
    pub ready_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RotateAnswer {
    /// Algorithms whose active key changed.
    pub rotated: Vec<String>,
    pub waiting: Vec<WaitingKey>,
    pub keys: Vec<KeyView>,
}

#[derive(Serialize, ToSchema)]
pub struct RevokeAnswer {
    /// Token families revoked (a family: one refresh token chain and its access tokens).
    pub revoked_families: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Stats {
    pub users: u64,
    pub clients: u64,
    pub live_sessions: u64,
    pub live_refresh_tokens: u64,
    pub live_access_tokens: u64,
    pub live_personal_access_tokens: u64,
    /// Rows per table (SQL) or records per kind (memory).
    pub rows: BTreeMap<String, u64>,
    /// None when the backend cannot tell (memory).
    pub database_bytes: Option<u64>,
    pub audit_events_dropped: u64,
}

/// One audit event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    #[schema(example = "login")]
    pub action: String,
    /// `admin`, `user:<id>`, `client:<id>`, `system`.
    pub actor: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(example = "success")]
    pub outcome: String,
    /// Free-form details of the event.
    pub details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

/// An account as the admin API shows it (never its password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub email_verified_at: Option<String>,
    /// False while deactivated.
    pub active: bool,
    pub disabled_at: Option<String>,
    pub has_password: bool,
    #[schema(example = json!(["admin"]))]
    pub roles: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// [`UserView`] with the lock, two-step verification and session figures.
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserView,
    /// Logins for the address are refused until `locked_until` (failed attempts).
    pub locked: bool,
    pub locked_until: Option<String>,
    pub totp_enabled: bool,
    pub live_sessions: u64,
}

/// A page of accounts; `next_cursor` is the `cursor` of the following page.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// A live session of an account.
#[derive(Serialize, ToSchema)]
pub struct UserSessionView {
    pub id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(example = json!(["pwd"]))]
    pub amr: Vec<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserSessionList {
    pub items: Vec<UserSessionView>,
}

#[derive(Serialize, ToSchema)]
pub struct EndedSessions {
    pub ended_sessions: u64,
}

#[derive(Serialize, ToSchema)]
pub struct TotpReset {
    /// False when two-step verification was not on.
    pub totp_removed: bool,
}
