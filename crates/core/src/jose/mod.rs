//! JOSE for Keygate: signing keys (RS256, ES256, EdDSA), the JWKS, JWT access and ID tokens,
//! their verification, and key rotation.
//!
//! Signing uses aws-lc-rs key pairs parsed once when the [`KeySet`] is built: `jsonwebtoken::encode`
//! would parse the PKCS#8 key again on every call, which costs more than the signature for
//! ES256 and EdDSA (see the timings in `tests.rs`). Verification uses `jsonwebtoken` with
//! decoding keys built once, and checks `exp` against the injected time, not the system clock.

mod claims;
mod key_set;
mod keys;
mod rotation;
#[cfg(test)]
mod tests;

pub use claims::{AccessTokenClaims, IdTokenClaims, TokenType, at_hash};
pub use key_set::{KeySet, Signer, VerifyRules};
pub use keys::new_signing_key;
pub use rotation::{ALGS, KeyChanges, RotateMode, RotationPolicy, initial_keys, plan_maintenance, plan_rotation};

use crate::crypto::OpenError;
use crate::ids::KeyId;
use crate::model::signing_key::SigningAlg;

/// Making, loading or using a signing key failed. Never carries key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("could not generate a {} key", .0.as_str())]
    KeyGeneration(SigningAlg),
    #[error("stored {alg} private key does not parse: {reason}", alg = .0.as_str(), reason = .1)]
    BadPrivateKey(SigningAlg, String),
    #[error("stored public key of {0} is not a valid JWK for its algorithm")]
    BadPublicKey(KeyId),
    #[error("private key of {0} does not match its public key or kid")]
    KeyMismatch(KeyId),
    #[error("two stored keys share the kid {0}")]
    DuplicateKid(KeyId),
    #[error("could not encrypt a private key")]
    Sealing,
    #[error("could not decrypt the private key of {0} (wrong encryption key?): {1}")]
    Unsealing(KeyId, OpenError),
    #[error("no active {} signing key", .0.as_str())]
    NoActiveKey(SigningAlg),
    #[error("signing failed")]
    Signing,
    #[error("claims do not serialise: {0}")]
    Serialize(String),
}

/// Why a token was refused. Callers answer all of them the same way (invalid token); the
/// variants are for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token names no published key")]
    UnknownKey,
    #[error("token's alg is not its key's")]
    AlgorithmMismatch,
    #[error("token's typ is not the expected one")]
    WrongType,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has another issuer")]
    WrongIssuer,
    #[error("token has another audience")]
    WrongAudience,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token claims are invalid: {0}")]
    Claims(String),
}
