//! The batching audit writer: token events that have no store write of their own (a
//! `client_credentials` JWT, an introspection) are queued and written by one task, as many per
//! `append_audit` call as have arrived, so auditing never caps the token endpoint's throughput.
//!
//! Durability: an event is on disk once its batch is written, normally within a millisecond or
//! two. Events still queued when the process dies are lost, and so is a batch the store refused
//! (logged). While the queue is full, requests wait for room: a burst is slowed down to the rate
//! the audit log can take, never recorded in part. Only after the writer has stopped (shutdown)
//! are events dropped (counted in `keygate_audit_events_dropped_total`). Events that accompany a change (code redemption, refresh,
//! revocation) do not come here: they are written in that change's transaction.

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
        let (tx, mut rx) = mpsc::channel::<Queued>(QUEUE_CAPACITY);
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
