//! The janitor's purge of Redis ephemeral keys that expired in caller time but not yet in Redis's
//! own (see `ephemeral.rs`: the two agree under the system clock, so in production this finds
//! little), and the `MaintenanceStore` that adds it to the durable store's purge.
//!
//! Each call walks a bounded slice of the keyspace (`SCAN … MATCH <prefix>e:*`) and resumes where
//! the previous call stopped, so a janitor run costs a few milliseconds however large Redis is.

use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::StoreResult;
use keygate_core::store::{MaintenanceStore, PurgeReport, StoreStats};
use tokio::sync::Mutex;

use super::ephemeral::RedisEphemeral;

/// Deletes those of KEYS whose header says they expired before ARGV[1], at most ARGV[2] of them;
/// returns how many. Reads only the header, so large values cost nothing. Atomic per key: a key
/// rewritten meanwhile is judged by its new header.
const PURGE_SCRIPT: &str = r"
local n = 0
local limit = tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  if n >= limit then break end
  local head = redis.call('GETRANGE', k, 0, 24)
  local exp = string.match(head, '^[vc](%-?%d+):')
  if exp and tonumber(exp) < tonumber(ARGV[1]) then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
";

/// SCAN steps (of up to 1000 keys each) one purge call may take.
const SCAN_STEPS_PER_CALL: usize = 10;

/// Where the previous purge stopped in the keyspace, and the purge script.
#[derive(Debug)]
pub(crate) struct PurgeState {
    cursor: Mutex<u64>,
    script: redis::Script,
}

impl PurgeState {
    pub(crate) fn new() -> Self {
        PurgeState {
            cursor: Mutex::new(0),
            script: redis::Script::new(PURGE_SCRIPT),
        }
    }
}

impl RedisEphemeral {
    /// Deletes at most `batch` keys that expired before `now` in caller time; returns how many.
    pub async fn purge_expired(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        let state = self.purge_state();
        let mut cursor = state.cursor.lock().await;
        let pattern = format!("{}*", self.key(""));
        let mut deleted = 0u64;
        for _ in 0..SCAN_STEPS_PER_CALL {
            let start = *cursor;
            let (next, keys): (u64, Vec<String>) = self
                .handle()
                .query(
                    redis::cmd("SCAN")
                        .arg(start)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            if !keys.is_empty() {
                let mut invocation = state.script.prepare_invoke();
                for k in &keys {
                    invocation.key(k);
                }
                invocation.arg(now.as_millis()).arg(u64::from(batch) - deleted);
                deleted += self.handle().invoke::<u64>(&invocation).await?;
            }
            if deleted >= u64::from(batch) {
                // This step may hold more expired keys: the next call scans it again.
                *cursor = start;
                break;
            }
            *cursor = next;
            if next == 0 {
                break;
            }
        }
        Ok(deleted)
    }
}

/// The durable store's maintenance plus the purge of Redis's ephemeral keys.
pub struct RedisMaintenance {
    pub(crate) inner: Arc<dyn MaintenanceStore>,
    pub(crate) ephemeral: RedisEphemeral,
}

#[async_trait]
impl MaintenanceStore for RedisMaintenance {
    /// The durable store's; Redis is reported on its own (`RedisHandle::ping`).
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn stats(&self, now: Timestamp) -> StoreResult<StoreStats> {
        self.inner.stats(now).await
    }

    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport> {
        let mut report = self.inner.purge_expired(now, audit_before, batch).await?;
        let budget = batch.saturating_sub(u32::try_from(report.ephemeral).unwrap_or(u32::MAX));
        if budget > 0 {
            report.ephemeral += self.ephemeral.purge_expired(now, budget).await?;
        }
        Ok(report)
    }
}
