//! The SHA-256 digest under which every server-generated secret is stored and looked up.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a secret token. The token itself is never stored; only this.
#[derive(Clone, Copy, Eq)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub fn of(secret: &str) -> Self {
        TokenDigest(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(TokenDigest)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, used where a digest must be a string key (caches, ephemeral keys).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl PartialEq for TokenDigest {
    /// Constant time, so a comparison leaks nothing about how much of a digest matched.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for TokenDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A digest is not the secret, but its first bytes are enough to tell records apart.
        write!(f, "TokenDigest({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_digest_and_round_trips() {
        let a = TokenDigest::of("kgr_abc");
        assert_eq!(a, TokenDigest::of("kgr_abc"));
        assert_ne!(a, TokenDigest::of("kgr_abd"));
        assert_eq!(TokenDigest::from_bytes(a.as_bytes()), Some(a));
        assert_eq!(TokenDigest::from_bytes(&[1, 2, 3]), None);
    }
}
