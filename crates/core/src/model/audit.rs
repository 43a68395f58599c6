//! Audit events: one per security action, never holding a secret.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AuditId, ClientId, UserId};
use crate::model::client::string_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    LoggedOut,
    EmailVerified,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    TotpEnabled,
    TotpDisabled,
    SessionRevoked,
    TokenIssued,
    TokenRefreshed,
    TokenRevoked,
    TokenReuseDetected,
    TokenIntrospected,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    ConsentGranted,
    KeyRotated,
    AccountDeactivated,
    AccountActivated,
    AccountErased,
    PatCreated,
    PatRevoked,
    AccountUpdated,
    AccountUnlocked,
    RoleGranted,
    RoleRevoked,
}

string_enum!(AuditAction {
    UserRegistered = "user_registered",
    LoginSucceeded = "login_succeeded",
    LoginFailed = "login_failed",
    AccountLocked = "account_locked",
    LoggedOut = "logged_out",
    EmailVerified = "email_verified",
    PasswordResetRequested = "password_reset_requested",
    PasswordReset = "password_reset",
    PasswordChanged = "password_changed",
    TotpEnabled = "totp_enabled",
    TotpDisabled = "totp_disabled",
    SessionRevoked = "session_revoked",
    TokenIssued = "token_issued",
    TokenRefreshed = "token_refreshed",
    TokenRevoked = "token_revoked",
    TokenReuseDetected = "token_reuse_detected",
    TokenIntrospected = "token_introspected",
    ClientCreated = "client_created",
    ClientUpdated = "client_updated",
    ClientDeleted = "client_deleted",
    ClientSecretRotated = "client_secret_rotated",
    ConsentGranted = "consent_granted",
    KeyRotated = "key_rotated",
    AccountDeactivated = "account_deactivated",
    AccountActivated = "account_activated",
    AccountErased = "account_erased",
    PatCreated = "pat_created",
    PatRevoked = "pat_revoked",
    AccountUpdated = "account_updated",
    AccountUnlocked = "account_unlocked",
    RoleGranted = "role_granted",
    RoleRevoked = "role_revoked",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}
string_enum!(Outcome { Success = "success", Failure = "failure" });

#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub id: AuditId,
    pub at: Timestamp,
    pub action: AuditAction,
    /// Who acted: `user:<id>`, `client:<id>`, `admin`, `system` or `anonymous`.
    pub actor: String,
    /// The account the event concerns, if any.
    pub user_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    /// Anything else worth keeping (grant type, token id, reason); never a secret.
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: AuditAction, actor: impl Into<String>, outcome: Outcome, at: Timestamp) -> Self {
        AuditEvent {
            id: AuditId::new(),
            at,
            action,
            actor: actor.into(),
            user_id: None,
            client_id: None,
            ip: None,
            user_agent: None,
            outcome,
            details: serde_json::Value::Null,
        }
    }

    pub fn user(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    pub fn client(mut self, client_id: ClientId) -> Self {
        self.client_id = Some(client_id);
        self
    }

    pub fn from_request(mut self, ip: Option<String>, user_agent: Option<String>) -> Self {
        self.ip = ip;
        self.user_agent = user_agent;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Which audit events to list; every field narrows, None means any. Newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    pub user_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub action: Option<AuditAction>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}
