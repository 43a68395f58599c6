//! The state every handler shares: stores, clock, metrics and the part of the configuration the web
//! layer needs.

use std::sync::Arc;
use std::time::Duration;

use keygate_core::Clock;
use keygate_core::store::Stores;

use crate::metrics::Metrics;

/// Settings of the HTTP layer, taken from the server's configuration at start-up.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The issuer exactly as configured (no trailing slash). An `https` issuer also turns on HSTS.
    pub issuer: String,
    /// A request that takes longer is answered with 503.
    pub request_timeout: Duration,
    /// Requests with a larger body are answered with 413 before a handler reads them.
    pub body_limit_bytes: usize,
    /// How long `/health/ready` waits for a component before it counts it as down.
    pub ready_timeout: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            issuer: "http://127.0.0.1:8080".to_owned(),
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            ready_timeout: Duration::from_secs(2),
        }
    }
}

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<WebConfig>,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, config: WebConfig, metrics: Metrics) -> Self {
        AppState {
            stores,
            clock,
            config: Arc::new(config),
            metrics,
        }
    }
}
