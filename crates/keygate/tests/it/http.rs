//! HTTP behaviour of the real router on port 0: health, readiness through a real outage, metrics,
//! security headers, request ids and graceful shutdown.

use crate::common;

use std::time::{Duration, Instant};

use axum::routing::get;
use common::proxy::CuttableProxy;
use common::{TestServer, client, memory_backend, postgres_url, sqlite_backend};
use keygate::config::Config;
use keygate_store::{Backend, SqlOptions};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn live_answers_ok() {
    let server = TestServer::start(memory_backend().await).await;
    let response = client().get(server.url("/health/live")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    server.stop().await;
}

async fn assert_ready(server: &TestServer) {
    let response = client().get(server.url("/health/ready")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["components"][0]["name"], "database");
    assert_eq!(body["components"][0]["status"], "ok");
}

#[tokio::test]
async fn ready_on_memory() {
    let server = TestServer::start(memory_backend().await).await;
    assert_ready(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn ready_on_a_new_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(sqlite_backend(&dir).await).await;
    assert_ready(&server).await;
    server.stop().await;
    assert!(dir.path().join("keygate.db").exists());
}

/// The value of the series `series` (name and labels exactly as exported) in a scrape, 0 if absent.
async fn scraped(server: &TestServer, series: &str) -> f64 {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// GETs /health/ready until it answers `want` (or 20 s pass); returns the last answer.
async fn ready_until(server: &TestServer, want: StatusCode) -> (StatusCode, Option<String>, Value, Duration) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let started = Instant::now();
        let response = client().get(server.url("/health/ready")).send().await.unwrap();
        let took = started.elapsed();
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        if status == want || Instant::now() > deadline {
            return (status, retry_after, body, took);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn ready_reports_a_postgres_outage_and_recovers_without_restart() {
    let Some(base_url) = postgres_url() else { return };
    // A fresh, migrated schema: the server loads its signing keys from the store at start-up.
    let (url, _schema) = keygate_store::testing::fresh_postgres_url(&base_url).await;
    let (proxy, proxied) = CuttableProxy::in_front_of(&url).await;

    let options = SqlOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(1),
        ..SqlOptions::default()
    };
    let backend = Backend::connect(&proxied, &options).await.unwrap();
    backend.migrate_up().await.unwrap();
    let server = TestServer::start(backend).await;
    assert_ready(&server).await;
    let failing = "keygate_ready_failing_total{component=\"database\"}";
    let failing_before = scraped(&server, failing).await;

    proxy.cut();
    let (status, retry_after, body, took) = ready_until(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The recorder is the process's: other tests may add to it, never take away.
    assert!(
        scraped(&server, failing).await > failing_before,
        "a readiness answer naming the database is counted"
    );
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert_eq!(body["components"][0]["status"], "down");
    assert_eq!(
        body["components"][0]["error"], "unreachable",
        "a lost connection is an outage: {body}"
    );
    assert!(
        took < Duration::from_secs(5),
        "a probe during an outage must not hang: took {took:?}"
    );
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no connection details in the body: {body}"
    );

    proxy.restore();
    let (status, _, body, _) = ready_until(&server, StatusCode::OK).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready must recover once the database is back: {body}"
    );

    // A database that stops answering (no refusal, no reset) must not hang the probe either.
    proxy.go_silent();
    let (status, retry_after, body, took) = ready_until(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(
        took < Duration::from_secs(5),
        "the probe must give up in bounded time: took {took:?}"
    );
    // The pooled connections are gone now: this probe has to open a new one and wait for it.
    let (status, _, body, took) = ready_until(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        took < Duration::from_secs(5),
        "the probe must give up in bounded time: took {took:?}"
    );
    eprintln!("silent database: probe answered 503 after {took:?}");

    proxy.restore();
    let (status, _, body, _) = ready_until(&server, StatusCode::OK).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready must recover after a silent outage too: {body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let server = TestServer::start(memory_backend().await).await;
    let http = client();
    for _ in 0..3 {
        http.get(server.url("/health/live")).send().await.unwrap();
    }
    http.get(server.url("/no/such/page-7f3a")).send().await.unwrap();
    let response = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();

    let live = text
        .lines()
        .find(|l| {
            l.starts_with("keygate_http_requests_total{")
                && l.contains("route=\"/health/live\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no counter for /health/live in:\n{text}"));
    let count: f64 = live.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{live}");
    assert!(text.contains("route=\"unmatched\",status=\"404\""), "{text}");
    assert!(!text.contains("page-7f3a"), "raw paths must not become labels");
    assert!(text.contains("keygate_http_request_duration_seconds_bucket{"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let server = TestServer::start(memory_backend().await).await;
    for path in ["/health/live", "/health/ready", "/metrics", "/does-not-exist"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
        assert!(!headers["x-request-id"].is_empty(), "{path}");
    }
    let given = client()
        .get(server.url("/health/live"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
    server.stop().await;
}

#[tokio::test]
async fn an_https_issuer_adds_hsts() {
    let config = Config::load(&keygate::config::Sources {
        env: vec![("KEYGATE_ISSUER".into(), "https://id.example.com".into())],
        ..Default::default()
    })
    .unwrap()
    .config;
    let server = TestServer::start_with(memory_backend().await, config, |r| r).await;
    let response = client().get(server.url("/health/live")).send().await.unwrap();
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(memory_backend().await).await;
    // Only the headers go out: the server must refuse from the declared size, before reading any
    // of the body. (Sending the 2 MiB too would race the server's close against the client's write.)
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /health/live HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("the server answers without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let slow = move || {
        let started = started_tx.lock().unwrap().take();
        async move {
            if let Some(tx) = started {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_millis(800)).await;
            "finished"
        }
    };
    let mut server = TestServer::start_with(memory_backend().await, Config::default(), move |router| {
        router.route("/test/slow", get(slow))
    })
    .await;

    let url = server.url("/test/slow");
    let request = tokio::spawn(async move { client().get(url).send().await });
    started_rx.await.unwrap();
    server.begin_shutdown();
    let base = server.base.clone();
    let stopped = tokio::spawn(server.finished());

    let response = request.await.unwrap().expect("the in-flight request must complete");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "finished");
    stopped.await.unwrap().unwrap();
    assert!(
        client().get(format!("{base}/health/live")).send().await.is_err(),
        "no new requests after shutdown"
    );
}
