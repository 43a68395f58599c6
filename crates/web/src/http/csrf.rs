//! CSRF protection for HTML forms: a double-submit token. A random `kgf_` token lives in an
//! HttpOnly cookie (`__Host-` prefixed and `Secure` when the issuer is https, so a sibling
//! subdomain cannot plant one); every form carries the same value in its hidden `csrf_token`
//! field, and a POST whose field does not match the cookie (compared in constant time) gets a
//! 403 page before any handler runs. A cross-site attacker can make the browser send the cookie
//! but can neither read it nor the page that holds the field. `Sec-Fetch-Site` and `Origin`,
//! when the browser sends them, must also say the form came from Keygate itself.
//!
//! The [`protect`] middleware wraps every page route (the OAuth consent page too): on GET it
//! makes sure a token exists (setting the cookie when new) and hands it to the handler through
//! the [`CsrfToken`] extractor; on POST it checks the token and passes the buffered body on.

use std::sync::Arc;

use axum::body::{Body, Bytes};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keygate_core::secret_token::{SecretKind, SecretToken};

pub use super::csrf_token::CsrfToken;

use super::cookies;
use super::html::Pages;
use super::limits::is_form;

/// The hidden form field.
pub const FIELD: &str = "csrf_token";
/// Form bodies larger than this are refused (413) before parsing; no page posts anything close.
pub const FORM_LIMIT_BYTES: usize = 64 * 1024;

/// The cookie's name over http; `__Host-` is put in front over https.
pub const COOKIE_NAME: &str = "keygate_csrf";

/// The middleware: see the module documentation.
pub async fn protect(State(pages): State<Arc<Pages>>, request: Request, next: Next) -> Response {
    let secure = pages.secure_cookies();
    let from_cookie = cookie_token(request.headers(), secure);
    if is_safe(request.method()) {
        let (token, is_new) = match from_cookie {
            Some(token) => (token, false),
            None => (SecretToken::generate(SecretKind::Csrf), true),
        };
        let mut request = request;
        request.extensions_mut().insert(CsrfToken(token.clone()));
        let mut response = next.run(request).await;
        if is_new && let Ok(value) = HeaderValue::from_str(&set_cookie(&token, secure)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        return response;
    }

    if let Err(reason) = check_fetch_metadata(request.headers(), pages.issuer_origin()) {
        tracing::info!(reason, "refused a form post: CSRF");
        return pages.csrf_failure();
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let Some(cookie) = from_cookie else {
        tracing::info!(reason = "no CSRF cookie", "refused a form post: CSRF");
        return pages.csrf_failure();
    };
    if !is_form(&parts.headers) || !field_matches(&bytes, &cookie) {
        tracing::info!(reason = "missing or wrong csrf_token", "refused a form post: CSRF");
        return pages.csrf_failure();
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(CsrfToken(cookie));
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `Sec-Fetch-Site` must be `same-origin` or `none` (typed or bookmarked) when present. `Origin`,
/// when present, must be the issuer's or `null`: with `Referrer-Policy: no-referrer` browsers send
/// `null` even for a same-origin form, so `null` proves nothing either way and the token decides.
fn check_fetch_metadata(headers: &HeaderMap, issuer_origin: &str) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if site != "same-origin" && site != "none" {
            return Err("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if origin != "null" && !origin.eq_ignore_ascii_case(issuer_origin) {
            return Err("Origin is not the issuer's");
        }
    }
    Ok(())
}

/// Whether the form's `csrf_token` equals the cookie's token, compared in constant time.
fn field_matches(body: &Bytes, cookie: &SecretToken) -> bool {
    let mut fields = form_urlencoded::parse(body).filter(|(name, _)| name == FIELD);
    match (fields.next(), fields.next()) {
        (Some((_, value)), None) => SecretToken::parse(SecretKind::Csrf, &value).is_ok_and(|field| field == *cookie),
        _ => false,
    }
}

/// The token in the request's CSRF cookie, if well formed.
fn cookie_token(headers: &HeaderMap, secure: bool) -> Option<SecretToken> {
    cookies::values(headers, COOKIE_NAME, secure).find_map(|value| SecretToken::parse(SecretKind::Csrf, value).ok())
}

fn set_cookie(token: &SecretToken, secure: bool) -> String {
    cookies::set_text(COOKIE_NAME, token.expose(), secure, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_field_must_equal_the_cookie_exactly_once() {
        let cookie = SecretToken::generate(SecretKind::Csrf);
        let other = SecretToken::generate(SecretKind::Csrf);
        let body = |s: String| Bytes::from(s);
        assert!(field_matches(
            &body(format!("a=1&csrf_token={}", cookie.expose())),
            &cookie
        ));
        assert!(!field_matches(&body(format!("csrf_token={}", other.expose())), &cookie));
        assert!(!field_matches(&body("csrf_token=".to_owned()), &cookie));
        assert!(!field_matches(&body("email=a%40b.c".to_owned()), &cookie));
        let twice = format!("csrf_token={}&csrf_token={}", other.expose(), cookie.expose());
        assert!(!field_matches(&body(twice), &cookie), "an ambiguous form is refused");
    }

    #[test]
    fn the_cookie_is_found_among_others_and_must_be_well_formed() {
        let token = SecretToken::generate(SecretKind::Csrf);
        let jar = format!("theme=dark; keygate_csrf={}; keygate_session=x", token.expose());
        assert_eq!(cookie_token(&headers(&[("cookie", &jar)]), false), Some(token.clone()));
        assert_eq!(
            cookie_token(&headers(&[("cookie", &jar)]), true),
            None,
            "https wants __Host-"
        );
        let bad = headers(&[("cookie", "keygate_csrf=kgf_forged")]);
        assert_eq!(cookie_token(&bad, false), None);
        let set = set_cookie(&token, true);
        assert!(set.starts_with("__Host-keygate_csrf=kgf_"), "{set}");
        assert!(set.contains("; Path=/; HttpOnly; SameSite=Lax; Secure"), "{set}");
    }

    #[test]
    fn cross_site_requests_are_refused_by_their_metadata() {
        let issuer = "https://id.example.com";
        let ok = |pairs: &[(&'static str, &str)]| check_fetch_metadata(&headers(pairs), issuer).is_ok();
        assert!(ok(&[]));
        assert!(ok(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://id.example.com")
        ]));
        assert!(ok(&[("origin", "null")]));
        assert!(!ok(&[("sec-fetch-site", "cross-site")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(!ok(&[("origin", "https://evil.example")]));
    }
}
