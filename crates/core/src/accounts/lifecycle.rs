//! Operator actions on accounts (the `keygate user` commands, the admin API and console): create
//! with a chosen password, set a password, deactivate, activate, erase. Each is audited with the
//! operator as actor.

use zeroize::Zeroizing;

use crate::email::Email;
use crate::error::StoreError;
use crate::model::{AuditAction, AuditEvent, Outcome, User};

use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// Who performs an operator action, for the audit log: `cli`, `admin` (the configured admin
/// token) or `user:<id>` (an account holding the admin role or an admin token), and from where.
#[derive(Clone, Debug)]
pub struct Operator {
    pub actor: String,
    pub meta: RequestMeta,
}

impl Operator {
    /// The command line on this machine.
    pub fn cli() -> Operator {
        Operator {
            actor: "cli".to_owned(),
            meta: RequestMeta::default(),
        }
    }

    pub fn new(actor: impl Into<String>, meta: RequestMeta) -> Operator {
        Operator {
            actor: actor.into(),
            meta,
        }
    }
}

/// An account an operator creates.
pub struct NewUser {
    pub email: String,
    pub password: Option<Zeroizing<String>>,
    /// Mark the address verified (the operator vouches for it).
    pub verified: bool,
}

impl Accounts {
    pub(super) fn operator_event(&self, action: AuditAction, by: &Operator, user: &User) -> AuditEvent {
        AuditEvent::new(action, by.actor.clone(), Outcome::Success, self.now())
            .user(user.id)
            .from_request(by.meta.ip.clone(), by.meta.user_agent.clone())
    }

    /// Creates an account; `Conflict` if the address is taken.
    pub async fn create_user(&self, new: NewUser, by: &Operator) -> AccountResult<User> {
        let email =
            Email::parse(&new.email).map_err(|_| AccountError::invalid("email", "not a valid email address"))?;
        let hash = match new.password {
            Some(password) => {
                self.config().password_policy.check(&password)?;
                Some(self.inner.hasher.hash(password).await?)
            }
            None => None,
        };
        let now = self.now();
        let mut user = User::new(email, hash, now);
        if new.verified {
            user.email_verified_at = Some(now);
        }
        let event = self
            .operator_event(AuditAction::UserRegistered, by, &user)
            .details(serde_json::json!({ "by": by.actor }));
        match self.stores().users.create_user(&user, &[event]).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AccountError::Conflict("an account with this email already exists")),
            Err(err) => Err(err.into()),
        }
    }

    /// The account with this address; `NotFound` otherwise.
    pub async fn user_by_email(&self, email: &str) -> AccountResult<User> {
        let email = Email::parse(email).map_err(|_| AccountError::invalid("email", "not a valid email address"))?;
        self.stores()
            .users
            .find_user_by_email(&email)
            .await?
            .ok_or(AccountError::NotFound("account"))
    }

    /// Sets a password (policy checked), ending every session and refresh token of the user.
    /// Outstanding reset links are voided too.
    pub async fn set_password_as_operator(&self, user: &User, password: &str, by: &Operator) -> AccountResult<()> {
        self.config().password_policy.check(password)?;
        let hash = self.inner.hasher.hash(Zeroizing::new(password.to_owned())).await?;
        let event = self
            .operator_event(AuditAction::PasswordReset, by, user)
            .details(serde_json::json!({ "by": by.actor }));
        self.stores()
            .users
            .set_password(user.id, &hash, None, self.now(), &[event])
            .await?;
        Ok(())
    }

    /// Deactivates (ending every session and grant) or reactivates the account.
    pub async fn set_active(&self, user: &User, active: bool, by: &Operator) -> AccountResult<()> {
        let action = if active {
            AuditAction::AccountActivated
        } else {
            AuditAction::AccountDeactivated
        };
        let event = self.operator_event(action, by, user);
        self.stores()
            .users
            .set_user_active(user.id, active, self.now(), &[event])
            .await?;
        Ok(())
    }

    /// Erases the account (GDPR) without asking for its password.
    pub async fn erase_as_operator(&self, user: &User, by: &Operator) -> AccountResult<()> {
        let event = self.operator_event(AuditAction::AccountErased, by, user);
        self.stores().users.erase_user(user.id, self.now(), &[event]).await?;
        Ok(())
    }
}
