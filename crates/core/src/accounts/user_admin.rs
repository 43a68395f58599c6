//! What an operator sees of and does to one account beyond its life cycle: the listing with
//! filters, a status summary (lock, TOTP, sessions), changing email and verification, ending
//! the lock, resetting TOTP, ending sessions, and roles. Every change is audited with the operator
//! as actor.

use serde_json::json;

use crate::clock::Timestamp;
use crate::email::Email;
use crate::error::StoreError;
use crate::ids::{SessionId, UserId};
use crate::model::{AuditAction, Role, Session, User};
use crate::paging::{Page, PageRequest};
use crate::store::UserFilter;

use super::lifecycle::Operator;
use super::throttle::email_key;
use super::{AccountError, AccountResult, Accounts};

/// The changes an operator asks for; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub verified: Option<bool>,
    pub active: Option<bool>,
}

/// What the console and the admin API show beside the account record.
#[derive(Clone, Debug)]
pub struct UserStatus {
    /// Until when logins for the address are refused, if they are.
    pub locked_until: Option<Timestamp>,
    pub totp_enabled: bool,
    /// The live sessions, newest first.
    pub sessions: Vec<Session>,
}

impl Accounts {
    /// Accounts matching `filter`, oldest first; an email prefix is matched case-insensitively.
    pub async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> AccountResult<Page<User>> {
        let filter = UserFilter {
            email_prefix: filter.email_prefix.as_deref().map(str::to_lowercase),
            ..filter.clone()
        };
        Ok(self.stores().users.list_users(&filter, page).await?)
    }

    /// The account (not erased) with this id; `NotFound` otherwise.
    pub async fn user_by_id(&self, id: UserId) -> AccountResult<User> {
        self.stores()
            .users
            .get_user(id)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or(AccountError::NotFound("account"))
    }

    pub async fn user_status(&self, user: &User) -> AccountResult<UserStatus> {
        Ok(UserStatus {
            locked_until: self.locked_until(&email_key(user.email.normalized_str())).await?,
            totp_enabled: self.totp_enabled(user).await?,
            sessions: self.list_sessions(user).await?,
        })
    }

    /// Applies `changes`: a new address is unverified unless `verified` says otherwise (the
    /// operator vouches for it); deactivation ends every session and grant. Returns the account.
    pub async fn update_user(&self, user: &User, changes: &UserChanges, by: &Operator) -> AccountResult<User> {
        let mut updated = user.clone();
        let mut changed = Vec::new();
        if let Some(raw) = &changes.email {
            let email = Email::parse(raw).map_err(|_| AccountError::invalid("email", "not a valid email address"))?;
            if email.as_str() != user.email.as_str() {
                updated.email = email;
                updated.email_verified_at = None;
                changed.push("email");
            }
        }
        // A new address starts unverified unless the operator vouches for it.
        let verified = changes.verified.unwrap_or_else(|| updated.is_verified());
        if verified != updated.is_verified() {
            updated.email_verified_at = verified.then(|| self.now());
            changed.push("verified");
        }
        if changed.is_empty() && changes.active.is_none_or(|a| a == user.is_active()) {
            return Ok(user.clone());
        }
        if !changed.is_empty() {
            updated.updated_at = self.now();
            let event = self
                .operator_event(AuditAction::AccountUpdated, by, user)
                .details(json!({ "changed": changed }));
            match self.stores().users.update_user(&updated, &[event]).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(AccountError::Conflict("an account with this email already exists"));
                }
                Err(err) => return Err(err.into()),
            }
        }
        if let Some(active) = changes.active
            && active != user.is_active()
        {
            self.set_active(&updated, active, by).await?;
        }
        self.user_by_id(user.id).await
    }

    /// Ends the lock on the account's address and gives it a fresh failure budget.
    pub async fn unlock_user(&self, user: &User, by: &Operator) -> AccountResult<()> {
        self.unlock(&email_key(user.email.normalized_str())).await?;
        let event = self.operator_event(AuditAction::AccountUnlocked, by, user);
        self.stores().audit.append_audit(&[event]).await?;
        Ok(())
    }

    /// Removes TOTP and the recovery codes (the user lost the device); false if it was off.
    pub async fn reset_totp(&self, user: &User, by: &Operator) -> AccountResult<bool> {
        let event = self
            .operator_event(AuditAction::TotpDisabled, by, user)
            .details(json!({ "by": by.actor }));
        Ok(self.stores().credentials.delete_totp(user.id, &[event]).await?)
    }

    /// Ends one session of the user by its public id.
    pub async fn end_user_session(&self, user: &User, id: SessionId, by: &Operator) -> AccountResult<()> {
        let event = self
            .operator_event(AuditAction::SessionRevoked, by, user)
            .details(json!({ "session": id, "by": by.actor }));
        self.end_one_session(user, id, event).await
    }

    /// Ends every session of the user; returns how many.
    pub async fn end_all_sessions(&self, user: &User, by: &Operator) -> AccountResult<u64> {
        let event = self
            .operator_event(AuditAction::SessionRevoked, by, user)
            .details(json!({ "all": true, "by": by.actor }));
        Ok(self
            .stores()
            .sessions
            .delete_sessions_of_user(user.id, None, &[event])
            .await?)
    }

    /// Grants (`true`) or revokes a role; false when nothing changed.
    pub async fn set_role(&self, user: &User, role: Role, granted: bool, by: &Operator) -> AccountResult<bool> {
        let mut updated = user.clone();
        let changed = if granted {
            updated.roles.grant(role.clone())
        } else {
            updated.roles.revoke(&role)
        };
        if !changed {
            return Ok(false);
        }
        updated.updated_at = self.now();
        let action = if granted {
            AuditAction::RoleGranted
        } else {
            AuditAction::RoleRevoked
        };
        let event = self
            .operator_event(action, by, user)
            .details(json!({ "role": role.as_str() }));
        self.stores().users.update_user(&updated, &[event]).await?;
        Ok(true)
    }
}

impl UserStatus {
    pub fn is_locked(&self) -> bool {
        self.locked_until.is_some()
    }
}
