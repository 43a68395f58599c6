//! A user account.

use crate::clock::Timestamp;
use crate::email::Email;
use crate::ids::UserId;
use crate::model::role::Roles;
use crate::model::secret::PasswordHash;

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    /// Unique case-insensitively (see `Email::normalized`).
    pub email: Email,
    /// None for an account that cannot log in with a password (erased, or created without one).
    pub password_hash: Option<PasswordHash>,
    pub email_verified_at: Option<Timestamp>,
    /// Set while the account is deactivated.
    pub disabled_at: Option<Timestamp>,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set when the account is erased; the row stays so audit rows keep their subject.
    pub deleted_at: Option<Timestamp>,
    /// What the account may do beyond its own data (`admin`: the admin console).
    pub roles: Roles,
}

impl User {
    /// A fresh, unverified, active account.
    pub fn new(email: Email, password_hash: Option<PasswordHash>, now: Timestamp) -> Self {
        User {
            id: UserId::new(),
            email,
            password_hash,
            email_verified_at: None,
            disabled_at: None,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            roles: Roles::default(),
        }
    }

    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none() && self.deleted_at.is_none()
    }
}
