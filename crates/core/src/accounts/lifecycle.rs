//! Operator actions on accounts (the `keygate user` commands and the admin API): create with a
//! chosen password, set a password, deactivate, activate, erase.

use zeroize::Zeroizing;

use crate::email::Email;
use crate::error::StoreError;
use crate::model::{AuditAction, AuditEvent, Outcome, User};

use super::{AccountError, AccountResult, Accounts};

/// An account an operator creates.
pub struct NewUser {
    pub email: String,
    pub password: Option<Zeroizing<String>>,
    /// Mark the address verified (the operator vouches for it).
    pub verified: bool,
}

impl Accounts {
    fn operator_event(&self, action: AuditAction, actor: &str, user: &User) -> AuditEvent {
        AuditEvent::new(action, actor, Outcome::Success, self.now()).user(user.id)
    }

    /// Creates an account; `Conflict` if the address is taken. `actor` is `admin` or `cli`.
    pub async fn create_user(&self, new: NewUser, actor: &str) -> AccountResult<User> {
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
            .operator_event(AuditAction::UserRegistered, actor, &user)
            .details(serde_json::json!({ "by": actor }));
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
    pub async fn set_password_as_operator(&self, user: &User, password: &str, actor: &str) -> AccountResult<()> {
        self.config().password_policy.check(password)?;
        let hash = self.inner.hasher.hash(Zeroizing::new(password.to_owned())).await?;
        let event = self.operator_event(AuditAction::PasswordReset, actor, user);
        self.stores()
            .users
            .set_password(user.id, &hash, None, self.now(), &[event])
            .await?;
        Ok(())
    }

    /// Deactivates (ending every session and grant) or reactivates the account.
    pub async fn set_active(&self, user: &User, active: bool, actor: &str) -> AccountResult<()> {
        let action = if active {
            AuditAction::AccountActivated
        } else {
            AuditAction::AccountDeactivated
        };
        let event = self.operator_event(action, actor, user);
        self.stores()
            .users
            .set_user_active(user.id, active, self.now(), &[event])
            .await?;
        Ok(())
    }

    /// Accounts in creation order (erased ones excluded).
    pub async fn list_users(&self, page: &crate::paging::PageRequest) -> AccountResult<Vec<User>> {
        Ok(self.stores().users.list_users(page).await?.items)
    }

    /// Erases the account (GDPR) without asking for its password.
    pub async fn erase_as_operator(&self, user: &User, actor: &str) -> AccountResult<()> {
        let event = self.operator_event(AuditAction::AccountErased, actor, user);
        self.stores().users.erase_user(user.id, self.now(), &[event]).await?;
        Ok(())
    }
}
