//! Several instances on one durable store and one Redis: lockout counters and session
//! invalidation are shared, the lockout survives losing everything in Redis, and an instance
//! without Redis stays ready (degraded) and serves logins from the database, unless
//! `redis.required` says otherwise. Runs when KEYGATE_TEST_REDIS_URL is set (with CI=true it must be);
//! the durable store is a fresh PostgreSQL schema when KEYGATE_TEST_POSTGRES_URL is set, a
//! shared SQLite file otherwise.

use crate::common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::accounts::{Api, PASSWORD};
use keygate::config::Config;
use keygate_store::testing::{self, RedisPrefixGuard, TestDbGuard};
use keygate_store::{Backend, SqlOptions};
use serde_json::{Value, json};

/// Two (or more) instances' worth of handles on one durable store, and one Redis key prefix.
struct Cluster {
    db_url: String,
    redis_url: String,
    secret_key: String,
    prefix: RedisPrefixGuard,
    _db: TestDbGuard,
}

impl Cluster {
    async fn new() -> Option<Cluster> {
        let redis_url = testing::redis_test_url()?;
        let (db_url, db) = match std::env::var(testing::POSTGRES_URL_VAR) {
            Ok(base) if !base.trim().is_empty() => {
                let (url, guard) = testing::fresh_postgres_url(&base).await;
                (url, TestDbGuard::Postgres(guard))
            }
            _ => {
                let (url, guard) = testing::fresh_sqlite_url();
                (url, TestDbGuard::Sqlite(guard))
            }
        };
        let first = Backend::connect(&db_url, &testing::test_sql_options()).await.unwrap();
        first.migrate_up().await.unwrap();
        first.close().await;
        Some(Cluster {
            db_url,
            prefix: testing::fresh_redis_prefix(&redis_url),
            redis_url,
            secret_key: keygate_core::crypto::SecretBox::generate_key_base64().unwrap(),
            _db: db,
        })
    }

    /// One more instance: its own pool on the shared database, Redis at `redis_url`.
    async fn instance_with_redis(&self, redis_url: &str) -> TestServer {
        self.instance_configured(redis_url, |_| {}).await
    }

    async fn instance_configured(&self, redis_url: &str, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            redis_url: Some(redis_url.to_owned().try_into().unwrap()),
            secret_key: Some(self.secret_key.clone().try_into().unwrap()),
            ..Config::default()
        };
        config.redis.prefix = self.prefix.prefix().to_owned();
        config.accounts.require_verified_email = false;
        adjust(&mut config);
        let backend = Backend::connect(&self.db_url, &SqlOptions::default()).await.unwrap();
        TestServer::start_with(backend, config, |r| r).await
    }

    async fn instance(&self) -> TestServer {
        self.instance_with_redis(&self.redis_url).await
    }

    /// The keys under this cluster's prefix matching `pattern` (cache entries are
    /// `<generation>:c:<kind>:…`).
    async fn redis_keys(&self, pattern: &str) -> Vec<String> {
        let client = redis::Client::open(self.redis_url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let pattern = format!("{}{pattern}", self.prefix.prefix());
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }
}

