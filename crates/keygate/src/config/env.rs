//! Reads configuration from the environment: `KEYGATE_*` variables (`__` nests), the `_FILE`
//! suffix for secrets, and the conventional `DATABASE_URL`, `REDIS_URL` and `RUST_LOG`.

use std::collections::{BTreeMap, BTreeSet};

use super::ConfigError;
use super::layer::Layer;

pub const PREFIX: &str = "KEYGATE_";

/// Keys whose value may come from a file named by `KEYGATE_<KEY>_FILE` (Docker/Kubernetes secrets).
pub const SECRET_KEYS: &[&str] = &[
    "admin_token",
    "metrics_token",
    "database_url",
    "redis_url",
    "smtp_url",
    "secret_key",
];

/// Variables with the prefix that are not configuration keys: the `--config` flag's variable and
/// the test suites' service URLs.
fn is_reserved(name: &str) -> bool {
    name == "KEYGATE_CONFIG" || name.starts_with("KEYGATE_TEST_")
}

/// Conventional names accepted when the `KEYGATE_` one (and its `_FILE` form) is unset.
const ALIASES: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("REDIS_URL", "redis_url"),
    ("RUST_LOG", "log"),
];

pub struct EnvLayers {
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
}

/// The variable that sets `key` (`database.max_connections` -> `KEYGATE_DATABASE__MAX_CONNECTIONS`).
pub fn variable_for(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Turns the environment into layers, lowest precedence first. `known` holds every dotted key.
pub fn read(vars: &[(String, String)], known: &BTreeSet<String>) -> Result<EnvLayers, ConfigError> {
    // Empty variables count as unset, as shells and compose files often leave them.
    let vars: BTreeMap<&str, &str> = vars
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut layers = Vec::new();
    let mut warnings = Vec::new();

    for (alias, key) in ALIASES {
        let own = variable_for(key);
        let own_file = format!("{own}_FILE");
        if let Some(value) = vars.get(alias)
            && !vars.contains_key(own.as_str())
            && !vars.contains_key(own_file.as_str())
        {
            layers.push(Layer::single(
                format!("environment variable {alias}"),
                key,
                (*value).to_owned(),
            ));
        }
    }

    for (&name, &value) in vars.range(PREFIX..) {
        if !name.starts_with(PREFIX) {
            break;
        }
        if is_reserved(name) {
            continue;
        }
        let key = name[PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
        if let Some(secret) = key.strip_suffix("_file").filter(|k| SECRET_KEYS.contains(k)) {
            let direct = variable_for(secret);
            if vars.contains_key(direct.as_str()) {
                return Err(ConfigError::new(format!("set either {direct} or {name}, not both")));
            }
            let content = std::fs::read_to_string(value)
                .map_err(|e| ConfigError::new(format!("cannot read the file `{value}` named by {name} ({e})")))?;
            let content = content.trim_end_matches(['\r', '\n']).to_owned();
            layers.push(Layer::single(format!("the file named by {name}"), secret, content));
        } else if known.contains(&key) {
            layers.push(Layer::single(
                format!("environment variable {name}"),
                &key,
                value.to_owned(),
            ));
        } else {
            warnings.push(format!("ignoring unknown environment variable {name}"));
        }
    }
    Ok(EnvLayers { layers, warnings })
}
