//! PKCE (RFC 7636), S256 only: checks a challenge at /authorize and a verifier at /token.
//!
//! `plain` is refused (OAuth 2.1 §7.5.2: it protects nothing once the request is seen), and so
//! is a challenge without a method, which RFC 7636 §4.3 says means `plain`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The one method Keygate accepts, as it appears in `code_challenge_method` and in discovery.
pub const S256: &str = "S256";
/// base64url without padding of a 32-byte SHA-256.
const CHALLENGE_LEN: usize = 43;
const VERIFIER_MIN: usize = 43;
const VERIFIER_MAX: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method plain is not allowed; use S256")]
    PlainRefused,
    #[error("code_challenge_method is required and must be S256")]
    MissingMethod,
    #[error("unsupported code_challenge_method; only S256 is supported")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 characters of base64url (a SHA-256 digest)")]
    MalformedChallenge,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    MalformedVerifier,
}

/// A checked S256 code challenge, as stored with the authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Checks `code_challenge` and `code_challenge_method` as they came in an authorization request.
    pub fn from_request(challenge: &str, method: Option<&str>) -> Result<CodeChallenge, PkceError> {
        match method {
            Some(S256) => {}
            Some("plain") => return Err(PkceError::PlainRefused),
            Some(_) => return Err(PkceError::UnsupportedMethod),
            None => return Err(PkceError::MissingMethod),
        }
        validate_challenge(challenge)?;
        Ok(CodeChallenge(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method to store beside the challenge; always `S256`.
    pub fn method(&self) -> &'static str {
        S256
    }

    /// Whether `verifier` (from the token request) belongs to this challenge.
    pub fn is_satisfied_by(&self, verifier: &str) -> bool {
        verify(&self.0, verifier)
    }
}

/// A challenge is the unpadded base64url of 32 bytes: exactly 43 characters, decoding cleanly
/// (non-zero trailing bits are refused, so each digest has one spelling).
pub fn validate_challenge(challenge: &str) -> Result<(), PkceError> {
    decode_challenge(challenge).map(|_| ())
}

/// A verifier is 43 to 128 characters of the unreserved set `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn validate_verifier(verifier: &str) -> Result<(), PkceError> {
    let len_ok = (VERIFIER_MIN..=VERIFIER_MAX).contains(&verifier.len());
    let chars_ok = verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if len_ok && chars_ok {
        Ok(())
    } else {
        Err(PkceError::MalformedVerifier)
    }
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)), unpadded.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// True when `verifier` is well formed and hashes to `challenge`. The digests are compared in
/// constant time; a malformed challenge or verifier never verifies.
pub fn verify(challenge: &str, verifier: &str) -> bool {
    let Ok(expected) = decode_challenge(challenge) else {
        return false;
    };
    if validate_verifier(verifier).is_err() {
        return false;
    }
    let actual: [u8; 32] = Sha256::digest(verifier.as_bytes()).into();
    actual.ct_eq(&expected).into()
}

/// Why a token request's `code_verifier` does not fit the code it redeems; every case is
/// `invalid_grant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkceMismatch {
    #[error("code_verifier is required: the authorization request carried a code_challenge")]
    MissingVerifier,
    #[error("code_verifier sent, but the authorization request carried no code_challenge")]
    UnexpectedVerifier,
    #[error("code_verifier does not match the code_challenge")]
    WrongVerifier,
}

/// The PKCE check at the token endpoint: the challenge stored with the code against the verifier
/// in the request. A verifier for a code issued without a challenge is refused too (RFC 9700
/// §2.1.1: otherwise an attacker can inject a code obtained without PKCE, a downgrade). Whether a
/// client must use PKCE at all is decided at /authorize (public clients always do).
pub fn check_token_request(stored_challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceMismatch> {
    match (stored_challenge, verifier) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(PkceMismatch::MissingVerifier),
        (None, Some(_)) => Err(PkceMismatch::UnexpectedVerifier),
        (Some(challenge), Some(verifier)) if verify(challenge, verifier) => Ok(()),
        (Some(_), Some(_)) => Err(PkceMismatch::WrongVerifier),
    }
}

