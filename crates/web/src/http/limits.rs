//! The edge's input rules in one table: the longest value each request parameter may have (OAuth
//! forms and queries, the account API's JSON fields), and no control characters (NUL included)
//! in anything that could reach a store. Checked before a handler looks anything up or stores it.

use std::borrow::Cow;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest value (in bytes) of each OAuth parameter of /oauth2/authorize, /oauth2/token,
/// /oauth2/introspect, /oauth2/revoke, /oauth2/userinfo and /oauth2/logout. The README lists them.
pub const OAUTH_PARAMS: &[(&str, usize)] = &[
    // RFC 6749 §2.2 leaves the size open; registration allows at most 100 characters.
    ("client_id", 100),
    ("client_secret", 256),
    ("redirect_uri", 2048),
    ("post_logout_redirect_uri", 2048),
    ("response_type", 64),
    ("response_mode", 64),
    ("grant_type", 128),
    ("scope", 1024),
    ("state", 512),
    ("nonce", 512),
    ("login_hint", 512),
    ("ui_locales", 256),
    ("claims_locales", 256),
    ("acr_values", 256),
    ("display", 32),
    ("prompt", 64),
    ("max_age", 20),
    // RFC 7636 §4.2: a challenge is 43 to 128 characters (S256 gives exactly 43).
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    // RFC 7636 §4.1: a verifier is 43 to 128 characters.
    ("code_verifier", 128),
    ("code", 256),
    ("refresh_token", 256),
    ("token_type_hint", 64),
    // Access tokens (JWTs) and ID tokens: generous for any key size and claim set.
    ("token", 8192),
    ("access_token", 8192),
    ("id_token_hint", 8192),
    ("request", 8192),
    ("request_uri", 2048),
];

/// Any OAuth parameter not in [`OAUTH_PARAMS`] (ignored, but still bounded).
pub const OTHER_PARAM: usize = 2048;
/// Longest parameter or field name.
pub const NAME: usize = 128;

/// Longest value (in bytes) of each account API JSON field. Passwords are not here: the password
/// policy bounds them (256 code points by default) before anything is hashed, and they are never
/// stored.
pub const ACCOUNT_FIELDS: &[(&str, usize)] = &[
    ("email", 254),
    ("token", 256),
    ("totp", 64),
    ("code", 64),
    ("name", 400),
    ("scopes", 64),
];

/// Any account API field not in [`ACCOUNT_FIELDS`].
pub const OTHER_FIELD: usize = 1024;
/// Fields exempt from the control-character rule: secrets that are only hashed, never stored.
pub const PASSWORD_FIELDS: &[&str] = &["password", "password_confirmation", "current_password", "new_password"];

/// Form fields that are lists typed one item per line (the admin console's textareas): line
/// breaks are their separators, every other control character is still refused.
pub const MULTILINE_FIELDS: &[&str] = &["redirect_uris", "post_logout_redirect_uris"];

/// Whether a form field's value is refused for a control character.
fn form_value_refused(name: &str, value: &str) -> bool {
    if PASSWORD_FIELDS.contains(&name) {
        return false;
    }
    if MULTILINE_FIELDS.contains(&name) {
        return value.chars().any(|c| c.is_control() && c != '\r' && c != '\n');
    }
    has_control(value)
}

/// Why a value was refused; `Display` is the sentence for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{name} is longer than {max} bytes")]
    TooLong { name: String, max: usize },
    #[error("{name} holds a control character")]
    ControlCharacter { name: String },
}

impl InputError {
    /// The parameter or field at fault.
    pub fn name(&self) -> &str {
        match self {
            InputError::TooLong { name, .. } | InputError::ControlCharacter { name } => name,
        }
    }
}

/// `name` as a static string when it is a known account API field (for problem documents).
pub fn account_field(name: &str) -> Option<&'static str> {
    ACCOUNT_FIELDS
        .iter()
        .map(|(n, _)| *n)
        .chain(PASSWORD_FIELDS.iter().copied())
        .find(|n| *n == name)
}

