//! Keygate's configuration: defaults, then `keygate.toml` (or `--config FILE`), then `KEYGATE_*`
//! environment variables, then command-line flags. Everything is checked while it is read.

pub mod accounts;
mod env;
pub mod janitor;
mod layer;
pub mod mail;
mod metrics_token;
pub mod oauth;
pub mod redis;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::error::Kind;
use serde::{Deserialize, Serialize};

pub use accounts::{AccountsSettings, PasswordHashingSettings, SecretKey, TrustedProxyList};
pub use env::{SECRET_KEYS, variable_for};
pub use janitor::{AuditSettings, JanitorSettings};
use layer::{ConfigFile, Layer};
pub use mail::{MailFrom, MailOutbox, SmtpUrl};
pub use metrics_token::{METRICS_TOKEN_MIN_CHARS, MetricsToken};
pub use oauth::OAuthConfig;
pub use redis::RedisSettings;
pub use types::{AdminToken, BackendKind, BindAddr, DatabaseUrl, Issuer, LogFilter, LogFormat, RedisUrl, Secret};

/// The file read when `--config` is not given; a missing one is fine.
pub const DEFAULT_FILE: &str = "keygate.toml";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier, used exactly as given.
    pub issuer: Issuer,
    /// Where the HTTP server listens.
    pub bind: BindAddr,
    /// The durable store.
    pub database_url: DatabaseUrl,
    /// Optional Redis for the cache, sessions and shared rate limits.
    pub redis_url: Option<RedisUrl>,
    /// How Keygate names its keys in that Redis.
    pub redis: RedisSettings,
    /// A static admin API bearer token.
    pub admin_token: Option<AdminToken>,
    /// When set, `/metrics` needs `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<MetricsToken>,
    /// Log filter (`KEYGATE_LOG`, or `RUST_LOG`).
    pub log: LogFilter,
    pub log_format: LogFormat,
    /// Outgoing email goes through this SMTP server; unset, it goes to `mail_outbox`.
    pub smtp_url: Option<SmtpUrl>,
    /// The folder of `.eml` files used when `smtp_url` is unset.
    pub mail_outbox: MailOutbox,
    /// The sender of every email.
    pub mail_from: MailFrom,
    /// A folder of page templates that replace the built-in ones of the same name.
    pub templates_dir: Option<PathBuf>,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    /// The key that encrypts secrets at rest (base64 of 32 bytes).
    pub secret_key: Option<SecretKey>,
    /// Proxies whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: TrustedProxyList,
    pub accounts: AccountsSettings,
    pub password_hashing: PasswordHashingSettings,
    /// The OAuth provider: token lifetimes, algorithms, scopes, key rotation.
    pub oauth: OAuthConfig,
    /// The background purge of expired records.
    pub janitor: JanitorSettings,
    /// How long the audit log is kept.
    pub audit: AuditSettings,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Most connections the SQL pool opens.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it fails with 503.
    pub acquire_timeout_secs: u64,
    /// How long SQLite waits for a lock held by another writer.
    pub busy_timeout_secs: u64,
    /// How long one statement may take before the request fails with 503 (a client-side limit,
    /// and PostgreSQL's `statement_timeout`). Keep it well under `http.request_timeout_secs`.
    pub query_timeout_secs: u64,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// An idle connection above `min_connections` is closed after this many seconds (0: never).
    pub idle_timeout_secs: u64,
    /// A connection is replaced after this many seconds (0: never), so instances follow a
    /// database failover or a pooler's rebalancing.
    pub max_lifetime_secs: u64,
    /// PostgreSQL: keep looked-up clients and opaque access tokens in memory, kept current by
    /// the database's change notifications (off: every lookup asks Redis or the database).
    pub memory_cache: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            max_connections: 10,
            acquire_timeout_secs: 5,
            busy_timeout_secs: 5,
            query_timeout_secs: 5,
            min_connections: 0,
            idle_timeout_secs: 600,
            max_lifetime_secs: 1800,
            memory_cache: true,
        }
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    pub fn busy_timeout(&self) -> Duration {
        Duration::from_secs(self.busy_timeout_secs)
    }

    pub fn query_timeout(&self) -> Duration {
        Duration::from_secs(self.query_timeout_secs.max(1))
    }

    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    pub fn max_lifetime(&self) -> Option<Duration> {
        (self.max_lifetime_secs > 0).then(|| Duration::from_secs(self.max_lifetime_secs))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// A request running longer is answered with 503.
    pub request_timeout_secs: u64,
    /// Larger request bodies are refused with 413.
    pub body_limit_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
        }
    }
}

/// A configuration problem, as one sentence for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

