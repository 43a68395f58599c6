//! The store error a handler returns and how it becomes a response: a problem (RFC 9457) that
//! never shows internals, with the cause logged once, here; and the plain 500 and 503 answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_core::StoreError;

use super::problem::Problem;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "a: b: c" from an error and its sources, for one log line.
pub fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The 503 answer for anything that depends on a backend that is down.
pub fn unavailable_response() -> Response {
    Problem {
        retry_after: Some(std::time::Duration::from_secs(u64::from(RETRY_AFTER_SECS))),
        ..Problem::blank(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "A backend service is unavailable. Retry later.",
        )
    }
    .into_response()
}

/// The 500 answer: says nothing about what went wrong inside.
pub fn internal_error_response() -> Response {
    Problem::blank(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        "The server could not complete the request.",
    )
    .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(error = %cause_chain(&self), "request failed: storage unavailable");
                unavailable_response()
            }
            ApiError::Store(_) => {
                tracing::error!(error = %cause_chain(&self), "request failed: storage error");
                internal_error_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_outage_is_a_503_with_retry_after_and_no_internals() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "10.1.2.3:5432 refused");
        let response = ApiError::from(StoreError::Unavailable(Box::new(cause))).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = body_text(response).await;
        assert!(!body.contains("10.1.2.3"), "{body}");
        assert!(body.contains("\"status\":503"), "{body}");
    }

    #[tokio::test]
    async fn other_store_errors_are_a_500_without_details() {
        for err in [
            StoreError::Corrupt("column scope holds garbage".into()),
            StoreError::NotFound("user"),
            StoreError::Internal("syntax error at SELECT".into()),
        ] {
            let response = ApiError::from(err).into_response();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(response.headers().get(header::RETRY_AFTER).is_none());
            let body = body_text(response).await;
            assert!(!body.contains("garbage") && !body.contains("SELECT"), "{body}");
        }
    }

    #[test]
    fn the_cause_chain_keeps_every_source() {
        let err = StoreError::Unavailable(Box::new(std::io::Error::other("connection reset")));
        assert_eq!(cause_chain(&err), "storage unavailable: connection reset");
    }
}
