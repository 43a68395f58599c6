//! The services that run beside the HTTP server without speaking HTTP, started by the wiring
//! ([`crate::app::build_state`]): the bounded Argon2 pool, the audit batcher, the background
//! mail worker, and the OAuth provider's start with its key upkeep. The web layer only sees them
//! through core's traits (`PasswordHasher`, `AuditSink`, `Mailer`) and its `OAuthState`.

pub mod audit_sink;
pub mod background_mail;
pub mod hashing;
pub mod oauth;
