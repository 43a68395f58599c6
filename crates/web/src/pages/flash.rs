//! Things a page shows once after a redirect (a new token, recovery codes, a TOTP key being set
//! up), carried in a short-lived HttpOnly cookie rather than kept on the server: the secret only
//! ever lives where it is going anyway, the user's browser, and the page that shows it clears it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Shown once on the account page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flash {
    NewToken { name: String, token: String },
    RecoveryCodes { codes: Vec<String> },
}

/// A TOTP key waiting for its first code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTotp {
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for PendingTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingTotp(<redacted>)")
    }
}

/// The cookie value for `value`: base64url of its JSON (only cookie-safe characters).
pub fn encode<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_vec(value).ok().map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// The value back from a cookie; None for anything that does not decode.
pub fn decode<T: DeserializeOwned>(cookie: &str) -> Option<T> {
    let json = URL_SAFE_NO_PAD.decode(cookie).ok()?;
    serde_json::from_slice(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_survive_the_cookie_round_trip_and_garbage_is_ignored() {
        let flash = Flash::RecoveryCodes {
            codes: vec!["abcd-efgh".to_owned(); 10],
        };
        let cookie = encode(&flash).unwrap();
        assert!(
            cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode::<Flash>(&cookie), Some(flash));
        assert_eq!(decode::<Flash>("not base64!"), None);
        assert_eq!(decode::<Flash>(&URL_SAFE_NO_PAD.encode(b"{\"kind\":\"other\"}")), None);
    }
}
