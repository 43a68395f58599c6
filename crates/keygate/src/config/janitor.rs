//! The `[janitor]` and `[audit]` sections: how often expired records are purged, in batches of
//! what size, and how long audit events are kept.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JanitorSettings {
    /// Seconds between two purges of expired records.
    pub interval_secs: u64,
    /// Most records of each kind deleted by one statement, so a purge never holds the store long.
    pub batch_size: u32,
}

impl Default for JanitorSettings {
    fn default() -> Self {
        JanitorSettings {
            interval_secs: 300,
            batch_size: 1000,
        }
    }
}

impl JanitorSettings {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if self.interval_secs == 0 {
            return Err(ConfigError::new("janitor.interval_secs must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::new("janitor.batch_size must be at least 1"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Audit events older than this many days are deleted by the janitor.
    pub retention_days: u64,
    /// With the memory backend, the most audit events kept in RAM; the oldest are dropped (and
    /// counted in the statistics) beyond it.
    pub memory_max_events: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention_days: 90,
            memory_max_events: 100_000,
        }
    }
}

impl AuditSettings {
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_days.saturating_mul(86_400))
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if self.retention_days == 0 {
            return Err(ConfigError::new("audit.retention_days must be at least 1"));
        }
        if self.memory_max_events == 0 {
            return Err(ConfigError::new("audit.memory_max_events must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Sources};

    fn load(env: &[(&str, &str)]) -> Result<Config, String> {
        let sources = Sources {
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Sources::default()
        };
        Config::load(&sources).map(|l| l.config).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_purge_every_five_minutes_and_keep_audit_for_ninety_days() {
        let config = load(&[]).unwrap();
        assert_eq!(config.janitor.interval().as_secs(), 300);
        assert_eq!(config.janitor.batch_size, 1000);
        assert_eq!(config.audit.retention().as_secs(), 90 * 86_400);
        assert_eq!(config.audit.memory_max_events, 100_000);
    }

    #[test]
    fn environment_sets_them_and_zero_is_refused() {
        let config = load(&[
            ("KEYGATE_JANITOR__INTERVAL_SECS", "60"),
            ("KEYGATE_JANITOR__BATCH_SIZE", "50"),
            ("KEYGATE_AUDIT__RETENTION_DAYS", "30"),
            ("KEYGATE_AUDIT__MEMORY_MAX_EVENTS", "5000"),
        ])
        .unwrap();
        assert_eq!(config.audit.memory_max_events, 5000);
        assert_eq!(
            (
                config.janitor.interval_secs,
                config.janitor.batch_size,
                config.audit.retention_days
            ),
            (60, 50, 30)
        );
        for key in [
            "KEYGATE_JANITOR__INTERVAL_SECS",
            "KEYGATE_JANITOR__BATCH_SIZE",
            "KEYGATE_AUDIT__RETENTION_DAYS",
            "KEYGATE_AUDIT__MEMORY_MAX_EVENTS",
        ] {
            let err = load(&[(key, "0")]).unwrap_err();
            assert!(err.contains("must be at least 1"), "{key}: {err}");
        }
    }
}
