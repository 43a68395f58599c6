//! Configuration values that are parsed when read: an invalid one fails at start-up with one
//! sentence, and secrets never show in `Debug` or in printed configuration.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

const REDACTED: &str = "<redacted>";

/// A secret string. Its `Debug` and `Serialize` print `<redacted>`; only [`Secret::expose`] shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// The bearer token that grants the admin API (`KEYGATE_ADMIN_TOKEN`), at least 32 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct AdminToken(Secret);

pub const ADMIN_TOKEN_MIN_CHARS: usize = 32;

impl AdminToken {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl TryFrom<String> for AdminToken {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars < ADMIN_TOKEN_MIN_CHARS {
            return Err(format!(
                "is {chars} characters long; it needs at least {ADMIN_TOKEN_MIN_CHARS}"
            ));
        }
        Ok(AdminToken(Secret(value)))
    }
}

/// The issuer URL, exactly as configured: http or https, no trailing slash, no query or fragment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Issuer(String);

impl Issuer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Issuer {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let url = url::Url::parse(&value).map_err(|e| format!("`{value}` is not a valid URL ({e})"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!(
                "`{value}` does not start with https:// (or http:// for local use)"
            ));
        }
        if value.ends_with('/') {
            return Err(format!("`{value}` ends with a slash; write it without one"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "`{value}` has a query or a fragment, which an issuer must not have"
            ));
        }
        Ok(Issuer(value))
    }
}

impl Default for Issuer {
    fn default() -> Self {
        Issuer("http://127.0.0.1:8080".to_owned())
    }
}

impl From<Issuer> for String {
    fn from(issuer: Issuer) -> String {
        issuer.0
    }
}

/// The address the server listens on; port 0 picks a free one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BindAddr(pub SocketAddr);

impl TryFrom<String> for BindAddr {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        SocketAddr::from_str(value.trim())
            .map(BindAddr)
            .map_err(|_| format!("`{value}` is not an IP address and port such as 127.0.0.1:8080"))
    }
}

impl Default for BindAddr {
    fn default() -> Self {
        BindAddr(SocketAddr::from(([127, 0, 0, 1], 8080)))
    }
}

impl From<BindAddr> for String {
    fn from(addr: BindAddr) -> String {
        addr.0.to_string()
    }
}

/// Which durable backend a database URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Memory,
    Sqlite,
    Postgres,
}

