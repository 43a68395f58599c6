//! The SQL connection pool as gauges, read from sqlx when Prometheus scrapes: connections in use
//! and idle, the configured maximum, and a counter of acquires that gave up waiting. sqlx does not
//! tell how many requests are waiting; a pool with no idle connection at its maximum is one where
//! the next request waits.

use super::SqlStore;

/// Open connections by `state` (`in_use`, `idle`).
pub const POOL_CONNECTIONS: &str = "keygate_db_pool_connections";
/// `database.max_connections`.
pub const POOL_MAX: &str = "keygate_db_pool_max_connections";
/// Requests that waited `acquire_timeout` for a connection and got none (answered 503).
pub const POOL_TIMEOUTS: &str = "keygate_db_pool_timeouts_total";

impl SqlStore {
    pub fn record_pool_metrics(&self) {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(size - idle));
        metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        metrics::gauge!(POOL_MAX).set(f64::from(self.pool.options().get_max_connections()));
    }
}
