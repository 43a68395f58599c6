//! The Redis read-through cache against a real Redis (KEYGATE_TEST_REDIS_URL; with CI=true and
//! no URL these fail): it serves from Redis, every write path invalidates what it affects, and a
//! read racing a write cannot put the old record back.

#[allow(dead_code)]
#[path = "contract/fixtures.rs"]
mod fixtures;

use std::sync::Arc;

use async_trait::async_trait;
use fixtures::*;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{AuditEvent, PasswordHash, Session};
use keygate_core::store::{SessionStore, Stores};
use keygate_core::{Clock, ManualClock, Timestamp};
use keygate_store::testing::{self, RedisPrefixGuard};
use keygate_store::{MemoryStore, RedisHandle, layer_redis};
use tokio::sync::Notify;

const START: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);

/// Durable memory stores, the same with Redis layered on, the Redis handle and its key guard.
async fn layered(durable: Stores) -> Option<(Stores, RedisHandle, RedisPrefixGuard)> {
    let url = testing::redis_test_url()?;
    let keys = testing::fresh_redis_prefix(&url);
    let handle = RedisHandle::open(&url, testing::test_redis_options(keys.prefix())).unwrap();
    handle.ping().await.unwrap();
    Some((layer_redis(durable, &handle), handle, keys))
}

#[tokio::test]
async fn lookups_are_served_from_redis_and_writes_invalidate() {
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let Some((s, redis, _keys)) = layered(durable.clone()).await else {
        return;
    };
    let clock = ManualClock::new(START);
    let c = new_client(&s, &clock).await;
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(redis.cache_stats().hits, 1, "the second read came from Redis");

    // Changed behind the cache's back, the cached record is still served: it really is cached…
    let mut renamed = c.clone();
    renamed.name = "Renamed".into();
    durable.clients.update_client(&renamed, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap().unwrap().name, c.name);
    // …and a write through the cache makes the next read see the durable record.
    renamed.name = "Renamed again".into();
    s.clients.update_client(&renamed, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(renamed));
    assert_eq!(redis.cache_stats().errors, 0);
}

#[tokio::test]
async fn user_wide_writes_invalidate_sessions_tokens_and_addresses() {
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let Some((s, redis, _keys)) = layered(durable).await else {
        return;
    };
    let clock = ManualClock::new(START);
    let now = clock.now();
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let (sess_a, sess_b) = (session(u.id, now), session(u.id, now));
    s.sessions.create_session(&sess_a, &[]).await.unwrap();
    s.sessions.create_session(&sess_b, &[]).await.unwrap();
    let (_fam, _rt, at) = new_family(&s, &c.id, Some(u.id), now).await;
    // Three reads each: the first learns the dependencies, the second caches, the third hits.
    for _ in 0..3 {
        assert!(s.sessions.get_session(&sess_a.digest).await.unwrap().is_some());
        assert!(s.sessions.get_session(&sess_b.digest).await.unwrap().is_some());
        assert!(s.tokens.get_access_token(&at.digest).await.unwrap().is_some());
        assert!(s.users.find_user_by_email(&u.email).await.unwrap().is_some());
    }
    let warmed = redis.cache_stats();
    assert!(warmed.hits >= 4, "the third round hit the cache: {warmed:?}");

    let hash = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3".into());
    s.users
        .set_password(u.id, &hash, Some(&sess_b.digest), now, &[])
        .await
        .unwrap();
    assert_eq!(s.sessions.get_session(&sess_a.digest).await.unwrap(), None);
    assert!(
        s.sessions.get_session(&sess_b.digest).await.unwrap().is_some(),
        "the kept session"
    );
    let revoked = s.tokens.get_access_token(&at.digest).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some(), "set_password revoked the access token");
    assert_eq!(s.users.get_user(u.id).await.unwrap().unwrap().password_hash, Some(hash));

    let mut moved = s.users.find_user_by_email(&u.email).await.unwrap().unwrap();
    moved.email = email(&format!("moved-{}", u.email.as_str()));
    s.users.update_user(&moved, &[]).await.unwrap();
    assert_eq!(s.users.find_user_by_email(&u.email).await.unwrap(), None, "old address");
    assert_eq!(s.users.find_user_by_email(&moved.email).await.unwrap(), Some(moved));
    assert_eq!(redis.cache_stats().errors, 0);
}

