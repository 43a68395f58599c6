//! The batching audit writer: token events that have no store write of their own (a
//! `client_credentials` JWT, an introspection) are queued and written by one task, as many per
//! `append_audit` call as have arrived, so a busy endpoint costs few audit writes.
//!
//! Durability: an event is on disk once its batch is written, normally within a millisecond or
//! two. `serve` flushes the queue before it closes the store; events still queued when the
//! process dies are lost, and so is a batch the store refused (logged). While the queue is full,
//! requests wait for room: a burst is slowed to the rate the audit log can take, never recorded
//! in part. Only once the writer has stopped are events dropped (counted in
//! `keygate_audit_events_dropped_total`). Events that accompany a change (code redemption,
//! refresh, revocation) do not come here: they are written in that change's transaction.

use std::sync::Arc;

use keygate_core::model::AuditEvent;
use keygate_core::oauth::AuditSink;
use keygate_core::store::AuditStore;
use tokio::sync::{mpsc, oneshot};

use keygate_web::error::cause_chain;

/// Requests wait for room once this many events are queued.
const QUEUE_CAPACITY: usize = 20_000;
/// Most events written in one call.
const MAX_BATCH: usize = 1_000;

pub struct BatchingAuditSink {
    tx: mpsc::Sender<Queued>,
}

/// What the writer takes from its queue, in order.
enum Queued {
    Event(AuditEvent),
    /// Answered once every event queued before it has been written (or refused by the store).
    Flush(oneshot::Sender<()>),
}

impl BatchingAuditSink {
    /// Starts the writer task (call within a Tokio runtime).
    pub fn start(store: Arc<dyn AuditStore>) -> Self {
        Self::with_capacity(store, QUEUE_CAPACITY)
    }

    fn with_capacity(store: Arc<dyn AuditStore>, capacity: usize) -> Self {
        let (tx, mut rx) = mpsc::channel::<Queued>(capacity);
        tokio::spawn(async move {
            let mut taken = Vec::with_capacity(MAX_BATCH);
            let mut events = Vec::with_capacity(MAX_BATCH);
            let mut flushes = Vec::new();
            while rx.recv_many(&mut taken, MAX_BATCH).await > 0 {
                for item in taken.drain(..) {
                    match item {
                        Queued::Event(event) => events.push(event),
                        Queued::Flush(done) => flushes.push(done),
                    }
                }
                if !events.is_empty()
                    && let Err(err) = store.append_audit(&events).await
                {
                    tracing::error!(error = %cause_chain(&err), events = events.len(), "could not write audit events");
                }
                events.clear();
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        BatchingAuditSink { tx }
    }
}

#[async_trait::async_trait]
impl AuditSink for BatchingAuditSink {
    async fn record(&self, events: Vec<AuditEvent>) {
        for event in events {
            if self.tx.send(Queued::Event(event)).await.is_err() {
                metrics::counter!(crate::telemetry::AUDIT_DROPPED).increment(1);
                tracing::warn!("the audit writer has stopped: an audit event was dropped");
            }
        }
    }

    async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Queued::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use keygate_core::Timestamp;
    use keygate_core::error::StoreResult;
    use keygate_core::model::{AuditAction, AuditFilter, Outcome};
    use keygate_core::paging::{Page, PageRequest};
    use tokio::sync::Semaphore;

    use super::*;

    /// Keeps what it is given, one `append_audit` per permit the test hands out.
    struct GatedStore {
        gate: Semaphore,
        written: Mutex<Vec<AuditEvent>>,
    }

    #[async_trait::async_trait]
    impl AuditStore for GatedStore {
        async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
            self.gate.acquire().await.expect("gate open").forget();
            self.written.lock().unwrap().extend_from_slice(events);
            Ok(())
        }

        async fn list_audit(&self, _: &AuditFilter, _: &PageRequest) -> StoreResult<Page<AuditEvent>> {
            unreachable!("the sink only writes")
        }
    }

    fn event() -> AuditEvent {
        let at = Timestamp::from_unix_seconds(1_735_689_600);
        AuditEvent::new(AuditAction::TokenIntrospected, "client:c", Outcome::Success, at)
    }

    #[tokio::test]
    async fn a_full_queue_makes_requests_wait_and_loses_nothing() {
        let store = Arc::new(GatedStore {
            gate: Semaphore::new(0),
            written: Mutex::new(Vec::new()),
        });
        let sink = Arc::new(BatchingAuditSink::with_capacity(store.clone(), 4));
        // The writer takes the first events and then waits at the gate; four more fill the queue.
        let mut recorded = 0;
        let mut waiting = None;
        for _ in 0..20 {
            let sink = sink.clone();
            let mut request = tokio::spawn(async move { sink.record(vec![event()]).await });
            if tokio::time::timeout(Duration::from_millis(50), &mut request)
                .await
                .is_err()
            {
                waiting = Some(request);
                break;
            }
            recorded += 1;
        }
        let waiting = waiting.expect("a request waits once the queue is full");
        assert!(!waiting.is_finished());
        store.gate.add_permits(100);
        waiting.await.unwrap();
        sink.flush().await;
        assert_eq!(store.written.lock().unwrap().len(), recorded + 1, "every event written");
    }
}
