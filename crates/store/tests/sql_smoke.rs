//! SQL-only behaviour the contract suite cannot see from the traits alone: outages surface as
//! `Unavailable`, listings sort byte-wise on both databases, separate pools (instances) on one
//! SQLite file write concurrently without "database is locked", and concurrent lookups and inserts
//! share statements.

use std::time::Duration;

use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreError;
use keygate_core::ids::{ClientId, TokenId, UserId};
use keygate_core::model::{AccessToken, AuditAction, AuditEvent, Client, Outcome};
use keygate_core::paging::PageRequest;
use keygate_store::Backend;
use keygate_store::testing::{
    TestDbGuard, fresh_sqlite_url, postgres_backend, postgres_test_url, sqlite_backend, test_sql_options,
};

const NOW: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);

fn client(id: &str) -> Client {
    keygate_store::testing::public_client(id, NOW)
}

async fn backends() -> Vec<(Backend, TestDbGuard)> {
    let mut all = vec![sqlite_backend().await];
    if let Some(base) = postgres_test_url() {
        all.push(postgres_backend(&base).await);
    }
    all
}

#[tokio::test]
async fn a_closed_store_is_unavailable_not_empty() {
    for (backend, _guard) in backends().await {
        backend.close().await;
        let stores = backend.stores();
        let err = stores.users.get_user(UserId::new()).await.expect_err("closed pool");
        assert!(err.is_unavailable(), "{}: {err:?}", backend.kind());
        assert!(stores.maintenance.ping().await.unwrap_err().is_unavailable());
    }
}

#[tokio::test]
async fn client_ids_list_in_byte_order() {
    for (backend, _guard) in backends().await {
        let stores = backend.stores();
        let ids = ["b", "B_2", "a-1", "a_1", "Z", "a1"];
        for id in ids {
            stores.clients.create_client(&client(id), &[]).await.unwrap();
        }
        let mut expected: Vec<&str> = ids.to_vec();
        expected.sort_unstable();
        let mut listed = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let got = stores.clients.list_clients(&page).await.unwrap();
            listed.extend(got.items.iter().map(|c| c.id.0.clone()));
            match got.next {
                Some(cursor) => page = PageRequest::after(cursor, 2),
                None => break,
            }
        }
        assert_eq!(listed, expected, "{}", backend.kind());
        let dup = stores.clients.create_client(&client("a-1"), &[]).await.unwrap_err();
        assert!(matches!(dup, StoreError::Conflict("client_id")), "{dup:?}");
        backend.close().await;
    }
}

#[tokio::test]
async fn audit_events_round_trip_in_batches() {
    for (backend, _guard) in backends().await {
        let stores = backend.stores();
        // More than one INSERT's worth of rows in one append.
        let events: Vec<AuditEvent> = (0..250)
            .map(|i| {
                AuditEvent::new(
                    AuditAction::LoginFailed,
                    "anonymous",
                    Outcome::Failure,
                    NOW.plus(Duration::from_millis(i)),
                )
                .details(serde_json::json!({ "attempt": i }))
            })
            .collect();
        stores.audit.append_audit(&events).await.unwrap();
        let page = stores
            .audit
            .list_audit(&Default::default(), &PageRequest::first(500))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 250, "{}", backend.kind());
        assert_eq!(page.items[0], events[249], "newest first");
        backend.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_pools_on_one_sqlite_file_write_concurrently() {
    let (url, _dir) = fresh_sqlite_url();
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Backend::connect(&url, &test_sql_options()).await.unwrap());
    }
    instances[0].migrate_up().await.unwrap();
    let calls = instances.iter().flat_map(|b| {
        let stores = b.stores();
        (0..20).map(move |_| {
            let stores = stores.clone();
            async move { stores.ephemeral.incr("rate:ip", NOW, Duration::from_secs(60)).await }
        })
    });
    let results = futures::future::join_all(calls).await;
    let mut counts: Vec<i64> = results.into_iter().map(|r| r.expect("no lock errors")).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=60).collect::<Vec<_>>(), "every increment counted once");
    for b in &instances {
        b.close().await;
    }
}

