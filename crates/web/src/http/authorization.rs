//! The one reader of the `Authorization` header (RFC 7235 §2.1: `scheme credentials`, the scheme
//! case-insensitive), used by the token endpoints (Basic), userinfo, the account API and the
//! admin API (Bearer). Credentials holding control characters or non-ASCII bytes are refused here.

use axum::http::{HeaderMap, header};

/// The schemes Keygate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Basic,
    Bearer,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Basic => "basic",
            Scheme::Bearer => "bearer",
        }
    }
}

/// The header names `scheme` but its credentials are empty or hold a control character or a
/// non-ASCII byte. (Inner spaces are let through: an operator's admin token may hold them.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the Authorization header is malformed")]
pub struct Malformed;

/// The credentials of the `Authorization` header when it uses `scheme` (in any letter case);
/// `Ok(None)` when there is no header or it names another scheme.
pub fn credentials(headers: &HeaderMap, scheme: Scheme) -> Result<Option<&str>, Malformed> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let name_len = bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
    if !bytes[..name_len].eq_ignore_ascii_case(scheme.name().as_bytes()) {
        return Ok(None);
    }
    let rest = std::str::from_utf8(&bytes[name_len..]).map_err(|_| Malformed)?;
    let token = rest.trim_matches(' ');
    let acceptable = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if acceptable { Ok(Some(token)) } else { Err(Malformed) }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn schemes_match_in_any_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "BeArEr   abc  "] {
            assert_eq!(
                credentials(&with(value.as_bytes()), Scheme::Bearer),
                Ok(Some("abc")),
                "{value}"
            );
        }
        assert_eq!(credentials(&with(b"BASIC eDp5"), Scheme::Basic), Ok(Some("eDp5")));
        assert_eq!(credentials(&with(b"Basic eDp5"), Scheme::Bearer), Ok(None));
        assert_eq!(credentials(&with(b"Bearerabc"), Scheme::Bearer), Ok(None));
        assert_eq!(credentials(&HeaderMap::new(), Scheme::Bearer), Ok(None));
    }

    #[test]
    fn empty_tabbed_or_binary_credentials_are_malformed() {
        for value in [&b"Bearer"[..], b"Bearer   ", b"Bearer a\tb", b"Bearer \xff\xfe"] {
            assert_eq!(credentials(&with(value), Scheme::Bearer), Err(Malformed), "{value:?}");
        }
    }
}
