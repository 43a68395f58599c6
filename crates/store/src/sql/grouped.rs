//! Grouped statements: concurrent requests of one kind (a client lookup, an access-token lookup, an
//! access-token insert) share one statement, so a busy instance pays one database round trip per
//! group instead of one per request, and the database parses, plans and commits once per group.
//!
//! Each kind has a queue and a pump task. The pump takes everything queued (up to a limit) as one
//! group and runs it on a pooled connection; while a group runs, the next requests gather. At most
//! `IN_FLIGHT` groups of a kind run at once, so the kinds together never hold the whole pool. An
//! idle instance sees groups of one: a lone request waits for nothing but a channel hop.
//!
//! Nothing is weakened: an insert is answered only once its group's statement has committed (a
//! multi-row INSERT is atomic, like the single-row one it replaces), and a lookup reads after
//! every write that was acknowledged before it was asked. When the pump is gone (its runtime shut
//! down) a request runs alone, as before grouping.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use keygate_core::error::{StoreError, StoreResult};
use sqlx::AnyPool;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::bounded::Bounded;
use super::error::db_err;
use super::tx::placeholders;

/// Groups of one kind running at once.
const IN_FLIGHT: usize = 1;
/// Requests waiting for a group; beyond this a request waits for room (backpressure).
const QUEUE: usize = 8_192;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Runs one group: one result per item, in order.
pub(crate) type RunGroup<I, O> = Arc<dyn Fn(AnyPool, Vec<I>) -> BoxFuture<Vec<StoreResult<O>>> + Send + Sync>;
type Reply<O> = oneshot::Sender<StoreResult<O>>;

/// One kind of grouped statement.
pub(crate) struct Grouped<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
    pool: AnyPool,
    run: RunGroup<I, O>,
}

impl<I: Send + 'static, O: Send + 'static> Grouped<I, O> {
    /// Starts the pump (call within a Tokio runtime). `max` is the largest group.
    pub(crate) fn start(pool: AnyPool, max: usize, run: RunGroup<I, O>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(pump(rx, pool.clone(), max, run.clone()));
        Grouped { queue, pool, run }
    }

    /// Runs `item` with whatever else is queued, and answers its own result.
    pub(crate) async fn submit(&self, item: I) -> StoreResult<O> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((item, _))) = self.queue.send((item, reply)).await {
            return alone(&self.run, &self.pool, item).await;
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the grouped statement was abandoned".into())))
    }
}

async fn alone<I, O>(run: &RunGroup<I, O>, pool: &AnyPool, item: I) -> StoreResult<O> {
    run(pool.clone(), vec![item])
        .await
        .pop()
        .unwrap_or_else(|| Err(StoreError::Internal("a group of one answered nothing".into())))
}

async fn pump<I: Send + 'static, O: Send + 'static>(
    mut rx: mpsc::Receiver<(I, Reply<O>)>,
    pool: AnyPool,
    max: usize,
    run: RunGroup<I, O>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut group = Vec::with_capacity(max.min(64));
        if rx.recv_many(&mut group, max).await == 0 {
            return;
        }
        let (items, replies): (Vec<I>, Vec<Reply<O>>) = group.into_iter().unzip();
        let (run, pool) = (run.clone(), pool.clone());
        tokio::spawn(async move {
            let results = run(pool, items).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // The asker may have gone (its request was cancelled); the statement stands.
                let _ = reply.send(result);
            }
            drop(slot);
        });
    }
}

/// The same error for every member of a group whose statement failed (an outage, a timeout).
pub(crate) fn fan_out<T>(err: StoreError, n: usize) -> Vec<StoreResult<T>> {
    let shared = Arc::new(err);
    (0..n).map(|_| Err(share(&shared))).collect()
}

fn share(err: &Arc<StoreError>) -> StoreError {
    match err.as_ref() {
        StoreError::Conflict(field) => StoreError::Conflict(field),
        StoreError::NotFound(what) => StoreError::NotFound(what),
        StoreError::Corrupt(why) => StoreError::Corrupt(why.clone()),
        StoreError::Unavailable(_) => StoreError::Unavailable(Box::new(SharedError(err.clone()))),
        StoreError::Internal(_) => StoreError::Internal(Box::new(SharedError(err.clone()))),
    }
}

/// One group's failure, reported to each member with its cause chain intact.
#[derive(Debug)]
struct SharedError(Arc<StoreError>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::error::Error::source(self.0.as_ref()) {
            Some(cause) => std::fmt::Display::fmt(cause, f),
            None => std::fmt::Display::fmt(&self.0, f),
        }
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref()).and_then(std::error::Error::source)
    }
}

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
    T: Clone + Send + 'static,
{
    /// The record of each key (None: no such row), reading each distinct key once. The list is
    /// padded to a power of two with its last key, so a connection prepares at most eight shapes.
    pub(crate) async fn run(&self, pool: &AnyPool, keys: &[K]) -> Vec<StoreResult<Option<T>>> {
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
            let rows = match query.fetch_all(pool).bounded().await.map_err(db_err) {
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
