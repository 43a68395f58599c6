//! `/health/live` (the process answers) and `/health/ready` (the backends it needs answer too).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::StoreError;
use keygate_core::error::StoreResult;
use keygate_core::store::MaintenanceStore;
use serde::Serialize;
use serde_json::json;

pub use crate::state::{ReadinessProbe, ReadyCheck};

use crate::http::error::{RETRY_AFTER_SECS, cause_chain};
use crate::http::metrics::{READY_DEGRADED, READY_FAILING};
use crate::state::AppState;

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The state of one backend as `/health/ready` reports it.
#[derive(Debug, Serialize)]
pub struct ComponentHealth {
    pub name: &'static str,
    pub status: &'static str,
    /// Whether the server can serve requests without it. A required component that is down makes
    /// the whole answer 503.
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ComponentHealth {
    fn from_result(name: &'static str, required: bool, result: Result<(), String>) -> Self {
        match result {
            Ok(()) => ComponentHealth {
                name,
                status: "ok",
                required,
                error: None,
            },
            // The server keeps serving without an optional component (Redis as a cache): degraded.
            Err(error) => ComponentHealth {
                name,
                status: if required { "down" } else { "degraded" },
                required,
                error: Some(error),
            },
        }
    }
}

pub async fn ready(State(state): State<AppState>) -> Response {
    readiness(
        state.operations.database(),
        &state.ready_checks,
        state.config.ready_timeout,
    )
    .await
}

/// Asks every backend whether it answers within `timeout` (all at once, so the answer takes one
/// timeout at most); 503 with `Retry-After` if a required one does not. Nothing is cached: the
/// answer turns back to 200 as soon as the backend is back.
pub async fn readiness(database: &dyn MaintenanceStore, others: &[ReadyCheck], timeout: Duration) -> Response {
    let database_check =
        async { ComponentHealth::from_result("database", true, check(database.ping(), "database", timeout).await) };
    let other_checks = futures::future::join_all(others.iter().map(|c| async move {
        ComponentHealth::from_result(c.name, c.required, check(c.probe.ping(), c.name, timeout).await)
    }));
    let (database, others) = tokio::join!(database_check, other_checks);
    let mut components = vec![database];
    components.extend(others);
    readiness_response(components)
}

async fn check(ping: impl Future<Output = StoreResult<()>>, name: &str, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(component = name, error = %cause_chain(&err), "readiness: ping failed");
            Err(describe(&err))
        }
        Err(_) => {
            tracing::warn!(component = name, ?timeout, "readiness: ping timed out");
            Err(format!("no answer within {} ms", timeout.as_millis()))
        }
    }
}

/// What the probe says about a failure: the kind of problem, not connection strings or hosts.
fn describe(err: &StoreError) -> String {
    match err {
        StoreError::Unavailable(_) => "unreachable".to_owned(),
        _ => "failing".to_owned(),
    }
}

fn readiness_response(components: Vec<ComponentHealth>) -> Response {
    let failing: Vec<&'static str> = components
        .iter()
        .filter(|c| c.required && c.error.is_some())
        .map(|c| c.name)
        .collect();
    let degraded: Vec<&'static str> = components
        .iter()
        .filter(|c| !c.required && c.error.is_some())
        .map(|c| c.name)
        .collect();
    let status = match (failing.is_empty(), degraded.is_empty()) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    for name in &degraded {
        metrics::counter!(READY_DEGRADED, "component" => *name).increment(1);
    }
    for name in &failing {
        metrics::counter!(READY_FAILING, "component" => *name).increment(1);
    }
    let body = Json(json!({
        "status": status,
        "failing": failing,
        "degraded": degraded,
        "components": components,
    }));
    if failing.is_empty() {
        (StatusCode::OK, body).into_response()
    } else {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        response
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};

    use async_trait::async_trait;
    use keygate_core::Timestamp;
    use keygate_core::error::StoreResult;
    use keygate_core::store::{PurgeReport, StoreStats};

    use super::*;

    const UP: u8 = 0;
    const DOWN: u8 = 1;
    const HANGING: u8 = 2;

    /// A database whose state the test switches.
    #[derive(Default)]
    struct FakeDatabase(Arc<AtomicU8>);

    #[async_trait]
    impl MaintenanceStore for FakeDatabase {
        async fn ping(&self) -> StoreResult<()> {
            match self.0.load(Ordering::SeqCst) {
                UP => Ok(()),
                DOWN => Err(StoreError::Unavailable(Box::new(std::io::Error::other(
                    "db.internal:5432 refused",
                )))),
                _ => std::future::pending().await,
            }
        }
        async fn stats(&self, _now: Timestamp) -> StoreResult<StoreStats> {
            Ok(StoreStats::default())
        }
        async fn purge_expired(&self, _: Timestamp, _: Timestamp, _: u32) -> StoreResult<PurgeReport> {
            Ok(PurgeReport::default())
        }
    }

    async fn probe(db: &FakeDatabase) -> (StatusCode, Option<String>, serde_json::Value) {
        probe_with(db, &[]).await
    }

    async fn probe_with(db: &FakeDatabase, others: &[ReadyCheck]) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = readiness(db, others, Duration::from_millis(200)).await;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        (status, retry_after, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn ready_follows_the_database_down_and_back_up() {
        let db = FakeDatabase::default();
        let (status, retry_after, body) = probe(&db).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(retry_after, None);
        assert_eq!(body["status"], "ok");

        db.0.store(DOWN, Ordering::SeqCst);
        let (status, retry_after, body) = probe(&db).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(body["failing"], serde_json::json!(["database"]));
        assert_eq!(body["components"][0]["error"], "unreachable");
        assert!(
            !body.to_string().contains("db.internal"),
            "the probe must not leak hosts: {body}"
        );

        db.0.store(UP, Ordering::SeqCst);
        let (status, _, body) = probe(&db).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["components"][0]["status"], "ok");
    }

    #[tokio::test]
    async fn a_database_that_does_not_answer_counts_as_down() {
        let db = FakeDatabase::default();
        db.0.store(HANGING, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let (status, retry_after, body) = probe(&db).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(body["components"][0]["error"], "no answer within 200 ms");
    }

    /// A probe that always fails, as Redis does while it is down.
    struct Down;

    #[async_trait]
    impl ReadinessProbe for Down {
        async fn ping(&self) -> StoreResult<()> {
            Err(StoreError::Unavailable(Box::new(std::io::Error::other(
                "redis.internal:6379",
            ))))
        }
    }

    fn redis_check(required: bool) -> ReadyCheck {
        ReadyCheck {
            name: "redis",
            required,
            probe: Arc::new(Down),
        }
    }

    #[tokio::test]
    async fn an_optional_component_down_is_degraded_but_ready() {
        let db = FakeDatabase::default();
        let (status, retry_after, body) = probe_with(&db, &[redis_check(false)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(retry_after, None);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["degraded"], serde_json::json!(["redis"]));
        assert_eq!(body["failing"], serde_json::json!([]));
        assert_eq!(body["components"][1]["status"], "degraded");
        assert_eq!(body["components"][1]["error"], "unreachable");
        assert!(!body.to_string().contains("redis.internal"), "{body}");
    }

    #[tokio::test]
    async fn a_required_component_down_makes_the_server_unready() {
        let db = FakeDatabase::default();
        let (status, retry_after, body) = probe_with(&db, &[redis_check(true)]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(body["failing"], serde_json::json!(["redis"]));
        assert_eq!(body["components"][1]["status"], "down");
    }
}
