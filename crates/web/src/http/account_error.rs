//! Account errors as problems: each `AccountError` with its status, type, title and detail.
//! Internals are logged here, never shown.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::AccountError;

use super::error::ApiError;
use super::problem::Problem;

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