fn decode_challenge(challenge: &str) -> Result<[u8; 32], PkceError> {
    if challenge.len() != CHALLENGE_LEN {
        return Err(PkceError::MalformedChallenge);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(challenge)
        .map_err(|_| PkceError::MalformedChallenge)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| PkceError::MalformedChallenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector_verifies() {
        assert_eq!(challenge_for(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(verify(RFC_CHALLENGE, RFC_VERIFIER));
        let challenge = CodeChallenge::from_request(RFC_CHALLENGE, Some("S256")).unwrap();
        assert!(challenge.is_satisfied_by(RFC_VERIFIER));
        assert_eq!(challenge.method(), "S256");
        assert_eq!(challenge.as_str(), RFC_CHALLENGE);
    }

    #[test]
    fn wrong_verifier_fails() {
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        assert!(!verify(RFC_CHALLENGE, other));
        // A verifier equal to the challenge is the plain method in disguise.
        assert!(!verify(RFC_CHALLENGE, RFC_CHALLENGE));
    }

    #[test]
    fn plain_and_missing_or_unknown_methods_are_refused() {
        assert_eq!(
            CodeChallenge::from_request(RFC_CHALLENGE, Some("plain")),
            Err(PkceError::PlainRefused)
        );
        assert_eq!(
            CodeChallenge::from_request(RFC_CHALLENGE, None),
            Err(PkceError::MissingMethod)
        );
        for method in ["s256", "S512", "", "S256 "] {
            assert_eq!(
                CodeChallenge::from_request(RFC_CHALLENGE, Some(method)),
                Err(PkceError::UnsupportedMethod),
                "{method:?}"
            );
        }
    }

    #[test]
    fn malformed_challenges_are_refused() {
        let cases = [
            "",
            &RFC_CHALLENGE[..42],                           // too short
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", // padded
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",  // standard, not url, alphabet
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",  // non-zero trailing bits
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c ",
        ];
        for challenge in cases {
            assert_eq!(
                validate_challenge(challenge),
                Err(PkceError::MalformedChallenge),
                "{challenge:?}"
            );
            assert!(CodeChallenge::from_request(challenge, Some("S256")).is_err());
            assert!(!verify(challenge, RFC_VERIFIER));
        }
    }

    #[test]
    fn token_request_needs_the_verifier_exactly_when_a_challenge_was_sent() {
        assert_eq!(check_token_request(Some(RFC_CHALLENGE), Some(RFC_VERIFIER)), Ok(()));
        assert_eq!(check_token_request(None, None), Ok(()));
        assert_eq!(
            check_token_request(Some(RFC_CHALLENGE), None),
            Err(PkceMismatch::MissingVerifier)
        );
        // Downgrade: a verifier for a code that was issued without a challenge.
        assert_eq!(
            check_token_request(None, Some(RFC_VERIFIER)),
            Err(PkceMismatch::UnexpectedVerifier)
        );
        assert_eq!(
            check_token_request(Some(RFC_CHALLENGE), Some(&"a".repeat(43))),
            Err(PkceMismatch::WrongVerifier)
        );
        // The plain method in disguise: the challenge itself sent as the verifier.
        assert_eq!(
            check_token_request(Some(RFC_CHALLENGE), Some(RFC_CHALLENGE)),
            Err(PkceMismatch::WrongVerifier)
        );
    }

    #[test]
    fn verifier_length_bounds() {
        let ok_min = "a".repeat(43);
        let ok_max = "a".repeat(128);
        assert_eq!(validate_verifier(&ok_min), Ok(()));
        assert_eq!(validate_verifier(&ok_max), Ok(()));
        assert_eq!(validate_verifier(&"a".repeat(42)), Err(PkceError::MalformedVerifier));
        assert_eq!(validate_verifier(&"a".repeat(129)), Err(PkceError::MalformedVerifier));
        // Well formed and matching, but too long: refused even though the hash would match.
        let long = "a".repeat(129);
        assert!(!verify(&challenge_for(&long), &long));
        let short = "a".repeat(42);
        assert!(!verify(&challenge_for(&short), &short));
        assert!(verify(&challenge_for(&ok_max), &ok_max));
    }

    #[test]
    fn verifier_alphabet_is_the_unreserved_set() {
        let all_allowed = "ABCXYZabcxyz0189-._~ABCXYZabcxyz0189-._~abc";
        assert_eq!(validate_verifier(all_allowed), Ok(()));
        for bad in ['+', '/', '=', ' ', '%', 'é', '\n'] {
            let verifier = format!("{}{bad}", "a".repeat(43));
            assert_eq!(
                validate_verifier(&verifier),
                Err(PkceError::MalformedVerifier),
                "{bad:?}"
            );
            assert!(!verify(&challenge_for(&verifier), &verifier));
        }
    }
}
