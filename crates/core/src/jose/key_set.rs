//! The key set a server runs with: built once from the stored signing keys (private parts
//! decrypted and parsed at build time, never per request), it signs with the active key of an
//! algorithm, publishes the JWKS and verifies tokens by their header's `kid`.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::claims::{AccessTokenClaims, IdTokenClaims, TokenType};
use super::keys::{PrivateKey, PublicMembers, b64, open_private_key};
use super::{JoseError, VerifyError};
use crate::clock::Timestamp;
use crate::crypto::SecretBox;
use crate::ids::KeyId;
use crate::model::signing_key::{KeyState, SigningAlg, SigningKey};

/// Seconds an `iat` or `nbf` may lie in the future: clocks of instances behind one load
/// balancer drift a little.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// The active key of one algorithm, ready to sign.
pub struct Signer {
    kid: KeyId,
    key: PrivateKey,
    /// Base64url JOSE headers, encoded once: `[access token, ID token]`.
    headers: [String; 2],
}

impl Signer {
    fn new(kid: KeyId, key: PrivateKey) -> Self {
        let header = |typ: TokenType| {
            let json = json!({ "alg": key.alg().as_str(), "typ": typ.typ(), "kid": kid.0 });
            b64(json.to_string().as_bytes())
        };
        let headers = [header(TokenType::Access), header(TokenType::Id)];
        Signer { kid, key, headers }
    }

    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.key.alg()
    }

    /// A compact JWS of `claims` with this key, `typ` set for the token type.
    pub fn sign_jwt<C: Serialize>(&self, token_type: TokenType, claims: &C) -> Result<String, JoseError> {
        let header = match token_type {
            TokenType::Access => &self.headers[0],
            TokenType::Id => &self.headers[1],
        };
        let payload = serde_json::to_vec(claims).map_err(|e| JoseError::Serialize(e.to_string()))?;
        let mut jwt = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        jwt.push_str(header);
        jwt.push('.');
        jwt.push_str(&b64(&payload));
        let signature = self.key.sign(jwt.as_bytes())?;
        jwt.push('.');
        jwt.push_str(&b64(&signature));
        Ok(jwt)
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} {}, <private key>)", self.alg().as_str(), self.kid)
    }
}

struct Verifier {
    alg: Algorithm,
    key: DecodingKey,
}

/// What a verified token must satisfy besides its signature.
#[derive(Clone, Copy, Debug)]
pub struct VerifyRules<'a> {
    pub issuer: &'a str,
    /// Checked when given: the token's `aud` must be (or contain) it.
    pub audience: Option<&'a str>,
    pub token_type: TokenType,
    /// For an `id_token_hint` at logout, which may have expired (OIDC RP-Initiated Logout §2).
    pub allow_expired: bool,
}

/// Signing and verification keys, and the JWKS document, as of the time the set was built.
pub struct KeySet {
    signers: HashMap<SigningAlg, Signer>,
    verifiers: HashMap<String, Verifier>,
    jwks: serde_json::Value,
}

impl KeySet {
    /// Builds the set from every stored key: `next`, `active` and retired keys whose
    /// `remove_after` is still ahead of `now` are published and verify; the newest active key of
    /// each algorithm signs. Fails if an active key cannot be opened or does not match its row.
    pub fn build(keys: &[SigningKey], secret_box: &SecretBox, now: Timestamp) -> Result<KeySet, JoseError> {
        let mut signers: HashMap<SigningAlg, (Option<Timestamp>, Signer)> = HashMap::new();
        let mut verifiers = HashMap::new();
        let mut published = Vec::new();
        let mut seen = HashSet::new();
        for key in keys.iter().filter(|k| is_published(k, now)) {
            if !seen.insert(key.kid.0.as_str()) {
                return Err(JoseError::DuplicateKid(key.kid.clone()));
            }
            let members = PublicMembers::from_jwk(key.alg, &key.public_jwk)
                .ok_or_else(|| JoseError::BadPublicKey(key.kid.clone()))?;
            verifiers.insert(key.kid.0.clone(), verifier(key, &members)?);
            published.push(members.to_jwk(&key.kid, key.alg));
            if key.state == KeyState::Active {
                let newer = signers
                    .get(&key.alg)
                    .is_none_or(|(activated, _)| key.activated_at >= *activated);
                if newer {
                    let private = open_private_key(key, secret_box)?;
                    signers.insert(key.alg, (key.activated_at, Signer::new(key.kid.clone(), private)));
                }
            }
        }
        Ok(KeySet {
            signers: signers.into_iter().map(|(alg, (_, s))| (alg, s)).collect(),
            verifiers,
            jwks: json!({ "keys": published }),
        })
    }

