//! `copy`: every table from a snapshot of one SQL database into another in one transaction,
//! verified by count and checksum before it commits. A reader task pages through the snapshot
//! while the writer inserts earlier pages, with at most [`PAGES_IN_FLIGHT`] pages queued (memory
//! stays flat whatever the size of the tables).

use std::time::Instant;

use keygate_core::error::StoreError;
use tokio::sync::mpsc;

use super::sink::Sink;
use super::snapshot::Snapshot;
use super::value::{Checksum, Row};
use super::{Progress, RowTransform, TABLES, TableReport, TransferError};
use crate::sql::SqlStore;

#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Rows per page read and per INSERT batch.
    pub batch_size: u32,
    /// Empty a target that holds data instead of refusing.
    pub force: bool,
    /// Unix ms: ephemeral rows expiring before it are not copied.
    pub now_ms: i64,
}

/// Pages the reader may run ahead of the writer: enough to keep reading while the writer waits
/// for a bulk load to be acknowledged.
const PAGES_IN_FLIGHT: usize = 16;

/// A page of table `TABLES[index]`; an empty page ends the table.
type Page = Result<(usize, Vec<Row>), StoreError>;

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
    let (tx, rx) = mpsc::channel::<Page>(PAGES_IN_FLIGHT);
    let batch = opts.batch_size.max(1);
    let reader = tokio::spawn(async move {
        read_all(&mut snapshot, batch, &tx).await;
        snapshot
    });
    let result = fill(rx, &mut sink, &counts, opts, transform, progress).await;
    // The reader stops at its next send once the receiver is gone.
    if let Ok(snapshot) = reader.await {
        let _ = snapshot.close().await;
    }
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

async fn read_all(snapshot: &mut Snapshot, batch: u32, tx: &mpsc::Sender<Page>) {
    for (index, table) in TABLES.iter().enumerate() {
        let mut last: Option<Row> = None;
        loop {
            let page = match snapshot.page(table, last.as_ref(), batch).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let done = page.is_empty();
            last = page.last().cloned();
            if tx.send(Ok((index, page))).await.is_err() || done && index + 1 == TABLES.len() {
                return;
            }
            if done {
                break;
            }
        }
    }
}

async fn fill(
    mut rx: mpsc::Receiver<Page>,
    sink: &mut Sink,
    counts: &[u64],
    opts: &CopyOptions,
    transform: Option<&dyn RowTransform>,
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
        let mut written = Checksum::default();
        loop {
            let (page_table, mut page) = rx
                .recv()
                .await
                .ok_or_else(|| StoreError::Internal("the snapshot reader stopped early".into()))??;
            debug_assert_eq!(page_table, index);
            if page.is_empty() {
                break;
            }
            if let Some(t) = transform {
                for row in &mut page {
                    t.apply(table, row).map_err(TransferError::Secrets)?;
                }
            }
            page.iter().for_each(|r| written.add(r));
            sink.insert(table, &page).await?;
            progress.rows_done(page.len() as u64);
        }
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
