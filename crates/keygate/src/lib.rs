//! The `keygate` binary's library: command line, configuration, logging and start-up wiring of
//! the web layer to a storage backend. `main.rs` only calls [`cli::main`].

pub mod admin_token_cmd;
pub mod app;
pub mod backup_cmd;
pub mod check_config;
pub mod cleanup;
pub mod cli;
pub mod client_cmd;
pub mod config;
pub mod copy_storage_cmd;
pub mod demo;
pub mod export_cmd;
pub mod import_cmd;
pub mod janitor;
pub mod keys_cmd;
pub mod logging;
pub mod mail;
pub mod migrate;
mod output;
pub mod progress;
pub mod runtime;
pub mod serve;
pub mod stats_cmd;
pub mod store;
pub mod telemetry;
pub mod transfer_support;
pub mod user_cmd;