/// Concurrent lookups and inserts share statements: 300 of each at once take far fewer
/// round trips than 300, and each still gets its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_lookups_and_inserts_share_statements() {
    for (backend, _guard) in backends().await {
        let Backend::Sql(sql) = &backend else {
            panic!("expected a SQL backend");
        };
        let stores = backend.stores();
        let c = client("grouped");
        stores.clients.create_client(&c, &[]).await.unwrap();
        let before = sql.grouped_statements();

        let lookups: Vec<_> = (0..300)
            .map(|i| {
                let stores = stores.clone();
                let id = ClientId(if i % 2 == 0 {
                    "grouped".into()
                } else {
                    format!("absent-{i}")
                });
                tokio::spawn(async move { (i, stores.clients.get_client(&id).await.unwrap()) })
            })
            .collect();
        for done in futures::future::join_all(lookups).await {
            let (i, found) = done.unwrap();
            assert_eq!(
                found.map(|f| f.id),
                (i % 2 == 0).then(|| c.id.clone()),
                "{}",
                backend.kind()
            );
        }
        let inserts: Vec<_> = (0..300)
            .map(|_| {
                let stores = stores.clone();
                let token = access_token(&c.id);
                tokio::spawn(async move {
                    stores.tokens.create_access_token(&token).await.unwrap();
                    token
                })
            })
            .collect();
        for done in futures::future::join_all(inserts).await {
            let token = done.unwrap();
            let stored = stores.tokens.get_access_token(&token.digest).await.unwrap();
            assert_eq!(stored, Some(token), "{}", backend.kind());
        }

        let after = sql.grouped_statements();
        let requests = after.requests - before.requests;
        let groups = after.groups - before.groups;
        // 600 concurrent requests, then 300 sequential lookups (each a group of one).
        assert_eq!(requests, 900, "{}", backend.kind());
        assert!(
            groups - 300 <= 600 / 4,
            "{}: 600 concurrent requests took {} statements",
            backend.kind(),
            groups - 300
        );
    }
}

fn access_token(client: &ClientId) -> AccessToken {
    AccessToken {
        digest: TokenDigest::of(&uuid::Uuid::new_v4().to_string()),
        jti: TokenId::new(),
        family_id: None,
        client_id: client.clone(),
        user_id: None,
        scope: keygate_core::Scopes::parse("api").unwrap(),
        issued_at: NOW,
        expires_at: NOW.plus(Duration::from_secs(3600)),
        revoked_at: None,
    }
}

/// In a pool large enough for the pumps to keep their connections between groups, a burst that
/// has been answered leaves every connection idle in the pool again: nothing waits, so no pump
/// holds one that other statements could need.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pumps_give_their_connections_back_once_nothing_waits() {
    let (sqlite_url, _dir) = fresh_sqlite_url();
    let mut urls = vec![sqlite_url];
    let mut _schemas = Vec::new();
    if let Some(base) = postgres_test_url() {
        let (url, guard) = keygate_store::testing::fresh_postgres_url(&base).await;
        urls.push(url);
        _schemas.push(guard);
    }
    for url in urls {
        let opts = keygate_store::SqlOptions {
            max_connections: 6,
            ..test_sql_options()
        };
        let backend = Backend::connect(&url, &opts).await.unwrap();
        backend.migrate_up().await.unwrap();
        let Backend::Sql(sql) = &backend else {
            panic!("expected a SQL backend");
        };
        let stores = backend.stores();
        let c = client("kept");
        stores.clients.create_client(&c, &[]).await.unwrap();
        let burst: Vec<_> = (0..200)
            .map(|_| {
                let (stores, id) = (stores.clone(), c.id.clone());
                tokio::spawn(async move {
                    stores.clients.get_client(&id).await.unwrap();
                    stores.tokens.create_access_token(&access_token(&id)).await.unwrap();
                })
            })
            .collect();
        for done in futures::future::join_all(burst).await {
            done.unwrap();
        }
        let pool = sql.pool();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while pool.num_idle() < pool.size() as usize && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            pool.num_idle(),
            pool.size() as usize,
            "{}: connections still held",
            backend.kind()
        );
        backend.close().await;
    }
}
