//! The claims Keygate signs: RFC 9068 access tokens and OpenID Connect ID tokens, and the
//! `at_hash` that binds an ID token to its access token.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use super::keys::b64;
use crate::model::signing_key::SigningAlg;

/// Which kind of JWT a header announces (`typ`), so one can never be accepted as the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// RFC 9068 access token: `typ: at+jwt`.
    Access,
    /// OpenID Connect ID token: `typ: JWT`.
    Id,
}

impl TokenType {
    pub fn typ(self) -> &'static str {
        match self {
            TokenType::Access => "at+jwt",
            TokenType::Id => "JWT",
        }
    }

    /// Whether a header's `typ` fits (RFC 9068 §4 also allows `application/at+jwt`; an ID token
    /// may carry no `typ`).
    pub(crate) fn accepts(self, typ: Option<&str>) -> bool {
        let typ = typ.map(|t| t.to_ascii_lowercase());
        let typ = typ.as_deref().map(|t| t.strip_prefix("application/").unwrap_or(t));
        match self {
            TokenType::Access => typ == Some("at+jwt"),
            TokenType::Id => matches!(typ, None | Some("jwt")),
        }
    }
}

/// Claims of a JWT access token (RFC 9068 §2.2). Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user's id, or the client id for `client_credentials`.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Unique per token (a `TokenId`), for revocation and audit.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// When the user authenticated (RFC 9068 §2.2.1), absent for `client_credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The session the grant came from, so logout can end what it issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Keygate's refresh-token family id: revoking the family makes this token introspect as
    /// inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
}

/// Claims of an ID token (OIDC Core §2, §3.1.3.6, §5.1). Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client id.
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// See [`at_hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// RFC 8176 methods: `["pwd"]`, or `["pwd", "otp", "mfa"]` after TOTP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Profile and email claims the granted scopes allow (`email`, `email_verified`, `name`, …).
    /// Keys that collide with the claims above are the caller's mistake; they are serialised
    /// after them and a verifier keeps the first.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of the hash of the access token's
/// ASCII text, with the hash of the ID token's `alg`.
///
/// RS256 and ES256 use SHA-256 (16 bytes kept). `EdDSA` names no hash of its own; OIDC Core
/// leaves it open and the OpenID Foundation's resolution (followed by node `oidc-provider`,
/// `openid-client` and the `openidconnect` crate) is SHA-512 for Ed25519, so 32 bytes are kept.
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => {
            let digest = Sha256::digest(access_token.as_bytes());
            b64(&digest[..digest.len() / 2])
        }
        SigningAlg::EdDSA => {
            let digest = Sha512::digest(access_token.as_bytes());
            b64(&digest[..digest.len() / 2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core Appendix A.3 (RS256): access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        // has at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(SigningAlg::RS256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(SigningAlg::ES256, token), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn eddsa_at_hash_is_the_left_half_of_sha512() {
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        let hash = at_hash(SigningAlg::EdDSA, token);
        assert_eq!(hash.len(), 43, "32 bytes in unpadded base64url");
        assert_eq!(hash, b64(&Sha512::digest(token.as_bytes())[..32]));
        assert_ne!(&hash[..22], at_hash(SigningAlg::RS256, token));
    }

    #[test]
    fn typ_matching() {
        assert!(TokenType::Access.accepts(Some("at+jwt")));
        assert!(TokenType::Access.accepts(Some("application/at+jwt")));
        assert!(TokenType::Access.accepts(Some("AT+JWT")));
        assert!(!TokenType::Access.accepts(Some("JWT")));
        assert!(!TokenType::Access.accepts(None));
        assert!(TokenType::Id.accepts(Some("JWT")));
        assert!(TokenType::Id.accepts(None));
        assert!(!TokenType::Id.accepts(Some("at+jwt")));
    }

    #[test]
    fn optional_claims_are_left_out_and_extra_claims_are_flat() {
        let mut extra = serde_json::Map::new();
        extra.insert("email".into(), "ada@example.com".into());
        extra.insert("email_verified".into(), true.into());
        let claims = IdTokenClaims {
            iss: "https://id.example".into(),
            sub: "u1".into(),
            aud: "c1".into(),
            exp: 200,
            iat: 100,
            auth_time: 90,
            nonce: None,
            at_hash: None,
            amr: vec![],
            sid: None,
            extra,
        };
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["email"], "ada@example.com");
        assert_eq!(json["email_verified"], true);
        for absent in ["nonce", "at_hash", "amr", "sid", "extra"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        assert_eq!(serde_json::from_value::<IdTokenClaims>(json).unwrap(), claims);
    }
}
