//! The in-memory cache of clients and access tokens on PostgreSQL (`near/`): it answers repeated
//! lookups without the database, this instance's own writes clear it at once, other instances'
//! writes (and plain SQL) reach it through the database's notifications within moments, and a
//! lost listening connection never leaves a changed record in use.

use std::time::{Duration, Instant};

use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::ids::{ClientId, FamilyId, TokenId, UserId};
use keygate_core::model::{AccessToken, Client, PasswordHash, TokenFamily, User};
use keygate_core::store::Stores;
use keygate_core::{Email, Scopes};
use keygate_store::testing::{fresh_postgres_url, postgres_test_url, test_sql_options, wait_until_trusted};
use keygate_store::{Backend, NearCache, layer_near};

const NOW: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);

fn client(id: &str) -> Client {
    keygate_store::testing::public_client(id, NOW)
}

fn token(client: &ClientId, family: Option<&TokenFamily>) -> AccessToken {
    AccessToken {
        digest: TokenDigest::of(&uuid::Uuid::new_v4().to_string()),
        jti: TokenId::new(),
        family_id: family.map(|f| f.id),
        client_id: client.clone(),
        user_id: family.and_then(|f| f.user_id),
        scope: Scopes::parse("api").unwrap(),
        issued_at: NOW,
        expires_at: NOW.plus(Duration::from_secs(3600)),
        revoked_at: None,
    }
}

fn family(client: &ClientId, user: UserId) -> TokenFamily {
    TokenFamily {
        id: FamilyId::new(),
        client_id: client.clone(),
        user_id: Some(user),
        scope: Scopes::parse("openid").unwrap(),
        auth_time: Some(NOW),
        created_at: NOW,
        revoked_at: None,
    }
}

/// One instance: a pool on the schema of `url` with its cache in front, once trusted.
async fn instance(url: &str) -> (Backend, Stores, std::sync::Arc<NearCache>) {
    let backend = Backend::connect(url, &test_sql_options())
        .await
        .expect("open PostgreSQL");
    backend.migrate_up().await.expect("migrate");
    let near = backend.near_cache().expect("PostgreSQL has an in-memory cache");
    wait_until_trusted(&near).await;
    let stores = layer_near(backend.stores(), &near);
    (backend, stores, near)
}

/// Polls `check` until it holds, for at most `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not seen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_lookups_are_answered_from_memory() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    let (_backend, s, near) = instance(&url).await;
    let c = client("c-repeat");
    s.clients.create_client(&c, &[]).await.unwrap();
    let t = token(&c.id, None);
    s.tokens.create_access_token(&t).await.unwrap();
    let before = near.stats();
    for _ in 0..10 {
        assert_eq!(s.clients.get_client(&c.id).await.unwrap().unwrap().name, c.name);
        assert_eq!(s.tokens.get_access_token(&t.digest).await.unwrap().unwrap().jti, t.jti);
    }
    let after = near.stats();
    assert_eq!(after.misses - before.misses, 2, "one miss per record");
    assert_eq!(after.hits - before.hits, 18);
    // Absent records are never kept: a token created after a miss is found at once.
    let later = token(&c.id, None);
    assert!(s.tokens.get_access_token(&later.digest).await.unwrap().is_none());
    s.tokens.create_access_token(&later).await.unwrap();
    assert!(s.tokens.get_access_token(&later.digest).await.unwrap().is_some());
}

