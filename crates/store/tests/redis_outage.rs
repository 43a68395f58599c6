//! Redis down (a closed port, no server needed): the cache answers from the durable store and
//! counts the errors; the ephemeral store is the durable one, so it keeps working.

#[allow(dead_code)]
#[path = "contract/fixtures.rs"]
mod fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fixtures::*;
use keygate_core::error::StoreError;
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock, Timestamp};
use keygate_store::{MemoryStore, RedisHandle, RedisOptions, connect_redis, layer_redis};
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

const CLOSED: &str = "redis://127.0.0.1:1";
const QUICK: Duration = Duration::from_secs(2);

/// Counts `keygate_cache_errors_total` increments, whatever their labels.
struct ErrorCounter(Arc<AtomicU64>);

struct Add(Arc<AtomicU64>);

impl CounterFn for Add {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, _value: u64) {}
}

impl Recorder for ErrorCounter {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == "keygate_cache_errors_total" {
            Counter::from_arc(Arc::new(Add(self.0.clone())))
        } else {
            Counter::noop()
        }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn closed_port() -> RedisHandle {
    RedisHandle::open(CLOSED, RedisOptions::default()).expect("a valid URL")
}

#[tokio::test]
async fn cache_outage_falls_back_to_the_durable_store_and_is_counted() {
    let errors = Arc::new(AtomicU64::new(0));
    metrics::set_global_recorder(ErrorCounter(errors.clone())).expect("the only recorder in this binary");
    let redis = closed_port();
    let s = layer_redis(Stores::from_backend(Arc::new(MemoryStore::new())), &redis);
    let clock = ManualClock::new(Timestamp::from_unix_seconds(1_735_689_600));

    // Writes succeed (their invalidations fail, and are counted) …
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let sess = session(u.id, clock.now());
    s.sessions.create_session(&sess, &[]).await.unwrap();
    let mut renamed = c.clone();
    renamed.name = "Renamed".into();
    s.clients.update_client(&renamed, &[]).await.unwrap();

    // … and so do lookups, from the durable store, each quickly.
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(renamed.clone()));
        assert_eq!(s.users.get_user(u.id).await.unwrap(), Some(u.clone()));
        assert_eq!(s.users.find_user_by_email(&u.email).await.unwrap(), Some(u.clone()));
        assert_eq!(s.sessions.get_session(&sess.digest).await.unwrap(), Some(sess.clone()));
        assert!(started.elapsed() < 4 * QUICK, "took {:?}", started.elapsed());
    }
    let stats = redis.cache_stats();
    assert!(stats.errors >= 1, "{stats:?}");
    assert_eq!(stats.hits, 0);
    assert!(
        errors.load(Ordering::SeqCst) >= 1,
        "keygate_cache_errors_total was incremented"
    );
}

#[tokio::test]
async fn ephemeral_state_stays_in_the_durable_store_while_redis_is_down() {
    // Codes' tombstones, revoked jtis, lockout counters and interaction state never live in Redis:
    // with Redis unreachable they work, at the durable store's speed.
    let s = layer_redis(Stores::from_backend(Arc::new(MemoryStore::new())), &closed_port());
    let now = Timestamp::from_unix_seconds(1_735_689_600);
    let e = &s.ephemeral;

    let started = Instant::now();
    e.put("k", b"v", now, HOUR).await.unwrap();
    assert_eq!(e.get("k", now).await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(e.take("k", now).await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(e.take("k", now).await.unwrap(), None);
    assert_eq!(e.incr("n", now, HOUR).await.unwrap(), 1);
    assert_eq!(e.incr("n", now, HOUR).await.unwrap(), 2);
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn connecting_and_pinging_a_closed_port_is_unavailable_quickly() {
    let started = Instant::now();
    let connected = connect_redis(CLOSED, RedisOptions::default()).await;
    assert!(matches!(connected, Err(StoreError::Unavailable(_))), "{connected:?}");
    let ping = closed_port().ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    assert!(started.elapsed() < 2 * QUICK, "took {:?}", started.elapsed());
    // An invalid URL is a configuration error, not an outage.
    assert!(matches!(
        RedisHandle::open("http://x", RedisOptions::default()),
        Err(StoreError::Internal(_))
    ));
}
