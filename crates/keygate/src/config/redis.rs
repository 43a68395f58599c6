//! The `[redis]` section: which Redis (the server of `redis_url`, a Sentinel-managed master or a
//! Cluster), how Keygate connects to it (TLS roots, pool, timeouts, retries), how it names its
//! keys, and whether an instance without Redis counts as ready.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::types::RedisUrl;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// Put in front of every key, so several deployments can share one Redis. Every instance of
    /// one deployment must use the same prefix, or they share nothing.
    pub prefix: String,
    /// Whether `/health/ready` answers 503 while Redis is unreachable. Off by default: Redis only
    /// caches (every instance keeps serving from the database while it is down, and readiness
    /// reports `redis: degraded`); on, a load balancer takes instances without Redis out.
    pub required: bool,
    /// PEM file of the certificate authorities `rediss://` servers are verified against (instead
    /// of the system's).
    pub ca_file: Option<PathBuf>,
    /// The master name Sentinel knows; set with `sentinel_urls` instead of `redis_url`.
    pub sentinel_master: Option<String>,
    /// The Sentinels (`redis://[user:password@]host:26379`); their user, password and TLS are used
    /// for the master too.
    pub sentinel_urls: RedisUrlList,
    /// Nodes of a Redis Cluster (any subset; the rest is discovered), instead of `redis_url`.
    pub cluster_urls: RedisUrlList,
    /// Multiplexed connections per instance, used in turn.
    pub pool_size: usize,
    /// How long opening one connection may take.
    pub connect_timeout_ms: u64,
    /// How long Redis may take to answer one command.
    pub response_timeout_ms: u64,
    /// How many times a command is retried (on a fresh connection) after a dropped connection or
    /// a failover, before the cache falls back to the database for that request.
    pub retries: u32,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            prefix: "keygate:".to_owned(),
            required: false,
            ca_file: None,
            sentinel_master: None,
            sentinel_urls: RedisUrlList::default(),
            cluster_urls: RedisUrlList::default(),
            pool_size: 10,
            connect_timeout_ms: 5000,
            response_timeout_ms: 1000,
            retries: 2,
        }
    }
}