/// `memory:`, `sqlite://PATH` or `postgres://…`. It may hold a password: printed redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DatabaseUrl {
    url: String,
    kind: BackendKind,
}

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    pub fn redacted(&self) -> String {
        redact_password(&self.url)
    }
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;
    fn try_from(url: String) -> Result<Self, String> {
        const ACCEPTED: &str = "use memory:, sqlite://PATH or postgres://USER@HOST/DATABASE";
        let scheme = url_scheme(&url).ok_or_else(|| format!("is not a URL; {ACCEPTED}"))?;
        let kind = match scheme.as_str() {
            "memory" => BackendKind::Memory,
            "sqlite" => BackendKind::Sqlite,
            "postgres" | "postgresql" => BackendKind::Postgres,
            other => return Err(format!("names an unknown backend `{other}:`; {ACCEPTED}")),
        };
        if kind != BackendKind::Memory {
            url::Url::parse(&url).map_err(|e| format!("is not a valid URL ({e})"))?;
        }
        if kind == BackendKind::Sqlite && url.trim_start_matches("sqlite:").trim_start_matches("//").is_empty() {
            return Err("names no SQLite file; use sqlite://PATH".to_owned());
        }
        Ok(DatabaseUrl { url, kind })
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        DatabaseUrl {
            url: "sqlite://keygate.db".to_owned(),
            kind: BackendKind::Sqlite,
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// `redis://…` or `rediss://…`. It may hold a password: printed redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RedisUrl(String);

impl RedisUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RedisUrl {
    type Error = String;
    fn try_from(url: String) -> Result<Self, String> {
        let parsed = url::Url::parse(&url).map_err(|e| format!("is not a valid URL ({e})"))?;
        match parsed.scheme() {
            "redis" | "rediss" => Ok(RedisUrl(url)),
            other => Err(format!(
                "has scheme `{other}:`; use redis://HOST:PORT or rediss://HOST:PORT"
            )),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_password(&self.0))
    }
}

/// The lower-cased scheme of `url`, if it starts with one.
fn url_scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let valid = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// The URL with its password (if any) replaced, for printing. Unparseable input is hidden whole.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some(REDACTED)).is_ok() {
                parsed.to_string().replace("%3Credacted%3E", REDACTED)
            } else {
                REDACTED.to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        Err(_) if url.contains('@') => REDACTED.to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// Log output: human-readable lines or one JSON object per line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A `tracing` filter such as `info` or `keygate=debug,tower_http=info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogFilter(String);

impl LogFilter {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LogFilter {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        tracing_subscriber::EnvFilter::builder()
            .parse(&value)
            .map(|_| LogFilter(value.clone()))
            .map_err(|e| format!("`{value}` is not a log filter ({e})"))
    }
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter("info".to_owned())
    }
}

impl From<LogFilter> for String {
    fn from(filter: LogFilter) -> String {
        filter.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let token = AdminToken::try_from("a".repeat(40)).unwrap();
        assert_eq!(format!("{token:?}"), "AdminToken(<redacted>)");
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"<redacted>\"");
        assert_eq!(token.expose(), "a".repeat(40));
    }

    #[test]
    fn short_admin_tokens_are_refused() {
        let err = AdminToken::try_from("short".to_owned()).unwrap_err();
        assert!(err.contains("at least 32"), "{err}");
    }

    #[test]
    fn database_urls_hide_their_password() {
        let url = DatabaseUrl::try_from("postgres://kg:s3cret@db:5432/keygate".to_owned()).unwrap();
        assert_eq!(url.kind(), BackendKind::Postgres);
        assert_eq!(url.redacted(), "postgres://kg:<redacted>@db:5432/keygate");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&url).unwrap().contains("s3cret"));
    }

    #[test]
    fn database_urls_select_a_backend() {
        let kind = |u: &str| DatabaseUrl::try_from(u.to_owned()).map(|d| d.kind());
        assert_eq!(kind("memory:"), Ok(BackendKind::Memory));
        assert_eq!(kind("sqlite://keygate.db"), Ok(BackendKind::Sqlite));
        assert_eq!(kind("sqlite:///var/lib/keygate/keygate.db"), Ok(BackendKind::Sqlite));
        assert_eq!(kind("postgresql://localhost/kg"), Ok(BackendKind::Postgres));
        assert!(
            kind("mysql://localhost/kg")
                .unwrap_err()
                .contains("unknown backend `mysql:`")
        );
        assert!(kind("keygate.db").unwrap_err().contains("is not a URL"));
        assert!(kind("sqlite://").is_err());
    }

    #[test]
    fn issuers_are_kept_exactly_and_checked() {
        let ok = Issuer::try_from("https://id.example.com/tenant".to_owned()).unwrap();
        assert_eq!(ok.as_str(), "https://id.example.com/tenant");
        assert!(
            Issuer::try_from("https://id.example.com/".to_owned())
                .unwrap_err()
                .contains("ends with a slash")
        );
        assert!(Issuer::try_from("ftp://id.example.com".to_owned()).is_err());
        assert!(Issuer::try_from("id.example.com".to_owned()).is_err());
        assert!(Issuer::try_from("https://id.example.com?x=1".to_owned()).is_err());
    }

    #[test]
    fn bind_addresses_are_socket_addresses() {
        assert_eq!(BindAddr::try_from("127.0.0.1:0".to_owned()).unwrap().0.port(), 0);
        assert!(BindAddr::try_from("[::1]:8080".to_owned()).is_ok());
        assert!(BindAddr::try_from("localhost".to_owned()).is_err());
    }
}
