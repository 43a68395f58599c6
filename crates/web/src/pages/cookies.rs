//! The pages' own cookies (the session cookie is the floor's): the pending second login step, the
//! TOTP setup in progress and one-time notices, read and written with the one cookie codec
//! ([`crate::http::cookies`]): HttpOnly, SameSite=Lax, `Secure` and `__Host-` prefixed when the
//! issuer is https.

use std::time::Duration;

pub use crate::http::cookies::{clear, read, set};

/// The pending second step of a login with TOTP.
pub const MFA_PENDING: &str = "keygate_mfa";
/// A TOTP secret being set up, until a code confirms it.
pub const TOTP_SETUP: &str = "keygate_totp_setup";
/// Something to show once on the next page (a new token, recovery codes).
pub const FLASH: &str = "keygate_flash";

/// How long the second login step may wait for its code.
pub const MFA_PENDING_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a TOTP setup may wait for its first code.
pub const TOTP_SETUP_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a one-time notice waits for the page that shows it.
pub const FLASH_TTL: Duration = Duration::from_secs(2 * 60);

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::*;

    #[test]
    fn cookies_are_host_only_http_only_and_secure_over_https() {
        let value = set(MFA_PENDING, "x", true, None).unwrap();
        assert_eq!(value, "__Host-keygate_mfa=x; Path=/; HttpOnly; SameSite=Lax; Secure");
        let value = set(FLASH, "e30", false, Some(FLASH_TTL)).unwrap();
        assert_eq!(value, "keygate_flash=e30; Path=/; HttpOnly; SameSite=Lax; Max-Age=120");
        assert_eq!(
            clear(MFA_PENDING, false),
            "keygate_mfa=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }

    #[test]
    fn a_cookie_is_read_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("keygate_flash_old=a; keygate_flash=b"),
        );
        assert_eq!(read(&headers, FLASH, false).as_deref(), Some("b"));
        assert_eq!(read(&headers, FLASH, true), None);
    }
}