/// The limit for OAuth parameter `name`.
pub fn oauth_limit(name: &str) -> usize {
    lookup(OAUTH_PARAMS, name).unwrap_or(OTHER_PARAM)
}

/// The limit for account API field `name`.
pub fn account_limit(name: &str) -> usize {
    lookup(ACCOUNT_FIELDS, name).unwrap_or(OTHER_FIELD)
}

fn lookup(table: &[(&str, usize)], name: &str) -> Option<usize> {
    table.iter().find(|(n, _)| *n == name).map(|(_, max)| *max)
}

/// C0 controls (NUL to US), DEL and the C1 controls: never part of an identifier or a token.
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// A parameter name as it may be quoted back: shortened and without control characters.
fn printable_name(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    if clean.is_empty() {
        "a parameter name".to_owned()
    } else {
        clean
    }
}

/// Checks one OAuth parameter (name and value).
pub fn check_oauth_param(name: &str, value: &str) -> Result<(), InputError> {
    check(name, value, oauth_limit(name), true)
}

/// Checks one value against `max` bytes and, when `no_controls`, the control-character rule.
pub fn check(name: &str, value: &str, max: usize, no_controls: bool) -> Result<(), InputError> {
    if name.len() > NAME || has_control(name) {
        return Err(InputError::ControlCharacter {
            name: printable_name(name),
        });
    }
    if value.len() > max {
        return Err(InputError::TooLong {
            name: name.to_owned(),
            max,
        });
    }
    if no_controls && has_control(value) {
        return Err(InputError::ControlCharacter { name: name.to_owned() });
    }
    Ok(())
}

/// Checks every string in a JSON document from the account or admin API: each against the limit
/// of the field that holds it (array items inherit their field's name) and the control-character
/// rule (passwords excepted). Object keys are checked as names.
pub fn check_json(value: &serde_json::Value, limit: fn(&str) -> usize) -> Result<(), InputError> {
    walk(value, "body", limit)
}

