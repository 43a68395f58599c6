//! Prometheus metrics: the process-wide recorder, the bearer token `/metrics` may ask for, and the
//! middleware that counts requests by route (the matched pattern, never the raw URI) and status.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use keygate_core::secret_token::constant_time_eq;

use super::authorization::{self, Scheme};

/// The bearer token `/metrics` asks for (`metrics_token`). `Debug` never shows it.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn new(token: impl Into<String>) -> Self {
        MetricsToken(token.into())
    }

    /// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        authorization::credentials(headers, Scheme::Bearer)
            .ok()
            .flatten()
            .is_some_and(|presented| constant_time_eq(presented.as_bytes(), self.0.as_bytes()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

pub const REQUESTS_TOTAL: &str = "keygate_http_requests_total";
pub const REQUEST_DURATION: &str = "keygate_http_request_duration_seconds";
/// Requests that ran past `http.request_timeout_secs` (answered 503).
pub const REQUEST_TIMEOUTS: &str = "keygate_request_timeouts_total";
/// Tokens issued at `/oauth2/token`, by `grant` and `client_id`.
pub const TOKENS_ISSUED: &str = "keygate_tokens_issued_total";
/// Readiness answers that found an optional component (Redis) down, by `component`.
pub const READY_DEGRADED: &str = "keygate_ready_degraded_total";
/// Readiness answers that found a required component down (a 503), by `component`.
pub const READY_FAILING: &str = "keygate_ready_failing_total";

/// Describes the web layer's metrics and shows its unlabelled and fixed-label counters at zero,
/// so a scrape lists them before the first event.
pub fn register() {
    metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests by method, route pattern and status");
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method and route"
    );
    metrics::describe_counter!(REQUEST_TIMEOUTS, "Requests that ran past the request timeout (503)");
    metrics::counter!(REQUEST_TIMEOUTS).increment(0);
    metrics::describe_counter!(TOKENS_ISSUED, "Tokens issued by grant type and client");
    metrics::describe_counter!(READY_DEGRADED, "Readiness checks that found an optional component down");
    metrics::describe_counter!(READY_FAILING, "Readiness checks that found a required component down");
    for component in ["database", "redis"] {
        metrics::counter!(READY_FAILING, "component" => component).increment(0);
    }
    metrics::counter!(READY_DEGRADED, "component" => "redis").increment(0);
}

/// Latency buckets in seconds: fine-grained where token endpoints live, coarse where logins
/// (one Argon2 hash) live.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Sets gauges that are read rather than counted (pool sizes), just before each scrape.
pub type Sampler = Arc<dyn Fn() + Send + Sync>;

/// A handle on the process-wide Prometheus recorder, with this server's samplers.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    samplers: Arc<[Sampler]>,
}

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

impl Metrics {
    /// Installs the global recorder on the first call and returns a handle to it on every call, so
    /// that several servers in one process (tests) share it.
    pub fn install() -> Result<Metrics, String> {
        RECORDER
            .get_or_init(|| {
                PrometheusBuilder::new()
                    // Every `_seconds` metric is a histogram with buckets (not a summary), so
                    // dashboards can aggregate it across instances.
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                    .and_then(|builder| builder.install_recorder())
                    .map_err(|err| format!("cannot install the metrics recorder: {err}"))
            })
            .clone()
            .map(|handle| Metrics {
                handle,
                samplers: Arc::from([]),
            })
    }

    /// This handle, also running `sampler` before every scrape (start-up wiring only).
    pub fn with_sampler(self, sampler: impl Fn() + Send + Sync + 'static) -> Metrics {
        let mut samplers = self.samplers.to_vec();
        samplers.push(Arc::new(sampler));
        Metrics {
            handle: self.handle,
            samplers: samplers.into(),
        }
    }

    /// The Prometheus text exposition of every metric, with sampled gauges read just now.
    pub fn render(&self) -> String {
        for sample in self.samplers.iter() {
            sample();
        }
        self.handle.render()
    }

    /// Drains histogram samples into their buckets; without it memory grows between scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Runs upkeep every `period` for as long as the runtime lives.
    pub fn spawn_upkeep(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let metrics = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                metrics.run_upkeep();
            }
        })
    }
}

/// Counts every request and records its latency, labelled by method, route pattern and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    // Unmatched paths share one label, so scanners cannot create unbounded series.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!(REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route).record(elapsed);
    response
}

/// The method as a fixed word: no allocation, and a caller inventing methods cannot create
/// unbounded series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
