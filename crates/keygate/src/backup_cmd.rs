//! `keygate backup --out FILE`: a consistent online backup of the configured database while
//! servers run. SQLite: `VACUUM INTO` (a compact copy of one snapshot, itself a SQLite database);
//! PostgreSQL: the export file (see `keygate export`). Keep the secret key beside it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use keygate_store::Dialect;

use crate::config::Config;
use crate::export_cmd::{ExportArgs, run as run_export};
use crate::store::chain;
use crate::transfer_support::{Role, open_sql, partial_path};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to create (it must not exist). PostgreSQL backups are export files
    /// (gzip when the name ends in .gz).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: &Config, args: BackupArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        anyhow::bail!("{} already exists; choose a new file name", args.out.display());
    }
    let store = open_sql(config, config.database_url.expose(), "backup source", Role::Source).await?;
    let dialect = store.dialect();
    if dialect == Dialect::Postgres {
        store.close().await;
        return run_export(
            config,
            ExportArgs {
                out: args.out,
                batch_size: 1000,
                json: args.json,
            },
        )
        .await;
    }
    let started = Instant::now();
    let partial = partial_path(&args.out);
    let _ = std::fs::remove_file(&partial);
    let result = keygate_store::transfer::backup::sqlite_vacuum_into(&store, &partial).await;
    store.close().await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!("cannot back up the database ({})", chain(&e));
    }
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot rename the backup to {}", args.out.display()))?;
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "file": args.out.display().to_string(), "kind": "sqlite", "bytes": bytes, "seconds": seconds })
        );
    } else {
        println!(
            "backed up to {} ({bytes} bytes, a SQLite database) in {seconds:.1} s; keep the secret key (secret_key, or the .secret file beside the database) with it",
            args.out.display()
        );
    }
    Ok(())
}
