//! Logging to stderr (stdout is for command output and the `listening on` line): text or JSON,
//! filtered by the configured level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Loaded, LogFormat};

/// Installs the subscriber and reports the configuration warnings through it.
pub fn init(loaded: &Loaded) -> anyhow::Result<()> {
    let config = &loaded.config;
    let filter = EnvFilter::builder()
        .parse(config.log.as_str())
        .map_err(|e| anyhow::anyhow!("log filter `{}` is invalid ({e})", config.log.as_str()))?;
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let installed = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // Already installed (a test harness, say): keep the existing one.
    drop(installed);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(())
}
