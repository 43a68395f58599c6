//! The OAuth settings a server runs with (from configuration): issuer, audience, token
//! lifetimes, default algorithms and key rotation.

use std::time::Duration;

use crate::jose::RotationPolicy;
use crate::model::SigningAlg;

#[derive(Clone, Debug)]
pub struct OAuthSettings {
    /// The issuer exactly as configured (no trailing slash).
    pub issuer: String,
    /// `aud` of JWT access tokens; the issuer unless configured.
    pub audience: String,
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Authorization codes live this long (60 s, DESIGN §4).
    pub code_ttl: Duration,
    /// Access-token algorithm of clients that registered none. ES256: every common resource
    /// server library verifies it, and it signs in ≈ 20 µs (EdDSA ≈ 12 µs, RS256 ≈ 700 µs).
    pub access_token_alg: SigningAlg,
    /// ID-token algorithm of clients that registered none: RS256, which OIDC requires support for.
    pub id_token_alg: SigningAlg,
    pub rotation: RotationPolicy,
}

impl OAuthSettings {
    /// Defaults for `issuer`: one-hour access and ID tokens, 30-day refresh tokens, 60 s codes.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let access_token_ttl = Duration::from_secs(3600);
        let id_token_ttl = Duration::from_secs(3600);
        OAuthSettings {
            audience: issuer.clone(),
            issuer,
            access_token_ttl,
            id_token_ttl,
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            access_token_alg: SigningAlg::ES256,
            id_token_alg: SigningAlg::RS256,
            rotation: RotationPolicy {
                max_token_lifetime: access_token_ttl.max(id_token_ttl),
                ..RotationPolicy::default()
            },
        }
    }

    /// Keeps the rotation policy's `max_token_lifetime` in step with the token lifetimes, so a
    /// retired key stays published as long as any token it signed lives.
    pub fn sync_rotation_lifetime(&mut self) {
        self.rotation.max_token_lifetime = self.access_token_ttl.max(self.id_token_ttl);
    }
}
