//! The cache generation: a token kept in the *durable* store that names the Redis keyspace every
//! instance caches under. An instance that cannot deliver an invalidation to Redis replaces it;
//! every instance re-reads it at least every [`REFRESH_MS`] and trusts the cache only while its copy
//! was confirmed within [`TRUST_MS`]. So a write acknowledged by an instance cut off from Redis
//! retires every cached entry fleet-wide within a second (entries of the old generation are
//! never read again), and entries that may have missed an invalidation during a Redis outage are
//! not trusted after it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use keygate_core::error::StoreResult;
use keygate_core::store::EphemeralStore;
use keygate_core::{Clock, SystemClock};

/// The durable ephemeral key holding the generation.
pub(crate) const GENERATION_KEY: &str = "cache:generation";
/// Lifetime of the generation row. When it lapses every instance reads "no generation", which is a
/// new generation too: nothing stale is served, the cache just starts empty.
const GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How old a confirmation may get before the next lookup re-reads the durable token.
pub(crate) const REFRESH_MS: u64 = 250;
/// How old a confirmation may get before lookups stop trusting the cache (while another request
/// is re-reading it, or while the durable store does not answer).
pub(crate) const TRUST_MS: u64 = 750;
/// The generation when the durable store holds none.
const INITIAL: &str = "0";

pub(crate) struct Generation {
    durable: Arc<dyn EphemeralStore>,
    /// The token, and when it was confirmed: milliseconds since `born` (+1, so 0 means never) at
    /// the start of the read or write that saw it.
    current: RwLock<(Arc<str>, u64)>,
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
    pub(crate) fn new(durable: Arc<dyn EphemeralStore>) -> Self {
        Generation {
            durable,
            current: RwLock::new((Arc::from(INITIAL), 0)),
            born: Instant::now(),
            refreshing: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }

    fn get(&self) -> (Arc<str>, u64) {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Records `token` as seen at `seen_at`, unless a newer observation is already recorded (a slow
    /// re-read must not bring back the generation a bump just replaced).
    fn set(&self, token: Arc<str>, seen_at: u64) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen_at >= guard.1 {
            *guard = (token, seen_at);
        }
    }

    /// The generation to use, re-reading it from the durable store when it is due. One request
    /// re-reads at a time; the others keep using the current one while it is trusted.
    pub(crate) async fn trust(&self) -> Trust {
        let (token, confirmed) = self.get();
        let age = self.now_ms().saturating_sub(confirmed);
        if age < REFRESH_MS {
            return Trust::Use(token);
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
            Trust::Use(token)
        } else {
            Trust::Bypass
        }
    }

    /// Reads the generation from the durable store now (before an invalidation: a write must
    /// reach the keyspace other instances currently fill, not the one this instance last saw).
    pub(crate) async fn refresh(&self) -> StoreResult<Arc<str>> {
        let started = self.now_ms();
        let value = self.durable.get(GENERATION_KEY, SystemClock.now()).await?;
        let read: Arc<str> = value
            .and_then(|v| String::from_utf8(v).ok())
            .map_or_else(|| Arc::from(INITIAL), Arc::from);
        // Stamped with when the read started: the token was current at least then.
        self.set(read, started);
        Ok(self.get().0)
    }

    /// Starts a new generation in the durable store (after an invalidation Redis did not take)
    /// and uses it at once. An error means other instances may still trust stale entries.
    pub(crate) async fn bump(&self) -> StoreResult<()> {
        let token: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let started = self.now_ms();
        self.durable
            .put(GENERATION_KEY, token.as_bytes(), SystemClock.now(), GENERATION_TTL)
            .await?;
        self.set(token, started);
        metrics::counter!("keygate_cache_generation_bumps_total").increment(1);
        Ok(())
    }
}

/// Clears the "a re-read is running" flag however the re-read ends (even when its request is
/// dropped mid-way), so that a later lookup re-reads.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}
