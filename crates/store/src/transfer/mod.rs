//! Moving every durable record between databases: `copy` (SQLite <-> PostgreSQL), `export` to and
//! `import` from a versioned JSON-lines file. All three read and write rows through one
//! table-generic path ([`catalog`] + typed [`value::Value`]s), so they share the keyset paging,
//! the batch inserts and the order-independent checksums that verify each run.

pub mod backup;
mod bulk;
pub mod catalog;
mod copy;
mod copy_format;
pub mod export;
pub mod import;
mod io;
mod packed;
mod pg_sink;
pub mod reseal;
mod sink;
mod snapshot;
pub mod value;

use keygate_core::error::StoreError;

pub use catalog::{TABLES, Table};
pub use copy::{CopyOptions, copy};
pub use reseal::Resealer;
pub use value::{Checksum, Row, Value};

/// What one table's transfer did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableReport {
    pub table: &'static str,
    pub rows: u64,
    /// The checksum of the rows as written (64 hex digits), equal on both sides.
    pub checksum: String,
    pub millis: u64,
}

/// Told as a transfer goes, to draw progress.
pub trait Progress: Send {
    fn table_started(&mut self, table: &str, total: u64);
    fn rows_done(&mut self, rows: u64);
    fn table_finished(&mut self, report: &TableReport);
}

/// Draws nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn table_started(&mut self, _table: &str, _total: u64) {}
    fn rows_done(&mut self, _rows: u64) {}
    fn table_finished(&mut self, _report: &TableReport) {}
}

/// Changes a row on its way (re-sealing secrets for another key). Must not touch key columns.
pub trait RowTransform: Send + Sync {
    fn apply(&self, table: &Table, row: &mut Row) -> Result<(), String>;
}

/// Why a transfer stopped. Each is one sentence for the operator; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the target already holds data ({}); nothing was copied: pass --force to empty those tables and replace their contents",
        list(.0)
    )]
    TargetNotEmpty(Vec<(&'static str, u64)>),
    #[error("verification failed for table {table}: {detail}; the target was left as it was")]
    Mismatch { table: &'static str, detail: String },
    #[error("{0}")]
    Secrets(String),
    #[error("{0}")]
    Format(String),
    #[error("cannot read or write the file ({0})")]
    Io(#[from] std::io::Error),
}

fn list(tables: &[(&'static str, u64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{t}: {n} rows"))
        .collect::<Vec<_>>()
        .join(", ")
}
