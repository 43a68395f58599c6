//! What can go wrong in an account operation, in terms a caller can answer with a status code.
//! No variant carries a password, a token or any other secret.

use std::time::Duration;

use crate::error::StoreError;
use crate::password::PasswordRejection;

use super::hasher::HashError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is missing or malformed; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A new password breaks the policy.
    #[error("password: {0}")]
    WeakPassword(#[from] PasswordRejection),
    /// Unknown email or wrong password: the same answer for both.
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// The password was right but a second factor is needed (or the one given was wrong).
    #[error("a second factor is required")]
    MfaRequired,
    /// The password was right but the email address is not verified yet.
    #[error("the email address is not verified")]
    EmailNotVerified,
    /// The password was right but the account is deactivated.
    #[error("the account is deactivated")]
    AccountDisabled,
    /// Too many failures for this email or IP address: every attempt is refused until then.
    #[error("too many failed attempts")]
    Locked { retry_after: Duration },
    /// Too many requests (registrations, reset requests) from this IP address.
    #[error("too many requests")]
    RateLimited { retry_after: Duration },
    /// The current password given to confirm a change is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A verification or reset token that is malformed, unknown, used or expired.
    #[error("the link is invalid or has expired")]
    InvalidToken,
    /// No valid session or token.
    #[error("authentication required")]
    Unauthenticated,
    /// The action needs a browser session; a personal access token cannot do it.
    #[error("this action needs a login session")]
    SessionRequired,
    /// The token does not carry the scope the action needs.
    #[error("the token lacks the scope {0}")]
    InsufficientScope(&'static str),
    /// The thing named does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the account's state (e.g. TOTP already on).
    #[error("{0}")]
    Conflict(&'static str),
    /// Password hashing is saturated.
    #[error("the server is busy; retry later")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure that is the server's fault (crypto, corrupt hash); the cause is kept for the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AccountError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<HashError> for AccountError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => AccountError::Busy,
            HashError::Hash(e) => AccountError::Internal(e.to_string()),
        }
    }
}

pub type AccountResult<T> = Result<T, AccountError>;
