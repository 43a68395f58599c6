//! The cache's mechanics: version-checked lookups, tagged fills, invalidation by new version
//! tokens, and the fallback, counting and rate-limited logging of Redis failures.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use keygate_core::error::{StoreError, StoreResult};
use keygate_core::store::EphemeralStore;
use serde::{Deserialize, Serialize};

use super::CacheStats;
use super::generation::{Generation, Trust};
use super::mget;
use super::records::Cached;
use crate::grouped::Grouped;
use crate::redis::RedisHandle;

/// Version keys outlive entries so that a quiet key keeps its token; correctness does not depend
/// on it (a recreated key gets a new random token, which no entry holds).
const VERSION_TTL_FACTOR: u64 = 10;
/// At most one warning per this many milliseconds; the others are counted in the next one.
const WARN_EVERY_MS: u64 = 10_000;
/// After Redis failed to answer, the cache leaves it alone this long: during an outage requests
/// go straight to the durable store instead of each paying for a failed connection attempt.
const REST_AFTER_OUTAGE_MS: u64 = 500;

/// Hits, misses and errors of one Redis handle's cache, plus its failure bookkeeping.
#[derive(Debug)]
pub(crate) struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    born: Instant,
    /// Milliseconds since `born` (+1, so 0 means never) of the last warning.
    last_warn: AtomicU64,
    suppressed: AtomicU64,
    /// Milliseconds since `born` until which the cache does not ask Redis (after an outage error).
    resting_until: AtomicU64,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            born: Instant::now(),
            last_warn: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            resting_until: AtomicU64::new(0),
        }
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    /// Whether Redis failed recently enough that the cache should not ask it.
    pub(crate) fn redis_resting(&self) -> bool {
        self.resting_until.load(Ordering::Relaxed) > self.now_ms()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }
}

/// What the cache stores under an entry key: the record and the version tokens it was read under.
#[derive(Serialize, Deserialize)]
struct Entry<R> {
    deps: Vec<(String, String)>,
    data: R,
}

enum Probe<T> {
    Hit(T),
    /// The version tokens current before the durable read, by version key.
    Miss(HashMap<String, String>),
}

pub(crate) struct Engine {
    redis: RedisHandle,
    ttl_ms: u64,
    generation: Generation,
    /// Reads of concurrent lookups, grouped into one MGET.
    reads: Grouped<Vec<String>, mget::Values>,
}

/// The Redis key of a cache name (an entry or a version key) in generation `generation`. The
/// generation is a hash tag, so every key one operation touches (an MGET of an entry and its
/// version keys, a MULTI of invalidations) is in one Cluster hash slot.
struct Space<'a> {
    redis: &'a RedisHandle,
    generation: Arc<str>,
}

impl Space<'_> {
    fn key(&self, name: &str) -> String {
        self.redis.key(&format!("{{{}}}:{name}", self.generation))
    }
}

impl Engine {
    /// `durable` is the durable store's ephemeral store, which holds the cache generation.
    pub(crate) fn new(redis: RedisHandle, durable: Arc<dyn EphemeralStore>) -> Self {
        let ttl_ms = u64::try_from(redis.options().cache_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Engine {
            generation: Generation::new(durable, redis.clone()),
            reads: mget::start(redis.clone()),
            redis,
            ttl_ms,
        }
    }

    fn space(&self, generation: Arc<str>) -> Space<'_> {
        Space {
            redis: &self.redis,
            generation,
        }
    }

    fn counters(&self) -> &Counters {
        &self.redis.counters
    }

    /// The record under `entry` if it is cached and current, else `load`ed from the durable
    /// store (and cached). `known` are the version keys the lookup key alone determines.
    pub(crate) async fn lookup<T, F>(&self, entry: String, known: Vec<String>, load: F) -> StoreResult<Option<T>>
    where
        T: Cached,
        F: Future<Output = StoreResult<Option<T>>>,
    {
        if self.counters().redis_resting() {
            self.count(T::KIND, false);
            metrics::counter!(crate::telemetry::CACHE_BYPASSED, "reason" => "redis_down").increment(1);
            return load.await;
        }
        let space = match self.generation.trust().await {
            Trust::Use(generation) => self.space(generation),
            Trust::Bypass => {
                self.count(T::KIND, false);
                metrics::counter!(crate::telemetry::CACHE_BYPASSED, "reason" => "generation").increment(1);
                return load.await;
            }
        };
        let tokens = match self.probe::<T>(&space, &entry, &known).await {
            Ok(Probe::Hit(value)) => {
                self.count(T::KIND, true);
                return Ok(Some(value));
            }
            Ok(Probe::Miss(tokens)) => Some(tokens),
            Err(e) => {
                self.note_error("read", &e);
                None
            }
        };
        self.count(T::KIND, false);
        let value = load.await?;
        if let (Some(v), Some(tokens)) = (&value, tokens)
            && let Err(e) = self.fill(&space, &entry, v, &tokens).await
        {
            self.note_error("fill", &e);
        }
        Ok(value)
    }

