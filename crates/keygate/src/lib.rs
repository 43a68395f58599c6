//! The `keygate` binary's library: command line, configuration, logging and start-up wiring of
//! the web layer to a storage backend. `main.rs` only calls [`cli::main`].

pub mod admin_token_cmd;
pub mod app;
pub mod check_config;
pub mod cleanup;
pub mod cli;
pub mod client_cmd;
pub mod config;
pub mod demo;
pub mod janitor;
pub mod keys_cmd;
pub mod logging;
pub mod mail;
pub mod migrate;
mod output;
pub mod runtime;
pub mod serve;
pub mod store;
pub mod user_cmd;
