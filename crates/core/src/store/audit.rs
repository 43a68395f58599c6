//! The audit log.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::model::{AuditEvent, AuditFilter};
use crate::paging::{Page, PageRequest};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events that accompany no other change (a failed login, an introspection).
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// Events matching the filter, newest first.
    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> StoreResult<Page<AuditEvent>>;
}
