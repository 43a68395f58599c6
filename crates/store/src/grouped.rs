//! Grouped round trips: concurrent requests of one kind (a client lookup, an access-token lookup,
//! an access-token insert on SQL; a cache read on Redis) share one statement or command, so a busy
//! instance pays one round trip per group instead of one per request, and the database parses,
//! plans and commits once per group. Profiles showed the round trips themselves (system calls,
//! wake-ups of both processes) as the largest cost of a request (BENCHMARKS.md).
//!
//! Each kind has a queue and a pump task. The pump takes everything queued (up to a limit) as one
//! group and runs it; while a group runs, the next requests gather, so groups grow with the load
//! by themselves. One group of a kind runs at a time, so the kinds together hold few of the pool's
//! connections (running two or four insert groups at once, to overlap their commits, measured no
//! better: the groups only got smaller). An idle instance sees groups of one: a lone request
//! waits for nothing but a channel hop.
//!
//! Nothing is weakened: a SQL insert is answered only once its group's statement has committed (a
//! multi-row INSERT is atomic, like the single-row one it replaces), and a lookup reads after
//! every write that was acknowledged before it was asked. Without a runtime to run the pump (or
//! once it has shut down) a request runs alone, as before grouping.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keygate_core::error::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

/// Requests waiting for a group; beyond this a request waits for room (backpressure).
const QUEUE: usize = 8_192;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Runs one group: one result per item, in order.
pub(crate) type RunGroup<I, O> = Arc<dyn Fn(Vec<I>) -> BoxFuture<Vec<StoreResult<O>>> + Send + Sync>;
/// Called when a group has run and nothing else is waiting (to give back what a busy pump keeps).
pub(crate) type OnIdle = Arc<dyn Fn() + Send + Sync>;
type Reply<O> = oneshot::Sender<StoreResult<O>>;

/// How many requests a kind of grouped round trip served, in how many groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub requests: u64,
    pub groups: u64,
}

impl std::ops::Add for GroupCounts {
    type Output = GroupCounts;

    fn add(self, other: GroupCounts) -> GroupCounts {
        GroupCounts {
            requests: self.requests + other.requests,
            groups: self.groups + other.groups,
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    groups: AtomicU64,
}

/// One kind of grouped round trip.
pub(crate) struct Grouped<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
    run: RunGroup<I, O>,
    counters: Arc<Counters>,
}

impl<I: Send + 'static, O: Send + 'static> Grouped<I, O> {
    /// Starts the pump on the current Tokio runtime (without one, every request runs alone).
    /// `max` is the largest group.
    pub(crate) fn start(max: usize, run: RunGroup<I, O>, on_idle: Option<OnIdle>) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(pump(rx, max, run.clone(), on_idle, counters.clone()));
        }
        Grouped { queue, run, counters }
    }

    /// Requests and groups so far (a request that ran alone counts as a group of one).
    pub(crate) fn counts(&self) -> GroupCounts {
        GroupCounts {
            requests: self.counters.requests.load(Ordering::Relaxed),
            groups: self.counters.groups.load(Ordering::Relaxed),
        }
    }

    /// Runs `item` with whatever else is queued, and answers its own result.
    pub(crate) async fn submit(&self, item: I) -> StoreResult<O> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((item, _))) = self.queue.send((item, reply)).await {
            self.counters.count(1);
            return alone(&self.run, item).await;
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the grouped statement was abandoned".into())))
    }
}

impl Counters {
    fn count(&self, requests: usize) {
        self.requests.fetch_add(requests as u64, Ordering::Relaxed);
        self.groups.fetch_add(1, Ordering::Relaxed);
    }
}

async fn alone<I, O>(run: &RunGroup<I, O>, item: I) -> StoreResult<O> {
    run(vec![item])
        .await
        .pop()
        .unwrap_or_else(|| Err(StoreError::Internal("a group of one answered nothing".into())))
}

/// Runs one group at a time until every sender is gone.
async fn pump<I: Send + 'static, O: Send + 'static>(
    mut rx: mpsc::Receiver<(I, Reply<O>)>,
    max: usize,
    run: RunGroup<I, O>,
    on_idle: Option<OnIdle>,
    counters: Arc<Counters>,
) {
    let mut group = Vec::with_capacity(max.min(64));
    while rx.recv_many(&mut group, max).await > 0 {
        counters.count(group.len());
        let (items, replies): (Vec<I>, Vec<Reply<O>>) = group.drain(..).unzip();
        let results = run(items).await;
        for (reply, result) in replies.into_iter().zip(results) {
            // The asker may have gone (its request was cancelled); the statement stands.
            let _ = reply.send(result);
        }
        if rx.is_empty()
            && let Some(idle) = &on_idle
        {
            idle();
        }
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
