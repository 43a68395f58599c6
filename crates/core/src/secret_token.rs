//! Server-generated secrets (DESIGN §3): 256 random bits, a readable prefix per kind and a
//! checksum, so secret scanners can spot a leaked token and a typo is refused before any lookup.
//!
//! Format: `PREFIX` + 43 random base62 characters (43 × log2 62 ≈ 256.03 bits) + 6 base62
//! characters holding the CRC-32 of prefix and random part. 53 characters in all, only
//! `[A-Za-z0-9_]`, so a double click selects the whole token and it needs no URL encoding.
//!
//! | kind | prefix |
//! | --- | --- |
//! | client secret | `kgs_` |
//! | refresh token | `kgr_` |
//! | authorization code | `kgc_` |
//! | personal access token | `kgp_` |
//! | opaque access token | `kga_` |
//! | browser session cookie | `kgw_` (web) |
//! | email verification token | `kgv_` |
//! | password reset token | `kgx_` |
//! | CSRF token | `kgf_` (form) |
//!
//! The checksum is no defence against a forger (anyone can compute a CRC); it only lets the
//! server reject garbage cheaply and lets scanners tell a real token from a look-alike.

use rand::Rng;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq;

use crate::digest::TokenDigest;

/// Characters of randomness in a token: 43 base62 characters carry just over 256 bits.
const RANDOM_LEN: usize = 43;
/// Characters of checksum: 62^6 > 2^32, so any CRC-32 fits.
const CHECKSUM_LEN: usize = 6;
const PREFIX_LEN: usize = 4;
/// Total length of every token, whatever its kind.
pub const TOKEN_LEN: usize = PREFIX_LEN + RANDOM_LEN + CHECKSUM_LEN;
/// Random characters shown in a personal access token's display prefix.
const DISPLAY_CHARS: usize = 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a secret is for. Each kind has its own prefix, and `parse` accepts only the kind asked for,
/// so a refresh token presented as a client secret is refused before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretKind {
    ClientSecret,
    RefreshToken,
    AuthorizationCode,
    PersonalAccessToken,
    OpaqueAccessToken,
    Session,
    EmailVerification,
    PasswordReset,
    Csrf,
}

impl SecretKind {
    pub const ALL: [SecretKind; 9] = [
        SecretKind::ClientSecret,
        SecretKind::RefreshToken,
        SecretKind::AuthorizationCode,
        SecretKind::PersonalAccessToken,
        SecretKind::OpaqueAccessToken,
        SecretKind::Session,
        SecretKind::EmailVerification,
        SecretKind::PasswordReset,
        SecretKind::Csrf,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "kgs_",
            SecretKind::RefreshToken => "kgr_",
            SecretKind::AuthorizationCode => "kgc_",
            SecretKind::PersonalAccessToken => "kgp_",
            SecretKind::OpaqueAccessToken => "kga_",
            SecretKind::Session => "kgw_",
            SecretKind::EmailVerification => "kgv_",
            SecretKind::PasswordReset => "kgx_",
            SecretKind::Csrf => "kgf_",
        }
    }

    /// The kind a string claims by its prefix (a bearer token may be a PAT, an opaque access
    /// token or a JWT). Says nothing about whether the rest is well formed: `parse` does that.
    pub fn from_prefix(token: &str) -> Option<SecretKind> {
        SecretKind::ALL.into_iter().find(|k| token.starts_with(k.prefix()))
    }
}

/// Why a string is not a token of the expected kind. The messages never repeat the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedToken {
    #[error("token does not start with the expected prefix")]
    WrongPrefix,
    #[error("token has the wrong length")]
    WrongLength,
    #[error("token holds a character outside [A-Za-z0-9]")]
    BadCharacter,
    #[error("token checksum does not match (mistyped or truncated)")]
    BadChecksum,
}

/// A well-formed secret: freshly generated, or parsed from a request. `Debug` shows only its kind.
#[derive(Clone)]
pub struct SecretToken {
    kind: SecretKind,
    value: String,
}

impl SecretToken {
    /// A new random token of `kind` from the thread-local CSPRNG (ChaCha, seeded and periodically
    /// reseeded from the operating system).
    pub fn generate(kind: SecretKind) -> SecretToken {
        let mut value = String::with_capacity(TOKEN_LEN);
        value.push_str(kind.prefix());
        value.extend(rand::rng().sample_iter(Alphanumeric).take(RANDOM_LEN).map(char::from));
        let checksum = encode_checksum(crc32fast::hash(value.as_bytes()));
        value.push_str(&checksum);
        SecretToken { kind, value }
    }

