//! What the OAuth endpoints and the admin API share: the token service, the signing keys and the
//! discovery document. Started (keys, audit batcher, key upkeep) by the binary's wiring.

use std::time::Duration;

use axum::body::Bytes;
use keygate_core::oauth::{KeyManager, OAuthSettings, TokenService, discovery_document};

/// The OAuth provider: token service, signing keys, discovery document.
pub struct OAuthState {
    pub tokens: TokenService,
    pub keys: KeyManager,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
}

impl OAuthState {
    /// `scopes`: the scopes published in discovery.
    pub fn new(tokens: TokenService, keys: KeyManager, scopes: &[String]) -> Self {
        let discovery = Bytes::from(discovery_document(tokens.settings(), scopes).to_string());
        OAuthState {
            tokens,
            keys,
            discovery,
        }
    }
}

/// OAuth settings from the server's configuration.
#[derive(Clone, Debug)]
pub struct OAuthOptions {
    pub settings: OAuthSettings,
    /// Scopes published in discovery (the standard ones plus any the operator defines).
    pub scopes: Vec<String>,
    /// How often the key set is checked (rotation due, keys rotated by another instance).
    pub key_check_interval: Duration,
}