/// Sessions from memory whose `get_session`, once armed, reads and then waits before answering:
/// a reader that loaded a record just before a write.
struct SlowReads {
    inner: Arc<MemoryStore>,
    armed: std::sync::atomic::AtomicBool,
    loaded: Notify,
    release: Notify,
}

#[async_trait]
impl SessionStore for SlowReads {
    async fn create_session(&self, session: &Session, audit: &[AuditEvent]) -> StoreResult<()> {
        self.inner.create_session(session, audit).await
    }
    async fn get_session(&self, digest: &TokenDigest) -> StoreResult<Option<Session>> {
        let found = self.inner.get_session(digest).await;
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.loaded.notify_one();
            self.release.notified().await;
        }
        found
    }
    async fn touch_session(&self, digest: &TokenDigest, last: Timestamp, idle: Timestamp) -> StoreResult<()> {
        self.inner.touch_session(digest, last, idle).await
    }
    async fn rekey_session(&self, old: &TokenDigest, new: &TokenDigest, amr: &[String]) -> StoreResult<bool> {
        self.inner.rekey_session(old, new, amr).await
    }
    async fn delete_session(&self, digest: &TokenDigest, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.inner.delete_session(digest, audit).await
    }
    async fn delete_user_session(&self, user: UserId, id: SessionId, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.inner.delete_user_session(user, id, audit).await
    }
    async fn delete_sessions_of_user(
        &self,
        user: UserId,
        except: Option<&TokenDigest>,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        self.inner.delete_sessions_of_user(user, except, audit).await
    }
    async fn list_sessions_of_user(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<Session>> {
        self.inner.list_sessions_of_user(user, now).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_a_logout_cannot_bring_the_session_back() {
    let memory = Arc::new(MemoryStore::new());
    let slow = Arc::new(SlowReads {
        inner: memory.clone(),
        armed: false.into(),
        loaded: Notify::new(),
        release: Notify::new(),
    });
    let mut durable = Stores::from_backend(memory);
    durable.sessions = slow.clone();
    let Some((s, redis, _keys)) = layered(durable).await else {
        return;
    };
    let clock = ManualClock::new(START);
    let u = new_user(&s, &clock).await;
    let sess = session(u.id, clock.now());
    s.sessions.create_session(&sess, &[]).await.unwrap();
    // Cached, then made stale by a touch: the next read goes to the durable store.
    for _ in 0..3 {
        assert!(s.sessions.get_session(&sess.digest).await.unwrap().is_some());
    }
    assert!(redis.cache_stats().hits >= 1);
    let seen = clock.now().plus(MINUTE);
    s.sessions
        .touch_session(&sess.digest, seen, seen.plus(30 * MINUTE))
        .await
        .unwrap();

    slow.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let reader = tokio::spawn({
        let s = s.clone();
        let digest = sess.digest;
        async move { s.sessions.get_session(&digest).await.unwrap() }
    });
    tokio::time::timeout(std::time::Duration::from_secs(10), slow.loaded.notified())
        .await
        .expect("the reader went to the durable store");
    // The reader holds the live session; now every session of the user ends.
    s.sessions.delete_sessions_of_user(u.id, None, &[]).await.unwrap();
    slow.release.notify_one();
    assert!(
        reader.await.unwrap().is_some(),
        "the racing reader saw the session as it was"
    );

    // It then cached that old record, tagged with the versions from before the logout: dead.
    assert_eq!(s.sessions.get_session(&sess.digest).await.unwrap(), None);
    assert_eq!(redis.cache_stats().errors, 0);
}

/// Two instances on one durable store and one Redis keyspace; the second cannot reach Redis (its
/// handle points at a closed port with the same prefix), like an instance cut off by a partition.
#[tokio::test]
async fn a_write_on_an_instance_cut_off_from_redis_is_seen_by_the_others_within_a_second() {
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let Some((on_a, redis, keys)) = layered(durable.clone()).await else {
        return;
    };
    let cut = RedisHandle::open("redis://127.0.0.1:1", testing::test_redis_options(keys.prefix())).unwrap();
    let on_b = layer_redis(durable.clone(), &cut);
    let clock = ManualClock::new(START);
    let now = clock.now();
    let u = new_user(&on_a, &clock).await;
    let c = new_client(&on_a, &clock).await;
    let sess = session(u.id, now);
    on_a.sessions.create_session(&sess, &[]).await.unwrap();
    for _ in 0..3 {
        assert!(on_a.users.get_user(u.id).await.unwrap().unwrap().is_active());
        assert!(on_a.clients.get_client(&c.id).await.unwrap().is_some());
        assert!(on_a.sessions.get_session(&sess.digest).await.unwrap().is_some());
    }
    let warmed = redis.cache_stats();
    assert!(warmed.hits >= 3, "A serves from Redis: {warmed:?}");

    // B deactivates the user and deletes the client; its invalidations cannot reach Redis.
    on_b.users.set_user_active(u.id, false, now, &[]).await.unwrap();
    assert!(on_b.clients.delete_client(&c.id, &[]).await.unwrap());
    assert!(cut.cache_stats().errors >= 1);

    let acknowledged = std::time::Instant::now();
    loop {
        let active = on_a.users.get_user(u.id).await.unwrap().unwrap().is_active();
        let client = on_a.clients.get_client(&c.id).await.unwrap();
        if !active && client.is_none() {
            break;
        }
        assert!(
            acknowledged.elapsed() < std::time::Duration::from_secs(1),
            "A still trusts its cache a second after B's write (active {active}, client {client:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The new generation is cached again once read: A uses Redis, not the database only.
    let before = redis.cache_stats().hits;
    for _ in 0..3 {
        assert!(!on_a.users.get_user(u.id).await.unwrap().unwrap().is_active());
    }
    assert!(
        redis.cache_stats().hits > before,
        "the cache serves again after the bump"
    );
    assert_eq!(redis.cache_stats().errors, 0);
}

/// A Redis that restarts from an old snapshot brings back entries and version tokens from before
/// later invalidations. Simulated here by putting back, after an invalidation, every key of this
/// deployment as it was before, under a Redis that reports a different server identity: the
/// recorded `run_id` no longer matches, so the old entries are not trusted.
#[tokio::test]
async fn entries_from_before_a_redis_restart_are_not_trusted() {
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let Some((s, redis, _keys)) = layered(durable.clone()).await else {
        return;
    };
    let clock = ManualClock::new(START);
    let u = new_user(&s, &clock).await;
    for _ in 0..3 {
        assert!(s.users.get_user(u.id).await.unwrap().unwrap().is_active());
    }
    assert!(redis.cache_stats().hits >= 1);
    // The durable store changes behind the cache, as a write whose invalidation Redis then lost.
    durable
        .users
        .set_user_active(u.id, false, clock.now(), &[])
        .await
        .unwrap();
    assert!(
        s.users.get_user(u.id).await.unwrap().unwrap().is_active(),
        "still served from the cache: the lost invalidation"
    );
    // What a restarted Redis looks like to the cache: a server identity it has not recorded.
    durable
        .ephemeral
        .put(
            "cache:generation",
            b"older-generation another-redis-run-id",
            keygate_core::SystemClock.now(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !s.users.get_user(u.id).await.unwrap().unwrap().is_active(),
        "after a Redis restart the old entries are not trusted"
    );
}
