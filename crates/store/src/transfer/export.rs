//! `export`: one snapshot of every table as a JSON-lines file (format below, documented in the
//! README). Line 1 is the [`Header`]; then one record per line, `{"t":"<table>","r":[values]}`,
//! values in the header's column order (integers, strings, base64 for bytes, null); the last line
//! is the trailer `{"end":{"records":N,"checksums":{table:hex},"sha256":hex}}`, where `sha256`
//! covers every byte before the trailer, so a truncated or edited file is refused on import.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::snapshot::{Cursor, Snapshot};
use super::value::{Checksum, row_to_json};
use super::{Progress, TABLES, TableReport, TransferError};
use crate::sql::SqlStore;

/// The `format` every export header carries.
pub const FORMAT: &str = "keygate-export";
/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub keygate_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// "sqlite" or "postgres".
    pub source: String,
    /// [`keygate_core::crypto::SecretBox::fingerprint`] of the key the sealed values are sealed
    /// with (never the key itself).
    pub secret_key_fingerprint: String,
    pub tables: Vec<HeaderTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderTable {
    pub name: String,
    pub rows: u64,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    pub records: u64,
    /// Per table, the order-independent checksum of its records (see [`Checksum`]).
    pub checksums: BTreeMap<String, String>,
    /// SHA-256 (hex) of every byte of the file before the trailer line.
    pub sha256: String,
}

/// What the caller knows that the store does not.
#[derive(Clone, Debug)]
pub struct ExportMeta {
    pub keygate_version: String,
    pub created_at: String,
    pub secret_key_fingerprint: String,
    pub now_ms: i64,
    pub batch_size: u32,
}

/// Writes through to `inner` while hashing what passes.
pub(crate) struct Hashing<W> {
    pub inner: W,
    pub hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the export of `source` to `out` (already buffered or compressed by the caller).
pub async fn export(
    source: &SqlStore,
    out: &mut dyn Write,
    meta: &ExportMeta,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    let mut snapshot = Snapshot::open(source, meta.now_ms).await?;
    let result = write_all(&mut snapshot, source, out, meta, progress).await;
    let _ = snapshot.close().await;
    result
}

async fn write_all(
    snapshot: &mut Snapshot,
    source: &SqlStore,
    out: &mut dyn Write,
    meta: &ExportMeta,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        tables.push(HeaderTable {
            name: table.name.to_owned(),
            rows: snapshot.count(table).await?,
            columns: table.column_names().iter().map(|c| c.to_string()).collect(),
        });
    }
    let header = Header {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        keygate_version: meta.keygate_version.clone(),
        created_at: meta.created_at.clone(),
        source: source.dialect().name().to_owned(),
        secret_key_fingerprint: meta.secret_key_fingerprint.clone(),
        tables,
    };
    let mut w = Hashing {
        inner: &mut *out,
        hash: Sha256::new(),
    };
    serde_json::to_writer(&mut w, &header).map_err(std::io::Error::other)?;
    w.write_all(b"\n")?;
    let mut reports = Vec::with_capacity(TABLES.len());
    let mut checksums = BTreeMap::new();
    let mut records = 0;
    for (table, head) in TABLES.iter().zip(&header.tables) {
        let started = Instant::now();
        progress.table_started(table.name, head.rows);
        let mut sum = Checksum::default();
        let mut cursor = Cursor::Start;
        loop {
            let page = snapshot.page(table, &mut cursor, meta.batch_size).await?;
            if page.is_empty() {
                break;
            }
            for row in &page {
                sum.add(row);
                let line = serde_json::json!({ "t": table.name, "r": row_to_json(row) });
                serde_json::to_writer(&mut w, &line).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            progress.rows_done(page.len() as u64);
        }
        if sum.rows != head.rows {
            return Err(TransferError::Mismatch {
                table: table.name,
                detail: format!("the snapshot counted {} rows but yielded {}", head.rows, sum.rows),
            });
        }
        records += sum.rows;
        checksums.insert(table.name.to_owned(), sum.hex());
        let report = TableReport {
            table: table.name,
            rows: sum.rows,
            checksum: sum.hex(),
            millis: started.elapsed().as_millis() as u64,
        };
        progress.table_finished(&report);
        reports.push(report);
    }
    let sha256 = hex(&w.hash.finalize());
    let trailer = Trailer {
        records,
        checksums,
        sha256,
    };
    serde_json::to_writer(&mut *out, &serde_json::json!({ "end": trailer })).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(reports)
}
