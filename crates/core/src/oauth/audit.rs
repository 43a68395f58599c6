//! Token audit: who asked, for which client and user, with which grant and token id (never the
//! token), from which IP.
//!
//! Events that accompany a store write (a code redemption, a refresh, a revocation) go into that
//! write's transaction. Events with no write of their own (a `client_credentials` JWT, an
//! introspection) go to an [`AuditSink`], which batches them into few writes; what a batching
//! sink holds is lost if the process dies before it flushes (at most one batch's worth). When
//! the sink falls behind, requests wait for room in its queue instead of losing events.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::model::{AuditAction, AuditEvent, Client, Outcome};

/// Takes events that need a write of their own. `record` never fails the request; it waits
/// while the sink's queue is full (so a burst cannot outrun the audit log).
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(&self, events: Vec<AuditEvent>);

    /// Returns once every event recorded before the call is written (at shutdown, before the
    /// store closes).
    async fn flush(&self) {}
}

/// Where a request came from: the account service's type, shared so both log alike.
pub use crate::accounts::RequestMeta;

/// A token event for `client`, acted by the client, with `details` (grant, token id, …).
pub fn token_event(
    action: AuditAction,
    client: &Client,
    user: Option<crate::ids::UserId>,
    meta: &RequestMeta,
    now: Timestamp,
    details: Value,
) -> AuditEvent {
    let mut event = AuditEvent::new(action, format!("client:{}", client.id), Outcome::Success, now)
        .client(client.id.clone())
        .from_request(meta.ip.clone(), meta.user_agent.clone())
        .details(details);
    event.user_id = user;
    event
}

/// The details of a token issuance: grant, jti, family, scope.
pub fn issue_details(grant: &str, jti: &str, family: Option<&str>, scope: &str) -> Value {
    json!({ "grant_type": grant, "jti": jti, "family_id": family, "scope": scope })
}

/// A sink that keeps events in memory (tests, and tools with nothing to flush to).
#[derive(Debug, Default)]
pub struct MemorySink(pub std::sync::Mutex<Vec<AuditEvent>>);

#[async_trait::async_trait]
impl AuditSink for MemorySink {
    async fn record(&self, events: Vec<AuditEvent>) {
        if let Ok(mut held) = self.0.lock() {
            held.extend(events);
        }
    }
}
