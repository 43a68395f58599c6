//! Short-lived state with a time to live: interaction state, CSRF state, rate-limit counters,
//! replay caches.

use std::time::Duration;

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::error::StoreResult;

#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Stores `value` under `key` until `now + ttl`, replacing any earlier value.
    async fn put(&self, key: &str, value: &[u8], now: Timestamp, ttl: Duration) -> StoreResult<()>;
    /// The unexpired value under `key`.
    async fn get(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>>;
    /// Removes and returns the unexpired value under `key`. Atomic: of concurrent takes, one gets it.
    async fn take(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>>;
    /// Adds one to the counter under `key` and returns the new count. A missing or expired
    /// counter starts at 1 and lives until `now + ttl` (a fixed window).
    async fn incr(&self, key: &str, now: Timestamp, ttl: Duration) -> StoreResult<i64>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
}