async fn register(server: &TestServer, email: &str) {
    let r = Api::new(&server.base).register(email, PASSWORD).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_failures_on_one_instance_lock_the_account_on_another() {
    let Some(cluster) = Cluster::new().await else { return };
    let a = cluster.instance().await;
    let b = cluster.instance().await;
    register(&a, "kim@example.com").await;

    let on_a = Api::new(&a.base);
    for attempt in 1..=10 {
        let r = on_a.login("kim@example.com", "wrong-password-guess").await;
        let expected = if attempt < 10 { 401 } else { 429 };
        assert_eq!(r.status, expected, "attempt {attempt}: {}", r.text);
    }

    let on_b = Api::new(&b.base);
    let r = on_b.login("kim@example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "B must see A's failures: {}", r.text);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(r.problem_type().ends_with("locked"), "{}", r.text);
    assert!(on_b.cookie().is_none());

    // The counters live in the shared database, not in Redis: losing every key of this deployment
    // in Redis (a restart, FLUSHALL, eviction) leaves the account locked.
    assert!(cluster.redis_keys("e:*").await.is_empty(), "ephemeral state in Redis");
    testing::delete_prefixed_keys(&cluster.redis_url, cluster.prefix.prefix())
        .await
        .unwrap();
    assert_eq!(on_b.login("kim@example.com", PASSWORD).await.status, 429);
    assert_eq!(on_a.login("kim@example.com", PASSWORD).await.status, 429);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_one_instance_works_on_another_until_logout_there() {
    let Some(cluster) = Cluster::new().await else { return };
    let a = cluster.instance().await;
    let b = cluster.instance().await;
    register(&a, "cat@example.com").await;
    let on_a = Api::new(&a.base);
    assert_eq!(on_a.login("cat@example.com", PASSWORD).await.status, 200);
    let cookie = on_a.cookie().expect("a session cookie");

    let on_b = Api::new(&b.base);
    on_b.set_cookie(Some(cookie.clone()));
    // Several reads: the first learns the session's user, the next ones are served from the cache.
    for _ in 0..3 {
        let r = on_b.get("/api/auth/me").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["email"], "cat@example.com", "{}", r.text);
    }
    assert!(
        !cluster.redis_keys("*:c:session:*").await.is_empty(),
        "B should have cached the session in Redis"
    );

    let r = on_a.post("/api/auth/logout", json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // At once while Redis answers A's invalidation; should it time out (a loaded machine), A
    // retires the cache generation instead, which B honours within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let mut r = on_b.get("/api/auth/me").await;
    while r.status == 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        r = on_b.get("/api/auth/me").await;
    }
    assert_eq!(
        r.status, 401,
        "logout on A must end the session on B within a second: {}",
        r.text
    );
    a.stop().await;
    b.stop().await;
}

async fn ready(server: &TestServer) -> (u16, Option<String>, Value) {
    let r = Api::new(&server.base).get("/health/ready").await;
    (r.status, r.header("retry-after"), r.json)
}

fn component<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["components"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} component in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_an_instance_stays_ready_degraded_and_serves_logins_from_the_database() {
    let Some(cluster) = Cluster::new().await else { return };
    let healthy = cluster.instance().await;
    register(&healthy, "dan@example.com").await;
    let (status, _, body) = ready(&healthy).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(component(&body, "redis")["status"], "ok");
    assert_eq!(component(&body, "redis")["required"], false);

    // Same database, Redis on a closed port: the instance starts and stays ready.
    let cut_off = cluster.instance_with_redis("redis://127.0.0.1:1").await;
    let started = Instant::now();
    let (status, retry_after, body) = ready(&cut_off).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    assert!(retry_after.is_none());
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["degraded"], json!(["redis"]));
    assert_eq!(body["failing"], json!([]));
    assert_eq!(component(&body, "database")["status"], "ok");
    assert_eq!(component(&body, "redis")["status"], "degraded");
    assert!(
        !body.to_string().contains("127.0.0.1:1"),
        "no hosts in the probe: {body}"
    );

    // Logins work from the database, quickly, and failures still count towards the shared lock.
    let api = Api::new(&cut_off.base);
    let started = Instant::now();
    let r = api.login("dan@example.com", "wrong-password-guess").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = api.login("dan@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(api.cookie().is_some());
    assert_eq!(api.get("/api/auth/me").await.status, 200);
    for _ in 0..10 {
        api.login("dan@example.com", "wrong-password-guess").await;
    }
    assert_eq!(
        Api::new(&healthy.base).login("dan@example.com", PASSWORD).await.status,
        429,
        "failures on the instance without Redis lock the account on the others"
    );
    healthy.stop().await;
    cut_off.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_required_an_instance_without_redis_is_not_ready() {
    let Some(cluster) = Cluster::new().await else { return };
    let cut_off = cluster
        .instance_configured("redis://127.0.0.1:1", |c| c.redis.required = true)
        .await;
    let (status, retry_after, body) = ready(&cut_off).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.is_some());
    assert_eq!(body["failing"], json!(["redis"]));
    let redis = component(&body, "redis");
    assert_eq!(redis["status"], "down");
    assert_eq!(redis["required"], true);
    cut_off.stop().await;
}
