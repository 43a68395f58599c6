//! `EphemeralStore` on Redis: values (`SET … PX`, `GET`, `GETDEL`) and fixed-window counters (a
//! Lua script), under `<prefix>e:<key>`.
//!
//! Two clocks: Redis drops a key `ttl` after it was written, by its own clock (the TTL is passed
//! relative, as `PX`, so clock skew between Keygate and Redis does not matter). The trait,
//! however, defines expiry in the caller's time (`now + ttl`), and the contract suite moves a
//! manual clock. So each stored string carries its expiry in caller time as a short header
//! (`v<expires_ms>:<bytes>` for values, `c<expires_ms>:<count>` for counters) and reads compare it
//! with `now`. With the system clock both agree; Redis's own expiry is what frees the memory.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::store::EphemeralStore;

use super::RedisHandle;
use super::purge::PurgeState;

/// Adds one to a live counter (keeping its expiry: a fixed window) or starts a new window at 1.
/// Atomic in Redis, so 50 concurrent calls see 1..=50. KEYS[1] = key; ARGV = now, window end
/// (both caller-time milliseconds), ttl in milliseconds.
const INCR_SCRIPT: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local exp, n = string.match(cur, '^c(%-?%d+):(%d+)$')
  if exp and tonumber(exp) > tonumber(ARGV[1]) then
    n = tonumber(n) + 1
    redis.call('SET', KEYS[1], 'c' .. exp .. ':' .. string.format('%d', n), 'KEEPTTL')
    return n
  end
end
redis.call('SET', KEYS[1], 'c' .. ARGV[2] .. ':1', 'PX', ARGV[3])
return 1
";

/// The ephemeral store on Redis. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RedisEphemeral {
    redis: RedisHandle,
    incr: Arc<redis::Script>,
    purge: Arc<PurgeState>,
}

impl RedisEphemeral {
    pub fn new(redis: RedisHandle) -> Self {
        RedisEphemeral {
            redis,
            incr: Arc::new(redis::Script::new(INCR_SCRIPT)),
            purge: Arc::new(PurgeState::new()),
        }
    }

    /// The Redis key of an ephemeral key.
    pub(crate) fn key(&self, key: &str) -> String {
        self.redis.key(&format!("e:{key}"))
    }

    pub(crate) fn handle(&self) -> &RedisHandle {
        &self.redis
    }

    pub(crate) fn purge_state(&self) -> &PurgeState {
        &self.purge
    }
}

/// Redis rejects `PX 0`; a zero TTL means "expires at once", which one millisecond is.
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn encode_value(value: &[u8], expires_at: Timestamp) -> Vec<u8> {
    let mut out = format!("v{}:", expires_at.as_millis()).into_bytes();
    out.extend_from_slice(value);
    out
}

/// The value in a stored string if it is a value (not a counter) still live at `now`.
fn decode_live_value(stored: Vec<u8>, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
    let corrupt = || StoreError::Corrupt("an ephemeral value in Redis has no expiry header".to_owned());
    let Some(body) = stored.strip_prefix(b"v") else {
        // A counter under this key: there is no value to return.
        return if stored.starts_with(b"c") {
            Ok(None)
        } else {
            Err(corrupt())
        };
    };
    let colon = body.iter().position(|b| *b == b':').ok_or_else(corrupt)?;
    let expires_at = std::str::from_utf8(&body[..colon])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(corrupt)?;
    if now.as_millis() < expires_at {
        Ok(Some(body[colon + 1..].to_vec()))
    } else {
        Ok(None)
    }
}

#[async_trait]
impl EphemeralStore for RedisEphemeral {
    async fn put(&self, key: &str, value: &[u8], now: Timestamp, ttl: Duration) -> StoreResult<()> {
        let stored = encode_value(value, now.plus(ttl));
        self.redis
            .query::<()>(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(stored)
                    .arg("PX")
                    .arg(ttl_millis(ttl)),
            )
            .await
    }

    async fn get(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        let stored: Option<Vec<u8>> = self.redis.query(redis::cmd("GET").arg(self.key(key))).await?;
        stored.map_or(Ok(None), |s| decode_live_value(s, now))
    }

    async fn take(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        // GETDEL is atomic: of concurrent takes exactly one receives the value. (Taking a
        // counter's key deletes the counter; callers keep values and counters under distinct keys.)
        let stored: Option<Vec<u8>> = self.redis.query(redis::cmd("GETDEL").arg(self.key(key))).await?;
        stored.map_or(Ok(None), |s| decode_live_value(s, now))
    }

    async fn incr(&self, key: &str, now: Timestamp, ttl: Duration) -> StoreResult<i64> {
        let mut invocation = self.incr.key(self.key(key));
        invocation
            .arg(now.as_millis())
            .arg(now.plus(ttl).as_millis())
            .arg(ttl_millis(ttl));
        self.redis.invoke(&invocation).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.redis.query::<()>(redis::cmd("DEL").arg(self.key(key))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_expire_in_caller_time() {
        let at = Timestamp::from_millis(1_000);
        let stored = encode_value(b"a:b\xff", at);
        assert_eq!(
            decode_live_value(stored.clone(), Timestamp::from_millis(999)).unwrap(),
            Some(b"a:b\xff".to_vec())
        );
        assert_eq!(decode_live_value(stored, at).unwrap(), None);
        assert_eq!(decode_live_value(b"c5000:3".to_vec(), at).unwrap(), None);
        assert!(decode_live_value(b"garbage".to_vec(), at).is_err());
        assert_eq!(ttl_millis(Duration::ZERO), 1);
    }
}
