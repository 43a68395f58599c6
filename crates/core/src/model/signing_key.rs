//! Signing keys and their life cycle: next (published, not signing), active (signing), retired
//! (published until every token it signed has expired).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::KeyId;
use crate::model::client::string_enum;
use crate::model::secret::EncryptedBlob;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}
string_enum!(SigningAlg { RS256 = "RS256", ES256 = "ES256", EdDSA = "EdDSA" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    Next,
    Active,
    Retired,
}
string_enum!(KeyState { Next = "next", Active = "active", Retired = "retired" });

#[derive(Clone, Debug, PartialEq)]
pub struct SigningKey {
    pub kid: KeyId,
    pub alg: SigningAlg,
    /// The private key (PKCS#8 DER), encrypted at rest.
    pub private_key: EncryptedBlob,
    /// The public JWK as published at /oauth2/jwks.
    pub public_jwk: serde_json::Value,
    pub state: KeyState,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    pub retired_at: Option<Timestamp>,
    /// When a retired key may leave the JWKS: after every token it signed has expired.
    pub remove_after: Option<Timestamp>,
}
