//! Keygate's HTTP layer: the axum router, shared state, error responses, health and metrics.
//!
//! This crate speaks HTTP and knows the store traits of `keygate-core`; it never imports a
//! database or cache driver. The binary builds an [`AppState`] and serves [`router`].
//!
//! Layout (see the README's Layout section): [`http`] is the floor every handler stands on;
//! [`state`] holds the shared state and imports only the floor; the feature modules ([`api`],
//! [`pages`], [`oauth`], [`admin`], [`health`], [`metrics`]) import the floor and the state but
//! never each other; `routes.rs` is the one table of every path, method and handler, and
//! [`openapi`] the one list of the documented ones.

pub mod admin;
pub mod api;
pub mod health;
pub mod http;
mod layers;
#[cfg(test)]
mod layout_tests;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod pages;
mod routes;
mod security_headers;
pub mod state;

pub use http::error::{self, ApiError};
pub use http::metrics::Metrics;
pub use routes::router;
pub use state::{AppState, Services, WebConfig};