fn walk(value: &serde_json::Value, field: &str, limit: fn(&str) -> usize) -> Result<(), InputError> {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            let is_password = PASSWORD_FIELDS.contains(&field);
            check(field, text, limit(field), !is_password)
        }
        Value::Array(items) => items.iter().try_for_each(|item| walk(item, field, limit)),
        Value::Object(map) => map.iter().try_for_each(|(name, child)| {
            check(name, "", 0, true)?;
            walk(child, name, limit)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Middleware: a URL whose path or query holds a control character (`/admin/clients/%00`,
/// `?cursor=%00`) is answered 400 before any route sees it, so no id in a path or query reaches
/// a store (PostgreSQL refuses NUL in text and would answer with a 500).
pub async fn refuse_control_urls(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if url_has_control(uri.path()) || uri.query().is_some_and(url_has_control) {
        return control_refusal("the URL holds a control character");
    }
    next.run(request).await
}

/// The 400 of the control-character rules: an RFC 9457 problem like every other refusal.
fn control_refusal(detail: &'static str) -> Response {
    super::problem::Problem::new(StatusCode::BAD_REQUEST, "invalid-request", "Invalid request", detail).into_response()
}

/// Whether the request's `Content-Type` is `application/x-www-form-urlencoded` (parameters such
/// as `; charset=UTF-8` allowed, any letter case).
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|essence| essence.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Middleware for the HTML pages' form posts (everything outside `/oauth2/`, whose parser applies
/// the OAuth table itself): a field holding a control character (passwords excepted) is answered
/// 400 before the handler sees it, so `consent_id=%00` or a NUL in a token never reaches a store.
pub async fn refuse_control_forms(request: Request, next: Next) -> Response {
    if !is_form(request.headers()) || request.uri().path().starts_with("/oauth2/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body size limit of the outer layers still applies while this reads.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let refused =
        form_urlencoded::parse(&bytes).any(|(name, value)| has_control(&name) || form_value_refused(&name, &value));
    if refused {
        return control_refusal("a form field holds a control character");
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Whether a raw URL path or query holds a control character, as is or percent-encoded.
pub fn url_has_control(raw: &str) -> bool {
    has_control(&percent_decoded(raw))
}

fn percent_decoded(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn oauth_limits_come_from_the_table_with_a_default() {
        assert_eq!(oauth_limit("state"), 512);
        assert_eq!(oauth_limit("nonce"), 512);
        assert_eq!(oauth_limit("login_hint"), 512);
        assert_eq!(oauth_limit("code_challenge"), 128);
        assert_eq!(oauth_limit("something_else"), OTHER_PARAM);
        assert!(check_oauth_param("state", &"s".repeat(512)).is_ok());
        assert_eq!(
            check_oauth_param("state", &"s".repeat(513)).unwrap_err().to_string(),
            "state is longer than 512 bytes"
        );
    }

    #[test]
    fn control_characters_are_refused_in_names_and_values() {
        assert_eq!(
            check_oauth_param("client_id", "a\0b").unwrap_err().to_string(),
            "client_id holds a control character"
        );
        assert!(check_oauth_param("client_id", "tab\there").is_err());
        assert!(check_oauth_param("client_id", "del\u{7f}").is_err());
        assert!(check_oauth_param("x\0", "v").is_err());
        assert!(check_oauth_param("state", "ünïcode ok").is_ok());
    }

    #[test]
    fn form_lists_may_break_lines_and_nothing_else() {
        assert!(!form_value_refused(
            "redirect_uris",
            "https://a.example/cb\r\nhttps://b.example/cb"
        ));
        assert!(form_value_refused("redirect_uris", "https://a.example/\0cb"));
        assert!(form_value_refused("client_name", "two\nlines"));
        assert!(!form_value_refused("password", "tab\there"));
    }

    #[test]
    fn json_fields_are_checked_by_name_with_passwords_exempt_from_the_control_rule() {
        let ok = json!({"email": "a@example.com", "password": "pa\tss", "scopes": ["account:read"]});
        assert!(check_json(&ok, account_limit).is_ok());
        let nul = json!({"email": "a\u{0}@example.com"});
        assert!(check_json(&nul, account_limit).is_err());
        let long_name = json!({"name": "n".repeat(401)});
        assert_eq!(
            check_json(&long_name, account_limit).unwrap_err().to_string(),
            "name is longer than 400 bytes"
        );
        let long_scope = json!({"scopes": ["s".repeat(65)]});
        assert!(check_json(&long_scope, account_limit).is_err());
    }

    #[test]
    fn the_readme_tables_state_every_limit() {
        let readme = include_str!("../../../../README.md");
        let rows = |table: &[(&str, usize)]| {
            for (name, max) in table {
                let documented = readme.lines().any(|l| {
                    l.starts_with("| ") && l.contains(&format!("`{name}`")) && l.contains(&format!("| {max}"))
                });
                assert!(documented, "README.md lacks the limit {max} of `{name}`");
            }
        };
        rows(OAUTH_PARAMS);
        rows(ACCOUNT_FIELDS);
        assert!(readme.contains(&format!("any other parameter (ignored) | {OTHER_PARAM}")));
        assert!(readme.contains(&format!("any other field | {OTHER_FIELD}")));
    }

    #[test]
    fn urls_with_encoded_control_characters_are_spotted() {
        assert!(url_has_control("/admin/clients/%00"));
        assert!(url_has_control("client_id=a%0Ab"));
        assert!(url_has_control("x=%c2%85"));
        assert!(!url_has_control("/api/auth/sessions/abc%20def?x=%41%e2%82%ac"));
        assert!(!url_has_control("bad=%zz%"));
    }
}
