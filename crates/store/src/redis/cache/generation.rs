//! The cache generation: a token kept in the *durable* store that names the Redis keyspace every
//! instance caches under, together with the identity (`run_id`) of the Redis server it was started
//! for. A new generation starts when
//!
//! - an instance cannot deliver an invalidation to Redis (it is cut off, or Redis is down), and
//! - an instance finds a Redis server other than the recorded one: a restart (perhaps from an old
//!   snapshot that predates some invalidations), a failover to a replica that lagged, or the first
//!   use of this Redis.
//!
//! Every instance re-reads the generation at least every [`REFRESH_MS`] while it serves lookups
//! and trusts the cache only while its copy was confirmed within [`TRUST_MS`]. So a write
//! acknowledged by an instance cut off from Redis retires every cached entry fleet-wide within a
//! second (entries of an old generation are never read again), and nothing Redis held before an
//! outage or a restart is trusted after it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use keygate_core::error::StoreResult;
use keygate_core::store::EphemeralStore;
use keygate_core::{Clock, SystemClock};

use crate::redis::RedisHandle;

/// The durable ephemeral key holding `<token> <redis run_id>`.
pub(crate) const GENERATION_KEY: &str = "cache:generation";
/// Lifetime of the generation row. When it lapses every instance reads "no generation", and the
/// next refresh starts a new one: nothing stale is served, the cache just starts empty.
const GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How old a confirmation may get before the next lookup re-reads the durable token.
pub(crate) const REFRESH_MS: u64 = 250;
/// How old a confirmation may get before lookups stop trusting the cache (while another request
/// is re-reading it, or while the durable store does not answer).
pub(crate) const TRUST_MS: u64 = 750;
/// The generation when the durable store holds none.
const INITIAL: &str = "0";

/// What this instance believes: the token, the Redis it belongs to, and when it was confirmed
/// (milliseconds since `born`, +1 so that 0 means never, at the start of the read or write that
/// saw it).
#[derive(Clone)]
struct Seen {
    token: Arc<str>,
    redis_run: Arc<str>,
    at: u64,
}

pub(crate) struct Generation {
    durable: Arc<dyn EphemeralStore>,
    redis: RedisHandle,
    current: RwLock<Seen>,
    born: Instant,
    refreshing: AtomicBool,
}

/// What a lookup may do with the cache right now.
pub(crate) enum Trust {
    /// Use the keyspace of this generation.
    Use(Arc<str>),
    /// The generation is not confirmed recently enough: read the durable store only.
    Bypass,
}

