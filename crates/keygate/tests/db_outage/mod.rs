//! What the two outage binaries share (each is a binary of its own because the SQL query timeout
//! is per process): a fresh PostgreSQL schema reached through a proxy the test controls, a server
//! on it, and the checks of the 503 problem and of recovery.
#![allow(dead_code)]

#[path = "../it/common/mod.rs"]
pub mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::accounts::{Api, PASSWORD, Resp};
use common::proxy::CuttableProxy;
use keygate::config::Config;
use keygate_store::{Backend, SqlOptions};

/// A migrated fresh database reached through a proxy, and a server on it.
pub struct Setup {
    pub proxy: CuttableProxy,
    pub server: TestServer,
    _schema: keygate_store::testing::SchemaGuard,
}

pub async fn setup(query_timeout: Duration, request_timeout_secs: u64) -> Option<Setup> {
    let base = common::postgres_url()?;
    let (url, schema) = keygate_store::testing::fresh_postgres_url(&base).await;
    let (proxy, proxied) = CuttableProxy::in_front_of(&url).await;
    let options = SqlOptions {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(1),
        query_timeout,
        ..SqlOptions::default()
    };
    let backend = Backend::connect(&proxied, &options).await.unwrap();
    backend.migrate_up().await.unwrap();
    let mut config = Config::default();
    config.http.request_timeout_secs = request_timeout_secs;
    config.accounts.require_verified_email = false;
    let server = TestServer::start_with(backend, config, |r| r).await;
    Some(Setup {
        proxy,
        server,
        _schema: schema,
    })
}

pub fn assert_outage_problem(r: &Resp, took: Duration, within: Duration) {
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.header("retry-after").as_deref(), Some("5"), "{:?}", r.headers);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.json["status"], 503, "{}", r.text);
    assert!(took < within, "answered after {took:?}, expected under {within:?}");
}

pub async fn timed_login(api: &Api, password: &str) -> (Resp, Duration) {
    let started = Instant::now();
    let r = api.login("lou@example.com", password).await;
    (r, started.elapsed())
}

/// Logs in until it answers `status` (at most 15 s): the server recovered by itself.
pub async fn recovers(api: &Api) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (r, _) = timed_login(api, PASSWORD).await;
        if r.status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "no recovery: {} {}", r.status, r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
