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

pub mod account_error;
pub mod authorization;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod csrf_token;
pub mod error;
pub mod html;
pub mod limits;
pub mod metrics;
pub mod problem;
pub mod proxies;
pub mod respond;
pub mod session;

pub use account_error::{AccountFailure, problem_for};
pub use client::ClientMeta;
pub use problem::{PROBLEM_BASE, Problem};
pub use proxies::{InvalidProxy, TrustedProxies};
pub use respond::{json_no_store, log_if_server_side, no_store, see_other};
pub use session::{
    AccountsApi, Caller, CurrentSession, clear_session_cookie, find_session, session_cookie, set_session_cookie,
};
