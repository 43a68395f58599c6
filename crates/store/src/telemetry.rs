//! The names of the metrics the backends emit, and [`register`], which describes them and shows
//! each label value at zero so that a scrape lists them before the first event (alerts on
//! `increase()` then see the first one). Label values are fixed words.

pub use crate::sql::pool_metrics::{POOL_CONNECTIONS, POOL_MAX, POOL_TIMEOUTS};

/// Statements that got no answer within `database.query_timeout_secs`.
pub const DB_TIMEOUTS: &str = "keygate_db_timeouts_total";
/// Cache lookups by `kind` and `result` (`hit`, `miss`); a bypassed lookup is a miss.
pub const CACHE_REQUESTS: &str = "keygate_cache_requests_total";
/// Redis commands that failed, by `op` (`read`, `fill`, `invalidate`, `generation`).
pub const CACHE_ERRORS: &str = "keygate_cache_errors_total";
/// Lookups served from the database without asking Redis, by `reason` (`redis_down`: resting
/// after an error; `generation`: the cache generation could not be confirmed).
pub const CACHE_BYPASSED: &str = "keygate_cache_bypassed_total";
/// Lookups of the in-memory cache (PostgreSQL) by `kind` (`client`, `access_token`) and
/// `result` (`hit`, `miss`, `bypassed`: its change notifications were not current).
pub const NEAR_CACHE_REQUESTS: &str = "keygate_near_cache_requests_total";
/// New cache generations, by `reason` (`redis_changed`, `invalidation_failed`).
pub const CACHE_GENERATIONS: &str = "keygate_cache_generations_total";

const CACHE_KINDS: [&str; 5] = ["client", "user", "session", "access_token", "pat"];

/// `redis`: whether a Redis cache is configured (its metrics are registered only then).
pub fn register(redis: bool) {
    metrics::describe_counter!(
        DB_TIMEOUTS,
        "SQL statements that got no answer within the query timeout"
    );
    metrics::counter!(DB_TIMEOUTS).increment(0);
    metrics::describe_counter!(
        POOL_TIMEOUTS,
        "Requests that got no SQL connection within the acquire timeout"
    );
    metrics::counter!(POOL_TIMEOUTS).increment(0);
    metrics::describe_gauge!(POOL_CONNECTIONS, "Open SQL connections by state (in_use, idle)");
    metrics::describe_gauge!(POOL_MAX, "The most SQL connections the pool opens");
    metrics::describe_counter!(
        NEAR_CACHE_REQUESTS,
        "In-memory cache lookups (PostgreSQL) by kind and result (hit, miss, bypassed)"
    );
    if !redis {
        return;
    }
    metrics::describe_counter!(CACHE_REQUESTS, "Cache lookups by kind and result (hit, miss)");
    for kind in CACHE_KINDS {
        for result in ["hit", "miss"] {
            metrics::counter!(CACHE_REQUESTS, "kind" => kind, "result" => result).increment(0);
        }
    }
    metrics::describe_counter!(CACHE_ERRORS, "Redis commands that failed, by operation");
    for op in ["read", "fill", "invalidate", "generation"] {
        metrics::counter!(CACHE_ERRORS, "op" => op).increment(0);
    }
    metrics::describe_counter!(
        CACHE_BYPASSED,
        "Lookups served from the database without Redis, by reason"
    );
    for reason in ["redis_down", "generation"] {
        metrics::counter!(CACHE_BYPASSED, "reason" => reason).increment(0);
    }
    metrics::describe_counter!(CACHE_GENERATIONS, "New cache generations, by reason");
    for reason in ["redis_changed", "invalidation_failed"] {
        metrics::counter!(CACHE_GENERATIONS, "reason" => reason).increment(0);
    }
}
