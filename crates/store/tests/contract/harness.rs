//! Runs one contract case on a fresh store of the chosen backend, and cleans up afterwards.
//! The `redis` backend is memory for durable data with Redis layered on top (ephemeral store
//! and read-through cache), so every case also checks the cache's invalidation.

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use keygate_core::store::Stores;
use keygate_core::{ManualClock, Timestamp};
use keygate_store::{RedisHandle, layer_near, layer_redis, testing};

/// 2025-01-01T00:00:00Z: every case starts here and moves time only through the clock.
pub const START: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
    Redis,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }

    /// The durable backend under this kind.
    fn durable(self) -> &'static str {
        match self {
            Kind::Redis => "memory",
            other => other.name(),
        }
    }
}

/// Prints, past the test harness's output capture, how many cases this backend runs (the length
/// of the one case list every backend's tests are generated from).
pub fn report_size(kind: Kind, cases: usize) {
    assert!(cases > 0, "the contract suite has no cases");
    let line = match kind {
        // In CI without a URL this panics: the PostgreSQL suite must not be skipped there.
        Kind::Postgres if testing::postgres_test_url().is_none() => format!(
            "contract suite: {cases} cases on postgres SKIPPED ({} unset)\n",
            testing::POSTGRES_URL_VAR
        ),
        Kind::Redis if testing::redis_test_url().is_none() => format!(
            "contract suite: {cases} cases on redis SKIPPED ({} unset)\n",
            testing::REDIS_URL_VAR
        ),
        _ => format!("contract suite: {cases} cases on {}\n", kind.name()),
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Runs `case` on a fresh, migrated store of `kind` with a manual clock at `START`. The database
/// is closed and removed afterwards (and the Redis keys deleted), also when the case panics (the
/// panic is then re-raised). PostgreSQL and Redis cases return at once when their
/// KEYGATE_TEST_*_URL is unset, and fail if CI=true.
pub async fn run<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(Stores, ManualClock) -> Fut,
    Fut: Future<Output = ()>,
{
    let (backend, guard) = match kind {
        Kind::Memory | Kind::Redis => testing::memory_backend(),
        Kind::Sqlite => testing::sqlite_backend().await,
        Kind::Postgres => {
            let Some(base) = testing::postgres_test_url() else {
                return;
            };
            testing::postgres_backend(&base).await
        }
    };
    assert_eq!(backend.kind(), kind.durable(), "the harness opened the wrong backend");
    let mut stores = backend.stores();
    // PostgreSQL runs with its in-memory cache in front, as the server does, once it is trusted
    // (so every case also checks that the store's own writes clear it).
    if let Some(near) = backend.near_cache() {
        testing::wait_until_trusted(&near).await;
        stores = layer_near(stores, &near);
    }
    let mut redis = None;
    if kind == Kind::Redis {
        let Some(url) = testing::redis_test_url() else {
            return;
        };
        let keys = testing::fresh_redis_prefix(&url);
        let handle = RedisHandle::open(&url, testing::test_redis_options(keys.prefix())).expect("Redis URL");
        handle.ping().await.expect("Redis answers PING");
        stores = layer_redis(stores, &handle);
        redis = Some((handle, keys));
    }
    let outcome = AssertUnwindSafe(case(stores, ManualClock::new(START)))
        .catch_unwind()
        .await;
    backend.close().await;
    drop(guard);
    if let Some((handle, keys)) = redis {
        drop(keys);
        // A Redis error would have been hidden by the fallback to the durable store.
        if outcome.is_ok() {
            assert_eq!(handle.cache_stats().errors, 0, "the cache met Redis errors");
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