/// With the database's notifications ignored, only the store's own clears keep this instance
/// current: every write that changes a client or an access token must make the next read fresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_instances_writes_are_seen_by_its_next_read() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    let (_backend, s, near) = instance(&url).await;
    near.ignore_table_notifications(true);

    let mut c = client("c-own");
    s.clients.create_client(&c, &[]).await.unwrap();
    s.clients.get_client(&c.id).await.unwrap();
    c.name = "Renamed".into();
    s.clients.update_client(&c, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap().unwrap().name, "Renamed");
    let secret = TokenDigest::of("new secret");
    s.clients.set_client_secret(&c.id, &secret, NOW, &[]).await.unwrap();
    assert_eq!(
        s.clients.get_client(&c.id).await.unwrap().unwrap().secret_digest,
        Some(secret)
    );

    let revoked_directly = token(&c.id, None);
    s.tokens.create_access_token(&revoked_directly).await.unwrap();
    s.tokens.get_access_token(&revoked_directly.digest).await.unwrap();
    assert!(
        s.tokens
            .revoke_access_token(&revoked_directly.digest, NOW, &[])
            .await
            .unwrap()
    );
    let seen = s
        .tokens
        .get_access_token(&revoked_directly.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.revoked_at, Some(NOW));

    let user = User::new(
        Email::parse("own@example.com").unwrap(),
        Some(PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into())),
        NOW,
    );
    s.users.create_user(&user, &[]).await.unwrap();
    let fam = family(&c.id, user.id);
    let in_family = token(&c.id, Some(&fam));
    s.tokens.create_family(&fam, None, Some(&in_family), &[]).await.unwrap();
    s.tokens.get_access_token(&in_family.digest).await.unwrap();
    s.users.set_user_active(user.id, false, NOW, &[]).await.unwrap();
    let seen = s.tokens.get_access_token(&in_family.digest).await.unwrap().unwrap();
    assert!(seen.revoked_at.is_some(), "deactivation revokes the user's tokens");

    let of_client = token(&c.id, None);
    s.tokens.create_access_token(&of_client).await.unwrap();
    s.tokens.get_access_token(&of_client.digest).await.unwrap();
    assert!(s.clients.delete_client(&c.id, &[]).await.unwrap());
    assert!(s.clients.get_client(&c.id).await.unwrap().is_none());
    assert!(s.tokens.get_access_token(&of_client.digest).await.unwrap().is_none());
}

/// Two instances on one database: what one changes (or an operator changes with plain SQL), the
/// other stops serving from memory within moments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_instances_and_plain_sql_changes_reach_the_cache() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    let (_a_backend, a, _) = instance(&url).await;
    let (b_backend, b, b_near) = instance(&url).await;

    let mut c = client("c-fleet");
    a.clients.create_client(&c, &[]).await.unwrap();
    let t = token(&c.id, None);
    a.tokens.create_access_token(&t).await.unwrap();
    b.clients.get_client(&c.id).await.unwrap();
    b.tokens.get_access_token(&t.digest).await.unwrap();
    let hits = b_near.stats().hits;
    b.clients.get_client(&c.id).await.unwrap();
    assert_eq!(b_near.stats().hits, hits + 1, "B answers from memory");

    c.name = "Changed on A".into();
    a.clients.update_client(&c, &[]).await.unwrap();
    a.tokens.revoke_access_token(&t.digest, NOW, &[]).await.unwrap();
    let took = within(Duration::from_secs(1), "A's changes on B", || async {
        b.clients.get_client(&c.id).await.unwrap().unwrap().name == "Changed on A"
            && b.tokens
                .get_access_token(&t.digest)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
    })
    .await;
    eprintln!("A's changes reached B after {took:?}");

    let sql = sqlx::query("UPDATE clients SET name = 'Changed by hand' WHERE id = $1").bind(c.id.as_str());
    let Backend::Sql(store) = &b_backend else {
        unreachable!()
    };
    sql.execute(store.pool()).await.unwrap();
    within(Duration::from_secs(1), "a change made with plain SQL", || async {
        b.clients.get_client(&c.id).await.unwrap().unwrap().name == "Changed by hand"
    })
    .await;
}

/// When B's listening connection is killed, changes made while it was gone are never served
/// from B's memory: B stops trusting, reconnects, and starts empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_leaves_no_changed_record_in_use() {
    let Some(base) = postgres_test_url() else { return };
    let (url, guard) = fresh_postgres_url(&base).await;
    let (a_backend, a, _) = instance(&url).await;
    let (_b_backend, b, b_near) = instance(&url).await;
    let mut c = client("c-lost");
    a.clients.create_client(&c, &[]).await.unwrap();
    b.clients.get_client(&c.id).await.unwrap();

    // The schema's name is each connection's application_name; the listeners add " changes".
    let Backend::Sql(store) = &a_backend else {
        unreachable!()
    };
    let killed: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
            .bind(format!("{} changes", guard.schema()))
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(killed.len(), 2, "both instances listen on a connection of their own");
    c.name = "Changed while B was deaf".into();
    a.clients.update_client(&c, &[]).await.unwrap();

    within(
        Duration::from_millis(1500),
        "the change made while B's listener was gone",
        || async { b.clients.get_client(&c.id).await.unwrap().unwrap().name == "Changed while B was deaf" },
    )
    .await;
    within(Duration::from_secs(5), "B trusting its cache again", || async {
        b_near.trusted()
    })
    .await;
    assert_eq!(
        b.clients.get_client(&c.id).await.unwrap().unwrap().name,
        "Changed while B was deaf"
    );
}
