//! Email addresses, parsed at the edge and compared by their normalised form.
//!
//! Only a bare addr-spec is accepted (`local@domain`, RFC 5322 §3.4.1 dot-atoms): no display
//! name (`Ann <ann@example.com>`), no quoted local part, no comments, no domain literal, no
//! whitespace or control characters, one `@`. So the address that gets the mail is the address
//! that is stored, shown in ID tokens and counted by the limits.

use serde::{Deserialize, Serialize};

/// Longest address (RFC 5321 §4.5.3.1.3: a 256-octet path less the angle brackets).
pub const MAX_LEN: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;
/// Longest domain label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// An email address as the user typed it (trimmed), with its normalised form computed once.
///
/// Addresses are unique case-insensitively: `Ann@Example.com` and `ann@example.com` are one
/// account, one mailbox for every counter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email {
    text: String,
    normalized: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid email address")]
pub struct InvalidEmail;

/// RFC 5322 `atext`, plus any non-ASCII letter (RFC 6531 internationalised addresses).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
}

/// A dot-atom: atoms of `atext` joined by single dots.
fn is_dot_atom(text: &str) -> bool {
    text.split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// A host name of at least two labels: letters, digits and inner hyphens (non-ASCII letters
/// allowed for internationalised domains).
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
        })
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let s = raw.trim();
        let (local, domain) = s.split_once('@').ok_or(InvalidEmail)?;
        let ok = s.len() <= MAX_LEN && local.len() <= MAX_LOCAL_LEN && is_dot_atom(local) && is_domain(domain);
        if !ok {
            return Err(InvalidEmail);
        }
        Ok(Email {
            text: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key uniqueness and every limit use: the address in lower case.
    pub fn normalized(&self) -> String {
        self.normalized.clone()
    }

    /// The normalised form without a copy.
    pub fn normalized_str(&self) -> &str {
        &self.normalized
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.text
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let e = Email::parse("  Ann@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ann@Example.COM");
        assert_eq!(e.normalized(), "ann@example.com");
        let plus = Email::parse("o'brien+tag@mail.example.co.uk").unwrap();
        assert_eq!(plus.normalized_str(), "o'brien+tag@mail.example.co.uk");
        assert!(Email::parse("jörg@bücher.example").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "ann@.com",
            "ann@example..com",
            "ann@-example.com",
            "ann.@example.com",
            ".ann@example.com",
            "a..nn@example.com",
            "ann@[127.0.0.1]",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn display_names_quotes_lists_and_control_characters_are_refused() {
        for bad in [
            "x<attacker@evil.com>",
            "x <attacker@evil.com>",
            "<attacker@evil.com>",
            "\"x\" <attacker@evil.com>",
            "\"attacker\"@evil.com",
            "ann@example.com,attacker@evil.com",
            "ann@example.com, attacker@evil.com",
            "attacker@evil.com (comment)",
            "ann@example.com\0",
            "ann\0@example.com",
            "ann\r\n@example.com",
            "ann\t@example.com",
            "ann@exa\u{85}mple.com",
            "ann@example.com>",
            "ann@evil.com@example.com",
            "ann;x@example.com",
            "ann\\x@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }

    #[test]
    fn length_limits_are_254_in_all_and_64_for_the_local_part() {
        let local64 = "l".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.com")).is_ok());
        assert!(Email::parse(&format!("{}@example.com", "l".repeat(65))).is_err());
        // 64 + 1 + 189 = 254 octets: the longest accepted.
        let domain = format!("{}.{}.{}.com", "a".repeat(63), "b".repeat(63), "c".repeat(57));
        let longest = format!("{local64}@{domain}");
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(&longest).is_ok());
        assert!(Email::parse(&format!("{local64}@d.{domain}")).is_err());
    }
}
