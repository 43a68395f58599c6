//! Second factor: TOTP per RFC 6238 (HMAC-SHA-1, 6 digits, 30-second steps, ±1 step of clock
//! drift) and single-use recovery codes.
//!
//! [`verify`] returns the time step a code matched; the caller hands it to the store's
//! `use_totp_step`, which refuses a step at or before the last one used, so a code works once.
//! Recovery codes are stored only as digests bound to their user ([`recovery_code_digest`]).

use rand::Rng;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::UserId;

/// Digits in a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Steps of drift accepted on either side of the current one.
const SKEW_STEPS: u16 = 1;
/// Bytes of a generated secret (160 bits, RFC 4226 §4's recommendation).
const SECRET_LEN: usize = 20;
/// Shortest secret accepted from storage (128 bits, RFC 4226's minimum).
const MIN_SECRET_LEN: usize = 16;

/// How many recovery codes a user gets.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Crockford's base32 in lower case: no i, l, o or u, so nothing reads as another character.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 12 characters of 5 bits: 60 bits per code, shown as three groups of four.
const RECOVERY_CHARS: usize = 12;
const RECOVERY_GROUP: usize = 4;

/// A TOTP setting cannot be built. Never carries the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP secret must be at least {MIN_SECRET_LEN} bytes, got {0}")]
    SecretTooShort(usize),
    #[error("TOTP secret is not base32")]
    NotBase32,
    #[error("issuer and account name must be non-empty and must not contain ':'")]
    InvalidLabel,
}

/// A TOTP shared secret. Wiped from memory when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// 160 random bits from the thread-local CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_LEN]);
        rand::rng().fill(bytes.as_mut_slice());
        TotpSecret(bytes)
    }

    /// Raw bytes, e.g. just decrypted from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_SECRET_LEN {
            return Err(TotpError::SecretTooShort(bytes.len()));
        }
        Ok(TotpSecret(bytes))
    }

    /// The RFC 4648 base32 text authenticator apps show (padding and case ignored).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let secret = totp_rs::Secret::try_from_base32(text.trim().trim_end_matches('=').to_uppercase())
            .map_err(|_| TotpError::NotBase32)?;
        Self::from_bytes(secret.as_bytes().to_vec())
    }

    /// The bytes to encrypt for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, for people who type the secret into their app.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }

    fn totp(&self, digits: usize) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits as u8)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS as u64)
            .with_secret(self.0.to_vec())
            .build_noncompliant()
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// A new secret for a user setting up TOTP.
pub fn generate_secret() -> TotpSecret {
    TotpSecret::generate()
}

/// The `otpauth://totp/…` URI an authenticator app imports (usually through a QR code).
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> Result<String, TotpError> {
    if issuer.is_empty() || account.is_empty() {
        return Err(TotpError::InvalidLabel);
    }
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS as u64)
        .with_secret(secret.0.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .and_then(|totp| totp.to_url())
        .map_err(|_| TotpError::InvalidLabel)
}

/// The time step `now` falls in.
pub fn step_at(now: Timestamp) -> i64 {
    now.as_unix_seconds().div_euclid(STEP_SECONDS)
}

/// The code an authenticator shows at `now` (for tests and test clients).
pub fn code_at(secret: &TotpSecret, now: Timestamp) -> String {
    let seconds = u64::try_from(now.as_unix_seconds()).unwrap_or(0);
    secret.totp(DIGITS).generate(seconds).to_string()
}

/// The step `code` is valid for, if it is valid at `now` or one step either side. Spaces in the
/// code are ignored ("123 456"); the comparison is constant time. Replays are the caller's to
/// refuse, with the step returned.
pub fn verify(secret: &TotpSecret, code: &str, now: Timestamp) -> Option<i64> {
    verify_digits(secret, code, now, DIGITS)
}

fn verify_digits(secret: &TotpSecret, code: &str, now: Timestamp, digits: usize) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = u64::try_from(now.as_unix_seconds()).ok()?;
    let step = secret.totp(digits).check(&code, seconds)?;
    i64::try_from(step).ok()
}

/// Ten fresh recovery codes (`xxxx-xxxx-xxxx`, 60 random bits each), to show the user once.
pub fn generate_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let chars: Vec<u8> = (0..RECOVERY_CHARS)
                .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())])
                .collect();
            chars
                .chunks(RECOVERY_GROUP)
                .map(|group| String::from_utf8_lossy(group).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The canonical form of a typed recovery code: lower case, without dashes or spaces, with the
/// look-alikes `o` → `0` and `i`, `l` → `1` mapped as Crockford's base32 does. `None` when it
/// cannot be a recovery code (so no lookup is made).
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let canonical: String = input
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == '-'))
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    let valid = canonical.len() == RECOVERY_CHARS && canonical.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    valid.then_some(canonical)
}

