//! The one cookie codec every cookie of Keygate goes through (session, CSRF, the pages' own):
//! reading a cookie from a request and the `Set-Cookie` values that set and delete one. Every
//! cookie is `Path=/; HttpOnly; SameSite=Lax`, and over an https issuer `Secure` with the
//! `__Host-` prefix, so a sibling subdomain can neither read nor plant one.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

/// `name` as sent over this issuer: `__Host-name` over https.
pub fn full_name(name: &str, secure: bool) -> Cow<'_, str> {
    if secure {
        Cow::Owned(format!("__Host-{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// Every value the request carries under cookie `name`, in order (a browser may send the same
/// name twice, e.g. one set by a sibling path).
pub fn values<'h>(headers: &'h HeaderMap, name: &str, secure: bool) -> impl Iterator<Item = &'h str> {
    let wanted = full_name(name, secure).into_owned();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(key, _)| *key == wanted)
        .map(|(_, value)| value.trim())
}

/// The value of cookie `name` in the request, if any.
pub fn read(headers: &HeaderMap, name: &str, secure: bool) -> Option<String> {
    values(headers, name, secure).next().map(str::to_owned)
}

/// A cookie for the whole site; `max_age` None lasts until the browser closes.
pub fn set(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> Option<HeaderValue> {
    HeaderValue::from_str(&set_text(name, value, secure, max_age)).ok()
}

/// The text of [`set`]'s header value.
pub fn set_text(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> String {
    let mut text = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax", full_name(name, secure));
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
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
    fn every_value_of_a_name_is_found_in_order_and_only_under_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; ab=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("a= 3 ; __Host-a=4"));
        assert_eq!(values(&headers, "a", false).collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(values(&headers, "a", true).collect::<Vec<_>>(), ["4"]);
    }

    #[test]
    fn secure_cookies_carry_the_host_prefix_and_the_secure_attribute() {
        let set = set("keygate_session", "kgw_x", true, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(
            set,
            "__Host-keygate_session=kgw_x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            clear("keygate_session", true),
            "__Host-keygate_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
        );
    }
}
