//! The records Keygate keeps. Plain data: the rules that act on them live beside the store traits
//! and in the protocol modules.

pub mod audit;
pub mod client;
pub mod code;
pub mod consent;
pub mod credential;
pub mod email_token;
pub mod pat;
pub mod role;
pub mod secret;
pub mod session;
pub mod signing_key;
pub mod token;
pub mod user;

pub use audit::{AuditAction, AuditEvent, AuditFilter, Outcome};
pub use client::{AuthMethod, Client, GrantType, TokenFormat};
pub use code::{AuthorizationCode, CodeRedemption};
pub use consent::Consent;
pub use credential::{RecoveryCode, TotpCredential};
pub use email_token::{EmailToken, EmailTokenKind};
pub use pat::PersonalAccessToken;
pub use role::{InvalidRole, Role, Roles};
pub use secret::{EncryptedBlob, PasswordHash};
pub use session::Session;
pub use signing_key::{KeyState, SigningAlg, SigningKey};
pub use token::{AccessToken, RefreshRotation, RefreshToken, TokenFamily};
pub use user::User;