/// What the store keeps for a recovery code: SHA-256 over the user id and the canonical code.
/// Binding the user means one stolen table cannot be attacked for all users at once, and a
/// code of one account is worthless on another.
pub fn recovery_code_digest(user: UserId, input: &str) -> Option<TokenDigest> {
    let canonical = Zeroizing::new(normalize_recovery_code(input)?);
    Some(TokenDigest::of(&format!("recovery:{user}:{}", canonical.as_str())))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    const RFC_SHA1_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_sha1_vectors_eight_digits() {
        for (time, code) in RFC_SHA1_VECTORS {
            let now = Timestamp::from_unix_seconds(time);
            assert_eq!(
                verify_digits(&rfc_secret(), code, now, 8),
                Some(step_at(now)),
                "T={time}"
            );
            assert_eq!(rfc_secret().totp(8).generate(time as u64).to_string(), code);
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_six_digits_are_the_last_six() {
        for (time, code) in RFC_SHA1_VECTORS {
            let now = Timestamp::from_unix_seconds(time);
            assert_eq!(code_at(&rfc_secret(), now), &code[2..], "T={time}");
            assert_eq!(verify(&rfc_secret(), &code[2..], now), Some(step_at(now)));
        }
        assert_eq!(
            verify(&rfc_secret(), "287082", Timestamp::from_unix_seconds(59)),
            Some(1)
        );
    }

    #[test]
    fn one_step_of_drift_either_side_and_no_more() {
        let secret = generate_secret();
        let now = Timestamp::from_unix_seconds(1_700_000_015);
        let step = step_at(now);
        for (offset, accepted) in [(-60, false), (-30, true), (0, true), (30, true), (60, false)] {
            let code = code_at(&secret, Timestamp::from_unix_seconds(now.as_unix_seconds() + offset));
            let expected = accepted.then_some(step + offset / STEP_SECONDS);
            assert_eq!(verify(&secret, &code, now), expected, "offset {offset}");
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = rfc_secret();
        let now = Timestamp::from_unix_seconds(59);
        assert_eq!(verify(&secret, "287 082", now), Some(1));
        for bad in ["", "28708", "2870823", "28708x", "287082\u{0}", "٢٨٧٠٨٢", "94287082"] {
            assert_eq!(verify(&secret, bad, now), None, "{bad:?}");
        }
        assert_eq!(verify(&secret, "287082", Timestamp::from_unix_seconds(-59)), None);
    }

    #[test]
    fn secrets_are_160_bits_base32_round_trip_and_redacted() {
        let secret = generate_secret();
        assert_eq!(secret.as_bytes().len(), 20);
        assert_ne!(secret, generate_secret());
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), secret);
        assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap(), secret);
        assert_eq!(TotpSecret::from_base32("not base32 !"), Err(TotpError::NotBase32));
        assert_eq!(TotpSecret::from_bytes(vec![1; 15]), Err(TotpError::SecretTooShort(15)));
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn otpauth_uri_carries_what_apps_need() {
        let secret = rfc_secret();
        let uri = otpauth_uri(&secret, "Keygate", "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Keygate:ada%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.to_base32())), "{uri}");
        assert!(uri.contains("issuer=Keygate"), "{uri}");
        // SHA-1, 6 digits and 30 s are the defaults apps assume; any stated value must match.
        assert!(!uri.contains("algorithm=SHA256") && !uri.contains("digits=8"), "{uri}");
        assert_eq!(otpauth_uri(&secret, "Key:gate", "ada"), Err(TotpError::InvalidLabel));
        assert_eq!(otpauth_uri(&secret, "Keygate", ""), Err(TotpError::InvalidLabel));
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_well_formed() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), RECOVERY_CODE_COUNT);
        for code in &codes {
            assert_eq!(code.len(), 14, "{code}");
            assert_eq!(code.matches('-').count(), 2, "{code}");
            assert_eq!(normalize_recovery_code(code).unwrap(), code.replace('-', ""));
        }
        // Every character of the alphabet shows up: 5 bits each, 60 bits per code.
        let seen: HashSet<char> = (0..40)
            .flat_map(generate_recovery_codes_once)
            .flat_map(|c| c.chars().collect::<Vec<_>>())
            .filter(|c| *c != '-')
            .collect();
        assert_eq!(seen.len(), 32);
    }

    fn generate_recovery_codes_once(_: usize) -> Vec<String> {
        generate_recovery_codes()
    }

    #[test]
    fn recovery_code_typing_variants_give_one_digest() {
        let user = UserId::new();
        let code = "ab1c-0def-ghjk";
        let digest = recovery_code_digest(user, code).unwrap();
        for typed in [
            "AB1C-0DEF-GHJK",
            "ab1c0defghjk",
            " ab1c 0def ghjk ",
            "abIc-Odef-ghjk",
            "abLc-odef-ghjk",
        ] {
            assert_eq!(recovery_code_digest(user, typed), Some(digest), "{typed}");
        }
        assert_ne!(recovery_code_digest(UserId::new(), code), Some(digest));
        assert_ne!(recovery_code_digest(user, "ab1c-0def-ghjm"), Some(digest));
        for bad in [
            "",
            "ab1c-0def-ghj",
            "ab1c-0def-ghjkm",
            "ab1c-0def-ghu1",
            "ab1c_0def_ghjk",
        ] {
            assert_eq!(recovery_code_digest(user, bad), None, "{bad:?}");
        }
    }
}
