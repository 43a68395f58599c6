//! The one problem type: RFC 9457 problem documents (`application/problem+json`) with type URIs
//! under `https://keygate.dev/problems/` (or `about:blank` for plain HTTP failures such as 500
//! and 503), and the account errors as problems. Internals are logged here, never shown.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::AccountError;
use serde_json::json;

use super::error::ApiError;

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

/// An account operation failed; converts to the problem the API answers with.
#[derive(Debug)]
pub struct AccountFailure(pub AccountError);

impl From<AccountError> for AccountFailure {
    fn from(err: AccountError) -> Self {
        AccountFailure(err)
    }
}

impl From<keygate_core::StoreError> for AccountFailure {
    fn from(err: keygate_core::StoreError) -> Self {
        AccountFailure(AccountError::Store(err))
    }
}

impl IntoResponse for AccountFailure {
    fn into_response(self) -> Response {
        problem_for(self.0)
    }
}

/// The response for an account error.
pub fn problem_for(err: AccountError) -> Response {
    use StatusCode as S;
    let p = |status, slug, title, detail: String| Problem::new(status, slug, title, detail);
    let detail = err.to_string();
    let problem = match err {
        AccountError::Invalid { field, message } => Problem {
            field: Some(field),
            ..p(
                S::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                format!("{field}: {message}"),
            )
        },
        AccountError::WeakPassword(reason) => Problem {
            field: Some("password"),
            ..p(
                S::BAD_REQUEST,
                "weak-password",
                "Password not accepted",
                reason.to_string(),
            )
        },
        AccountError::InvalidCredentials => p(S::UNAUTHORIZED, "invalid-credentials", "Login failed", detail),
        AccountError::MfaRequired => p(
            S::UNAUTHORIZED,
            "mfa-required",
            "Second factor required",
            "Send a current TOTP code (or a recovery code) as `totp`.".to_owned(),
        ),
        AccountError::EmailNotVerified => p(S::FORBIDDEN, "email-not-verified", "Email not verified", detail),
        AccountError::AccountDisabled => p(S::FORBIDDEN, "account-disabled", "Account deactivated", detail),
        AccountError::Locked { retry_after } => Problem {
            retry_after: Some(retry_after),
            ..p(
                S::TOO_MANY_REQUESTS,
                "locked",
                "Too many failed attempts",
                "Wait before trying again.".to_owned(),
            )
        },
        AccountError::RateLimited { retry_after } => Problem {
            retry_after: Some(retry_after),
            ..p(S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests", detail)
        },
        AccountError::WrongPassword => p(S::FORBIDDEN, "wrong-password", "Wrong password", detail),
        AccountError::InvalidToken => p(S::BAD_REQUEST, "invalid-token", "Invalid or expired link", detail),
        AccountError::Unauthenticated => p(S::UNAUTHORIZED, "unauthenticated", "Not logged in", detail),
        AccountError::SessionRequired => p(S::FORBIDDEN, "session-required", "Login session required", detail),
        AccountError::InsufficientScope(_) => p(S::FORBIDDEN, "insufficient-scope", "Insufficient scope", detail),
        AccountError::NotFound(_) => p(S::NOT_FOUND, "not-found", "Not found", detail),
        AccountError::Conflict(_) => p(S::CONFLICT, "conflict", "Conflict", detail),
        AccountError::Busy => Problem {
            retry_after: Some(Duration::from_secs(1)),
            ..p(S::SERVICE_UNAVAILABLE, "busy", "Server busy", detail)
        },
        AccountError::Store(store) => return ApiError::Store(store).into_response(),
        AccountError::Internal(cause) => {
            tracing::error!(error = %cause, "account operation failed");
            return super::error::internal_error_response();
        }
    };
    problem.into_response()
}
