//! Reading OAuth parameters: form bodies (only as `application/x-www-form-urlencoded`, RFC 6749
//! §3.2) and query strings where each parameter may appear at most once (RFC 6749 §3.1, §3.2),
//! bounded by the limits table and free of control characters; and client credentials from
//! `Authorization: Basic` or the body (RFC 6749 §2.3.1).

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate_core::oauth::{ClientCredentials, OAuthError};

use crate::http::authorization::{self, Scheme};
use crate::http::limits;

/// Whether the request says its body is a form (`application/x-www-form-urlencoded`, parameters
/// such as `; charset=UTF-8` allowed); anything else is `invalid_request` at the token endpoints.
pub fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    if limits::is_form(headers) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be sent as Content-Type: application/x-www-form-urlencoded",
        ))
    }
}

/// Parameters by name. Empty values count as absent (RFC 6749 §3.1).
#[derive(Clone, Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text; a repeated parameter, one longer than its
    /// limit or one holding a control character is `invalid_request`.
    pub fn parse(text: &[u8]) -> Result<Params, OAuthError> {
        let mut map = HashMap::new();
        for (name, value) in form_urlencoded::parse(text) {
            limits::check_oauth_param(&name, &value).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
            if value.is_empty() {
                continue;
            }
            if map.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter {name} is repeated")));
            }
        }
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// The client credentials a request carries. Using two methods at once is `invalid_request`.
pub fn client_credentials(headers: &HeaderMap, params: &mut Params) -> Result<ClientCredentials, OAuthError> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret");
    let bad = || OAuthError::invalid_client("the Basic authorization header is malformed");
    let basic = authorization::credentials(headers, Scheme::Basic).map_err(|_| bad())?;
    if let Some(encoded) = basic {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        let decoded = STANDARD.decode(encoded).map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = text.split_once(':').ok_or_else(bad)?;
        let (client_id, secret) = (form_decode(id), form_decode(secret));
        for (name, value) in [("client_id", &client_id), ("client_secret", &secret)] {
            limits::check_oauth_param(name, value)
                .map_err(|e| OAuthError::invalid_client(format!("the Basic authorization header is malformed: {e}")))?;
        }
        if body_id.as_deref().is_some_and(|b| b != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        return Ok(ClientCredentials::Basic { client_id, secret });
    }
    Ok(match (body_id, body_secret) {
        (Some(client_id), Some(secret)) => ClientCredentials::Post { client_id, secret },
        (Some(client_id), None) => ClientCredentials::PublicId { client_id },
        (None, _) => ClientCredentials::Missing,
    })
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are put in the header.
fn form_decode(text: &str) -> String {
    let joined = format!("v={text}");
    form_urlencoded::parse(joined.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        let p = Params::parse(b"a=1&b=&c=x+y%21").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y!"));
    }

    #[test]
    fn long_or_control_character_values_are_refused() {
        let long_state = format!("state={}", "s".repeat(513));
        let err = Params::parse(long_state.as_bytes()).unwrap_err();
        assert_eq!(err.description, "state is longer than 512 bytes");
        assert!(Params::parse(b"client_id=%00").is_err());
        assert!(Params::parse(b"nonce=a%0Ab").is_err());
        assert!(Params::parse(format!("nonce={}", "n".repeat(512)).as_bytes()).is_ok());
    }

    #[test]
    fn only_form_bodies_are_accepted() {
        let with = |ct: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            require_form(&headers)
        };
        assert!(with("application/x-www-form-urlencoded").is_ok());
        assert!(with("Application/X-WWW-Form-Urlencoded; charset=UTF-8").is_ok());
        assert!(with("text/plain").is_err());
        assert!(with("application/json").is_err());
        assert!(require_form(&HeaderMap::new()).is_err());
    }

    #[test]
    fn basic_credentials_in_any_case_and_without_control_characters() {
        let basic = |scheme: &str, raw: &str| {
            let mut headers = HeaderMap::new();
            let value = format!("{scheme} {}", STANDARD.encode(raw));
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
            client_credentials(&headers, &mut Params::default())
        };
        for scheme in ["basic", "BASIC", "Basic"] {
            assert!(matches!(
                basic(scheme, "app:secret"),
                Ok(ClientCredentials::Basic { .. })
            ));
        }
        for raw in ["\0:\0", "app\0:secret", "app:se%00cret"] {
            let err = basic("Basic", raw).unwrap_err();
            assert_eq!(err.code, keygate_core::oauth::ErrorCode::InvalidClient, "{raw:?}");
        }
    }

    #[test]
    fn basic_credentials_are_decoded_and_mixing_methods_refused() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("my%20app:s3cr%2Bet"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        let mut params = Params::parse(b"grant_type=x").unwrap();
        let creds = client_credentials(&headers, &mut params).unwrap();
        assert_eq!(
            creds,
            ClientCredentials::Basic {
                client_id: "my app".into(),
                secret: "s3cr+et".into()
            }
        );
        let mut both = Params::parse(b"client_secret=x").unwrap();
        assert!(client_credentials(&headers, &mut both).is_err());
        let mut public = Params::parse(b"client_id=spa").unwrap();
        assert_eq!(
            client_credentials(&HeaderMap::new(), &mut public).unwrap(),
            ClientCredentials::PublicId {
                client_id: "spa".into()
            }
        );
    }
}
