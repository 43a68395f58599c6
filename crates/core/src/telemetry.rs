//! The counters the domain decides: logins by outcome, lockouts, registrations, suppressed
//! emails, token reuse and introspections. Counted here, where each outcome is decided, so the
//! JSON API and the HTML pages (which both call these services) are counted once and alike.
//! Through the `metrics` facade only (no exporter, no I/O): without a recorder it does nothing.
//!
//! Every label value is a fixed word; never an email, an address or a token.

use crate::accounts::AccountError;

pub const LOGINS_TOTAL: &str = "keygate_logins_total";
pub const LOCKOUTS_TOTAL: &str = "keygate_lockouts_total";
pub const REGISTRATIONS_TOTAL: &str = "keygate_registrations_total";
pub const EMAILS_SUPPRESSED_TOTAL: &str = "keygate_emails_suppressed_total";
pub const TOKEN_REUSE_TOTAL: &str = "keygate_token_reuse_detected_total";
pub const INTROSPECTIONS_TOTAL: &str = "keygate_introspections_total";

/// How one login request ended. `MfaRequired` is a right password that still needs a second
/// factor; `BadCode` a wrong (or used) second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    MfaRequired,
    BadPassword,
    BadCode,
    Locked,
    Unverified,
    Disabled,
    Invalid,
    /// Password hashing was saturated (503).
    Busy,
    Error,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::MfaRequired => "mfa_required",
            LoginOutcome::BadPassword => "bad_password",
            LoginOutcome::BadCode => "bad_code",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Unverified => "unverified",
            LoginOutcome::Disabled => "disabled",
            LoginOutcome::Invalid => "invalid",
            LoginOutcome::Busy => "busy",
            LoginOutcome::Error => "error",
        }
    }

    /// The outcome a failed login step answers with. `MfaRequired` from a step that was given a
    /// code means the code was wrong.
    pub fn of_error(err: &AccountError, code_given: bool) -> Self {
        match err {
            AccountError::InvalidCredentials => LoginOutcome::BadPassword,
            AccountError::MfaRequired if code_given => LoginOutcome::BadCode,
            AccountError::MfaRequired => LoginOutcome::MfaRequired,
            AccountError::Locked { .. } | AccountError::RateLimited { .. } => LoginOutcome::Locked,
            AccountError::EmailNotVerified => LoginOutcome::Unverified,
            AccountError::AccountDisabled => LoginOutcome::Disabled,
            AccountError::Invalid { .. } | AccountError::Unauthenticated => LoginOutcome::Invalid,
            AccountError::Busy => LoginOutcome::Busy,
            _ => LoginOutcome::Error,
        }
    }
}

pub fn count_login(outcome: LoginOutcome) {
    metrics::counter!(LOGINS_TOTAL, "outcome" => outcome.as_str()).increment(1);
}

/// A lock set on an account (`account`) or on a client address (`ip`).
pub fn count_lockout(scope: &'static str) {
    metrics::counter!(LOCKOUTS_TOTAL, "scope" => scope).increment(1);
}

/// `created`, `already_registered` (same answer to the caller, a notice to the owner),
/// `rejected` (invalid input or weak password), `rate_limited` or `error`.
pub fn count_registration(outcome: &'static str) {
    metrics::counter!(REGISTRATIONS_TOTAL, "outcome" => outcome).increment(1);
}

/// An email not sent because its address had its hourly share.
pub fn count_email_suppressed() {
    metrics::counter!(EMAILS_SUPPRESSED_TOTAL, "reason" => "rate_limited").increment(1);
}

/// A replayed `refresh_token` or `authorization_code` (its family is revoked).
pub fn count_token_reuse(grant: &'static str) {
    metrics::counter!(TOKEN_REUSE_TOTAL, "grant" => grant).increment(1);
}

pub fn count_introspection(active: bool) {
    let result = if active { "active" } else { "inactive" };
    metrics::counter!(INTROSPECTIONS_TOTAL, "result" => result).increment(1);
}

/// Describes every counter of this module and shows each label value at zero, so that a scrape
/// lists them before the first event and `rate()`/`increase()` see the first one.
pub fn register() {
    use LoginOutcome as L;
    metrics::describe_counter!(LOGINS_TOTAL, "Login requests (API and pages) by outcome");
    for outcome in [
        L::Success,
        L::MfaRequired,
        L::BadPassword,
        L::BadCode,
        L::Locked,
        L::Unverified,
        L::Disabled,
        L::Invalid,
        L::Busy,
        L::Error,
    ] {
        metrics::counter!(LOGINS_TOTAL, "outcome" => outcome.as_str()).increment(0);
    }
    metrics::describe_counter!(LOCKOUTS_TOTAL, "Locks set on an account or a client address");
    for scope in ["account", "ip"] {
        metrics::counter!(LOCKOUTS_TOTAL, "scope" => scope).increment(0);
    }
    metrics::describe_counter!(REGISTRATIONS_TOTAL, "Registration requests by outcome");
    for outcome in ["created", "already_registered", "rejected", "rate_limited", "error"] {
        metrics::counter!(REGISTRATIONS_TOTAL, "outcome" => outcome).increment(0);
    }
    metrics::describe_counter!(
        EMAILS_SUPPRESSED_TOTAL,
        "Emails not sent because the address had its hourly share"
    );
    metrics::counter!(EMAILS_SUPPRESSED_TOTAL, "reason" => "rate_limited").increment(0);
    metrics::describe_counter!(
        TOKEN_REUSE_TOTAL,
        "Replayed refresh tokens or codes (their family is revoked)"
    );
    for grant in ["refresh_token", "authorization_code"] {
        metrics::counter!(TOKEN_REUSE_TOTAL, "grant" => grant).increment(0);
    }
    metrics::describe_counter!(INTROSPECTIONS_TOTAL, "Token introspections by result");
    for result in ["active", "inactive"] {
        metrics::counter!(INTROSPECTIONS_TOTAL, "result" => result).increment(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wrong_second_factor_is_told_apart_from_a_missing_one() {
        assert_eq!(
            LoginOutcome::of_error(&AccountError::MfaRequired, false),
            LoginOutcome::MfaRequired
        );
        assert_eq!(
            LoginOutcome::of_error(&AccountError::MfaRequired, true),
            LoginOutcome::BadCode
        );
        let locked = AccountError::Locked {
            retry_after: Duration::from_secs(1),
        };
        assert_eq!(LoginOutcome::of_error(&locked, false), LoginOutcome::Locked);
        assert_eq!(LoginOutcome::of_error(&AccountError::Busy, false), LoginOutcome::Busy);
        assert_eq!(
            LoginOutcome::of_error(&AccountError::Internal("x".to_owned()), false),
            LoginOutcome::Error
        );
    }
}
