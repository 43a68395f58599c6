//! The bounded Argon2 pool: at most `max_concurrent` hashes run at once (each on a blocking
//! thread that reuses its 19 MiB block), at most `max_waiting` requests wait for a slot, and none
//! waits longer than `wait_timeout`. Beyond that the caller gets [`HashError::Busy`] (a 503), so a
//! login flood costs bounded memory and bounded latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keygate_core::accounts::{HashError, PasswordHasher};
use keygate_core::model::PasswordHash;
use keygate_core::password_hash;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

/// Requests waiting for a hashing slot right now (a gauge).
pub const HASH_QUEUE_DEPTH: &str = "keygate_password_hash_queue_depth";
/// `max_waiting` and `max_concurrent` (gauges).
pub const HASH_QUEUE_CAPACITY: &str = "keygate_password_hash_queue_capacity";
pub const HASH_SLOTS: &str = "keygate_password_hash_slots";
/// How long each hash waited for its slot (zero when one was free), in seconds.
pub const HASH_WAIT: &str = "keygate_password_hash_wait_seconds";
/// How long each hash took on its thread, in seconds.
pub const HASH_DURATION: &str = "keygate_password_hash_duration_seconds";
/// Hashes refused because the queue was full or the wait too long (`reason`).
pub const HASH_REFUSED: &str = "keygate_password_hash_refused_total";

/// Limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes running at once (default: the number of cores).
    pub max_concurrent: usize,
    /// Requests waiting for a slot; one more is refused at once.
    pub max_waiting: usize,
    /// The longest a request waits for a slot before it is refused.
    pub wait_timeout: Duration,
}

impl Default for HashingLimits {
    fn default() -> Self {
        HashingLimits {
            max_concurrent: default_concurrency(),
            max_waiting: 256,
            wait_timeout: Duration::from_secs(5),
        }
    }
}

/// The number of cores this process may use (1 if unknown).
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Argon2id on a bounded set of blocking threads.
pub struct HashingPool {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: HashingLimits,
}

impl HashingPool {
    /// Builds the pool and computes the dummy hash once, so the first unknown email costs no more
    /// than any other. Call from within a Tokio runtime.
    pub async fn new(limits: HashingLimits) -> Self {
        let limits = HashingLimits {
            max_concurrent: limits.max_concurrent.max(1),
            ..limits
        };
        if tokio::task::spawn_blocking(password_hash::warm_up).await.is_err() {
            tracing::error!("computing the dummy password hash failed");
        }
        // The limits, so that alerts can compare the queue with its capacity.
        metrics::gauge!(HASH_QUEUE_CAPACITY).set(limits.max_waiting as f64);
        metrics::gauge!(HASH_SLOTS).set(limits.max_concurrent as f64);
        HashingPool {
            slots: Arc::new(Semaphore::new(limits.max_concurrent)),
            waiting: AtomicUsize::new(0),
            limits,
        }
    }

    pub fn limits(&self) -> HashingLimits {
        self.limits
    }

    /// A hashing slot, waiting in the queue if none is free. Records the wait (zero when a slot
    /// was free) and keeps the queue-depth gauge in step with the queue.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, HashError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            metrics::histogram!(HASH_WAIT).record(0.0);
            return Ok(permit);
        }
        let started = Instant::now();
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _leave = LeaveQueue(&self.waiting);
        if queued >= self.limits.max_waiting {
            metrics::counter!(HASH_REFUSED, "reason" => "queue_full").increment(1);
            return Err(HashError::Busy);
        }
        let _shown = ShownWaiting::enter();
        match tokio::time::timeout(self.limits.wait_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => {
                metrics::histogram!(HASH_WAIT).record(started.elapsed().as_secs_f64());
                Ok(permit)
            }
            Ok(Err(_closed)) => Err(HashError::Busy),
            Err(_elapsed) => {
                metrics::counter!(HASH_REFUSED, "reason" => "timeout").increment(1);
                Err(HashError::Busy)
            }
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let permit = self.slot().await?;
        let result = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let out = work();
            drop(permit);
            metrics::histogram!(HASH_DURATION).record(started.elapsed().as_secs_f64());
            out
        })
        .await;
        result.map_err(|_| {
            HashError::Hash(password_hash::PasswordHashError::Internal(
                "the hashing thread panicked".to_owned(),
            ))
        })
    }
}

/// Leaves the wait queue when the waiting request gets its slot, times out or is dropped.
struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One request admitted to the queue, in the queue-depth gauge for as long as it waits (a request
/// refused at once never shows, so the gauge stays within `max_waiting`).
struct ShownWaiting;

impl ShownWaiting {
    fn enter() -> Self {
        metrics::gauge!(HASH_QUEUE_DEPTH).increment(1.0);
        ShownWaiting
    }
}

impl Drop for ShownWaiting {
    fn drop(&mut self) {
        metrics::gauge!(HASH_QUEUE_DEPTH).decrement(1.0);
    }
}

#[async_trait]
impl PasswordHasher for HashingPool {
    async fn hash(&self, password: Zeroizing<String>) -> Result<PasswordHash, HashError> {
        Ok(self.run(move || password_hash::hash(&password)).await??)
    }

    async fn verify(&self, password: Zeroizing<String>, stored: PasswordHash) -> Result<bool, HashError> {
        Ok(self.run(move || password_hash::verify(&password, &stored)).await??)
    }

    async fn dummy_verify(&self, password: Zeroizing<String>) -> Result<bool, HashError> {
        self.run(move || password_hash::dummy_verify(&password)).await
    }
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once_and_the_rest_complete() {
        let pool = Arc::new(
            HashingPool::new(HashingLimits {
                max_concurrent: 1,
                max_waiting: 2,
                wait_timeout: Duration::from_secs(30),
            })
            .await,
        );
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.dummy_verify(Zeroizing::new("guess".to_owned())).await
            }));
        }
        let mut busy = 0;
        let mut done = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(false) => done += 1,
                Err(HashError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(busy >= 1, "some requests must be refused");
        assert!(done >= 3, "one running and two waiting must complete, got {done}");
    }

    #[tokio::test]
    async fn a_hash_verifies() {
        let pool = HashingPool::new(HashingLimits::default()).await;
        let hash = pool.hash(Zeroizing::new("correct horse".to_owned())).await.unwrap();
        assert!(
            pool.verify(Zeroizing::new("correct horse".to_owned()), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(Zeroizing::new("wrong horse".to_owned()), hash)
                .await
                .unwrap()
        );
    }
}
