//! The OAuth 2.1 / OpenID Connect endpoints: discovery, JWKS, authorize with consent, token,
//! introspection, revocation, userinfo and RP-initiated logout. The state they share (token
//! service, signing keys, discovery document) is [`crate::state::OAuthState`]; the routes are in
//! `routes.rs`.

pub mod authorize;
pub mod consent;
pub mod discovery;
mod form;
pub mod logout;
mod respond;
mod response;
pub mod schema;
pub mod token;
pub mod userinfo;

pub use crate::http::respond::{json_no_store, log_if_server_side, no_store};
pub use crate::state::{OAuthOptions, OAuthState};
pub use form::{Params, client_credentials};
pub use response::{BearerError, TokenEndpointError};
