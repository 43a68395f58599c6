//! `import`: an export file back into a database, all or nothing. The rows go in inside one
//! transaction that commits only after the trailer's whole-file SHA-256, every table's count and
//! checksum, and a read-back of the target all agree; a truncated, edited or newer file is refused.
//! With no target (`--dry-run`) the same checks run and nothing is written.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Instant;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::catalog::{AddedDefault, TABLES};
use super::export::{FORMAT, FORMAT_VERSION, Header, Trailer, hex};
use super::sink::Sink;
use super::value::{Checksum, Row, Value, row_from_json};
use super::{Progress, RowTransform, TableReport, TransferError};
use crate::sql::SqlStore;

fn format_err(s: impl Into<String>) -> TransferError {
    TransferError::Format(s.into())
}

/// Reads and checks line 1. Returns the header and its raw bytes (part of the file's hash).
pub fn read_header(input: &mut dyn BufRead) -> Result<(Header, Vec<u8>), TransferError> {
    let mut line = Vec::new();
    input.read_until(b'\n', &mut line)?;
    let json: Json = serde_json::from_slice(&line)
        .map_err(|_| format_err("this is not a Keygate export file (its first line is not a JSON header)"))?;
    if json.get("format").and_then(Json::as_str) != Some(FORMAT) {
        return Err(format_err(
            "this is not a Keygate export file (no \"format\": \"keygate-export\" header)",
        ));
    }
    let version = json.get("format_version").and_then(Json::as_u64).unwrap_or(0);
    if version > u64::from(FORMAT_VERSION) {
        return Err(format_err(format!(
            "this file uses export format version {version}, and this Keygate reads version {FORMAT_VERSION} at most: import it with a newer Keygate"
        )));
    }
    let header: Header =
        serde_json::from_value(json).map_err(|e| format_err(format!("the export header is damaged ({e})")))?;
    // Each table's columns as this build has them, or without the columns added since (older
    // files: their rows take the added columns' defaults).
    let same_schema = header.tables.len() == TABLES.len()
        && header.tables.iter().zip(TABLES).all(|(h, t)| {
            h.name == t.name
                && (t.oldest_column_count()..=t.columns.len()).contains(&h.columns.len())
                && h.columns
                    .iter()
                    .map(String::as_str)
                    .eq(t.columns.iter().take(h.columns.len()).map(|c| c.name))
        });
    if !same_schema {
        return Err(format_err(
            "the file's tables or columns differ from this build's schema: import it with the Keygate version that wrote it",
        ));
    }
    Ok((header, line))
}

struct TableState {
    read: Checksum,
    written: Checksum,
    started: Instant,
}

/// How an import writes.
#[derive(Clone, Copy, Debug)]
pub struct ImportOptions {
    /// Rows per INSERT batch.
    pub batch_size: u32,
    /// Empty a target that holds data instead of refusing.
    pub force: bool,
}

/// Imports the records after the header. `target: None` checks the file without writing.
pub async fn import(
    target: Option<&SqlStore>,
    header: &Header,
    header_line: &[u8],
    input: &mut dyn BufRead,
    opts: &ImportOptions,
    transform: Option<&dyn RowTransform>,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    let (batch_size, force) = (opts.batch_size, opts.force);
    let mut sink = match target {
        Some(store) => Some(Sink::begin(store).await?),
        None => None,
    };
    let result = run(
        sink.as_mut(),
        header,
        header_line,
        input,
        batch_size,
        force,
        transform,
        progress,
    )
    .await;
    match (sink, result) {
        (Some(sink), Ok(reports)) => {
            sink.commit().await?;
            Ok(reports)
        }
        (Some(sink), Err(e)) => {
            let _ = sink.rollback().await;
            Err(e)
        }
        (None, result) => result,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    mut sink: Option<&mut Sink>,
    header: &Header,
    header_line: &[u8],
    input: &mut dyn BufRead,
    batch_size: u32,
    force: bool,
    transform: Option<&dyn RowTransform>,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    if let Some(sink) = sink.as_deref_mut() {
        let occupied = sink.occupied_tables().await?;
        if !occupied.is_empty() {
            if !force {
                return Err(TransferError::TargetNotEmpty(occupied));
            }
            sink.empty_all().await?;
        }
        sink.start_load().await?;
    }
    let batch = batch_size.max(1) as usize;
    let mut hash = Sha256::new();
    hash.update(header_line);
    let mut states: Vec<TableState> = TABLES
        .iter()
        .map(|_| TableState {
            read: Checksum::default(),
            written: Checksum::default(),
            started: Instant::now(),
        })
        .collect();
    // The table records are arriving for; tables before it are done, tables after it not begun.
    let mut current: Option<usize> = None;
    let mut pending: Vec<Row> = Vec::with_capacity(batch);
    let mut reports = Vec::with_capacity(TABLES.len());
    let mut line = Vec::new();
    let trailer = loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Err(format_err(
                "the file ends before its trailer: it is truncated, and nothing was imported",
            ));
        }
        let json: Json = serde_json::from_slice(&line)
            .map_err(|_| format_err("a line of the file is not JSON: it is damaged, and nothing was imported"))?;
        if let Some(end) = json.get("end") {
            let trailer: Trailer = serde_json::from_value(end.clone())
                .map_err(|_| format_err("the file's trailer is damaged, and nothing was imported"))?;
            break trailer;
        }
        hash.update(&line);
        let name = json.get("t").and_then(Json::as_str).unwrap_or("");
        let Some(index) = TABLES.iter().position(|t| t.name == name) else {
            return Err(format_err(format!(
                "the file has a record of unknown table {name:?}: it is damaged, and nothing was imported"
            )));
        };
        if current != Some(index) {
            if current.is_some_and(|c| c > index) {
                return Err(format_err(
                    "the file's records are out of table order: it is damaged, and nothing was imported",
                ));
            }
            advance(
                &mut sink,
                &mut current,
                index,
                &mut pending,
                &mut states,
                &mut reports,
                header,
                progress,
            )
            .await?;
        }
        let table = &TABLES[index];
        let in_file = header.tables[index].columns.len();
        let mut row = row_from_json(table, in_file, json.get("r").unwrap_or(&Json::Null))
            .map_err(|e| format_err(format!("a record is damaged ({e}), and nothing was imported")))?;
        // The file's checksums cover the columns it has; the rest are the added columns' defaults.
        states[index].read.add(&row);
        pad_added_columns(table, &mut row);
        if let Some(t) = transform {
            t.apply(table, &mut row).map_err(TransferError::Secrets)?;
        }
        states[index].written.add(&row);
        pending.push(row);
        if pending.len() >= batch {
            flush(&mut sink, index, &mut pending, progress).await?;
        }
    };
    advance(
        &mut sink,
        &mut current,
        TABLES.len(),
        &mut pending,
        &mut states,
        &mut reports,
        header,
        progress,
    )
    .await?;
    let mut extra = Vec::new();
    if input.read_until(b'\n', &mut extra)? > 0 && !extra.iter().all(u8::is_ascii_whitespace) {
        return Err(format_err(
            "the file goes on after its trailer: it is damaged, and nothing was imported",
        ));
    }
    verify(header, &trailer, &hex(&hash.finalize()), &states)?;
    if let Some(sink) = sink {
        sink.finish_load().await?;
        for (table, state) in TABLES.iter().zip(&states) {
            let stored = sink.checksum(table, batch_size.max(1)).await?;
            if stored != state.written {
                return Err(TransferError::Mismatch {
                    table: table.name,
                    detail: format!(
                        "{} rows written but {} read back, or their checksums differ",
                        state.written.rows, stored.rows
                    ),
                });
            }
        }
    }
    Ok(reports)
}

