//! One source of configuration values (a file, an environment variable, a flag) as a figment
//! provider that names itself, so that an error can say where the bad value came from.

use std::path::PathBuf;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// Values from one named place, e.g. "environment variable KEYGATE_BIND".
pub struct Layer {
    label: String,
    values: Dict,
}

impl Layer {
    /// One value at a dotted key path such as `database.max_connections`. Values stay strings;
    /// numbers are parsed when extracted, so `KEYGATE_ADMIN_TOKEN=123…` stays a string.
    pub fn single(label: impl Into<String>, path: &str, value: String) -> Self {
        let mut parts = path.split('.').rev();
        let mut values = Dict::new();
        values.insert(parts.next().unwrap_or(path).to_owned(), Value::from(value));
        for part in parts {
            let mut outer = Dict::new();
            outer.insert(part.to_owned(), Value::from(values));
            values = outer;
        }
        Layer {
            label: label.into(),
            values,
        }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.label.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

/// A TOML configuration file, read as is (no search through parent folders).
pub struct ConfigFile {
    pub path: PathBuf,
}

impl Provider for ConfigFile {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("config file {}", self.path.display()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Toml::file_exact(&self.path).data()
    }
}