impl Generation {
    pub(crate) fn new(durable: Arc<dyn EphemeralStore>, redis: RedisHandle) -> Self {
        Generation {
            durable,
            redis,
            current: RwLock::new(Seen {
                token: Arc::from(INITIAL),
                redis_run: Arc::from(""),
                at: 0,
            }),
            born: Instant::now(),
            refreshing: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }

    fn get(&self) -> Seen {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Records an observation unless a newer one is already recorded (a slow re-read must not
    /// bring back the generation a bump just replaced).
    fn set(&self, seen: Seen) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.at >= guard.at {
            *guard = seen;
        }
    }

    /// The generation to use, re-reading it from the durable store when it is due. One request
    /// re-reads at a time; the others keep using the current one while it is trusted.
    pub(crate) async fn trust(&self) -> Trust {
        let seen = self.get();
        let age = self.now_ms().saturating_sub(seen.at);
        if age < REFRESH_MS {
            return Trust::Use(seen.token);
        }
        if self
            .refreshing
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let _release = Release(&self.refreshing);
            return match self.refresh().await {
                Ok(token) => Trust::Use(token),
                Err(_) => Trust::Bypass,
            };
        }
        if age < TRUST_MS {
            Trust::Use(seen.token)
        } else {
            Trust::Bypass
        }
    }

    /// Reads the generation from the durable store now (also before an invalidation: a write must
    /// reach the keyspace other instances currently fill, not the one this instance last saw),
    /// and starts a new one if Redis is not the server it was started for.
    pub(crate) async fn refresh(&self) -> StoreResult<Arc<str>> {
        let started = self.now_ms();
        let stored = self.durable.get(GENERATION_KEY, SystemClock.now()).await?;
        let (token, recorded_run) = parse(stored.as_deref());
        // Unreachable Redis: keep the generation; the lookups fall back to the durable store, and
        // the first refresh once it answers again compares its identity.
        if !self.redis.counters.redis_resting()
            && let Ok(run) = self.redis_run_id().await
            && run != recorded_run
        {
            return self.start(&run, started, "redis_changed").await;
        }
        self.set(Seen {
            token,
            redis_run: Arc::from(recorded_run),
            at: started,
        });
        Ok(self.get().token)
    }

    /// Starts a new generation (after an invalidation Redis did not take) and uses it at once.
    /// An error means other instances may still trust stale entries.
    pub(crate) async fn bump(&self) -> StoreResult<()> {
        let run = self.get().redis_run;
        self.start(&run, self.now_ms(), "invalidation_failed").await.map(|_| ())
    }

    async fn start(&self, redis_run: &str, started: u64, reason: &'static str) -> StoreResult<Arc<str>> {
        let token: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let value = format!("{token} {redis_run}");
        self.durable
            .put(GENERATION_KEY, value.as_bytes(), SystemClock.now(), GENERATION_TTL)
            .await?;
        self.set(Seen {
            token,
            redis_run: Arc::from(redis_run),
            at: started,
        });
        metrics::counter!(crate::telemetry::CACHE_GENERATIONS, "reason" => reason).increment(1);
        tracing::info!(
            reason,
            "started a new cache generation: entries cached before are not used"
        );
        Ok(self.get().token)
    }

    /// The `run_id` of the Redis server answering, which changes with every restart or failover
    /// (in a Cluster, every master answers: their sorted ids, so any master's restart counts).
    async fn redis_run_id(&self) -> StoreResult<String> {
        let info: redis::Value = self.redis.query(redis::cmd("INFO").arg("server")).await?;
        let mut ids = Vec::new();
        collect_run_ids(&info, &mut ids);
        ids.sort();
        Ok(ids.join(","))
    }
}

/// Every `run_id:` line in an INFO answer: one server's text, or a map of them by node.
fn collect_run_ids(value: &redis::Value, ids: &mut Vec<String>) {
    use redis::Value;
    let text = |bytes: &[u8], ids: &mut Vec<String>| {
        let text = String::from_utf8_lossy(bytes);
        ids.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("run_id:"))
                .map(|r| r.trim().to_owned()),
        );
    };
    match value {
        Value::BulkString(bytes) => text(bytes, ids),
        Value::SimpleString(s) => text(s.as_bytes(), ids),
        Value::VerbatimString { text: s, .. } => text(s.as_bytes(), ids),
        Value::Array(items) | Value::Set(items) => items.iter().for_each(|v| collect_run_ids(v, ids)),
        Value::Map(pairs) => pairs.iter().for_each(|(_, v)| collect_run_ids(v, ids)),
        _ => {}
    }
}

/// `<token> <run_id>` from the durable row; no row is the initial generation of no known Redis.
fn parse(stored: Option<&[u8]>) -> (Arc<str>, &str) {
    let text = stored.and_then(|v| std::str::from_utf8(v).ok()).unwrap_or(INITIAL);
    let (token, run) = text.split_once(' ').unwrap_or((text, ""));
    (Arc::from(token), run)
}

/// Clears the "a re-read is running" flag however the re-read ends (even when its request is
/// dropped mid-way), so that a later lookup re-reads.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_durable_row_names_the_token_and_the_redis_server() {
        let (token, run) = parse(Some(b"abc 0123ff"));
        assert_eq!((&*token, run), ("abc", "0123ff"));
        let (token, run) = parse(None);
        assert_eq!((&*token, run), (INITIAL, ""));
        let (token, run) = parse(Some(b"legacy"));
        assert_eq!((&*token, run), ("legacy", ""));
    }
}
