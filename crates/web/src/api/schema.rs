//! The shapes of the account API's answers that the handlers build by hand, for the OpenAPI
//! document only (`crate::openapi`); the integration suite `openapi` checks real answers against
//! them, so a field added to a handler and not here fails a test.

use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document (`application/problem+json`), the account API's every error.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `https://keygate.dev/problems/<slug>`, or `about:blank` for plain HTTP failures.
    #[serde(rename = "type")]
    #[schema(example = "https://keygate.dev/problems/invalid-credentials")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
}

/// A step done, or accepted without saying whether the address is known.
#[derive(Serialize, ToSchema)]
pub struct StatusAnswer {
    #[schema(example = "accepted")]
    pub status: String,
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
}

#[derive(Serialize, ToSchema)]
pub struct LoginSession {
    pub id: String,
    /// Authentication methods (RFC 8176): `pwd`, `otp`.
    pub amr: Vec<String>,
    /// RFC 3339: the earlier of the idle and the absolute expiry.
    pub expires_at: String,
}

/// A successful login; the session cookie comes in `Set-Cookie`.
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub user: LoginUser,
    pub session: LoginSession,
}

/// One of the user's sessions (`current`: the one making this request).
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub amr: Vec<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// One audit event as its subject sees it.
#[derive(Serialize, ToSchema)]
pub struct ActivityItem {
    pub id: String,
    pub at: String,
    #[schema(example = "login")]
    pub action: String,
    #[schema(example = "success")]
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub client_id: Option<String>,
}

/// Newest first; `next` is the cursor (`after`) of the following page.
#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    pub next: Option<String>,
}

/// A TOTP secret to confirm with `/api/auth/totp/enable`.
#[derive(Serialize, ToSchema)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A personal access token as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct PatView {
    pub id: String,
    pub name: String,
    pub display_prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PatList {
    pub tokens: Vec<PatView>,
}

/// A new personal access token: its secret (`token`) is in this answer only.
#[derive(Serialize, ToSchema)]
pub struct CreatedPat {
    #[serde(flatten)]
    pub view: PatView,
    pub token: String,
}
