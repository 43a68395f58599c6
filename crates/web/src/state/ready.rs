//! The backends besides the database that `/health/ready` asks (Redis, say), so the web layer
//! need not know their client libraries.

use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::error::StoreResult;

/// A backend besides the database that `/health/ready` asks (Redis, say), so the web layer need
/// not know its client library.
#[async_trait]
pub trait ReadinessProbe: Send + Sync {
    /// `Ok` when the backend answers; its error otherwise.
    async fn ping(&self) -> StoreResult<()>;
}

/// One more component of `/health/ready`: its name, whether the server can serve without it, and
/// how to ask it.
#[derive(Clone)]
pub struct ReadyCheck {
    pub name: &'static str,
    pub required: bool,
    pub probe: Arc<dyn ReadinessProbe>,
}
