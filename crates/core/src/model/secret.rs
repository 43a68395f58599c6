//! Holders of secret material whose `Debug` never shows it.

/// A password hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Bytes encrypted at rest (AES-GCM nonce + ciphertext): TOTP secrets, private signing keys.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedBlob(pub Vec<u8>);

impl std::fmt::Debug for EncryptedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedBlob(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let h = PasswordHash("$argon2id$v=19$secretstuff".into());
        assert!(!format!("{h:?}").contains("secretstuff"));
        let b = EncryptedBlob(b"hunter2".to_vec());
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
