//! `keygate export --out FILE|-`: one snapshot of the configured database as a versioned
//! JSON-lines file (gzip when FILE ends in `.gz`), written beside as `FILE.partial` and renamed
//! into place only when complete. The format is in the README.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use flate2::Compression;
use flate2::write::GzEncoder;
use keygate_store::SqlStore;
use keygate_store::transfer::export::{ExportMeta, export};

use crate::config::Config;
use crate::copy_storage_cmd::describe;
use crate::progress::{Reporter, print_reports};
use crate::store::chain;
use crate::transfer_support::{Role, is_gzip, now_ms, now_rfc3339, open_sql, partial_path, source_key};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file to write (`-` for stdout; gzip when the name ends in .gz).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rows per read.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// Print JSON (counts, checksums, seconds) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where an export goes: a file (perhaps compressed) or stdout.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
    Stdout(BufWriter<std::io::Stdout>),
}

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
            Sink::Stdout(w) => w,
        }
    }

    /// Flushes everything (the gzip trailer too) and, for a regular file, syncs it to disk.
    fn finish(self, sync: bool) -> std::io::Result<()> {
        let file = match self {
            Sink::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Gzip(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
            Sink::Stdout(mut w) => return w.flush(),
        };
        if sync { file.sync_all() } else { Ok(()) }
    }
}

/// Where the rows are written first: `FILE.partial` (renamed when complete) for a regular file;
/// the path itself for stdout (`-`) and for anything that is not a regular file (a pipe, a
/// device such as /dev/null), which must never be replaced by a rename.
fn staging_path(path: &Path) -> Option<PathBuf> {
    if path == Path::new("-") {
        return None;
    }
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => None,
        _ => Some(partial_path(path)),
    }
}

fn create(path: &Path) -> anyhow::Result<Sink> {
    if path == Path::new("-") {
        return Ok(Sink::Stdout(BufWriter::new(std::io::stdout())));
    }
    let target = staging_path(path).unwrap_or_else(|| path.to_path_buf());
    let file = File::create(&target).with_context(|| format!("cannot create {}", target.display()))?;
    let w = BufWriter::with_capacity(1 << 16, file);
    Ok(if is_gzip(path) {
        Sink::Gzip(GzEncoder::new(w, Compression::fast()))
    } else {
        Sink::Plain(w)
    })
}

pub async fn run(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let store = open_sql(config, config.database_url.expose(), "export source", Role::Source).await?;
    let staging = staging_path(&args.out);
    let result = write(config, &args, &store, staging.as_deref()).await;
    store.close().await;
    if let (Err(_), Some(staging)) = (&result, &staging) {
        let _ = std::fs::remove_file(staging);
    }
    result
}

async fn write(config: &Config, args: &ExportArgs, store: &SqlStore, staging: Option<&Path>) -> anyhow::Result<()> {
    store.check_schema().await.map_err(|e| {
        anyhow::anyhow!(
            "the database's schema is not this build's ({}); run `keygate migrate up` first",
            chain(&e)
        )
    })?;
    let key = source_key(config, config.database_url.expose(), None)?;
    let meta = ExportMeta {
        keygate_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now_rfc3339(),
        secret_key_fingerprint: key.fingerprint(),
        now_ms: now_ms(),
        batch_size: args.batch_size,
    };
    let started = Instant::now();
    let mut sink = create(&args.out)?;
    let reports = export(store, sink.writer(), &meta, &mut Reporter::new())
        .await
        .map_err(describe)?;
    sink.finish(staging.is_some())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(staging) = staging {
        std::fs::rename(staging, &args.out)
            .with_context(|| format!("cannot rename the finished export to {}", args.out.display()))?;
    }
    let mut extra = serde_json::Map::new();
    extra.insert("file".into(), args.out.display().to_string().into());
    extra.insert(
        "secret_key_fingerprint".into(),
        meta.secret_key_fingerprint.clone().into(),
    );
    // With `--out -` stdout is the file: the summary goes to stderr.
    if args.out == Path::new("-") {
        let rows: u64 = reports.iter().map(|r| r.rows).sum();
        eprintln!("exported {rows} rows in {:.1} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    print_reports(args.json, &reports, started.elapsed().as_secs_f64(), extra)
}
