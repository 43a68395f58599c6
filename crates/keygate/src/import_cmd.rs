//! `keygate import --in FILE|-`: an export file into the configured database, all or nothing
//! (one transaction, committed only after the file's checksums and a read-back agree). Refuses a
//! newer format, a damaged or truncated file, and a file sealed with another secret key unless
//! `--source-secret-key-file` names that key (then secrets are sealed again with the target's).
//! `--dry-run` runs every check on the file and writes nothing.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use flate2::read::MultiGzDecoder;
use keygate_core::crypto::SecretBox;
use keygate_store::transfer::export::Header;
use keygate_store::transfer::import::{ImportOptions, import, read_header};
use keygate_store::transfer::{Resealer, RowTransform};

use crate::config::Config;
use crate::copy_storage_cmd::describe;
use crate::progress::{Reporter, print_reports};
use crate::store::chain;
use crate::transfer_support::{Role, is_gzip, key_for, key_from_file, open_sql};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export file (`-` for stdin; gzip when the name ends in .gz).
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Check the file (format, checksums, secret key) without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// The key the file's secrets are sealed with, when it is not the target's; they are sealed
    /// again with the target's key.
    #[arg(long, value_name = "FILE")]
    pub source_secret_key_file: Option<PathBuf>,
    /// Empty every Keygate table of the target first (in the same transaction as the import).
    #[arg(long)]
    pub force: bool,
    /// Rows per INSERT batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// Print JSON (counts, checksums, seconds) instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(if is_gzip(path) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::new(file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    })
}

/// Which key opens the file's sealed values and which seals them in the target. None: the key
/// cannot be checked (a dry run with no configured key and no --source-secret-key-file).
fn resealer(config: &Config, args: &ImportArgs, header: &Header) -> anyhow::Result<Option<Resealer>> {
    let target_key = || key_for(config, config.database_url.expose());
    let file_key = header.secret_key_fingerprint.as_str();
    let short = |f: &str| f.chars().take(16).collect::<String>();
    if let Some(path) = &args.source_secret_key_file {
        let source = key_from_file(path)?;
        if source.fingerprint() != file_key {
            anyhow::bail!(
                "the key in {} is not the one this file was exported with (fingerprint {} against the file's {})",
                path.display(),
                short(&source.fingerprint()),
                short(file_key)
            );
        }
        if args.dry_run && config.secret_key.is_none() {
            let again = key_from_file(path)?;
            return Ok(Some(Resealer::new(source, again)));
        }
        return Ok(Some(Resealer::new(source, target_key()?)));
    }
    if args.dry_run && config.secret_key.is_none() {
        return Ok(None);
    }
    let target = target_key()?;
    if target.fingerprint() != file_key {
        anyhow::bail!(
            "this file was exported with another secret key (fingerprint {}) than the target's ({}): pass --source-secret-key-file with the key it was exported with, and its TOTP secrets and signing keys will be sealed again with the target's key",
            short(file_key),
            short(&target.fingerprint())
        );
    }
    let again: SecretBox = target_key()?;
    Ok(Some(Resealer::new(target, again)))
}

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let mut input = open(&args.input)?;
    let (header, header_line) = read_header(input.as_mut()).map_err(describe)?;
    let resealer = resealer(config, &args, &header)?;
    let transform = resealer.as_ref().map(|r| r as &dyn RowTransform);
    let started = Instant::now();
    let mut progress = Reporter::new();
    let opts = ImportOptions {
        batch_size: args.batch_size,
        force: args.force,
    };
    let reports = if args.dry_run {
        import(
            None,
            &header,
            &header_line,
            input.as_mut(),
            &opts,
            transform,
            &mut progress,
        )
        .await
        .map_err(describe)?
    } else {
        let store = open_sql(config, config.database_url.expose(), "import target", Role::Target).await?;
        let result = async {
            store
                .migrate_up()
                .await
                .map_err(|e| anyhow::anyhow!("cannot migrate the target ({})", chain(&e)))?;
            if args.force {
                eprintln!(
                    "--force: every Keygate table of the target is emptied before the import, in the same transaction (a failed import leaves it as it was)"
                );
            }
            import(Some(&store), &header, &header_line, input.as_mut(), &opts, transform, &mut progress)
            .await
            .map_err(describe)
        }
        .await;
        store.close().await;
        result?
    };
    let mut extra = serde_json::Map::new();
    extra.insert("dry_run".into(), args.dry_run.into());
    extra.insert("format_version".into(), header.format_version.into());
    extra.insert("exported_at".into(), header.created_at.clone().into());
    extra.insert("keygate_version".into(), header.keygate_version.clone().into());
    extra.insert("secret_key_checked".into(), resealer.is_some().into());
    extra.insert(
        "resealed".into(),
        resealer.as_ref().is_some_and(|r| r.reseals() && !args.dry_run).into(),
    );
    if !args.json {
        if args.dry_run {
            println!("dry run: the file is complete and intact; nothing was written");
        }
        if resealer.is_none() {
            println!("the secret key was not checked: set secret_key or pass --source-secret-key-file");
        }
    }
    print_reports(args.json, &reports, started.elapsed().as_secs_f64(), extra)
}
