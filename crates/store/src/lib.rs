//! Keygate's storage backends: `memory` (the reference) and `sql` (one implementation for SQLite
//! and PostgreSQL), chosen by URL; `redis` layers a read-through cache on top (the ephemeral store
//! stays on the durable backend, so Redis never holds the only copy of anything).

mod grouped;
pub use grouped::GroupCounts;
pub mod memory;
pub mod near;
pub mod redis;
pub mod sql;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transfer;

use std::sync::Arc;

use keygate_core::error::{StoreError, StoreResult};
use keygate_core::store::Stores;

pub use self::redis::{RedisHandle, RedisOptions, RedisTarget, connect_redis, connect_redis_target, layer_redis};
pub use memory::MemoryStore;
pub use near::{NearCache, NearStats, layer_near};
pub use sql::{Dialect, MigrationStatus, SqlOptions, SqlStore};

/// The durable store the server runs on, opened from a database URL.
#[derive(Clone, Debug)]
pub enum Backend {
    Memory(Arc<MemoryStore>),
    Sql(Arc<SqlStore>),
}

/// The URL forms [`Backend::connect`] accepts, for error messages and help texts.
pub const ACCEPTED_URLS: &str = "memory:, sqlite://PATH, postgres://… (or postgresql://…)";

impl Backend {
    /// Opens `memory:`, `sqlite://PATH` (created if missing, WAL, busy timeout) or
    /// `postgres://…` / `postgresql://…`. An unknown scheme is an error naming the accepted ones.
    /// Does not migrate: call [`Backend::migrate_up`] (or [`Backend::check_schema`]).
    pub async fn connect(url: &str, opts: &SqlOptions) -> StoreResult<Backend> {
        if url == "memory:" || url == "memory://" {
            return Ok(Backend::Memory(Arc::new(MemoryStore::new())));
        }
        if sql::Dialect::from_url(url).is_none() {
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            return Err(StoreError::Internal(
                format!("unsupported database URL scheme {scheme:?}; accepted: {ACCEPTED_URLS}").into(),
            ));
        }
        Ok(Backend::Sql(Arc::new(SqlStore::connect(url, opts).await?)))
    }

    /// Every store trait, served by this one backend.
    pub fn stores(&self) -> Stores {
        match self {
            Backend::Memory(m) => Stores::from_backend(m.clone()),
            Backend::Sql(s) => Stores::from_backend(s.clone()),
        }
    }

    /// The in-memory cache of clients and access tokens to put above every store layer with
    /// [`layer_near`] (PostgreSQL only; see `near/`). Starts listening for changes.
    pub fn near_cache(&self) -> Option<Arc<NearCache>> {
        match self {
            Backend::Memory(_) => None,
            Backend::Sql(s) => s.near_cache(),
        }
    }

    /// "memory", "sqlite" or "postgres".
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Memory(_) => "memory",
            Backend::Sql(s) => s.dialect().name(),
        }
    }

    /// Applies every pending migration; returns those applied now. A no-op in memory.
    pub async fn migrate_up(&self) -> StoreResult<Vec<MigrationStatus>> {
        match self {
            Backend::Memory(_) => Ok(Vec::new()),
            Backend::Sql(s) => s.migrate_up().await,
        }
    }

    /// Reverts the newest `steps` migrations; returns them (now pending). A no-op in memory.
    pub async fn migrate_down(&self, steps: u32) -> StoreResult<Vec<MigrationStatus>> {
        match self {
            Backend::Memory(_) => Ok(Vec::new()),
            Backend::Sql(s) => s.migrate_down(steps).await,
        }
    }

    /// Every known migration with when it was applied; empty in memory.
    pub async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        match self {
            Backend::Memory(_) => Ok(Vec::new()),
            Backend::Sql(s) => s.migration_status().await,
        }
    }

    /// For `serve --no-migrate`: `Err(StoreError::Corrupt("schema is at version X, this build needs
    /// Y; run `keygate migrate up`"))` when the schema is behind. Always Ok in memory.
    pub async fn check_schema(&self) -> StoreResult<()> {
        match self {
            Backend::Memory(_) => Ok(()),
            Backend::Sql(s) => s.check_schema().await,
        }
    }

    /// Sets the connection-pool gauges from the pool as it is now (SQL; nothing in memory). Cheap:
    /// call it before each scrape.
    pub fn record_pool_metrics(&self) {
        if let Backend::Sql(s) = self {
            s.record_pool_metrics();
        }
    }

    /// Closes the pool (SQL); nothing to do in memory.
    pub async fn close(&self) {
        if let Backend::Sql(s) = self {
            s.close().await;
        }
    }
}
