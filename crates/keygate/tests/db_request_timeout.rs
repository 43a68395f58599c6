//! A request that outlives `http.request_timeout_secs` (PostgreSQL black-holed, statements allowed
//! longer than the request) gets the same 503 problem with `Retry-After` as any other outage, not
//! a bare status. Runs when KEYGATE_TEST_POSTGRES_URL is set.

// Its own binary: the SQL query timeout is per process, so it cannot share a process with
// the other suites (`it`), whose servers open pools with other timeouts at the same time.
#[path = "it/common/mod.rs"]
mod common;

use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use common::TestServer;
use common::accounts::{Api, PASSWORD, Resp};
use common::proxy::CuttableProxy;
use keygate::config::Config;
use keygate_store::{Backend, SqlOptions};

/// A migrated fresh database reached through a proxy, and a server on it.
struct Setup {
    proxy: CuttableProxy,
    server: TestServer,
    _schema: keygate_store::testing::SchemaGuard,
}

async fn setup(query_timeout: Duration, request_timeout_secs: u64) -> Option<Setup> {
    let base = common::postgres_url()?;
    let (url, schema) = keygate_store::testing::fresh_postgres_url(&base).await;
    let mut parsed = url::Url::parse(&url).unwrap();
    let host = parsed.host_str().unwrap().to_owned();
    let upstream = (host.as_str(), parsed.port().unwrap_or(5432))
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(proxy.addr.port())).unwrap();
    let options = SqlOptions {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(1),
        query_timeout,
        ..SqlOptions::default()
    };
    let backend = Backend::connect(parsed.as_str(), &options).await.unwrap();
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

fn assert_outage_problem(r: &Resp, took: Duration, within: Duration) {
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

async fn timed_login(api: &Api, password: &str) -> (Resp, Duration) {
    let started = Instant::now();
    let r = api.login("lou@example.com", password).await;
    (r, started.elapsed())
}

/// Logs in until it answers `status` (at most 15 s): the server recovered by itself.
async fn recovers(api: &Api) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_request_timeout_gets_the_same_503_problem() {
    // Statements may take 20 s, but a request only 1 s: the request timeout answers.
    let Some(s) = setup(Duration::from_secs(20), 1).await else {
        return;
    };
    let api = Api::new(&s.server.base);
    assert_eq!(api.register("lou@example.com", PASSWORD).await.status, 201);

    s.proxy.black_hole();
    let (r, took) = timed_login(&api, PASSWORD).await;
    assert_outage_problem(&r, took, Duration::from_secs(4));
    assert!(took >= Duration::from_millis(900), "{took:?}");

    s.proxy.restore();
    recovers(&api).await;
    s.server.stop().await;
}
