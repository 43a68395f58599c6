//! `copy`: every table from a snapshot of one SQL database into another in one transaction,
//! verified by count and checksum before it commits.
//!
//! Two halves run at once: the reader pages each table out of the snapshot (decoding one page
//! while the next is read), re-seals secrets if asked, checksums every row and, for a PostgreSQL
//! target, encodes it straight into COPY data (binary or text, whichever the target table takes);
//! the writer feeds the target (one `COPY … FROM STDIN` per table on PostgreSQL, multi-row
//! INSERTs on SQLite) and verifies each table while the reader goes on with the next. At most
//! [`PIECES_IN_FLIGHT`] pieces are queued between them, so memory stays flat whatever the size
//! of the tables.

use std::time::Instant;

use keygate_core::error::StoreError;
use tokio::sync::mpsc;

use super::catalog::Table;
use super::copy_format::CopyFormat;
use super::pg_sink::PgSink;
use super::sink::Sink;
use super::snapshot::{Cursor, Snapshot};
use super::value::{Checksum, Row};
use super::{Progress, RowTransform, TABLES, TableReport, TransferError};
use crate::sql::SqlStore;

#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Rows per page read from the source and per INSERT batch on a SQLite target.
    pub batch_size: u32,
    /// Empty a target that holds data instead of refusing.
    pub force: bool,
    /// Unix ms: ephemeral rows expiring before it are not copied.
    pub now_ms: i64,
}

/// Pieces the reader may run ahead of the writer: enough to keep reading while the writer
/// waits on the target (a COPY's acknowledgement, a checksum, the index rebuild).
const PIECES_IN_FLIGHT: usize = 16;

/// COPY data sent to PostgreSQL per piece: big enough that a piece costs little, small enough
/// that [`PIECES_IN_FLIGHT`] of them stay a few MiB.
const COPY_PIECE_BYTES: usize = 256 << 10;

/// What the reader hands the writer, table by table in [`TABLES`] order.
enum Piece {
    /// Rows for a SQLite target's INSERTs.
    Rows(Vec<Row>),
    /// Rows already encoded for COPY, and how many.
    Data(Vec<u8>, u64),
    /// The table is complete; the checksum of every row the reader sent for it.
    End(Checksum),
}

type Sent = Result<Piece, TransferError>;

/// Copies every table of `source` into the (migrated) `target`. On any error the target's
/// transaction is rolled back, so it holds what it held before.
pub async fn copy(
    source: &SqlStore,
    target: &SqlStore,
    opts: &CopyOptions,
    transform: Option<&dyn RowTransform>,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    let mut snapshot = Snapshot::open(source, opts.now_ms).await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push(snapshot.count(table).await?);
    }
    let mut sink = Sink::begin(target).await?;
    // A PostgreSQL target gets COPY data, encoded by the reader in each table's format.
    let formats = match &mut sink {
        Sink::Postgres(pg) => {
            let mut formats = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                match pg.copy_format(table).await {
                    Ok(format) => formats.push(format),
                    Err(e) => {
                        let _ = snapshot.close().await;
                        let _ = sink.rollback().await;
                        return Err(e.into());
                    }
                }
            }
            Some(formats)
        }
        Sink::Sqlite(_) => None,
    };
    let (tx, rx) = mpsc::channel::<Sent>(PIECES_IN_FLIGHT);
    let batch = opts.batch_size.max(1);
    let reading = read_all(&mut snapshot, formats.as_deref(), batch, transform, tx);
    let writing = write_all(rx, &mut sink, formats.as_deref(), &counts, opts, progress);
    // The reader stops at its next send once the writer has given up (and dropped `rx`).
    let ((), result) = tokio::join!(reading, writing);
    let _ = snapshot.close().await;
    match result {
        Ok(reports) => {
            sink.commit().await?;
            Ok(reports)
        }
        Err(e) => {
            let _ = sink.rollback().await;
            Err(e)
        }
    }
}

async fn read_all(
    snapshot: &mut Snapshot,
    formats: Option<&[CopyFormat]>,
    batch: u32,
    transform: Option<&dyn RowTransform>,
    tx: mpsc::Sender<Sent>,
) {
    for (index, table) in TABLES.iter().enumerate() {
        let format = formats.and_then(|f| f.get(index));
        if let Err(e) = read_table(snapshot, table, format, batch, transform, &tx).await {
            // Nothing more to do if the writer is gone: it has its own error.
            let _ = tx.send(Err(e)).await;
            return;
        }
    }
}

/// Sends one table's rows; `Err(Store(Internal))` also when the writer stopped listening.
async fn read_table(
    snapshot: &mut Snapshot,
    table: &'static Table,
    format: Option<&CopyFormat>,
    batch: u32,
    transform: Option<&dyn RowTransform>,
    tx: &mpsc::Sender<Sent>,
) -> Result<(), TransferError> {
    let gone = || TransferError::Store(StoreError::Internal("the copy's writer stopped".into()));
    let mut sum = Checksum::default();
    let mut rows = Vec::new();
    let mut data = Vec::new();
    let mut data_rows = 0;
    if let Some(format) = format {
        format.begin(&mut data);
    }
    // Each page is decoded and encoded while the next one is read.
    let (mut fetched, mut cursor) = snapshot.fetch(table, &Cursor::Start, batch).await?;
    while !fetched.is_empty() {
        let work = async {
            for mut row in fetched.decode(table)? {
                if let Some(t) = transform {
                    t.apply(table, &mut row).map_err(TransferError::Secrets)?;
                }
                sum.add(&row);
                if let Some(format) = format {
                    format.encode(table, &mut data, &row)?;
                    data_rows += 1;
                    if data.len() >= COPY_PIECE_BYTES {
                        let full = std::mem::replace(&mut data, Vec::with_capacity(COPY_PIECE_BYTES + 4096));
                        tx.send(Ok(Piece::Data(full, data_rows))).await.map_err(|_| gone())?;
                        data_rows = 0;
                    }
                } else {
                    rows.push(row);
                }
            }
            if !rows.is_empty() {
                tx.send(Ok(Piece::Rows(std::mem::take(&mut rows))))
                    .await
                    .map_err(|_| gone())?;
            }
            Ok::<(), TransferError>(())
        };
        let (next, worked) = tokio::join!(snapshot.fetch(table, &cursor, batch), work);
        worked?;
        (fetched, cursor) = next?;
    }
    if let Some(format) = format {
        format.end(&mut data);
        tx.send(Ok(Piece::Data(data, data_rows))).await.map_err(|_| gone())?;
    }
    tx.send(Ok(Piece::End(sum))).await.map_err(|_| gone())
}

