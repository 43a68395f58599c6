//! Encryption at rest (DESIGN §3): AES-256-GCM under a key from configuration, for TOTP secrets
//! and the private parts of signing keys.
//!
//! A blob is `nonce (12 bytes) || ciphertext || tag (16 bytes)`. Every seal draws a fresh random
//! nonce; with 96-bit random nonces one key may seal about 2^32 messages before the chance of a
//! repeat matters, far more than Keygate ever seals. The associated data names what a blob is for
//! and whose it is ([`Purpose`]), so a blob copied into another row (another user's TOTP secret,
//! another key's private part) fails to open instead of being used.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::ids::{KeyId, UserId};
use crate::model::secret::EncryptedBlob;

/// Bytes in an AES-256 key.
pub const KEY_LEN: usize = 32;
/// Bytes of authentication tag AES-GCM appends.
const TAG_LEN: usize = 16;

/// What a sealed blob is for. Its text is the associated data, so a blob only opens for the
/// purpose (and the owner) it was sealed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// A user's TOTP shared secret.
    Totp(UserId),
    /// The PKCS#8 private key of the signing key with this `kid`.
    SigningKey(&'a KeyId),
}

impl Purpose<'_> {
    fn associated_data(&self) -> String {
        match self {
            Purpose::Totp(user) => format!("keygate:totp:{user}"),
            Purpose::SigningKey(kid) => format!("keygate:signing-key:{kid}"),
        }
    }
}

/// The configured encryption key is unusable. Never carries the key text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    #[error("encryption key is not base64")]
    NotBase64,
    #[error("encryption key must be {KEY_LEN} bytes (44 base64 characters), got {0} bytes")]
    WrongLength(usize),
}

/// Sealing failed: the system random generator or the cipher refused, which should never happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("encryption failed (random generator or cipher error)")]
pub struct SealError;

/// Why a blob does not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("encrypted blob is too short to hold a nonce and a tag")]
    Truncated,
    /// Wrong key, wrong purpose or altered bytes: AES-GCM cannot tell which, and neither do we.
    #[error("encrypted blob does not authenticate (wrong key, wrong purpose or altered data)")]
    Unauthentic,
}

/// AES-256-GCM with one key. `Debug` never shows the key.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
    fingerprint: [u8; 32],
}

impl SecretBox {
    /// A key from configuration text: base64 (standard or URL-safe, padded or not) of 32 bytes.
    /// Surrounding whitespace is ignored, so a key file with a trailing newline works.
    pub fn from_base64(text: &str) -> Result<Self, InvalidKey> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or(InvalidKey::NotBase64)?,
        );
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(key: &[u8]) -> Result<Self, InvalidKey> {
        if key.len() != KEY_LEN {
            return Err(InvalidKey::WrongLength(key.len()));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| InvalidKey::WrongLength(key.len()))?;
        Ok(SecretBox {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
            fingerprint: fingerprint_of(key),
        })
    }

    /// A public name for this key (lowercase hex), so two deployments can tell whether they share
    /// a key: SHA-256 of a domain-separated derivation, which reveals nothing usable about the key.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A fresh random key as standard base64, for `keygate` to suggest when none is configured.
    pub fn generate_key_base64() -> Result<String, SealError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new().fill(key.as_mut()).map_err(|_| SealError)?;
        Ok(STANDARD.encode(key.as_ref()))
    }

    /// Encrypts `plaintext` for `purpose` under a fresh random nonce.
    pub fn seal(&self, purpose: Purpose<'_>, plaintext: &[u8]) -> Result<EncryptedBlob, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let aad = purpose.associated_data();
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| SealError)?;
        out.extend_from_slice(tag.as_ref());
        Ok(EncryptedBlob(out))
    }

    /// Decrypts a blob sealed for the same `purpose` under this key. The plaintext is wiped from
    /// memory when dropped.
    pub fn open(&self, purpose: Purpose<'_>, blob: &EncryptedBlob) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if blob.0.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Truncated);
        }
        let (nonce, sealed) = blob.0.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Truncated)?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let aad = purpose.associated_data();
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), buffer.as_mut_slice())
            .map_err(|_| OpenError::Unauthentic)?
            .len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }
}

