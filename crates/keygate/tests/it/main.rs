//! The integration tests, one binary so the application is linked once: each module is one
//! suite (named as its file was when each suite was a binary of its own), `common`,
//! `oauth_support` and `fleet_support` are the harness they share. Run one suite with `cargo test --test it NAME::`. (`db_black_hole` and `db_request_timeout` stay
//! binaries of their own: each sets the per-process query timeout.)

#[macro_use]
mod common;
mod fleet_support;
mod oauth_support;
mod transfer_support;

mod accounts_abuse;
mod accounts_auth;
mod accounts_cli;
mod accounts_data;
mod accounts_mfa;
mod accounts_reset;
mod admin_console;
mod admin_users;
mod browser;
mod cli;
mod contrib_systemd;
mod edge_accounts;
mod edge_config;
mod edge_oauth;
mod edge_pages;
mod fleet;
mod http;
mod janitor;
mod mail;
mod metrics_scrape;
mod near_cache_faults;
mod oauth_admin;
mod oauth_authorize;
mod oauth_endpoints;
mod oauth_rp;
mod oauth_tokens;
mod openapi;
mod pages;
mod pages_flow;
mod readme_commands;
mod redis_instances;
mod redis_sentinel;
mod serve_demo;
mod transfer;
mod transfer_backup;
mod transfer_safety;
