//! Password policy per NIST SP 800-63B (DESIGN §5): a length range counted in Unicode code points
//! after NFC normalisation, no composition rules, and a bundled list of breached passwords.
//!
//! Hash what [`normalize`] returns, not the raw input, so a password typed as `é` (one code
//! point) on one keyboard and as `e` + combining accent on another is the same password.

use std::collections::HashSet;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// The bundled list: see `crates/core/data/README.md` for its origin and licence.
const BREACHED_LIST: &str = include_str!("../data/common-passwords.txt");

static BREACHED: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    BREACHED_LIST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// NFC turns at most 4 code points into one (e.g. ω + three combining marks → ᾢ) and a code
/// point is at most 4 bytes, so an input longer than `16 × max` bytes is too long whatever its
/// text; such input is refused without being normalised (a 1 MB body costs nothing).
const MAX_BYTES_PER_ALLOWED_CHAR: usize = 16;

pub const DEFAULT_MIN_CHARS: usize = 8;
pub const DEFAULT_MAX_CHARS: usize = 256;
/// NIST 800-63B: a minimum below 8 is not allowed; verifiers should permit at least 64.
const LOWEST_MIN_CHARS: usize = 8;
const LOWEST_MAX_CHARS: usize = 64;

/// Why a new password is refused. No variant carries the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("password is on a list of passwords exposed in data breaches; choose another")]
    Breached,
}

/// A configured length range that NIST does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "password length limits {min}..={max} are invalid: need {LOWEST_MIN_CHARS} <= min <= max and max >= {LOWEST_MAX_CHARS}"
)]
pub struct InvalidPasswordPolicy {
    pub min: usize,
    pub max: usize,
}

/// The rules a new password must pass (at registration, reset and change; not at login, where
/// an old password that predates a stricter policy must still work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: DEFAULT_MIN_CHARS,
            max_chars: DEFAULT_MAX_CHARS,
        }
    }
}

impl PasswordPolicy {
    /// A policy with its own limits, e.g. a minimum of 15 for accounts without a second factor.
    pub fn new(min_chars: usize, max_chars: usize) -> Result<Self, InvalidPasswordPolicy> {
        if min_chars < LOWEST_MIN_CHARS || max_chars < LOWEST_MAX_CHARS || min_chars > max_chars {
            return Err(InvalidPasswordPolicy {
                min: min_chars,
                max: max_chars,
            });
        }
        Ok(PasswordPolicy { min_chars, max_chars })
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Checks a new password: length first (cheap, and a huge input is refused before any
    /// normalisation), then the breached list.
    pub fn check(&self, password: &str) -> Result<(), PasswordRejection> {
        let too_long = PasswordRejection::TooLong { max: self.max_chars };
        if password.len() > self.max_chars.saturating_mul(MAX_BYTES_PER_ALLOWED_CHAR) {
            return Err(too_long);
        }
        let normalized = normalize(password);
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRejection::TooShort { min: self.min_chars });
        }
        if chars > self.max_chars {
            return Err(too_long);
        }
        if is_on_list(&normalized) {
            return Err(PasswordRejection::Breached);
        }
        Ok(())
    }
}

/// The NFC form of a password: what to count, check and hash. Nothing is trimmed or truncated.
pub fn normalize(password: &str) -> String {
    password.nfc().collect()
}

/// Whether the password (compared case-insensitively, after NFC) is on the bundled list.
pub fn is_breached(password: &str) -> bool {
    is_on_list(&normalize(password))
}

fn is_on_list(normalized: &str) -> bool {
    BREACHED.contains(normalized.to_lowercase().as_str())
}

