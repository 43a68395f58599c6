//! The `keygate` binary's library: command line, configuration, logging and start-up wiring of
//! the web layer to a storage backend. `main.rs` only calls [`cli::main`].

pub mod check_config;
pub mod cli;
pub mod config;
pub mod logging;
pub mod migrate;
mod output;
pub mod serve;
pub mod store;
