//! The source side: one read transaction that sees a single consistent state of the database
//! while servers keep writing (SQLite: a WAL read transaction; PostgreSQL: REPEATABLE READ, READ
//! ONLY), read in keyset pages so memory stays flat whatever the table's size.

use keygate_core::error::StoreResult;
use sqlx::{Any, Transaction};

use super::catalog::Table;
use super::io;
use super::value::Row;
use crate::sql::error::db_err;
use crate::sql::{Dialect, SqlStore};

pub struct Snapshot {
    tx: Transaction<'static, Any>,
    /// Unix ms the copy started at: ephemeral rows expiring before it are left behind.
    now: i64,
}

impl Snapshot {
    /// Opens the read transaction. On SQLite the snapshot is fixed by the first read, which the
    /// caller makes at once (the counts).
    pub async fn open(store: &SqlStore, now_ms: i64) -> StoreResult<Snapshot> {
        let begin = match store.dialect() {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let tx = store.pool().begin_with(begin).await.map_err(db_err)?;
        Ok(Snapshot { tx, now: now_ms })
    }

    fn live_after(&self, table: &Table) -> Option<i64> {
        table.live_only.then_some(self.now)
    }

    /// Rows of `table` this snapshot will yield.
    pub async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let live = self.live_after(table);
        io::count(&mut self.tx, table, live).await
    }

    /// The page after `after` (None: the first page); empty at the end.
    pub async fn page(&mut self, table: &Table, after: Option<&Row>, limit: u32) -> StoreResult<Vec<Row>> {
        let live = self.live_after(table);
        io::read_page(&mut self.tx, table, live, after, limit).await
    }

    /// Ends the read transaction (it wrote nothing).
    pub async fn close(self) -> StoreResult<()> {
        self.tx.rollback().await.map_err(db_err)
    }
}
