//! The application's routes and the middleware around them.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;
use crate::{health, layers, metrics};

/// The whole HTTP application for one server instance.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let routes = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::endpoint))
        .merge(crate::oauth::routes(state.clone()))
        .merge(crate::admin::routes(state.clone()))
        .merge(crate::pages::routes(state.clone()))
        .merge(crate::api::routes(state.clone()))
        .layer(axum::middleware::from_fn(crate::limits::refuse_control_forms))
        .layer(axum::middleware::from_fn(crate::limits::refuse_control_urls))
        .with_state(state);
    layers::apply(routes, &config)
}
