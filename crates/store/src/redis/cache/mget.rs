//! Grouped reads: the MGETs of concurrent cache lookups go to Redis as one MGET (see
//! `crate::grouped`), so a busy instance pays one Redis round trip per group of lookups.
//!
//! Redis Cluster answers an MGET only when all its keys hash to one slot. Keys of one cache
//! generation do (the generation is their hash tag); a group that spans two generations (one was
//! just started) is read with one MGET per lookup instead.

use std::sync::Arc;

use keygate_core::error::{StoreError, StoreResult};

use crate::grouped::{Grouped, RunGroup, fan_out};
use crate::redis::RedisHandle;

/// Most lookups read by one MGET.
const LOOKUPS_PER_MGET: usize = 128;

/// The values of each lookup's keys, in order (None: no such key).
pub(super) type Values = Vec<Option<Vec<u8>>>;

pub(super) fn start(redis: RedisHandle) -> Grouped<Vec<String>, Values> {
    Grouped::start(LOOKUPS_PER_MGET, grouped_mget(redis), None)
}

fn grouped_mget(redis: RedisHandle) -> RunGroup<Vec<String>, Values> {
    Arc::new(move |lookups: Vec<Vec<String>>| {
        let redis = redis.clone();
        Box::pin(async move {
            let first = lookups.iter().flatten().next().map(|k| hash_tag(k));
            if lookups.iter().flatten().all(|k| Some(hash_tag(k)) == first) {
                return one_mget(&redis, lookups).await;
            }
            let mut results = Vec::with_capacity(lookups.len());
            for keys in lookups {
                results.push(mget(&redis, &keys).await);
            }
            results
        })
    })
}

/// Every lookup's keys in one MGET, the answer cut back into one list per lookup.
async fn one_mget(redis: &RedisHandle, lookups: Vec<Vec<String>>) -> Vec<StoreResult<Values>> {
    let keys: Vec<&String> = lookups.iter().flatten().collect();
    let mut values = match mget(redis, &keys).await {
        Ok(values) => values.into_iter(),
        Err(e) => return fan_out(e, lookups.len()),
    };
    lookups
        .iter()
        .map(|keys| Ok(values.by_ref().take(keys.len()).collect()))
        .collect()
}

async fn mget<K: redis::ToRedisArgs>(redis: &RedisHandle, keys: &[K]) -> StoreResult<Values> {
    let values: Values = redis.query(redis::cmd("MGET").arg(keys)).await?;
    if values.len() != keys.len() {
        return Err(StoreError::Internal(
            format!("MGET of {} keys answered {} values", keys.len(), values.len()).into(),
        ));
    }
    Ok(values)
}

/// What Redis Cluster hashes for `key`: the text between the first `{` and the next `}` when it
/// is not empty, else the whole key.
fn hash_tag(key: &str) -> &str {
    key.find('{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.find('}').filter(|&close| close > 0).map(|close| &rest[..close])
        })
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::hash_tag;

    #[test]
    fn hash_tags_follow_redis_cluster() {
        assert_eq!(hash_tag("kg:{g1}:c:client:x"), "g1");
        assert_eq!(hash_tag("kg:{}:x{y}"), "kg:{}:x{y}");
        assert_eq!(hash_tag("plain"), "plain");
        assert_eq!(hash_tag("{a}{b}"), "a");
    }
}