impl RedisSettings {
    pub fn check(&self, redis_url: Option<&RedisUrl>) -> Result<(), ConfigError> {
        if self.prefix.is_empty() {
            return Err(ConfigError::new(
                "redis.prefix must not be empty (the default is `keygate:`)",
            ));
        }
        if self.prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(
                "redis.prefix must not contain spaces or control characters",
            ));
        }
        match (&self.sentinel_master, self.sentinel_urls.0.is_empty()) {
            (Some(_), true) => {
                return Err(ConfigError::new(
                    "redis.sentinel_master is set but redis.sentinel_urls is empty; list the Sentinels",
                ));
            }
            (None, false) => {
                return Err(ConfigError::new(
                    "redis.sentinel_urls is set but redis.sentinel_master is not; name the master Sentinel watches",
                ));
            }
            (Some(name), false) if name.trim().is_empty() => {
                return Err(ConfigError::new("redis.sentinel_master must not be empty"));
            }
            _ => {}
        }
        let shapes = [
            redis_url.is_some(),
            self.sentinel_master.is_some(),
            !self.cluster_urls.0.is_empty(),
        ];
        if shapes.iter().filter(|s| **s).count() > 1 {
            return Err(ConfigError::new(
                "set only one of redis_url, redis.sentinel_master (with redis.sentinel_urls) and redis.cluster_urls",
            ));
        }
        if self.pool_size == 0 || self.pool_size > 1000 {
            return Err(ConfigError::new("redis.pool_size must be between 1 and 1000"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(ConfigError::new("redis.connect_timeout_ms must be at least 1"));
        }
        if self.response_timeout_ms == 0 {
            return Err(ConfigError::new("redis.response_timeout_ms must be at least 1"));
        }
        if self.retries > 10 {
            return Err(ConfigError::new("redis.retries must be at most 10"));
        }
        if let Some(path) = &self.ca_file
            && !path.is_file()
        {
            return Err(ConfigError::new(format!(
                "redis.ca_file `{}` is not a readable file",
                path.display()
            )));
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }
}

/// A list of Redis URLs: a TOML array, or one comma-separated string (an environment variable).
/// Printed with passwords redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OneOrMany")]
pub struct RedisUrlList(pub Vec<RedisUrl>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl TryFrom<OneOrMany> for RedisUrlList {
    type Error = String;
    fn try_from(value: OneOrMany) -> Result<Self, String> {
        let items: Vec<String> = match value {
            OneOrMany::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            OneOrMany::Many(items) => items,
        };
        items
            .into_iter()
            .map(|url| {
                let shown = super::types::redact_password(&url);
                RedisUrl::try_from(url).map_err(|e| format!("`{shown}` {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RedisUrlList)
    }
}

impl RedisUrlList {
    pub fn expose(&self) -> Vec<String> {
        self.0.iter().map(|u| u.expose().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Loaded, Sources};
    use super::*;

    fn load(pairs: &[(&str, &str)], toml: Option<&str>) -> Result<Loaded, ConfigError> {
        let file = toml.map(|text| {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), text).unwrap();
            file
        });
        Config::load(&Sources {
            env: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            explicit_file: file.as_ref().map(|f| f.path().to_path_buf()),
            ..Sources::default()
        })
    }

    #[test]
    fn url_lists_come_as_toml_arrays_or_comma_separated_variables() {
        let env = load(
            &[("KEYGATE_REDIS__CLUSTER_URLS", "redis://a:7000, redis://u:pw@b:7001")],
            None,
        )
        .unwrap();
        assert_eq!(
            env.config.redis.cluster_urls.expose(),
            ["redis://a:7000", "redis://u:pw@b:7001"]
        );
        let toml = "[redis]\nsentinel_master = \"km\"\nsentinel_urls = [\"redis://s1:26379\", \"rediss://s2:26379\"]\n";
        let file = load(&[], Some(toml)).unwrap();
        assert_eq!(
            file.config.redis.sentinel_urls.expose(),
            ["redis://s1:26379", "rediss://s2:26379"]
        );
        assert_eq!(file.config.redis.sentinel_master.as_deref(), Some("km"));
    }

    #[test]
    fn passwords_in_url_lists_are_redacted_when_printed() {
        let loaded = load(&[("KEYGATE_REDIS__CLUSTER_URLS", "redis://u:hunter2@b:7001")], None).unwrap();
        let printed = serde_json::to_string(&loaded.config).unwrap();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!format!("{:?}", loaded.config).contains("hunter2"));
    }

    #[test]
    fn wrong_redis_settings_fail_with_a_sentence_naming_them() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("KEYGATE_REDIS__SENTINEL_MASTER", "km")],
                "redis.sentinel_urls is empty",
            ),
            (
                &[("KEYGATE_REDIS__SENTINEL_URLS", "redis://s:26379")],
                "redis.sentinel_master",
            ),
            (
                &[
                    ("KEYGATE_REDIS_URL", "redis://r:6379"),
                    ("KEYGATE_REDIS__CLUSTER_URLS", "redis://a:7000"),
                ],
                "set only one of redis_url",
            ),
            (
                &[("KEYGATE_REDIS__CLUSTER_URLS", "http://a:7000")],
                "redis.cluster_urls",
            ),
            (&[("KEYGATE_REDIS__POOL_SIZE", "0")], "redis.pool_size"),
            (&[("KEYGATE_REDIS__CA_FILE", "/nonexistent/ca.pem")], "redis.ca_file"),
            (
                &[("KEYGATE_REDIS__RESPONSE_TIMEOUT_MS", "0")],
                "redis.response_timeout_ms",
            ),
        ];
        for (env, expected) in cases {
            let err = load(env, None).expect_err(expected).to_string();
            assert!(err.contains(expected), "{env:?}: {err}");
        }
    }

    #[test]
    fn seed_level_defaults() {
        let d = RedisSettings::default();
        assert_eq!(
            (d.pool_size, d.connect_timeout_ms, d.response_timeout_ms),
            (10, 5000, 1000)
        );
    }
}
