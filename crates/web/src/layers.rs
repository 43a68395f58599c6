//! The middleware stack around every route: request id, tracing, security headers, metrics,
//! panic recovery, timeout and body size limit.

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::time::Duration;

use axum::http::{Request, header};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::http::error::{internal_error_response, unavailable_response};
use crate::security_headers::{self, SecurityHeaders};
use crate::state::WebConfig;

/// Wraps `routes` (already given their state) in the stack. The outermost layer comes first.
pub fn apply(routes: Router, config: &WebConfig) -> Router {
    let security = SecurityHeaders::for_issuer(&config.issuer);
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::map_response_with_state(
            security,
            security_headers::apply,
        ))
        .layer(axum::middleware::from_fn(crate::http::metrics::track))
        // Inside the metrics layer, so a panic is counted as the 500 it becomes.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(config.request_timeout, time_limit))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes));
    routes.layer(stack)
}

/// The span of one request: method, path (never the query, which may carry codes or tokens) and id.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Ends a request that runs past `limit` with the same 503 problem and `Retry-After` as any other
/// outage (a backend that stopped answering is one), instead of a bare status.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis(), "request timed out");
            metrics::counter!(crate::http::metrics::REQUEST_TIMEOUTS).increment(1);
            unavailable_response()
        }
    }
}

fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_owned());
    tracing::error!(panic = %message, "a handler panicked");
    internal_error_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(config: &WebConfig) -> Router {
        let routes = Router::new().route("/boom", get(boom)).route(
            "/sleepy",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        apply(routes, config)
    }

    async fn boom() -> &'static str {
        panic!("handler bug with secret detail")
    }

    async fn call(router: Router, path: &str) -> Response {
        router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_panic_becomes_a_500_with_the_usual_headers_and_no_details() {
        let response = call(app(&WebConfig::default()), "/boom").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert!(response.headers().contains_key("x-request-id"));
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret detail"));
    }

    #[tokio::test]
    async fn a_request_over_the_time_limit_gets_the_503_problem_with_retry_after() {
        let config = WebConfig {
            request_timeout: Duration::from_millis(50),
            ..WebConfig::default()
        };
        let started = std::time::Instant::now();
        let response = call(app(&config), "/sleepy").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert!(response.headers().contains_key("x-request-id"));
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], 503);
    }
}