/// How many passwords the bundled list holds.
pub fn breached_list_len() -> usize {
    BREACHED.len()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn bundled_list_is_large_and_holds_the_classics() {
        assert!(breached_list_len() >= 10_000, "only {} entries", breached_list_len());
        for common in ["password", "12345678", "qwerty123", "iloveyou"] {
            assert!(is_breached(common), "{common}");
        }
        assert!(!is_breached("correct horse battery staple of keygate"));
    }

    #[test]
    fn bundled_list_is_lowercase_so_every_entry_can_match() {
        let unmatchable: Vec<&str> = BREACHED.iter().copied().filter(|p| p.to_lowercase() != *p).collect();
        assert!(unmatchable.is_empty(), "{unmatchable:?}");
    }

    #[test]
    fn breached_passwords_are_refused_in_any_case() {
        let policy = PasswordPolicy::default();
        for pw in ["password", "PASSWORD", "PassWord", "12345678", "Qwerty123"] {
            assert_eq!(policy.check(pw), Err(PasswordRejection::Breached), "{pw}");
        }
    }

    #[test]
    fn length_limits_with_defaults() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check(""), Err(PasswordRejection::TooShort { min: 8 }));
        assert_eq!(policy.check("xK9#mQ2"), Err(PasswordRejection::TooShort { min: 8 }));
        assert_eq!(policy.check("xK9#mQ2v"), Ok(()));
        let longest: String = "kG7-".repeat(64);
        assert_eq!(policy.check(&longest), Ok(()));
        assert_eq!(
            policy.check(&format!("{longest}x")),
            Err(PasswordRejection::TooLong { max: 256 })
        );
    }

    #[test]
    fn no_composition_rules() {
        let policy = PasswordPolicy::default();
        // All lower case, no digit, no symbol: fine when long enough and not breached.
        assert_eq!(policy.check("purple elephants dance quietly"), Ok(()));
        assert_eq!(policy.check("zqxwvmtrpl"), Ok(()));
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        let policy = PasswordPolicy::default();
        // 8 code points, 24 bytes.
        assert_eq!(policy.check("日本語パスワード"), Ok(()));
        assert_eq!(
            policy.check("日本語パスワー"),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        // 256 four-byte code points are within the limit.
        assert_eq!(policy.check(&"🔑".repeat(256)), Ok(()));
        assert_eq!(
            policy.check(&"🔑".repeat(257)),
            Err(PasswordRejection::TooLong { max: 256 })
        );
    }

    #[test]
    fn length_is_counted_after_nfc() {
        let policy = PasswordPolicy::default();
        // "é" as e + U+0301: 8 code points raw, 4 after NFC.
        let decomposed = "e\u{301}e\u{301}e\u{301}e\u{301}";
        assert_eq!(decomposed.chars().count(), 8);
        assert_eq!(policy.check(decomposed), Err(PasswordRejection::TooShort { min: 8 }));
        assert_eq!(normalize(decomposed), "éééé");
        assert_eq!(normalize("caf\u{e9}"), normalize("cafe\u{301}"));
    }

    #[test]
    fn breached_check_sees_through_normalisation() {
        // "йцукен" (the Russian "qwerty") is on the list; й can also be typed as и + U+0306.
        assert!(is_breached("йцукен"));
        assert!(is_breached("и\u{306}цукен"));
        assert!(is_breached("ЙЦУКЕН"));
    }

    #[test]
    fn whitespace_is_kept_not_trimmed() {
        let policy = PasswordPolicy::default();
        // "password" padded with spaces is a different, 10-character password.
        assert_eq!(policy.check(" password "), Ok(()));
        assert_eq!(normalize(" a b "), " a b ");
    }

    #[test]
    fn a_megabyte_is_refused_at_once() {
        let policy = PasswordPolicy::default();
        let huge = "a".repeat(1024 * 1024);
        let started = Instant::now();
        assert_eq!(policy.check(&huge), Err(PasswordRejection::TooLong { max: 256 }));
        assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
    }

    #[test]
    fn custom_limits() {
        let strict = PasswordPolicy::new(15, 64).unwrap();
        assert_eq!(strict.min_chars(), 15);
        assert_eq!(strict.max_chars(), 64);
        assert_eq!(
            strict.check("xK9#mQ2vxK9#mQ"),
            Err(PasswordRejection::TooShort { min: 15 })
        );
        assert_eq!(strict.check("xK9#mQ2vxK9#mQ2"), Ok(()));
        assert_eq!(
            strict.check(&"xK9#".repeat(17)),
            Err(PasswordRejection::TooLong { max: 64 })
        );
        assert!(PasswordPolicy::new(7, 256).is_err());
        assert!(PasswordPolicy::new(8, 63).is_err());
        assert!(PasswordPolicy::new(100, 80).is_err());
        assert_eq!(PasswordPolicy::new(8, 256), Ok(PasswordPolicy::default()));
    }

    #[test]
    fn rejection_messages_never_echo_the_password() {
        let policy = PasswordPolicy::default();
        for input in ["Zx9!q", "Password", &"Zx9!q".repeat(60)] {
            let err = policy.check(input).unwrap_err();
            assert!(!err.to_string().contains(input), "{err}");
            assert!(!format!("{err:?}").contains(input), "{err:?}");
        }
    }
}
