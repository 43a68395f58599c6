//! `keygate copy-storage --from URL --to URL`: every durable record from one SQL database into
//! another (SQLite <-> PostgreSQL), from one snapshot of the source, in one transaction on the
//! target, verified by count and checksum per table before it commits.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use keygate_store::transfer::{self, CopyOptions, Resealer, TransferError};

use crate::config::Config;
use crate::progress::{Reporter, print_reports};
use crate::store::chain;
use crate::transfer_support::{Role, key_for, now_ms, open_sql, source_key};

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy from: sqlite://PATH or postgres://… (read in one snapshot; servers may keep running on it).
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The database to copy into; migrated first, and it must be empty unless --force.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Rows per read and per INSERT batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// Empty every Keygate table of the target first (in the same transaction as the copy).
    #[arg(long)]
    pub force: bool,
    /// The secret key the source's TOTP secrets and signing keys are sealed with, when it is not
    /// the configured one (e.g. the `.secret` file beside a SQLite database).
    #[arg(long, value_name = "FILE")]
    pub source_secret_key_file: Option<PathBuf>,
    /// Print JSON (counts, checksums, seconds) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: &Config, args: CopyArgs) -> anyhow::Result<()> {
    if args.from == args.to {
        anyhow::bail!("--from and --to name the same database; nothing to copy");
    }
    let source = open_sql(config, &args.from, "source", Role::Source).await?;
    let target = match open_sql(config, &args.to, "target", Role::Target).await {
        Ok(t) => t,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let result = copy(config, &args, &source, &target).await;
    source.close().await;
    target.close().await;
    result
}

async fn copy(
    config: &Config,
    args: &CopyArgs,
    source: &keygate_store::SqlStore,
    target: &keygate_store::SqlStore,
) -> anyhow::Result<()> {
    source.check_schema().await.map_err(|e| {
        anyhow::anyhow!(
            "the source's schema is not this build's ({}); run `keygate migrate up` on it first",
            chain(&e)
        )
    })?;
    let source_key = source_key(config, &args.from, args.source_secret_key_file.as_deref())?;
    let target_key = key_for(config, &args.to)?;
    let resealer = Resealer::new(source_key, target_key);
    target
        .migrate_up()
        .await
        .map_err(|e| anyhow::anyhow!("cannot migrate the target ({})", chain(&e)))?;
    if args.force {
        eprintln!(
            "--force: every Keygate table of the target is emptied before the copy, in the same transaction (a failed copy leaves it as it was)"
        );
    }
    if resealer.reseals() {
        eprintln!("the target uses another secret key: TOTP secrets and signing keys are sealed again with it");
    }
    let opts = CopyOptions {
        batch_size: args.batch_size,
        force: args.force,
        now_ms: now_ms(),
    };
    let started = Instant::now();
    let mut progress = Reporter::new();
    let reports = transfer::copy(source, target, &opts, Some(&resealer), &mut progress)
        .await
        .map_err(describe)?;
    let mut extra = serde_json::Map::new();
    extra.insert("from".into(), source.dialect().name().into());
    extra.insert("to".into(), target.dialect().name().into());
    extra.insert("resealed".into(), resealer.reseals().into());
    extra.insert("verified".into(), true.into());
    print_reports(args.json, &reports, started.elapsed().as_secs_f64(), extra)
}

/// One sentence per failure; store errors keep their cause.
pub fn describe(e: TransferError) -> anyhow::Error {
    match e {
        TransferError::Store(s) => anyhow::anyhow!("the transfer failed and nothing was written ({})", chain(&s)),
        other => anyhow::anyhow!("{other}"),
    }
}
