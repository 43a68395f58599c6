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

/// Keeps every record in process memory; lost on restart. For tests and single-process trials.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
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