fn fingerprint_of(key: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let derived = Sha256::new()
        .chain_update(b"keygate:secret-key:derive:v1\0")
        .chain_update(key)
        .finalize();
    Sha256::new()
        .chain_update(b"keygate:secret-key:fingerprint:v1\0")
        .chain_update(derived)
        .finalize()
        .into()
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn secret_box() -> SecretBox {
        SecretBox::from_base64(KEY_B64).unwrap()
    }

    fn other_box() -> SecretBox {
        SecretBox::from_base64(&SecretBox::generate_key_base64().unwrap()).unwrap()
    }

    #[test]
    fn fingerprints_name_the_key_without_showing_it() {
        assert_eq!(secret_box().fingerprint(), secret_box().fingerprint());
        assert_ne!(secret_box().fingerprint(), other_box().fingerprint());
        assert_eq!(secret_box().fingerprint().len(), 64);
        let key_hex: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
        assert!(!secret_box().fingerprint().contains(&key_hex[..16]));
    }

    #[test]
    fn round_trip() {
        let user = UserId::new();
        let sealed = secret_box().seal(Purpose::Totp(user), b"totp secret bytes").unwrap();
        assert_eq!(sealed.0.len(), NONCE_LEN + 17 + TAG_LEN);
        assert!(
            !sealed.0.windows(4).any(|w| w == b"totp"),
            "plaintext visible in the blob"
        );
        let opened = secret_box().open(Purpose::Totp(user), &sealed).unwrap();
        assert_eq!(opened.as_slice(), b"totp secret bytes");
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let kid = KeyId("k1".into());
        let sealed = secret_box().seal(Purpose::SigningKey(&kid), b"").unwrap();
        assert!(
            secret_box()
                .open(Purpose::SigningKey(&kid), &sealed)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn wrong_key_fails() {
        let user = UserId::new();
        let sealed = secret_box().seal(Purpose::Totp(user), b"secret").unwrap();
        assert_eq!(
            other_box().open(Purpose::Totp(user), &sealed),
            Err(OpenError::Unauthentic)
        );
    }

    #[test]
    fn wrong_purpose_or_owner_fails() {
        let (alice, bob) = (UserId::new(), UserId::new());
        let sealed = secret_box().seal(Purpose::Totp(alice), b"secret").unwrap();
        assert_eq!(
            secret_box().open(Purpose::Totp(bob), &sealed),
            Err(OpenError::Unauthentic)
        );
        let kid = KeyId(alice.to_string());
        assert_eq!(
            secret_box().open(Purpose::SigningKey(&kid), &sealed),
            Err(OpenError::Unauthentic)
        );
    }

    #[test]
    fn any_tampered_byte_fails() {
        let user = UserId::new();
        let sealed = secret_box().seal(Purpose::Totp(user), b"0123456789").unwrap();
        for i in 0..sealed.0.len() {
            let mut tampered = sealed.clone();
            tampered.0[i] ^= 0x01;
            assert_eq!(
                secret_box().open(Purpose::Totp(user), &tampered),
                Err(OpenError::Unauthentic),
                "byte {i}"
            );
        }
        let mut cut = sealed.clone();
        cut.0.pop();
        assert_eq!(
            secret_box().open(Purpose::Totp(user), &cut),
            Err(OpenError::Unauthentic)
        );
        let short = EncryptedBlob(sealed.0[..NONCE_LEN + TAG_LEN - 1].to_vec());
        assert_eq!(
            secret_box().open(Purpose::Totp(user), &short),
            Err(OpenError::Truncated)
        );
    }

    #[test]
    fn two_seals_of_one_plaintext_differ() {
        let user = UserId::new();
        let a = secret_box().seal(Purpose::Totp(user), b"same").unwrap();
        let b = secret_box().seal(Purpose::Totp(user), b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a.0[..NONCE_LEN], b.0[..NONCE_LEN]);
    }

    #[test]
    fn key_text_forms() {
        // The same 32 bytes in the four base64 spellings all give the same key.
        let bytes: Vec<u8> = (0u8..32).collect();
        let user = UserId::new();
        let sealed = SecretBox::from_bytes(&bytes)
            .unwrap()
            .seal(Purpose::Totp(user), b"x")
            .unwrap();
        for text in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            format!("  {}\n", URL_SAFE_NO_PAD.encode(&bytes)),
        ] {
            let opened = SecretBox::from_base64(&text)
                .unwrap()
                .open(Purpose::Totp(user), &sealed);
            assert_eq!(opened.unwrap().as_slice(), b"x", "{text}");
        }
        assert_eq!(SecretBox::from_base64("not base64!").err(), Some(InvalidKey::NotBase64));
        assert_eq!(
            SecretBox::from_base64(&STANDARD.encode([7u8; 16])).err(),
            Some(InvalidKey::WrongLength(16))
        );
        assert_eq!(
            SecretBox::from_bytes(&[7u8; 33]).err(),
            Some(InvalidKey::WrongLength(33))
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        let debug = format!("{:?}", secret_box());
        assert_eq!(debug, "SecretBox(<redacted>)");
        assert!(!debug.contains(KEY_B64));
    }
}