    /// Checks prefix, length, alphabet and checksum; touches no store.
    pub fn parse(kind: SecretKind, input: &str) -> Result<SecretToken, MalformedToken> {
        let rest = input.strip_prefix(kind.prefix()).ok_or(MalformedToken::WrongPrefix)?;
        if input.len() != TOKEN_LEN {
            return Err(MalformedToken::WrongLength);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedToken::BadCharacter);
        }
        let (signed, checksum) = input.split_at(PREFIX_LEN + RANDOM_LEN);
        let expected = encode_checksum(crc32fast::hash(signed.as_bytes()));
        if checksum != expected {
            return Err(MalformedToken::BadChecksum);
        }
        Ok(SecretToken {
            kind,
            value: input.to_owned(),
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The token itself, to hand to its owner once (response body, cookie, email link).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// What the store keeps and looks up instead of the token.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.value)
    }

    /// Prefix and the first 8 random characters (`kgp_AbC1dEf2`): enough for a user to tell their
    /// tokens apart, far too little (≈ 48 of 256 bits) to help guess the rest.
    pub fn display_prefix(&self) -> &str {
        &self.value[..PREFIX_LEN + DISPLAY_CHARS]
    }
}

impl PartialEq for SecretToken {
    /// Constant time: equality must not reveal how much of a secret matched.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && constant_time_eq(self.value.as_bytes(), other.value.as_bytes())
    }
}

impl Eq for SecretToken {}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretToken({}<redacted>)", self.kind.prefix())
    }
}

/// Compares two byte strings in time that depends only on their lengths, never on where they
/// first differ. For secrets that are not stored as digests (e.g. a configured admin token).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // `subtle` returns false at once for different lengths; lengths of secrets are not secret.
    a.ct_eq(b).into()
}

