//! The account rules an operator can tune: verification, session lifetimes, token lifetimes,
//! lockout and throttling thresholds, and the password policy.

use std::time::Duration;

use crate::password::PasswordPolicy;

/// Every figure the account service works with. `Default` holds DESIGN §5's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountsConfig {
    /// Logging in needs a verified email address.
    pub require_verified_email: bool,
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A session ends this long after login, however active.
    pub session_absolute: Duration,
    /// Lifetime of an email verification link.
    pub verify_token_ttl: Duration,
    /// Lifetime of a password reset link.
    pub reset_token_ttl: Duration,
    /// Consecutive failures (password, second factor, reset) that lock an email address.
    pub lockout_threshold: u32,
    /// How long a lock lasts.
    pub lockout_duration: Duration,
    /// Failures one IP address may cause in an hour before its attempts are refused.
    pub ip_failures_per_hour: u32,
    /// Base of the progressive delay after the third consecutive failure (doubling, at most 8×).
    pub failure_delay: Duration,
    /// Verification, reset and notice emails one address may receive in an hour.
    pub emails_per_address_per_hour: u32,
    /// Registrations, reset requests and resends one IP address may make in an hour.
    pub ip_requests_per_hour: u32,
    /// Rules for new passwords.
    pub password_policy: PasswordPolicy,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            require_verified_email: true,
            session_idle: Duration::from_secs(24 * 3600),
            session_absolute: Duration::from_secs(30 * 24 * 3600),
            verify_token_ttl: Duration::from_secs(24 * 3600),
            reset_token_ttl: Duration::from_secs(30 * 60),
            lockout_threshold: 10,
            lockout_duration: Duration::from_secs(15 * 60),
            ip_failures_per_hour: 100,
            failure_delay: Duration::from_millis(100),
            emails_per_address_per_hour: 5,
            ip_requests_per_hour: 50,
            password_policy: PasswordPolicy::default(),
        }
    }
}

impl AccountsConfig {
    /// The pause before answering the `failures`-th consecutive failure: none for the first two,
    /// then the base doubling up to eight times the base.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures < 3 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (failures - 3).min(3);
        self.failure_delay.saturating_mul(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_then_stops_growing() {
        let config = AccountsConfig::default();
        assert_eq!(config.delay_after(2), Duration::ZERO);
        assert_eq!(config.delay_after(3), Duration::from_millis(100));
        assert_eq!(config.delay_after(4), Duration::from_millis(200));
        assert_eq!(config.delay_after(6), Duration::from_millis(800));
        assert_eq!(config.delay_after(9), Duration::from_millis(800));
    }
}