    /// The active key for `alg`, if there is one.
    pub fn signer(&self, alg: SigningAlg) -> Option<&Signer> {
        self.signers.get(&alg)
    }

    /// The document served at /oauth2/jwks.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Signs an RFC 9068 access token (`typ: at+jwt`) with the active key of `alg`.
    pub fn sign_access_token(&self, alg: SigningAlg, claims: &AccessTokenClaims) -> Result<String, JoseError> {
        self.active(alg)?.sign_jwt(TokenType::Access, claims)
    }

    /// Signs an ID token with the active key of `alg`. Compute `at_hash` with the same `alg`.
    pub fn sign_id_token(&self, alg: SigningAlg, claims: &IdTokenClaims) -> Result<String, JoseError> {
        self.active(alg)?.sign_jwt(TokenType::Id, claims)
    }

    fn active(&self, alg: SigningAlg) -> Result<&Signer, JoseError> {
        self.signer(alg).ok_or(JoseError::NoActiveKey(alg))
    }

    /// Verifies an access token this server issued: signature, `typ`, `iss`, `aud`, `exp`.
    pub fn verify_access_token(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now: Timestamp,
    ) -> Result<AccessTokenClaims, VerifyError> {
        let rules = VerifyRules {
            issuer,
            audience: Some(audience),
            token_type: TokenType::Access,
            allow_expired: false,
        };
        self.verify(token, &rules, now)
    }

    /// Verifies a JWT signed by one of the published keys, chosen by the header's `kid`; the
    /// header's `alg` must be that key's. Times are checked against `now`, not the system clock.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        rules: &VerifyRules<'_>,
        now: Timestamp,
    ) -> Result<C, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let verifier = self.verifiers.get(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != verifier.alg {
            return Err(VerifyError::AlgorithmMismatch);
        }
        if !rules.token_type.accepts(header.typ.as_deref()) {
            return Err(VerifyError::WrongType);
        }
        let mut validation = Validation::new(verifier.alg);
        // jsonwebtoken would check times against the system clock: we check them against `now`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = HashSet::new();
        validation.leeway = 0;
        validation.set_issuer(&[rules.issuer]);
        validation.validate_aud = rules.audience.is_some();
        if let Some(audience) = rules.audience {
            validation.set_audience(&[audience]);
        }
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &verifier.key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::InvalidSignature => VerifyError::BadSignature,
            ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
            ErrorKind::InvalidAudience => VerifyError::WrongAudience,
            ErrorKind::InvalidAlgorithm => VerifyError::AlgorithmMismatch,
            ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => VerifyError::WrongIssuer,
            ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => VerifyError::WrongAudience,
            _ => VerifyError::Malformed,
        })?;
        check_times(&data.claims, now, rules.allow_expired)?;
        serde_json::from_value(data.claims).map_err(|e| VerifyError::Claims(e.to_string()))
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("signers", &self.signers.values().collect::<Vec<_>>())
            .field("published", &self.verifiers.len())
            .finish()
    }
}

fn is_published(key: &SigningKey, now: Timestamp) -> bool {
    match key.state {
        KeyState::Next | KeyState::Active => true,
        KeyState::Retired => key.remove_after.is_none_or(|remove_after| now < remove_after),
    }
}

fn verifier(key: &SigningKey, members: &PublicMembers) -> Result<Verifier, JoseError> {
    let bad = |_| JoseError::BadPublicKey(key.kid.clone());
    let (alg, decoding_key) = match members {
        PublicMembers::Rsa { n, e } => (Algorithm::RS256, DecodingKey::from_rsa_components(n, e).map_err(bad)?),
        PublicMembers::Ec { x, y } => (Algorithm::ES256, DecodingKey::from_ec_components(x, y).map_err(bad)?),
        PublicMembers::Okp { x } => (Algorithm::EdDSA, DecodingKey::from_ed_components(x).map_err(bad)?),
    };
    Ok(Verifier { alg, key: decoding_key })
}

/// `exp` is required and must be after `now` (unless expired tokens are allowed); `iat` and
/// `nbf`, when present, must not be in the future beyond the clock skew.
fn check_times(claims: &serde_json::Value, now: Timestamp, allow_expired: bool) -> Result<(), VerifyError> {
    let now = now.as_unix_seconds();
    let time = |name: &str| -> Result<Option<i64>, VerifyError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| VerifyError::Claims(format!("{name} is not an integer"))),
        }
    };
    let exp = time("exp")?.ok_or_else(|| VerifyError::Claims("exp is missing".into()))?;
    if !allow_expired && now >= exp {
        return Err(VerifyError::Expired);
    }
    for name in ["iat", "nbf"] {
        if time(name)?.is_some_and(|t| t > now + CLOCK_SKEW_SECONDS) {
            return Err(VerifyError::NotYetValid);
        }
    }
    Ok(())
}
