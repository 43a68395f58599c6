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
use tokio::sync::mpsc;

use keygate_web::error::cause_chain;

/// Requests wait for room once this many events are queued.
const QUEUE_CAPACITY: usize = 20_000;
/// Most events written in one call.
const MAX_BATCH: usize = 1_000;

pub struct BatchingAuditSink {
    tx: mpsc::Sender<AuditEvent>,
}

impl BatchingAuditSink {
    /// Starts the writer task (call within a Tokio runtime).
    pub fn start(store: Arc<dyn AuditStore>) -> Self {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE_CAPACITY);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                if let Err(err) = store.append_audit(&batch).await {
                    tracing::error!(error = %cause_chain(&err), events = batch.len(), "could not write audit events");
                }
                batch.clear();
            }
        });
        BatchingAuditSink { tx }
    }
}

#[async_trait::async_trait]
impl AuditSink for BatchingAuditSink {
    async fn record(&self, events: Vec<AuditEvent>) {
        for event in events {
            if self.tx.send(event).await.is_err() {
                metrics::counter!(crate::telemetry::AUDIT_DROPPED).increment(1);
                tracing::warn!("the audit writer has stopped: an audit event was dropped");
            }
        }
    }
}
