//! Configuration of the OAuth provider (`[oauth]`): token lifetimes, audience, default
//! algorithms, extra scopes, and signing-key rotation.

use std::time::Duration;

use keygate_core::jose::RotationPolicy;
use keygate_core::model::SigningAlg;
use keygate_core::oauth::OAuthSettings;
use keygate_web::oauth::OAuthOptions;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Scopes every Keygate server knows.
pub const STANDARD_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// `aud` of JWT access tokens; empty means the issuer.
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Access-token algorithm for clients that registered none: ES256, EdDSA or RS256.
    pub access_token_alg: String,
    /// ID-token algorithm for clients that registered none.
    pub id_token_alg: String,
    /// Scopes beyond openid, profile, email and offline_access, space separated.
    pub extra_scopes: String,
    /// Rotate each signing key after this many days; 0 rotates only by hand.
    pub key_rotation_days: u64,
    /// How long a new key is published before it signs (longer than relying parties cache the JWKS).
    pub key_publish_lead_hours: u64,
    /// How often the server checks its keys (due rotations, rotations by other instances).
    pub key_check_interval_secs: u64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            audience: String::new(),
            access_token_ttl_secs: 3600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            access_token_alg: "ES256".to_owned(),
            id_token_alg: "RS256".to_owned(),
            extra_scopes: String::new(),
            key_rotation_days: 90,
            key_publish_lead_hours: 24,
            key_check_interval_secs: 60,
        }
    }
}

impl OAuthConfig {
    /// The web layer's OAuth options for `issuer`; an invalid value is one sentence.
    pub fn to_options(&self, issuer: &str) -> Result<OAuthOptions, ConfigError> {
        let alg = |value: &str, key: &str| {
            SigningAlg::parse(value)
                .ok_or_else(|| ConfigError::new(format!("oauth.{key} must be ES256, EdDSA or RS256, not `{value}`")))
        };
        for (key, value) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("id_token_ttl_secs", self.id_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("key_check_interval_secs", self.key_check_interval_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::new(format!("oauth.{key} must be at least 1")));
            }
        }
        let mut settings = OAuthSettings::new(issuer);
        if !self.audience.is_empty() {
            settings.audience = self.audience.clone();
        }
        settings.access_token_ttl = Duration::from_secs(self.access_token_ttl_secs);
        settings.id_token_ttl = Duration::from_secs(self.id_token_ttl_secs);
        settings.refresh_token_ttl = Duration::from_secs(self.refresh_token_ttl_secs);
        settings.access_token_alg = alg(&self.access_token_alg, "access_token_alg")?;
        settings.id_token_alg = alg(&self.id_token_alg, "id_token_alg")?;
        settings.rotation = RotationPolicy {
            publish_lead: Duration::from_secs(self.key_publish_lead_hours * 3600),
            max_token_lifetime: Duration::ZERO,
            rotate_every: (self.key_rotation_days > 0).then(|| Duration::from_secs(self.key_rotation_days * 24 * 3600)),
        };
        settings.sync_rotation_lifetime();
        let mut scopes: Vec<String> = STANDARD_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        for extra in self.extra_scopes.split_whitespace() {
            if keygate_core::Scopes::parse(extra).is_err() {
                return Err(ConfigError::new(format!(
                    "oauth.extra_scopes holds an invalid scope `{extra}`"
                )));
            }
            if !scopes.iter().any(|s| s == extra) {
                scopes.push(extra.to_owned());
            }
        }
        Ok(OAuthOptions {
            settings,
            scopes,
            key_check_interval: Duration::from_secs(self.key_check_interval_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_the_audience_defaults_to_the_issuer() {
        let options = OAuthConfig::default().to_options("https://id.example").unwrap();
        assert_eq!(options.settings.audience, "https://id.example");
        assert_eq!(options.settings.access_token_alg, SigningAlg::ES256);
        assert_eq!(options.settings.rotation.max_token_lifetime, Duration::from_secs(3600));
        assert_eq!(options.scopes.len(), 4);
    }

    #[test]
    fn bad_values_are_one_sentence() {
        let config = OAuthConfig {
            access_token_alg: "HS256".into(),
            ..OAuthConfig::default()
        };
        let err = config.to_options("https://id.example").unwrap_err().to_string();
        assert!(err.contains("oauth.access_token_alg"), "{err}");
        let config = OAuthConfig {
            extra_scopes: "api:read a\"b".into(),
            ..OAuthConfig::default()
        };
        assert!(config.to_options("https://id.example").is_err());
    }
}
