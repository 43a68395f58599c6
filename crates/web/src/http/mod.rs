//! The floor of the web layer: what every handler shares, whatever feature it belongs to. It
//! imports nothing from the rest of this crate (only core and the HTTP libraries), so every
//! feature module can stand on it without standing on another feature.
//!
//! - [`client`]: who is calling (IP behind trusted proxies, user agent) as [`ClientMeta`];
//! - [`cookies`]: the one cookie codec (names, `__Host-` and `Secure` over https, attributes);
//! - [`session`]: the session cookie, the account service behind it and the
//!   [`CurrentSession`]/[`Caller`] extractors;
//! - [`csrf`]: the form CSRF layer; [`html`]: templates and the shared page fields;
//! - [`problem`] and [`error`]: the one RFC 9457 problem type and the 500/503 answers;
//! - [`respond`]: `no_store`, `see_other` and other small answers; [`authorization`]: the
//!   `Authorization` header; [`limits`]: input length and control-character rules;
//! - [`metrics`]: the recorder and the request counter.

pub mod authorization;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod html;
pub mod limits;
pub mod metrics;
pub mod problem;
pub mod respond;
pub mod session;

pub use client::{ClientMeta, InvalidProxy, TrustedProxies};
pub use problem::{AccountFailure, PROBLEM_BASE, Problem, problem_for};
pub use respond::{json_no_store, log_if_server_side, no_store, see_other};
pub use session::{
    AccountsApi, Caller, CurrentSession, clear_session_cookie, find_session, session_cookie, set_session_cookie,
};
