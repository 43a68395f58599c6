//! Redis in front of the durable store: a read-through cache of hot lookups (`CachedStores`) and
//! the connection it uses (`RedisHandle`).
//!
//! ```ignore
//! let redis = keygate_store::redis::connect_redis(&url, RedisOptions::default()).await?;
//! let stores = keygate_store::redis::layer_redis(backend.stores(), &redis);
//! ```
//!
//! Redis is an accelerator, never the only home of anything (DESIGN §2): the ephemeral store
//! (codes' replay tombstones, revoked `jti`s, lockout and rate counters, login, MFA and consent
//! state) stays in the durable store, so a Redis restart, FLUSHALL or eviction loses nothing and
//! an instance without Redis serves everything from the database.
//!
//! One `redis::aio::ConnectionManager` (a multiplexed connection that reconnects by itself) serves
//! every request; it needs no pool. Every command is bounded by the connection and response
//! timeouts and by an overall operation timeout, so an outage answers within about a second
//! instead of hanging; the cache then falls back to the durable store.

mod cache;

use std::sync::Arc;
use std::time::Duration;

use keygate_core::error::{StoreError, StoreResult};
use keygate_core::store::Stores;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use cache::{CacheStats, CachedStores};

/// How Keygate talks to Redis.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Put in front of every key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    /// How long one attempt to open a connection may take.
    pub connect_timeout: Duration,
    /// How long Redis may take to answer one command.
    pub response_timeout: Duration,
    /// How long a cached record lives at most (a backstop: writes invalidate at once).
    pub cache_ttl: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "keygate:".to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            cache_ttl: Duration::from_secs(60),
        }
    }
}

/// A shared, self-reconnecting connection to Redis with Keygate's key prefix.
#[derive(Clone)]
pub struct RedisHandle {
    conn: ConnectionManager,
    opts: Arc<RedisOptions>,
    pub(crate) counters: Arc<cache::Counters>,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("prefix", &self.opts.prefix)
            .finish_non_exhaustive()
    }
}

/// Opens the handle and checks that Redis answers: `Unavailable` if it does not.
/// Use [`RedisHandle::open`] to start without Redis and let it come up later.
pub async fn connect_redis(url: &str, opts: RedisOptions) -> StoreResult<RedisHandle> {
    let handle = RedisHandle::open(url, opts)?;
    handle.ping().await?;
    Ok(handle)
}

/// `stores` with the hot lookups cached in Redis. Everything else, the ephemeral store included,
/// stays on the durable store.
pub fn layer_redis(stores: Stores, redis: &RedisHandle) -> Stores {
    CachedStores::new(stores, redis.clone()).into_stores()
}

impl RedisHandle {
    /// Parses `url` (`redis://`, `rediss://` is not built in) and prepares a connection that is
    /// opened on first use, so the server can start while Redis is down. Must be called inside a
    /// Tokio runtime. Fails only for an invalid URL.
    pub fn open(url: &str, opts: RedisOptions) -> StoreResult<RedisHandle> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Internal(Box::new(e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(opts.response_timeout))
            // One quick retry: during an outage each request fails in about a second, not after
            // the default six exponential back-offs.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(redis_err)?;
        Ok(RedisHandle {
            conn,
            opts: Arc::new(opts),
            counters: Arc::new(cache::Counters::new()),
        })
    }

    /// Succeeds when Redis answers PING (for /health/ready).
    pub async fn ping(&self) -> StoreResult<()> {
        let pong: String = self.query(&mut redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Internal(format!("unexpected PING answer {pong:?}").into()))
        }
    }

    /// Hits, misses and Redis errors of the cache layered with this handle, since it was opened.
    pub fn cache_stats(&self) -> CacheStats {
        self.counters.snapshot()
    }

    pub fn prefix(&self) -> &str {
        &self.opts.prefix
    }

    pub fn options(&self) -> &RedisOptions {
        &self.opts
    }

    /// `prefix` + `key`.
    pub(crate) fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.opts.prefix.len() + key.len());
        k.push_str(&self.opts.prefix);
        k.push_str(key);
        k
    }

    /// Runs one command, bounded by the operation timeout.
    pub(crate) async fn query<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        self.bounded(cmd.query_async(&mut conn)).await
    }

    /// Runs a pipeline (a MULTI/EXEC one when `atomic`), bounded by the operation timeout.
    pub(crate) async fn pipeline<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        self.bounded(pipe.query_async(&mut conn)).await
    }

    async fn bounded<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> StoreResult<T> {
        // Connect (with its one retry) plus answer: past this the caller gets 503, not a hang.
        let limit = self.opts.connect_timeout * 2 + self.opts.response_timeout;
        match tokio::time::timeout(limit, fut).await {
            Ok(result) => result.map_err(redis_err),
            Err(elapsed) => Err(StoreError::Unavailable(Box::new(elapsed))),
        }
    }
}

/// Connection trouble, timeouts and a Redis that is loading, read-only or failing over are
/// `Unavailable` (retry later); anything else (a script error, a wrong type) is `Internal`.
fn redis_err(e: redis::RedisError) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind};
    let outage = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::BusyLoading | ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly)
                | ErrorKind::ClusterConnectionNotFound
        );
    if outage {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Internal(Box::new(e))
    }
}