/// CRC-32 as 6 base62 digits, most significant first, zero-padded.
fn encode_checksum(mut crc: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Replaces the character at `index` with another alphanumeric one.
    fn with_char_changed(token: &str, index: usize) -> String {
        let mut bytes = token.as_bytes().to_vec();
        bytes[index] = if bytes[index] == b'a' { b'b' } else { b'a' };
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn every_kind_round_trips_through_parse() {
        for kind in SecretKind::ALL {
            let token = SecretToken::generate(kind);
            assert_eq!(token.expose().len(), TOKEN_LEN);
            assert!(token.expose().starts_with(kind.prefix()));
            let parsed = SecretToken::parse(kind, token.expose()).unwrap();
            assert_eq!(parsed, token);
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.digest(), token.digest());
            assert_eq!(SecretKind::from_prefix(token.expose()), Some(kind));
        }
    }

    #[test]
    fn prefixes_are_distinct_and_documented_ones_hold() {
        let prefixes: HashSet<_> = SecretKind::ALL.iter().map(|k| k.prefix()).collect();
        assert_eq!(prefixes.len(), SecretKind::ALL.len());
        assert!(prefixes.iter().all(|p| p.len() == PREFIX_LEN));
        assert_eq!(SecretKind::ClientSecret.prefix(), "kgs_");
        assert_eq!(SecretKind::RefreshToken.prefix(), "kgr_");
        assert_eq!(SecretKind::AuthorizationCode.prefix(), "kgc_");
        assert_eq!(SecretKind::PersonalAccessToken.prefix(), "kgp_");
    }

    #[test]
    fn a_token_of_another_kind_is_refused() {
        let refresh = SecretToken::generate(SecretKind::RefreshToken);
        assert_eq!(
            SecretToken::parse(SecretKind::ClientSecret, refresh.expose()),
            Err(MalformedToken::WrongPrefix)
        );
        // Same random part and a recomputed checksum under another prefix: still refused.
        let relabelled = format!("kgs_{}", &refresh.expose()[PREFIX_LEN..]);
        assert!(SecretToken::parse(SecretKind::ClientSecret, &relabelled).is_err());
        assert_eq!(
            SecretToken::parse(SecretKind::ClientSecret, "Bearer abc"),
            Err(MalformedToken::WrongPrefix)
        );
        assert_eq!(SecretKind::from_prefix("eyJhbGciOi.jwt"), None);
    }

    #[test]
    fn any_single_changed_character_fails_the_checksum() {
        let token = SecretToken::generate(SecretKind::PersonalAccessToken);
        for index in PREFIX_LEN..TOKEN_LEN {
            let typo = with_char_changed(token.expose(), index);
            assert_eq!(
                SecretToken::parse(SecretKind::PersonalAccessToken, &typo),
                Err(MalformedToken::BadChecksum),
                "changed character {index}"
            );
        }
    }

    #[test]
    fn swapped_neighbours_fail_the_checksum() {
        let token = SecretToken::generate(SecretKind::RefreshToken);
        let mut bytes = token.expose().as_bytes().to_vec();
        let i = (PREFIX_LEN..TOKEN_LEN - 1).find(|&i| bytes[i] != bytes[i + 1]).unwrap();
        bytes.swap(i, i + 1);
        let swapped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            SecretToken::parse(SecretKind::RefreshToken, &swapped),
            Err(MalformedToken::BadChecksum)
        );
    }

    #[test]
    fn wrong_length_is_refused() {
        let token = SecretToken::generate(SecretKind::AuthorizationCode);
        let value = token.expose();
        let kind = SecretKind::AuthorizationCode;
        assert_eq!(
            SecretToken::parse(kind, &value[..TOKEN_LEN - 1]),
            Err(MalformedToken::WrongLength)
        );
        assert_eq!(
            SecretToken::parse(kind, &format!("{value}0")),
            Err(MalformedToken::WrongLength)
        );
        assert_eq!(SecretToken::parse(kind, "kgc_"), Err(MalformedToken::WrongLength));
        assert_eq!(SecretToken::parse(kind, ""), Err(MalformedToken::WrongPrefix));
    }

    #[test]
    fn characters_outside_the_alphabet_are_refused() {
        let token = SecretToken::generate(SecretKind::Session);
        let kind = SecretKind::Session;
        for bad in ["-", "_", "+", "/", "=", " ", "é"] {
            // Keep the byte length so the alphabet check, not the length check, answers.
            let mut value = token.expose().to_owned();
            value.replace_range(10..10 + bad.len(), bad);
            assert_eq!(
                SecretToken::parse(kind, &value),
                Err(MalformedToken::BadCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn thousand_generated_tokens_are_unique_and_valid() {
        let tokens: HashSet<String> = (0..1000)
            .map(|_| SecretToken::generate(SecretKind::ClientSecret).expose().to_owned())
            .collect();
        assert_eq!(tokens.len(), 1000);
        assert!(
            tokens
                .iter()
                .all(|t| SecretToken::parse(SecretKind::ClientSecret, t).is_ok())
        );
    }

    #[test]
    fn random_part_uses_the_whole_alphabet() {
        // A generator stuck on a subset (e.g. digits only) would carry far fewer than 256 bits.
        let seen: HashSet<u8> = (0..200)
            .flat_map(|_| {
                let t = SecretToken::generate(SecretKind::Csrf);
                t.expose().as_bytes()[PREFIX_LEN..PREFIX_LEN + RANDOM_LEN].to_vec()
            })
            .collect();
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn debug_redacts_and_display_prefix_is_short() {
        let token = SecretToken::generate(SecretKind::PersonalAccessToken);
        let debug = format!("{token:?}");
        assert!(!debug.contains(&token.expose()[PREFIX_LEN..PREFIX_LEN + 6]));
        assert!(debug.contains("kgp_"));
        let shown = token.display_prefix();
        assert_eq!(shown.len(), 12);
        assert!(token.expose().starts_with(shown));
    }

    #[test]
    fn digest_is_sha256_of_the_whole_token() {
        let token = SecretToken::generate(SecretKind::EmailVerification);
        assert_eq!(token.digest(), TokenDigest::of(token.expose()));
        assert_ne!(
            token.digest(),
            SecretToken::generate(SecretKind::EmailVerification).digest()
        );
    }

    #[test]
    fn checksum_encoding_is_fixed_width() {
        assert_eq!(encode_checksum(0), "000000");
        assert_eq!(encode_checksum(61), "00000z");
        assert_eq!(encode_checksum(62), "000010");
        assert_eq!(encode_checksum(u32::MAX), "4gfFC3");
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"same secret", b"same secret"));
        assert!(!constant_time_eq(b"same secret", b"same secreT"));
        assert!(!constant_time_eq(b"short", b"shorter"));
        assert!(constant_time_eq(b"", b""));
    }
}
