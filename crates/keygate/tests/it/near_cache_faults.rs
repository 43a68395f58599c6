//! The in-memory cache of clients and access tokens (PostgreSQL) when its listening connection is
//! behind a network black hole: nothing closes, notifications just stop. The instance must stop
//! answering from memory within about a second, and use it again once the network is back. And
//! `database.memory_cache = false` turns it off (no listening connection at all).

use crate::common;

use std::time::{Duration, Instant};

use common::proxy::CuttableProxy;
use common::{TestServer, postgres_url};
use keygate::config::Config;
use keygate_core::Timestamp;
use keygate_store::testing::{fresh_postgres_url, test_sql_options, wait_until_trusted};
use keygate_store::{Backend, layer_near};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_listener_stops_the_cache_within_a_second_and_it_comes_back() {
    let Some(base) = postgres_url() else { return };
    let (url, _schema) = fresh_postgres_url(&base).await;
    let a = Backend::connect(&url, &test_sql_options()).await.unwrap();
    a.migrate_up().await.unwrap();
    let (proxy, proxied) = CuttableProxy::in_front_of(&url).await;
    let mut options = test_sql_options();
    options.query_timeout = Duration::from_millis(500);
    options.acquire_timeout = Duration::from_millis(500);
    let b_backend = Backend::connect(&proxied, &options).await.unwrap();
    let near = b_backend.near_cache().unwrap();
    wait_until_trusted(&near).await;
    let b = layer_near(b_backend.stores(), &near);

    let now = Timestamp::from_unix_seconds(1_735_689_600);
    let mut client = keygate_store::testing::public_client("c-hole", now);
    a.stores().clients.create_client(&client, &[]).await.unwrap();
    assert!(b.clients.get_client(&client.id).await.unwrap().is_some());

    proxy.black_hole();
    let cut_at = Instant::now();
    client.name = "Changed behind the hole".into();
    a.stores().clients.update_client(&client, &[]).await.unwrap();
    // The documented window: B may answer from memory until its newest beat is a second old.
    while near.trusted() {
        assert!(
            cut_at.elapsed() < Duration::from_millis(1500),
            "still trusted 1.5 s after the cut"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lapsed = cut_at.elapsed();
    // From now on B goes to its (black-holed) database: an error, never the old record.
    let answer = tokio::time::timeout(Duration::from_secs(3), b.clients.get_client(&client.id))
        .await
        .expect("bounded by the query timeout");
    assert!(answer.is_err(), "no stale answer from memory: {answer:?}");
    assert!(near.stats().bypassed > 0);

    proxy.restore();
    let back = Instant::now();
    loop {
        if let Ok(Some(seen)) = b.clients.get_client(&client.id).await
            && near.trusted()
        {
            assert_eq!(seen.name, "Changed behind the hole");
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(10), "the cache did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hits = near.stats().hits;
    assert_eq!(
        b.clients.get_client(&client.id).await.unwrap().unwrap().name,
        "Changed behind the hole"
    );
    assert_eq!(near.stats().hits, hits + 1, "answered from memory again");
    eprintln!(
        "trust lapsed {lapsed:?} after the cut; back {:?} after restore",
        back.elapsed()
    );
}

/// The listening connections of `schema`'s instances (each is named `<schema> changes`), seen
/// through `url`.
async fn listeners(url: &str, schema: &str) -> i64 {
    let backend = Backend::connect(url, &test_sql_options()).await.unwrap();
    let Backend::Sql(sql) = &backend else { unreachable!() };
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
        .bind(format!("{schema} changes"))
        .fetch_one(sql.pool())
        .await
        .unwrap();
    backend.close().await;
    n
}

#[tokio::test]
async fn the_memory_cache_listens_only_when_it_is_on() {
    let Some(base) = postgres_url() else { return };
    for on in [true, false] {
        let (url, schema) = fresh_postgres_url(&base).await;
        let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
        backend.migrate_up().await.unwrap();
        let mut config = Config::default();
        config.database.memory_cache = on;
        let server = TestServer::start_with(backend, config, |router| router).await;
        let start = Instant::now();
        let mut seen = listeners(&url, schema.schema()).await;
        while on && seen == 0 && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = listeners(&url, schema.schema()).await;
        }
        if !on {
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen = listeners(&url, schema.schema()).await;
        }
        assert_eq!(seen, i64::from(on), "memory_cache = {on}");
        server.stop().await;
    }
}
