//! The security headers of DESIGN §4, set on every response (pages, JSON, errors, 404s).

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;

/// No framing, no plugins, no `<base>` hijacking; scripts and styles only from Keygate itself.
/// `form-action` is left out on purpose: browsers apply it to the redirect after a form POST, and
/// the consent form redirects to the client's registered URI.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; img-src 'self' data:";

/// The header set, built once at start-up.
#[derive(Clone, Debug)]
pub struct SecurityHeaders(Arc<HeaderMap>);

impl SecurityHeaders {
    pub fn for_issuer(issuer: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        // HSTS only means something over https; sent over plain http it would be ignored anyway.
        if issuer.starts_with("https://") {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        SecurityHeaders(Arc::new(headers))
    }
}

/// Adds every header the handler did not set itself (a page may tighten its own CSP).
pub async fn apply(
    axum::extract::State(headers): axum::extract::State<SecurityHeaders>,
    mut response: Response,
) -> Response {
    let target = response.headers_mut();
    for (name, value) in headers.0.iter() {
        if !target.contains_key(name) {
            target.insert(name.clone(), value.clone());
        }
    }
    response
}
