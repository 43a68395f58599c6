//! OAuth 2.1 and OpenID Connect: client registration rules, client authentication, the
//! authorization request check, and the token service (codes, refresh rotation, client
//! credentials, JWT and opaque access tokens, ID tokens, introspection, revocation, userinfo).
//! No HTTP here: the web layer parses requests into these types and renders their answers.

mod audit;
mod authorize;
mod client_admin;
mod client_auth;
mod code;
mod consent;
mod discovery;
mod error;
mod flow;
mod grants;
mod introspect;
mod keys;
mod logout;
mod mint;
mod refresh;
mod registration;
mod settings;
mod userinfo;

use std::sync::Arc;

pub use audit::{AuditSink, MemorySink, RequestMeta, issue_details, token_event};
pub use authorize::{AuthorizeParams, AuthorizeRejection, AuthorizeRequest, Prompt, ResponseMode, check_request};
pub use client_admin::{create_client, delete_client, rotate_secret, unknown_client, update_client};
pub use client_auth::{ClientCredentials, authenticate};
pub use code::{CodeGrant, issues_refresh_token};
pub use discovery::{CLAIMS_SUPPORTED, discovery_document};
pub use error::{ErrorCode, OAuthError, OAuthResult};
pub use flow::{AuthorizeOutcome, ClientReply, ConsentPrompt};
pub use grants::{TokenRequest, narrow_scope};
pub use introspect::{Introspection, LiveKind, LiveToken};
pub use keys::{KeyError, KeyManager, KeyRing, LoadedKeys};
pub use logout::{LogoutCheck, LogoutRefusal};
pub use mint::{TokenResponse, user_claims};
pub use registration::{ClientMetadata, ClientView, DEFAULT_CLIENT_SCOPE, apply_metadata, new_client};
pub use settings::OAuthSettings;

use crate::clock::Clock;
use crate::store::Stores;

/// Issues, checks and revokes tokens. One per server, shared by every request.
pub struct TokenService {
    stores: Stores,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyRing>,
    settings: OAuthSettings,
    audit: Arc<dyn AuditSink>,
}

impl TokenService {
    pub fn new(
        stores: Stores,
        clock: Arc<dyn Clock>,
        keys: Arc<KeyRing>,
        settings: OAuthSettings,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        TokenService {
            stores,
            clock,
            keys,
            settings,
            audit,
        }
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn audit_sink(&self) -> &Arc<dyn AuditSink> {
        &self.audit
    }
}