/// Values given on the command line; they win over every other source.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub bind: Option<String>,
    pub issuer: Option<String>,
    pub database_url: Option<String>,
}

/// Where configuration comes from. `Sources::from_process` reads the real environment; tests
/// build one by hand.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// `--config FILE`: must exist.
    pub explicit_file: Option<PathBuf>,
    /// Read when present and no explicit file is given.
    pub default_file: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub overrides: Overrides,
}

impl Sources {
    pub fn from_process(explicit_file: Option<PathBuf>, overrides: Overrides) -> Self {
        Sources {
            explicit_file,
            default_file: Some(PathBuf::from(DEFAULT_FILE)),
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            overrides,
        }
    }
}

/// The effective configuration, where each key came from, and what was ignored.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Dotted key -> "default", "config file keygate.toml", "environment variable KEYGATE_BIND", …
    pub origins: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

impl Config {
    /// Every dotted key the configuration has (`issuer`, `database.max_connections`, …).
    pub fn keys() -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        if let Ok(value) = serde_json::to_value(Config::default()) {
            collect_keys("", &value, &mut keys);
        }
        keys
    }

    pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
        let known = Config::keys();
        let mut figment = Figment::new();
        match (&sources.explicit_file, &sources.default_file) {
            (Some(path), _) => {
                if !path.is_file() {
                    return Err(ConfigError::new(format!(
                        "the config file `{}` does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(ConfigFile { path: path.clone() });
            }
            (None, Some(path)) if path.is_file() => figment = figment.merge(ConfigFile { path: path.clone() }),
            (None, _) => {}
        }
        let env = env::read(&sources.env, &known)?;
        for layer in env.layers {
            figment = figment.merge(layer);
        }
        let flags = [
            ("bind", "--bind", &sources.overrides.bind),
            ("issuer", "--issuer", &sources.overrides.issuer),
            ("database_url", "--database-url", &sources.overrides.database_url),
        ];
        for (key, flag, value) in flags {
            if let Some(value) = value {
                figment = figment.merge(Layer::single(format!("flag {flag}"), key, value.clone()));
            }
        }
        let config: Config = figment.extract_lossy().map_err(describe_error)?;
        config.check()?;
        let origins = known
            .iter()
            .map(|key| {
                let origin = figment
                    .find_metadata(key)
                    .map(|m| m.name.to_string())
                    .unwrap_or_else(|| "default".into());
                (key.clone(), origin)
            })
            .collect();
        Ok(Loaded {
            config,
            origins,
            warnings: env.warnings,
        })
    }

    /// Rules across or beyond single values.
    fn check(&self) -> Result<(), ConfigError> {
        if self.database.max_connections == 0 {
            return Err(ConfigError::new("database.max_connections must be at least 1"));
        }
        if self.database.acquire_timeout_secs == 0 {
            return Err(ConfigError::new("database.acquire_timeout_secs must be at least 1"));
        }
        if self.database.min_connections > self.database.max_connections {
            return Err(ConfigError::new(
                "database.min_connections must not exceed database.max_connections",
            ));
        }
        if self.http.request_timeout_secs == 0 {
            return Err(ConfigError::new("http.request_timeout_secs must be at least 1"));
        }
        self.redis.check(self.redis_url.as_ref())?;
        self.janitor.check()?;
        self.audit.check()?;
        self.accounts.to_accounts_config()?;
        self.oauth.to_options(self.issuer.as_str())?;
        Ok(())
    }
}

fn collect_keys(prefix: &str, value: &serde_json::Value, keys: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, child) in map {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                collect_keys(&path, child, keys);
            }
        }
        _ => {
            keys.insert(prefix.to_owned());
        }
    }
}

/// One sentence from figment's error: the key, what is wrong and where the value came from. Only
/// the first error is reported; fixing it reveals the next.
fn describe_error(err: figment::Error) -> ConfigError {
    let origin = err
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    let key = err.path.join(".");
    let message = match &err.kind {
        Kind::Message(text) if key.is_empty() => first_line(text).to_owned(),
        Kind::Message(text) => format!("{key} {}", first_line(text)),
        Kind::UnknownField(field, _) => {
            // figment's path already ends with the unknown field; older versions did not.
            let full = if err.path.last() == Some(field) || key.is_empty() {
                if key.is_empty() { field.clone() } else { key.clone() }
            } else {
                format!("{key}.{field}")
            };
            format!("`{full}` is not a configuration key")
        }
        other if key.is_empty() => other.to_string(),
        other => format!("{key} has an invalid value: {other}"),
    };
    ConfigError::new(format!("{message}{origin}"))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests;
