//! The in-memory backend: the reference implementation of every store trait.
//!
//! All state sits behind one mutex, so a mutation together with its audit events is applied
//! all-or-nothing, exactly like a transaction in the SQL backend. Every method checks first and
//! writes afterwards, so an error leaves the state untouched. The lock is never held across an
//! `.await`.

mod accounts;
mod clients;
mod ephemeral;
mod keys_audit;
mod sessions;
mod state;
mod tokens;

use std::sync::{Mutex, MutexGuard};

use keygate_core::error::{StoreError, StoreResult};

use state::State;

/// Audit events the memory store keeps unless told otherwise (`audit.memory_max_events`).
pub const DEFAULT_AUDIT_CAP: usize = 100_000;

/// Keeps every record in process memory; lost on restart. For tests and single-process trials.
pub struct MemoryStore {
    state: Mutex<State>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_audit_cap(DEFAULT_AUDIT_CAP)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// A store keeping at most `max_events` audit events (at least 1): beyond that the oldest
    /// are dropped and counted (`StoreStats::audit_events_dropped`), so a long run on the memory
    /// backend cannot grow without bound.
    pub fn with_audit_cap(max_events: usize) -> Self {
        let state = State {
            audit_cap: max_events.max(1),
            ..State::default()
        };
        MemoryStore {
            state: Mutex::new(state),
        }
    }

    /// Changes the cap of [`MemoryStore::with_audit_cap`]; events beyond it go at the next write.
    pub fn set_audit_cap(&self, max_events: usize) {
        if let Ok(mut st) = self.state.lock() {
            st.audit_cap = max_events.max(1);
        }
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        // A poisoned lock means a panic mid-mutation: refuse rather than serve half-applied state.
        self.state
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned by an earlier panic".into()))
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::Timestamp;
    use keygate_core::model::{AuditAction, AuditEvent, Outcome};
    use keygate_core::store::{AuditStore, MaintenanceStore};

    use super::MemoryStore;

    #[tokio::test]
    async fn the_audit_log_keeps_the_newest_events_up_to_its_cap_and_counts_the_dropped() {
        let store = MemoryStore::with_audit_cap(3);
        let events: Vec<AuditEvent> = (0..5)
            .map(|i| {
                AuditEvent::new(
                    AuditAction::UserRegistered,
                    "test",
                    Outcome::Success,
                    Timestamp::from_millis(i),
                )
            })
            .collect();
        for e in &events {
            store.append_audit(std::slice::from_ref(e)).await.unwrap();
        }
        let stats = store.stats(Timestamp::from_millis(10)).await.unwrap();
        assert_eq!(stats.rows["audit_events"], 3);
        assert_eq!(stats.audit_events_dropped, 2);
        let st = store.lock().unwrap();
        assert!(
            !st.audit.contains_key(&events[0].id),
            "the oldest events are the ones dropped"
        );
        assert!(!st.audit.contains_key(&events[1].id));
        assert!(st.audit.contains_key(&events[4].id));
    }
}
