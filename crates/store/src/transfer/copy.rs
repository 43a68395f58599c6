//! `copy`: every table from a snapshot of one SQL database into another in one transaction,
//! verified by count and checksum before it commits.

use std::time::Instant;

use super::sink::Sink;
use super::snapshot::Snapshot;
use super::value::Checksum;
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
    let result = fill(&mut snapshot, &mut sink, &counts, opts, transform, progress).await;
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

async fn fill(
    snapshot: &mut Snapshot,
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
    let batch = opts.batch_size.max(1);
    let mut reports = Vec::with_capacity(TABLES.len());
    for (table, expected) in TABLES.iter().zip(counts) {
        let started = Instant::now();
        progress.table_started(table.name, *expected);
        let mut written = Checksum::default();
        let mut last_key = None;
        loop {
            let mut page = snapshot.page(table, last_key.as_ref(), batch).await?;
            let Some(last) = page.last() else { break };
            last_key = Some(last.clone());
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
        let stored = sink.checksum(table, batch).await?;
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
    Ok(reports)
}
