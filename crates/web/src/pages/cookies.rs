//! The pages' own cookies (the session cookie is the account API's): reading one from a request,
//! and the `Set-Cookie` values for the pending second login step, the TOTP setup in progress and one-time notices. Every one is
//! HttpOnly and SameSite=Lax, `Secure` and `__Host-` prefixed when the issuer is https.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

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

/// `name` as sent over this issuer: `__Host-name` over https.
pub fn full_name(name: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// The value of cookie `name` in the request, if any.
pub fn read(headers: &HeaderMap, name: &str, secure: bool) -> Option<String> {
    let wanted = full_name(name, secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == wanted)
        .map(|(_, value)| value.trim().to_owned())
}

/// A cookie for the whole site; `max_age` None lasts until the browser closes.
pub fn set(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> Option<HeaderValue> {
    let mut text = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax", full_name(name, secure));
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

/// Deletes cookie `name` in the browser.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    let secure_attr = if secure { "; Secure" } else { "" };
    let text = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_attr}",
        full_name(name, secure)
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("keygate_invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
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
