//! Signing key material: generation with aws-lc-rs, PKCS#8 storage (sealed with [`SecretBox`]),
//! the public JWK and its RFC 7638 thumbprint, and raw JWS signing with a key parsed once.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::JoseError;
use crate::clock::Timestamp;
use crate::crypto::{Purpose, SecretBox};
use crate::ids::KeyId;
use crate::model::signing_key::{KeyState, SigningAlg, SigningKey};

/// A private key parsed once and kept in memory for signing.
pub(crate) enum PrivateKey {
    Rs256(RsaKeyPair),
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

impl PrivateKey {
    /// A fresh key for `alg`, with its PKCS#8 (v1) encoding.
    pub(crate) fn generate(alg: SigningAlg) -> Result<(PrivateKey, Zeroizing<Vec<u8>>), JoseError> {
        let failed = |_| JoseError::KeyGeneration(alg);
        let pkcs8 = match alg {
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
                Zeroizing::new(pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec())
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(failed)?;
                Zeroizing::new(pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec())
            }
        };
        Ok((PrivateKey::from_pkcs8(alg, &pkcs8)?, pkcs8))
    }

    /// Parses a PKCS#8 private key of `alg` (done once per key when the key set is built).
    pub(crate) fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<PrivateKey, JoseError> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| JoseError::BadPrivateKey(alg, e.to_string());
        Ok(match alg {
            SigningAlg::RS256 => PrivateKey::Rs256(RsaKeyPair::from_pkcs8(der).map_err(rejected)?),
            SigningAlg::ES256 => {
                PrivateKey::Es256(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(rejected)?)
            }
            SigningAlg::EdDSA => PrivateKey::EdDsa(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
        })
    }

    pub(crate) fn alg(&self) -> SigningAlg {
        match self {
            PrivateKey::Rs256(_) => SigningAlg::RS256,
            PrivateKey::Es256(_) => SigningAlg::ES256,
            PrivateKey::EdDsa(_) => SigningAlg::EdDSA,
        }
    }

    /// The JWS signature of `message` (RFC 7518 §3: PKCS#1 v1.5 for RS256, r‖s for ES256;
    /// RFC 8037 for Ed25519).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        match self {
            PrivateKey::Rs256(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| JoseError::Signing)?;
                Ok(signature)
            }
            PrivateKey::Es256(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(|_| JoseError::Signing)?
                .as_ref()
                .to_vec()),
            PrivateKey::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// The public key as JWK members (`kty` and the key parameters; no `kid`, `alg` or `use`).
    pub(crate) fn public_members(&self) -> PublicMembers {
        match self {
            PrivateKey::Rs256(pair) => {
                let public = pair.public_key();
                PublicMembers::Rsa {
                    n: b64(public.modulus().big_endian_without_leading_zero()),
                    e: b64(public.exponent().big_endian_without_leading_zero()),
                }
            }
            PrivateKey::Es256(pair) => {
                // Uncompressed SEC1 point: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
                let point = pair.public_key().as_ref();
                PublicMembers::Ec {
                    x: b64(&point[1..33]),
                    y: b64(&point[33..65]),
                }
            }
            PrivateKey::EdDsa(pair) => PublicMembers::Okp {
                x: b64(pair.public_key().as_ref()),
            },
        }
    }
}

/// The members of a public JWK that identify the key (RFC 7638 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicMembers {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
    Okp { x: String },
}

impl PublicMembers {
    /// Reads them back from a stored JWK; `None` if the JWK is not one of ours for `alg`.
    pub(crate) fn from_jwk(alg: SigningAlg, jwk: &serde_json::Value) -> Option<PublicMembers> {
        let member = |name: &str| jwk.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let kty = member("kty")?;
        match (alg, kty.as_str()) {
            (SigningAlg::RS256, "RSA") => Some(PublicMembers::Rsa {
                n: member("n")?,
                e: member("e")?,
            }),
            (SigningAlg::ES256, "EC") if member("crv")? == "P-256" => Some(PublicMembers::Ec {
                x: member("x")?,
                y: member("y")?,
            }),
            (SigningAlg::EdDSA, "OKP") if member("crv")? == "Ed25519" => Some(PublicMembers::Okp { x: member("x")? }),
            _ => None,
        }
    }

