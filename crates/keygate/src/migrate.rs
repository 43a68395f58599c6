//! `keygate migrate up | down [N] | status`: tables for people, `--json` for scripts.

use keygate_store::MigrationStatus;
use serde_json::json;

use crate::cli::MigrateAction;
use crate::config::Config;
use crate::output::table;
use crate::store::{chain, open};

pub async fn run(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    let backend = open(config).await?;
    let result = match action {
        MigrateAction::Up { json } => backend.migrate_up().await.map(|applied| (applied, json, "applied")),
        MigrateAction::Down { steps, json } => backend
            .migrate_down(steps)
            .await
            .map(|reverted| (reverted, json, "reverted")),
        MigrateAction::Status { json } => backend.migration_status().await.map(|all| (all, json, "status")),
    };
    backend.close().await;
    let (migrations, json, verb) = result.map_err(|err| anyhow::anyhow!("migration failed ({})", chain(&err)))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&as_json(&migrations))?);
    } else if backend.kind() == "memory" {
        println!("the memory backend has no schema; nothing to migrate");
    } else if migrations.is_empty() {
        println!(
            "{}",
            if verb == "reverted" {
                "no migration to revert"
            } else {
                "no pending migration"
            }
        );
    } else {
        if verb != "status" {
            println!("{verb} {} migration(s):", migrations.len());
        }
        print!("{}", table(&["VERSION", "NAME", "APPLIED AT"], &rows(&migrations)));
    }
    Ok(())
}

fn rows(migrations: &[MigrationStatus]) -> Vec<Vec<String>> {
    migrations
        .iter()
        .map(|m| {
            let applied = m
                .applied_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "pending".to_owned());
            vec![m.version.to_string(), m.name.clone(), applied]
        })
        .collect()
}

fn as_json(migrations: &[MigrationStatus]) -> serde_json::Value {
    migrations
        .iter()
        .map(|m| {
            json!({
                "version": m.version,
                "name": m.name,
                "applied": m.applied_at.is_some(),
                "applied_at": m.applied_at.map(|t| t.to_rfc3339()),
            })
        })
        .collect()
}