async fn write_all(
    mut rx: mpsc::Receiver<Sent>,
    sink: &mut Sink,
    formats: Option<&[CopyFormat]>,
    counts: &[u64],
    opts: &CopyOptions,
    progress: &mut dyn Progress,
) -> Result<Vec<TableReport>, TransferError> {
    let occupied = sink.occupied_tables().await?;
    if !occupied.is_empty() {
        if !opts.force {
            return Err(TransferError::TargetNotEmpty(occupied));
        }
        sink.empty_all().await?;
    }
    sink.start_load().await?;
    let mut reports = Vec::with_capacity(TABLES.len());
    for (index, (table, expected)) in TABLES.iter().zip(counts).enumerate() {
        let started = Instant::now();
        progress.table_started(table.name, *expected);
        let written = match sink {
            Sink::Postgres(pg) => {
                let format = formats
                    .and_then(|f| f.get(index))
                    .ok_or_else(|| StoreError::Internal("no COPY format for a table".into()))?;
                copy_table(&mut rx, pg, table, format, progress).await?
            }
            Sink::Sqlite(_) => insert_table(&mut rx, sink, table, progress).await?,
        };
        if written.rows != *expected {
            return Err(TransferError::Mismatch {
                table: table.name,
                detail: format!("the snapshot counted {expected} rows but yielded {}", written.rows),
            });
        }
        let stored = sink.checksum(table, opts.batch_size.max(1)).await?;
        if stored != written {
            return Err(TransferError::Mismatch {
                table: table.name,
                detail: format!(
                    "source {} rows (checksum {}), target {} rows (checksum {})",
                    written.rows,
                    written.hex(),
                    stored.rows,
                    stored.hex()
                ),
            });
        }
        let report = TableReport {
            table: table.name,
            rows: written.rows,
            checksum: written.hex(),
            millis: started.elapsed().as_millis() as u64,
        };
        progress.table_finished(&report);
        reports.push(report);
    }
    sink.finish_load().await?;
    Ok(reports)
}

async fn next(rx: &mut mpsc::Receiver<Sent>) -> Result<Piece, TransferError> {
    rx.recv()
        .await
        .ok_or_else(|| StoreError::Internal("the snapshot reader stopped early".into()))?
}

/// One COPY for the whole table; returns the reader's checksum of what went in. An empty table
/// gets no COPY at all: each COPY ends with a small message that can wait for a delayed TCP
/// acknowledgement (~40 ms), which added up to half a second over the empty tables.
async fn copy_table(
    rx: &mut mpsc::Receiver<Sent>,
    pg: &mut PgSink,
    table: &'static Table,
    format: &CopyFormat,
    progress: &mut dyn Progress,
) -> Result<Checksum, TransferError> {
    // Data carrying no rows (a binary header) is held until a row comes.
    let mut held = Vec::new();
    let first = loop {
        match next(rx).await? {
            Piece::Data(data, 0) => held.extend_from_slice(&data),
            Piece::Data(data, rows) => {
                held.extend_from_slice(&data);
                break (held, rows);
            }
            Piece::End(sum) => return Ok(sum),
            Piece::Rows(_) => return Err(unencoded()),
        }
    };
    let mut copy = pg.copy_in(table, format).await?;
    let mut piece = Piece::Data(first.0, first.1);
    let sum = loop {
        match piece {
            Piece::Data(data, rows) => {
                if let Err(e) = copy.send(data).await {
                    let _ = copy.abort("send failed").await;
                    return Err(crate::sql::error::db_err(e).into());
                }
                progress.rows_done(rows);
            }
            Piece::End(sum) => break sum,
            Piece::Rows(_) => {
                let _ = copy.abort("unexpected rows").await;
                return Err(unencoded());
            }
        }
        piece = match next(rx).await {
            Ok(piece) => piece,
            Err(e) => {
                let _ = copy.abort("the copy stopped").await;
                return Err(e);
            }
        };
    };
    copy.finish().await.map_err(crate::sql::error::db_err)?;
    Ok(sum)
}

fn unencoded() -> TransferError {
    StoreError::Internal("rows for a COPY came unencoded".into()).into()
}

/// Batched INSERTs (SQLite target); returns the reader's checksum of what went in.
async fn insert_table(
    rx: &mut mpsc::Receiver<Sent>,
    sink: &mut Sink,
    table: &'static Table,
    progress: &mut dyn Progress,
) -> Result<Checksum, TransferError> {
    loop {
        match next(rx).await? {
            Piece::Rows(rows) => {
                sink.insert(table, &rows).await?;
                progress.rows_done(rows.len() as u64);
            }
            Piece::End(sum) => return Ok(sum),
            Piece::Data(..) => {
                return Err(StoreError::Internal("COPY data for a SQLite target".into()).into());
            }
        }
    }
}
