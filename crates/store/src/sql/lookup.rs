//! Grouped lookups on SQL: one `SELECT … WHERE key IN (…)` answers a group of lookups by key
//! (see `crate::grouped`).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use keygate_core::error::{StoreError, StoreResult};
use sqlx::AnyPool;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

use super::bounded::Bounded;
use super::error::db_err;
use super::held::HeldConnection;
use super::tx::placeholders;
use crate::grouped::{Grouped, RunGroup, fan_out};

/// Most lookups in one group.
const LOOKUPS_PER_GROUP: usize = 256;

/// Most keys in one `IN (…)` list.
const KEYS_PER_SELECT: usize = 128;

pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// How one grouped lookup reads its table: `head` is the statement up to `IN (`.
pub(crate) struct Lookup<K, T> {
    pub head: &'static str,
    pub bind: for<'q> fn(AnyQuery<'q>, &K) -> AnyQuery<'q>,
    pub key_of: fn(&AnyRow) -> StoreResult<K>,
    pub parse: fn(&AnyRow) -> StoreResult<T>,
}

impl<K, T> Lookup<K, T>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    /// Lookups by key on `pool`, grouped: one SELECT … IN per group.
    pub(crate) fn grouped(&'static self, pool: AnyPool) -> Grouped<K, Option<T>> {
        let held = Arc::new(HeldConnection::new(pool));
        let idle = held.on_idle();
        let run: RunGroup<K, Option<T>> = Arc::new(move |keys: Vec<K>| {
            let held = held.clone();
            Box::pin(async move { self.run(&held, &keys).await })
        });
        Grouped::start(LOOKUPS_PER_GROUP, run, Some(idle))
    }

    /// The record of each key (None: no such row), reading each distinct key once. The list is
    /// padded to a power of two with its last key, so a connection prepares at most eight shapes.
    async fn run(&self, held: &HeldConnection, keys: &[K]) -> Vec<StoreResult<Option<T>>> {
        let mut lent = match held.take().await {
            Ok(lent) => lent,
            Err(e) => return fan_out(e, keys.len()),
        };
        let mut seen = HashSet::with_capacity(keys.len());
        let distinct: Vec<K> = keys.iter().filter(|k| seen.insert(*k)).cloned().collect();
        let mut found: HashMap<K, StoreResult<T>> = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(KEYS_PER_SELECT) {
            let width = chunk.len().next_power_of_two();
            let sql = format!("{}{})", self.head, placeholders(0, width));
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for i in 0..width {
                query = (self.bind)(query, &chunk[i.min(chunk.len() - 1)]);
            }
            let rows = match query.fetch_all(&mut *lent.conn).bounded().await.map_err(db_err) {
                Ok(rows) => rows,
                Err(e) => return fan_out(e, keys.len()),
            };
            for row in &rows {
                match (self.key_of)(row) {
                    Ok(key) => {
                        found.insert(key, (self.parse)(row));
                    }
                    Err(e) => return fan_out(e, keys.len()),
                }
            }
        }
        held.keep(lent);
        keys.iter()
            .map(|key| match found.get(key) {
                None => Ok(None),
                Some(Ok(record)) => Ok(Some(record.clone())),
                Some(Err(e)) => Err(StoreError::Corrupt(match e {
                    StoreError::Corrupt(why) => why.clone(),
                    other => other.to_string(),
                })),
            })
            .collect()
    }
}