/// Fills the columns added since the file was written with their defaults.
fn pad_added_columns(table: &super::catalog::Table, row: &mut Row) {
    for index in row.len()..table.columns.len() {
        row.push(match table.added_default(index) {
            Some(AddedDefault::EmptyText) => Value::Text(String::new()),
            None => Value::Null,
        });
    }
}

async fn flush(
    sink: &mut Option<&mut Sink>,
    index: usize,
    pending: &mut Vec<Row>,
    progress: &mut dyn Progress,
) -> Result<(), TransferError> {
    if let Some(sink) = sink.as_deref_mut()
        && !pending.is_empty()
    {
        sink.insert(&TABLES[index], pending).await?;
    }
    progress.rows_done(pending.len() as u64);
    pending.clear();
    Ok(())
}

/// Closes the current table and every empty one before `to`, then begins `to` (if a table).
#[allow(clippy::too_many_arguments)]
async fn advance(
    sink: &mut Option<&mut Sink>,
    current: &mut Option<usize>,
    to: usize,
    pending: &mut Vec<Row>,
    states: &mut [TableState],
    reports: &mut Vec<TableReport>,
    header: &Header,
    progress: &mut dyn Progress,
) -> Result<(), TransferError> {
    let mut next = 0;
    if let Some(cur) = *current {
        flush(sink, cur, pending, progress).await?;
        reports.push(finish(cur, &states[cur], progress));
        next = cur + 1;
    }
    for skipped in next..to.min(TABLES.len()) {
        progress.table_started(TABLES[skipped].name, header.tables[skipped].rows);
        reports.push(finish(skipped, &states[skipped], progress));
    }
    if to < TABLES.len() {
        progress.table_started(TABLES[to].name, header.tables[to].rows);
        states[to].started = Instant::now();
        *current = Some(to);
    }
    Ok(())
}

fn finish(index: usize, state: &TableState, progress: &mut dyn Progress) -> TableReport {
    let report = TableReport {
        table: TABLES[index].name,
        rows: state.written.rows,
        checksum: state.written.hex(),
        millis: state.started.elapsed().as_millis() as u64,
    };
    progress.table_finished(&report);
    report
}

/// The file is what its trailer and header say it is: same bytes, same counts, same checksums.
fn verify(header: &Header, trailer: &Trailer, sha256: &str, states: &[TableState]) -> Result<(), TransferError> {
    if trailer.sha256 != sha256 {
        return Err(format_err(
            "the file's checksum does not match its trailer: it was changed or damaged after export, and nothing was imported",
        ));
    }
    let records: u64 = states.iter().map(|s| s.read.rows).sum();
    if records != trailer.records {
        return Err(format_err(
            "the file holds another number of records than its trailer says: nothing was imported",
        ));
    }
    let mut expected: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, sum) in &trailer.checksums {
        expected.insert(name, sum);
    }
    for ((table, state), head) in TABLES.iter().zip(states).zip(&header.tables) {
        if state.read.rows != head.rows || expected.get(table.name) != Some(&state.read.hex().as_str()) {
            return Err(TransferError::Mismatch {
                table: table.name,
                detail: "the file's records do not match its header count or trailer checksum".into(),
            });
        }
    }
    Ok(())
}
