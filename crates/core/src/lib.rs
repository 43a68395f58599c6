//! Keygate's domain: the records it keeps, the types that give them meaning and the store traits
//! every backend implements. No HTTP, no SQL, no Redis here.

pub mod accounts;
pub mod clock;
pub mod crypto;
pub mod digest;
pub mod email;
pub mod error;
pub mod ids;
pub mod jose;
pub mod mail;
pub mod model;
pub mod oauth;
pub mod operations;
pub mod paging;
pub mod password;
pub mod password_hash;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod secret_token;
pub mod store;
pub mod telemetry;
pub mod totp;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use digest::TokenDigest;
pub use email::Email;
pub use error::StoreError;
pub use scope::Scopes;
