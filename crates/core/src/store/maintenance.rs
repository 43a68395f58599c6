//! Health, statistics and the janitor's purge of expired records.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::clock::Timestamp;
use crate::error::StoreResult;

/// How many records of each kind a purge deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub codes: u64,
    pub sessions: u64,
    pub email_tokens: u64,
    pub refresh_tokens: u64,
    pub access_tokens: u64,
    pub ephemeral: u64,
    pub audit_events: u64,
}

impl PurgeReport {
    pub fn total(&self) -> u64 {
        self.codes
            + self.sessions
            + self.email_tokens
            + self.refresh_tokens
            + self.access_tokens
            + self.ephemeral
            + self.audit_events
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub users: u64,
    pub clients: u64,
    pub live_sessions: u64,
    pub live_refresh_tokens: u64,
    /// Unexpired, unrevoked opaque access tokens (JWT access tokens are not stored).
    pub live_access_tokens: u64,
    /// Unexpired, unrevoked personal access tokens.
    pub live_personal_access_tokens: u64,
    /// Rows per table (SQL) or records per kind (memory), every record counted, live or not.
    pub rows: BTreeMap<String, u64>,
    /// Bytes the database takes on disk, when the backend can tell (SQLite file, PostgreSQL
    /// schema); None in memory.
    pub database_bytes: Option<u64>,
    /// Audit events the memory store dropped, oldest first, to stay under its cap (0 elsewhere).
    pub audit_events_dropped: u64,
}

#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Succeeds when the backend answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;
    async fn stats(&self, now: Timestamp) -> StoreResult<StoreStats>;
    /// Deletes at most `batch` expired records of each kind (expired before `now`) and audit
    /// events older than `audit_before`. Call repeatedly until the report's total is 0.
    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport>;
}
