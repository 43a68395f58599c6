//! `keygate check-config`: the effective configuration, secrets redacted, and where each value
//! came from.

use std::collections::BTreeMap;

use crate::config::Loaded;
use crate::output::table;

pub fn run(loaded: &Loaded, json: bool) -> anyhow::Result<()> {
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    // Serializing goes through the redacting `Serialize` of every secret type.
    let value = serde_json::to_value(&loaded.config)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut flat = BTreeMap::new();
    flatten("", &value, &mut flat);
    let rows: Vec<Vec<String>> = flat
        .into_iter()
        .map(|(key, shown)| {
            let origin = loaded
                .origins
                .get(&key)
                .cloned()
                .unwrap_or_else(|| "default".to_owned());
            vec![key, shown, origin]
        })
        .collect();
    print!("{}", table(&["KEY", "VALUE", "SOURCE"], &rows));
    println!("configuration is valid");
    Ok(())
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, child) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&key, child, out);
            }
        }
        serde_json::Value::Null => {
            out.insert(prefix.to_owned(), "(unset)".to_owned());
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}
