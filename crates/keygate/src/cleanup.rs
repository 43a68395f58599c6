//! `keygate cleanup [--json]`: one purge of expired records and old audit events, as the janitor
//! of `keygate serve` does on its schedule, with the counts per kind.

use keygate_core::SystemClock;

use crate::config::Config;
use crate::janitor::{JanitorPolicy, counts, purge};
use crate::output::table;
use crate::store::{Schema, chain, open_for};

pub async fn run(config: &Config, json: bool) -> anyhow::Result<()> {
    let (backend, _) = open_for(config, Schema::Migrate).await?;
    let result = async {
        let stores = backend.stores();
        let report = purge(
            stores.maintenance.as_ref(),
            &SystemClock,
            &JanitorPolicy::from_config(config),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot delete expired records ({})", chain(&e)))?;
        if json {
            let mut body = serde_json::to_value(&report)?;
            if let Some(map) = body.as_object_mut() {
                map.insert("total".into(), report.total().into());
            }
            println!("{body:#}");
        } else {
            let mut rows: Vec<Vec<String>> = counts(&report)
                .iter()
                .map(|(kind, n)| vec![kind.replace('_', " "), n.to_string()])
                .collect();
            rows.push(vec!["total".into(), report.total().to_string()]);
            print!("{}", table(&["KIND", "DELETED"], &rows));
        }
        Ok(())
    }
    .await;
    backend.close().await;
    result
}
