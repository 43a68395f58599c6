//! What the account owner can see and take away: the profile, recent activity, a full export,
//! and erasure (GDPR), which keeps only anonymised audit rows.

use serde::Serialize;

use crate::model::{AuditAction, AuditEvent, AuditFilter, Outcome, User};
use crate::paging::{Page, PageRequest};

use super::{AccountResult, Accounts, RequestMeta};

/// The account as its owner sees it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub totp_enabled: bool,
    pub recovery_codes_left: u32,
    pub created_at: String,
}

/// Everything Keygate keeps about the account, for `GET /api/auth/export`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountExport {
    pub profile: Profile,
    pub sessions: Vec<serde_json::Value>,
    pub personal_access_tokens: Vec<serde_json::Value>,
    pub consents: Vec<serde_json::Value>,
    pub activity: Vec<serde_json::Value>,
}

/// Most audit events an export carries (newest first).
const EXPORT_AUDIT_LIMIT: u32 = 500;

/// One audit event as its subject sees it.
pub fn activity_json(event: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "at": event.at.to_rfc3339(),
        "action": event.action.as_str(),
        "outcome": event.outcome.as_str(),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "client_id": event.client_id,
    })
}

impl Accounts {
    pub async fn profile(&self, user: &User) -> AccountResult<Profile> {
        let (totp_enabled, recovery_codes_left) = self.totp_status(user).await?;
        Ok(Profile {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            email_verified: user.is_verified(),
            totp_enabled,
            recovery_codes_left,
            created_at: user.created_at.to_rfc3339(),
        })
    }

    /// The user's own audit events, newest first.
    pub async fn activity(&self, user: &User, page: &PageRequest) -> AccountResult<Page<AuditEvent>> {
        let filter = AuditFilter {
            user_id: Some(user.id),
            ..AuditFilter::default()
        };
        Ok(self.stores().audit.list_audit(&filter, page).await?)
    }

    pub async fn export(&self, user: &User) -> AccountResult<AccountExport> {
        let profile = self.profile(user).await?;
        let sessions = self
            .list_sessions(user)
            .await?
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "ip": s.ip, "user_agent": s.user_agent, "amr": s.amr,
                    "created_at": s.created_at.to_rfc3339(), "last_seen_at": s.last_seen_at.to_rfc3339(),
                })
            })
            .collect();
        let personal_access_tokens = self
            .list_pats(user)
            .await?
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "display_prefix": p.display_prefix,
                    "scopes": p.scope.to_string(), "created_at": p.created_at.to_rfc3339(),
                    "expires_at": p.expires_at.map(|t| t.to_rfc3339()),
                    "last_used_at": p.last_used_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect();
        let consents = self
            .stores()
            .consents
            .list_consents_of_user(user.id)
            .await?
            .iter()
            .map(|c| {
                serde_json::json!({
                    "client_id": c.client_id, "scope": c.scope.to_string(),
                    "granted_at": c.granted_at.to_rfc3339(),
                })
            })
            .collect();
        let activity = self
            .activity(user, &PageRequest::first(EXPORT_AUDIT_LIMIT))
            .await?
            .items
            .iter()
            .map(activity_json)
            .collect();
        Ok(AccountExport {
            profile,
            sessions,
            personal_access_tokens,
            consents,
            activity,
        })
    }

    /// Erases the account after checking its password: personal data, credentials, sessions,
    /// tokens and consents go; audit rows stay without IP and user agent.
    pub async fn erase_account(&self, user: &User, password: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.confirm_password(user, password, meta).await?;
        let event = AuditEvent::new(
            AuditAction::AccountErased,
            format!("user:{}", user.id),
            Outcome::Success,
            self.now(),
        )
        .user(user.id);
        self.stores().users.erase_user(user.id, self.now(), &[event]).await?;
        Ok(())
    }
}
