//! The SQL backend: one implementation for SQLite and PostgreSQL over `sqlx::Any`.
//!
//! SQL text is shared; what differs between the two databases lives in [`dialect`]. Every trait of
//! `keygate_core::store` is implemented for [`SqlStore`], one capability per file.

mod audit;
pub(crate) mod bounded;
mod changes;
mod clients;
mod codes;
mod connect;
mod consents;
mod credentials;
pub mod dialect;
mod email_tokens;
mod ephemeral;
pub(crate) mod error;
mod held;
mod keys;
mod lookup;
mod maintenance;
pub mod migrate;
mod pats;
pub(crate) mod pool_metrics;
mod rows;
mod sessions;
mod tokens;
pub(crate) mod tx;
mod users;

use std::time::Duration;

use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::ClientId;
use keygate_core::model::{AccessToken, Client};
use sqlx::AnyPool;

use crate::grouped::{GroupCounts, Grouped};
use crate::near::{NearCache, Table};

pub use dialect::Dialect;
pub use migrate::{MIGRATIONS_TABLE, Migration, MigrationStatus};

/// Pool settings for the SQL backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a request waits for a connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
    /// How long SQLite waits for a lock held by another connection or process.
    pub busy_timeout: Duration,
    /// How long one statement may take (client-side, and PostgreSQL's `statement_timeout`)
    /// before it fails as `Unavailable` (see `sql/bounded.rs`).
    pub query_timeout: Duration,
    /// Connections the pool keeps open even when idle (PostgreSQL; SQLite keeps what it opened).
    pub min_connections: u32,
    /// An idle connection above `min_connections` is closed after this long (None: never).
    pub idle_timeout: Option<Duration>,
    /// A connection is replaced after this long (None: never), so the fleet follows a
    /// database failover or a pooler's rebalancing without a restart.
    pub max_lifetime: Option<Duration>,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            min_connections: 0,
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }
}

/// A SQLite or PostgreSQL database holding every durable record (and the SQL ephemeral store).
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// The URL it was opened with, for tools that need a native connection (bulk loads).
    url: String,
    /// The hot statements that concurrent requests share (see `grouped.rs`).
    groups: Groups,
    /// The in-memory cache of clients and access tokens, once asked for (PostgreSQL only).
    near: std::sync::OnceLock<std::sync::Arc<NearCache>>,
}

/// The statements grouped across concurrent requests.
struct Groups {
    clients: Grouped<ClientId, Option<Client>>,
    access_tokens: Grouped<TokenDigest, Option<AccessToken>>,
    new_access_tokens: Grouped<AccessToken, ()>,
}

impl Groups {
    fn start(pool: &AnyPool) -> Groups {
        Groups {
            clients: clients::grouped_client_lookups(pool.clone()),
            access_tokens: tokens::grouped_access_lookups(pool.clone()),
            new_access_tokens: tokens::grouped_access_inserts(pool.clone()),
        }
    }
}

impl SqlStore {
    /// Opens a pool for `sqlite://PATH` (file created if missing, WAL, busy timeout, foreign keys)
    /// or `postgres://…` / `postgresql://…`. Does not migrate: see [`SqlStore::migrate_up`].
    pub async fn connect(url: &str, opts: &SqlOptions) -> StoreResult<SqlStore> {
        connect::open(url, opts).await
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The in-memory cache of clients and access tokens for [`crate::near::layer_near`]
    /// (PostgreSQL only: SQLite has no change notifications). The first call starts listening;
    /// call it within a Tokio runtime.
    pub fn near_cache(&self) -> Option<std::sync::Arc<NearCache>> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let near = self.near.get_or_init(|| {
            let near = std::sync::Arc::new(NearCache::new());
            changes::start(&near, self.pool.clone(), self.url.clone());
            near
        });
        Some(near.clone())
    }

    /// Runs a write that may change rows of `tables`, then (whatever its outcome) clears them
    /// from this instance's in-memory cache, so that its next lookup does not wait for the
    /// database's notification.
    async fn forgetting<T>(&self, tables: &[Table], write: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let result = write.await;
        if let Some(near) = self.near.get() {
            for table in tables {
                near.forget(*table);
            }
        }
        result
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The connection pool, for diagnostics and tests (the store traits are the normal way in).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies every pending migration; returns the ones this call applied.
    pub async fn migrate_up(&self) -> StoreResult<Vec<MigrationStatus>> {
        migrate::up(&self.pool, self.dialect).await
    }

    /// Reverts the newest `steps` applied migrations; returns the reverted ones (now pending).
    pub async fn migrate_down(&self, steps: u32) -> StoreResult<Vec<MigrationStatus>> {
        migrate::down(&self.pool, self.dialect, steps).await
    }

    /// Every migration this build knows, with when it was applied (None: pending).
    pub async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        migrate::status(&self.pool, self.dialect).await
    }

    /// Fails with `StoreError::Corrupt` naming the versions when a known migration is pending.
    pub async fn check_schema(&self) -> StoreResult<()> {
        migrate::check(&self.pool, self.dialect).await
    }

    /// A sorted listing of the schema's tables, columns and indexes (one line each), so tests and
    /// operators can compare two databases.
    pub async fn schema_listing(&self) -> StoreResult<Vec<String>> {
        dialect::schema_listing(&self.pool, self.dialect).await
    }

    /// How many client lookups, access-token lookups and access-token inserts were served, in
    /// how many shared statements (see `grouped.rs`).
    pub fn grouped_statements(&self) -> GroupCounts {
        self.groups.clients.counts() + self.groups.access_tokens.counts() + self.groups.new_access_tokens.counts()
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}
