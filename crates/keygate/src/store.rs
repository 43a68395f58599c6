//! Opens the durable store named by the configuration.

use keygate_core::StoreError;
use keygate_store::{Backend, SqlOptions};

use crate::config::Config;

/// Connects to `database_url`; the error names the (redacted) URL and the cause.
pub async fn open(config: &Config) -> anyhow::Result<Backend> {
    let options = SqlOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout(),
        busy_timeout: config.database.busy_timeout(),
    };
    Backend::connect(config.database_url.expose(), &options)
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot open the database {} ({})",
                config.database_url.redacted(),
                chain(&err)
            )
        })
}

/// An error with its causes on one line.
pub fn chain(err: &StoreError) -> String {
    keygate_web::error::cause_chain(err)
}