    /// RFC 7638 thumbprint: base64url SHA-256 of the required members, in lexicographic order,
    /// without whitespace. Written out by hand so no JSON library setting can reorder them.
    pub(crate) fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicMembers::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            PublicMembers::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            PublicMembers::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// The JWK as published at /oauth2/jwks.
    pub(crate) fn to_jwk(&self, kid: &KeyId, alg: SigningAlg) -> serde_json::Value {
        let mut jwk = match self {
            PublicMembers::Rsa { n, e } => json!({ "kty": "RSA", "n": n, "e": e }),
            PublicMembers::Ec { x, y } => json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
            PublicMembers::Okp { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": x }),
        };
        jwk["kid"] = json!(kid.0);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        jwk
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new signing key record: generated, its `kid` the RFC 7638 thumbprint of its public key, its
/// private part sealed for that kid. Active keys get `activated_at = now`.
pub fn new_signing_key(
    alg: SigningAlg,
    state: KeyState,
    now: Timestamp,
    secret_box: &SecretBox,
) -> Result<SigningKey, JoseError> {
    let (private, pkcs8) = PrivateKey::generate(alg)?;
    let members = private.public_members();
    let kid = KeyId(members.thumbprint());
    let sealed = secret_box
        .seal(Purpose::SigningKey(&kid), &pkcs8)
        .map_err(|_| JoseError::Sealing)?;
    Ok(SigningKey {
        public_jwk: members.to_jwk(&kid, alg),
        kid,
        alg,
        private_key: sealed,
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        remove_after: None,
    })
}

/// Opens and parses a stored key's private part, checking that it matches the published public
/// key and the kid (a row whose parts disagree is refused, not used).
pub(crate) fn open_private_key(key: &SigningKey, secret_box: &SecretBox) -> Result<PrivateKey, JoseError> {
    let pkcs8 = secret_box
        .open(Purpose::SigningKey(&key.kid), &key.private_key)
        .map_err(|e| JoseError::Unsealing(key.kid.clone(), e))?;
    let private = PrivateKey::from_pkcs8(key.alg, &pkcs8)?;
    let members = private.public_members();
    let published = PublicMembers::from_jwk(key.alg, &key.public_jwk);
    if published.as_ref() != Some(&members) || members.thumbprint() != key.kid.0 {
        return Err(JoseError::KeyMismatch(key.kid.clone()));
    }
    Ok(private)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_box() -> SecretBox {
        SecretBox::from_bytes(&[42u8; 32]).unwrap()
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let members = PublicMembers::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(members.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn generated_keys_have_the_right_jwk_shape_and_thumbprint_kid() {
        for (alg, kty, members) in [
            (SigningAlg::RS256, "RSA", &["n", "e"][..]),
            (SigningAlg::ES256, "EC", &["crv", "x", "y"][..]),
            (SigningAlg::EdDSA, "OKP", &["crv", "x"][..]),
        ] {
            let key = new_signing_key(alg, KeyState::Active, Timestamp::from_millis(5), &secret_box()).unwrap();
            let jwk = &key.public_jwk;
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["kid"], key.kid.0.as_str());
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            for m in members {
                assert!(jwk[m].is_string(), "{alg:?} lacks {m}");
            }
            assert!(jwk.get("d").is_none(), "private part published");
            assert_eq!(key.kid.0.len(), 43, "base64url SHA-256");
            assert_eq!(key.activated_at, Some(Timestamp::from_millis(5)));
            let opened = open_private_key(&key, &secret_box()).unwrap();
            assert_eq!(opened.alg(), alg);
        }
    }

    #[test]
    fn key_sizes_are_as_promised() {
        let rsa = new_signing_key(SigningAlg::RS256, KeyState::Next, Timestamp::EPOCH, &secret_box()).unwrap();
        let n = URL_SAFE_NO_PAD.decode(rsa.public_jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len() * 8, 2048);
        assert_eq!(rsa.public_jwk["e"], "AQAB");
        assert_eq!(rsa.activated_at, None);
        let ec = new_signing_key(SigningAlg::ES256, KeyState::Next, Timestamp::EPOCH, &secret_box()).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(ec.public_jwk["y"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn a_row_whose_parts_disagree_is_refused() {
        let a = new_signing_key(SigningAlg::ES256, KeyState::Active, Timestamp::EPOCH, &secret_box()).unwrap();
        let b = new_signing_key(SigningAlg::ES256, KeyState::Active, Timestamp::EPOCH, &secret_box()).unwrap();
        // b's private part under a's kid: the purpose (kid) does not match, so it does not open.
        let swapped = SigningKey {
            private_key: b.private_key.clone(),
            ..a.clone()
        };
        assert!(matches!(
            open_private_key(&swapped, &secret_box()),
            Err(JoseError::Unsealing(..))
        ));
        // a's private key with b's public JWK: opens, but does not match.
        let wrong_public = SigningKey {
            public_jwk: b.public_jwk.clone(),
            ..a.clone()
        };
        assert!(matches!(
            open_private_key(&wrong_public, &secret_box()),
            Err(JoseError::KeyMismatch(_))
        ));
        let other_box = SecretBox::from_bytes(&[1u8; 32]).unwrap();
        assert!(matches!(
            open_private_key(&a, &other_box),
            Err(JoseError::Unsealing(..))
        ));
    }
}
