//! The error a handler returns and how it becomes a response: RFC 9457 problem JSON that never
//! shows internals, with the cause logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::StoreError;
use serde::Serialize;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: &'static str,
}

impl Problem {
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
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
    let mut response = Problem {
        kind: "about:blank",
        title: "Service Unavailable",
        status: 503,
        detail: "A backend service is unavailable. Retry later.",
    }
    .into_response_with(StatusCode::SERVICE_UNAVAILABLE);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

/// The 500 answer: says nothing about what went wrong inside.
pub fn internal_error_response() -> Response {
    Problem {
        kind: "about:blank",
        title: "Internal Server Error",
        status: 500,
        detail: "The server could not complete the request.",
    }
    .into_response_with(StatusCode::INTERNAL_SERVER_ERROR)
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