    async fn probe<T: Cached>(&self, space: &Space<'_>, entry: &str, known: &[String]) -> StoreResult<Probe<T>> {
        let mut names = vec![entry.to_owned()];
        names.extend_from_slice(known);
        let mut got = self.mget(space, &names).await?;
        let stored = got.remove(0);
        let mut current: HashMap<String, Option<String>> = known.iter().cloned().zip(got).collect();

        if let Some(bytes) = stored
            && let Ok(cached) = serde_json::from_str::<Entry<T::Record>>(&bytes)
        {
            let extra: Vec<String> = cached
                .deps
                .iter()
                .filter(|(k, _)| !current.contains_key(k))
                .map(|(k, _)| k.clone())
                .collect();
            if !extra.is_empty() {
                let more = self.mget(space, &extra).await?;
                current.extend(extra.into_iter().zip(more));
            }
            let covers_known = known.iter().all(|k| cached.deps.iter().any(|(d, _)| d == k));
            let unchanged = cached
                .deps
                .iter()
                .all(|(k, t)| current.get(k).and_then(|c| c.as_deref()) == Some(t.as_str()));
            if covers_known
                && unchanged
                && let Some(value) = T::from_record(cached.data)
            {
                return Ok(Probe::Hit(value));
            }
        }
        // A miss: every version key we know of gets a token now, before the durable read.
        let mut tokens = HashMap::with_capacity(current.len());
        for (key, token) in current {
            let token = match token {
                Some(t) => t,
                None => self.create_token(space, &key).await?,
            };
            tokens.insert(key, token);
        }
        Ok(Probe::Miss(tokens))
    }

    /// Caches `value` tagged with the tokens read before it was loaded. A dependency without a
    /// token (not known before the load) gets "", which never matches: the entry then only tells
    /// the next read which version keys to check.
    async fn fill<T: Cached>(
        &self,
        space: &Space<'_>,
        entry: &str,
        value: &T,
        tokens: &HashMap<String, String>,
    ) -> StoreResult<()> {
        let deps = value
            .deps()
            .into_iter()
            .map(|k| {
                let t = tokens.get(&k).cloned().unwrap_or_default();
                (k, t)
            })
            .collect();
        let body = serde_json::to_vec(&Entry {
            deps,
            data: value.to_record(),
        })
        .map_err(|e| StoreError::Internal(Box::new(e)))?;
        self.redis
            .query::<()>(
                redis::cmd("SET")
                    .arg(space.key(entry))
                    .arg(body)
                    .arg("PX")
                    .arg(self.ttl_ms),
            )
            .await
    }

    /// Gives each version key a new token, so every entry that depends on it is stale. Call after
    /// the durable write succeeded. The tokens are replaced in the generation the durable store
    /// names now (the keyspace other instances fill). If Redis cannot be told, a new generation is
    /// started in the durable store instead, which retires every cached entry fleet-wide; only if
    /// that fails too is the error returned (the write is then answered 503: other instances may
    /// trust a stale entry for up to the cache lifetime).
    pub(crate) async fn invalidate(&self, keys: impl IntoIterator<Item = String>) -> StoreResult<()> {
        let generation = match self.generation.refresh().await {
            Ok(generation) => generation,
            Err(e) => {
                self.note_error("generation", &e);
                return self.generation.bump().await;
            }
        };
        if self.counters().redis_resting() {
            // Redis is down: telling it would fail (slowly); retire the whole generation instead.
            return self.generation.bump().await;
        }
        let space = self.space(generation);
        let mut cmd = redis::pipe();
        cmd.atomic();
        for key in keys {
            cmd.cmd("SET")
                .arg(space.key(&key))
                .arg(new_token())
                .arg("PX")
                .arg(self.ttl_ms.saturating_mul(VERSION_TTL_FACTOR))
                .ignore();
        }
        match self.redis.pipeline::<()>(&cmd).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.note_error("invalidate", &e);
                self.generation.bump().await
            }
        }
    }

    /// The current token of a version key, creating one if it has none (SET NX GET: Redis ≥ 7).
    async fn create_token(&self, space: &Space<'_>, key: &str) -> StoreResult<String> {
        let token = new_token();
        let existing: Option<String> = self
            .redis
            .query(
                redis::cmd("SET")
                    .arg(space.key(key))
                    .arg(&token)
                    .arg("NX")
                    .arg("GET")
                    .arg("PX")
                    .arg(self.ttl_ms.saturating_mul(VERSION_TTL_FACTOR)),
            )
            .await?;
        Ok(existing.unwrap_or(token))
    }

    async fn mget(&self, space: &Space<'_>, names: &[String]) -> StoreResult<Vec<Option<String>>> {
        let keys: Vec<String> = names.iter().map(|n| space.key(n)).collect();
        let values = self.reads.submit(keys).await?;
        // A token is ASCII; anything else under a version key is treated as no token at all.
        Ok(values
            .into_iter()
            .map(|v| v.and_then(|b| String::from_utf8(b).ok()))
            .collect())
    }

    fn count(&self, kind: &'static str, hit: bool) {
        let c = self.counters();
        let result = if hit {
            c.hits.fetch_add(1, Ordering::Relaxed);
            "hit"
        } else {
            c.misses.fetch_add(1, Ordering::Relaxed);
            "miss"
        };
        metrics::counter!(crate::telemetry::CACHE_REQUESTS, "result" => result, "kind" => kind).increment(1);
    }

    /// Counts a Redis failure and logs it, at most once every 10 s.
    fn note_error(&self, op: &'static str, e: &StoreError) {
        let c = self.counters();
        c.errors.fetch_add(1, Ordering::Relaxed);
        if e.is_unavailable() {
            c.resting_until
                .fetch_max(c.now_ms().saturating_add(REST_AFTER_OUTAGE_MS), Ordering::Relaxed);
        }
        metrics::counter!(crate::telemetry::CACHE_ERRORS, "op" => op).increment(1);
        let now = c.now_ms();
        let last = c.last_warn.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARN_EVERY_MS;
        if due
            && c.last_warn
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let suppressed = c.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                op,
                error = %error_chain(e),
                suppressed,
                "Redis cache failed; answering from the durable store"
            );
        } else {
            c.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The error and its causes, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
