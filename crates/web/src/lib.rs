//! Keygate's HTTP layer: the axum router, shared state, error responses, health and metrics.
//!
//! This crate speaks HTTP and knows the store traits of `keygate-core`; it never imports a
//! database or cache driver. The binary builds an [`AppState`] and serves [`router`].

pub mod admin;
pub mod api;
pub mod authorization;
pub mod csrf;
pub mod error;
pub mod hashing;
pub mod health;
mod layers;
pub mod limits;
pub mod metrics;
pub mod oauth;
pub mod pages;
mod router;
mod security_headers;
pub mod state;

pub use error::ApiError;
pub use metrics::Metrics;
pub use router::router;
pub use state::{AppState, Services, WebConfig};
