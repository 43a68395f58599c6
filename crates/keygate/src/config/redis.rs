//! The `[redis]` section: how Keygate names its keys in the Redis of `redis_url`, and whether an
//! instance without Redis counts as ready.

use serde::{Deserialize, Serialize};

use super::ConfigError;

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
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            prefix: "keygate:".to_owned(),
            required: false,
        }
    }
}

impl RedisSettings {
    pub fn check(&self) -> Result<(), ConfigError> {
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
        Ok(())
    }
}
