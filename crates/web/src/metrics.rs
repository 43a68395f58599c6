//! `/metrics`: the Prometheus text exposition of every metric, behind a bearer token when
//! `metrics_token` is set. The recorder and the request counter are the floor's
//! ([`crate::http::metrics`]).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use crate::http::metrics::{Metrics, MetricsToken, REQUEST_DURATION, REQUESTS_TOTAL, register};
use crate::state::AppState;

pub async fn endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token
        && !token.admits(&headers)
    {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"keygate-metrics\""),
        );
        return response;
    }
    let body = state.metrics.render();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
