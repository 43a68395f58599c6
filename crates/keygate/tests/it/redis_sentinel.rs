//! `keygate serve` configured for Redis Sentinel (`redis.sentinel_master` + `redis.sentinel_urls`,
//! no `redis_url`) on PostgreSQL, with a real master + replica + Sentinel the test starts: a
//! `SENTINEL FAILOVER` while logins, client_credentials and introspection requests run loses none
//! of them, and the instance is still ready with Redis `ok` afterwards.

use crate::common;
#[allow(dead_code)]
#[path = "../../../store/tests/redis_shapes/topology.rs"]
mod topology;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::binary::keygate;
use keygate_store::testing;
use serde_json::{Value, json};
use topology::{Topology, cli, eventually, free_port};

const ADMIN: &str = "sentinel-admin-token-0123456789-abcdefghijklmn";
const PASSWORD: &str = "violet-harbor-lantern-42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_during_logins_and_token_requests_fails_none() {
    let Some(pg) = testing::postgres_test_url() else { return };
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let (master, replica, sentinel) = (free_port(), free_port(), free_port());
    t.server("master", master, "");
    t.server("replica", replica, &format!("replicaof 127.0.0.1 {master}"));
    eventually(Duration::from_secs(15), "the replica is in sync", || {
        cli(replica, &["INFO", "replication"]).contains("master_link_status:up")
    });
    let config =
        format!("port {sentinel}\nsentinel monitor kg 127.0.0.1 {master} 1\nsentinel failover-timeout kg 10000");
    t.start("sentinel", sentinel, &config, &["--sentinel"]);
    eventually(Duration::from_secs(20), "Sentinel knows the replica", || {
        cli(sentinel, &["SENTINEL", "REPLICAS", "kg"]).contains(&replica.to_string())
    });

    let (db_url, _schema) = testing::fresh_postgres_url(&pg).await;
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = keygate(dir.path())
        .env("KEYGATE_DATABASE_URL", &db_url)
        .env("KEYGATE_REDIS__SENTINEL_MASTER", "kg")
        .env("KEYGATE_REDIS__SENTINEL_URLS", format!("redis://127.0.0.1:{sentinel}"))
        .env(
            "KEYGATE_SECRET_KEY",
            keygate_core::crypto::SecretBox::generate_key_base64().unwrap(),
        )
        .env("KEYGATE_ADMIN_TOKEN", ADMIN)
        .env("KEYGATE_BIND", "127.0.0.1:0")
        .env("KEYGATE_ACCOUNTS__REQUIRE_VERIFIED_EMAIL", "false")
        .env("KEYGATE_MAIL_OUTBOX", dir.path().join("outbox"))
        .env("RUST_LOG", "warn")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let log = dir.path().join("serve.log");
    let base = common::binary::listening_base(&mut child, || std::fs::read_to_string(&log).unwrap_or_default()).await;
    let http = common::client();

    let (status, ready) = get_json(&http, &format!("{base}/health/ready")).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ok", "Redis through Sentinel is up: {ready}");
    let client: Value = http
        .post(format!("{base}/admin/clients"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"client_name": "sentinel", "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic", "access_token_format": "opaque"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let registered = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": "sam@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut workers = Vec::new();
    for w in 0..3 {
        let (http, base, id, secret) = (http.clone(), base.clone(), id.clone(), secret.clone());
        let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = if w == 0 {
                    login(&http, &base).await
                } else {
                    token_and_introspection(&http, &base, &id, &secret).await
                };
                let counter = if ok { &done } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cli(sentinel, &["SENTINEL", "FAILOVER", "kg"]), "OK");
    tokio::task::spawn_blocking(move || {
        eventually(Duration::from_secs(20), "the replica is promoted", || {
            cli(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "kg"]).contains(&replica.to_string())
                && cli(replica, &["ROLE"]).starts_with("master")
        });
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{done} request rounds succeeded, {failed} failed");
    assert_eq!(
        failed, 0,
        "no login, token or introspection request failed during the failover"
    );
    assert!(done > 10, "traffic ran: {done}");
    let (status, ready) = get_json(&http, &format!("{base}/health/ready")).await;
    assert_eq!(
        (status, &ready["status"]),
        (200, &json!("ok")),
        "ready on the new master: {ready}"
    );
    assert!(
        cli(replica, &["DBSIZE"]).parse::<u64>().unwrap_or(0) > 0,
        "the instance caches on the new master"
    );
    let _ = child.start_kill();
    let _ = child.wait().await;
}

async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(http: &reqwest::Client, base: &str) -> bool {
    let response = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": "sam@example.com", "password": PASSWORD}))
        .send()
        .await;
    response.is_ok_and(|r| r.status() == 200)
}

async fn token_and_introspection(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> bool {
    let Ok(response) = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
    else {
        return false;
    };
    if response.status() != 200 {
        return false;
    }
    let Ok(body) = response.json::<Value>().await else {
        return false;
    };
    let Some(token) = body["access_token"].as_str() else {
        return false;
    };
    let Ok(response) = http
        .post(format!("{base}/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
    else {
        return false;
    };
    let Ok(answer) = response.json::<Value>().await else {
        return false;
    };
    answer["active"] == json!(true)
}
