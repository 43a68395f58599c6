//! The one problem type: RFC 9457 problem documents (`application/problem+json`) with type URIs
//! under `https://keygate.dev/problems/` (or `about:blank` for plain HTTP failures such as 500
//! and 503). Account errors become problems in [`super::account_error`].

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const PROBLEM_BASE: &str = "https://keygate.dev/problems/";

/// A problem answer: status, the last part of its type URI (empty: `about:blank`), a title and a
/// detail for people.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The request field at fault, if one is.
    pub field: Option<&'static str>,
    pub retry_after: Option<Duration>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A problem that says no more than its status (`type` is `about:blank`).
    pub fn blank(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(status, "", title, detail)
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            "Send the body as Content-Type: application/json.",
        )
    }

    pub fn foreign_origin() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross-origin-request",
            "Cross-origin request refused",
            "This request comes from another site's page and was refused.",
        )
    }

    pub fn bad_json(detail: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", "Invalid request", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": if self.slug.is_empty() {
                "about:blank".to_owned()
            } else {
                format!("{PROBLEM_BASE}{}", self.slug)
            },
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self.retry_after {
            // Round up: a client that waits exactly this long must not be refused again.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.slug == "unauthenticated" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keygate\""),
            );
        }
        response
    }
}
