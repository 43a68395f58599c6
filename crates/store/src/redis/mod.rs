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
//! A few multiplexed connections (`pool_size`, used round-robin; see `connect`) serve every
//! request, to one server, a Sentinel-managed master or a Cluster. Every command is bounded by the
//! connection and response timeouts, retried `retries` times after an outage-class error (a
//! failover, a dropped connection) and bounded overall, so an outage answers instead of hanging;
//! the cache then falls back to the durable store. In a Cluster, every key of one operation lives
//! in one hash slot: the cache's keys carry its generation as a hash tag (`{generation}`).

mod cache;
mod connect;

use std::sync::Arc;
use std::time::Duration;

pub use cache::{CacheStats, CachedStores};
pub use connect::RedisTarget;
use connect::{Lease, Pool};
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::store::Stores;

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
    /// How many multiplexed connections (per Sentinel master or per Cluster map) are used in turn.
    pub pool_size: usize,
    /// How many times a command is retried after an outage-class error (a dropped connection, a
    /// failover), on a fresh connection.
    pub retries: u32,
    /// The PEM certificates that `rediss://` servers are verified against, instead of the
    /// system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "keygate:".to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            cache_ttl: Duration::from_secs(60),
            pool_size: 1,
            retries: 1,
            ca_pem: None,
        }
    }
}

/// A shared, self-reconnecting connection to Redis with Keygate's key prefix.
#[derive(Clone)]
pub struct RedisHandle {
    pool: Arc<Pool>,
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
    connect_redis_target(&RedisTarget::Server(url.to_owned()), opts).await
}

/// [`connect_redis`] for any shape of Redis.
pub async fn connect_redis_target(target: &RedisTarget, opts: RedisOptions) -> StoreResult<RedisHandle> {
    let handle = RedisHandle::open_target(target, opts)?;
    handle.ping().await?;
    Ok(handle)
}

/// `stores` with the hot lookups cached in Redis. Everything else, the ephemeral store included,
/// stays on the durable store.
pub fn layer_redis(stores: Stores, redis: &RedisHandle) -> Stores {
    CachedStores::new(stores, redis.clone()).into_stores()
}

impl RedisHandle {
    /// Parses `url` (`redis://` or `rediss://`) and prepares connections that open on first use,
    /// so the server can start while Redis is down. Must be called inside a Tokio runtime. Fails
    /// only for an invalid URL.
    pub fn open(url: &str, opts: RedisOptions) -> StoreResult<RedisHandle> {
        Self::open_target(&RedisTarget::Server(url.to_owned()), opts)
    }

    /// [`RedisHandle::open`] for any shape of Redis: one server, Sentinel or Cluster.
    pub fn open_target(target: &RedisTarget, opts: RedisOptions) -> StoreResult<RedisHandle> {
        let pool = Pool::new(target, &opts).map_err(|e| StoreError::Internal(Box::new(e)))?;
        Ok(RedisHandle {
            pool: Arc::new(pool),
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
        self.bounded(Op::Cmd(cmd)).await
    }

    /// Runs a pipeline (a MULTI/EXEC one when `atomic`), bounded by the operation timeout.
    pub(crate) async fn pipeline<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> StoreResult<T> {
        self.bounded(Op::Pipe(pipe)).await
    }

    /// Runs `op` on a pooled connection, again on a fresh one after a quick outage-class error (up
    /// to `retries` times: a failover or a dropped connection heals within them), all within one
    /// connect plus one response timeout. A timed-out attempt is not retried: a Redis that stopped
    /// answering (a black hole) costs a request that bound once, and the cache then rests.
    async fn bounded<T: redis::FromRedisValue>(&self, op: Op<'_>) -> StoreResult<T> {
        let attempts = self.opts.retries.saturating_add(1);
        let limit = self.opts.connect_timeout + self.opts.response_timeout;
        let run = async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = match self.pool.lease().await {
                    Ok(mut lease) => {
                        let result = op.run(&mut lease).await;
                        if let Err(e) = &result
                            && is_outage(e)
                        {
                            self.pool.discard(&lease);
                        }
                        result
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Err(e) if attempt < attempts && is_outage(&e) && !e.is_timeout() => {
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                    }
                    other => return other,
                }
            }
        };
        // Boxed: the connection types' futures are deep, and every request future embeds this one.
        match tokio::time::timeout(limit, Box::pin(run)).await {
            Ok(result) => result.map_err(redis_err),
            Err(elapsed) => Err(StoreError::Unavailable(Box::new(elapsed))),
        }
    }
}

/// What [`RedisHandle::bounded`] runs.
enum Op<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Op<'_> {
    async fn run<T: redis::FromRedisValue>(&self, lease: &mut Lease) -> redis::RedisResult<T> {
        match self {
            Op::Cmd(cmd) => cmd.query_async(&mut lease.conn).await,
            Op::Pipe(pipe) => pipe.query_async(&mut lease.conn).await,
        }
    }
}

/// Connection trouble, timeouts and a Redis that is loading, read-only or failing over are
/// `Unavailable` (retry later); anything else (a script error, a wrong type) is `Internal`.
fn redis_err(e: redis::RedisError) -> StoreError {
    if is_outage(&e) {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Internal(Box::new(e))
    }
}

fn is_outage(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::BusyLoading | ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly)
                | ErrorKind::ClusterConnectionNotFound
        )
}
