//! The target side: one write transaction holding the whole copy or import, so a run killed at
//! any point (even with SIGKILL) leaves the target exactly as it was: the database rolls an
//! uncommitted transaction back. The copy is verified inside that transaction, before commit.

use keygate_core::error::StoreResult;

use super::catalog::{TABLES, Table};
use super::io;
use super::value::{Checksum, Row};
use crate::sql::SqlStore;
use crate::sql::error::db_err;
use crate::sql::tx::Tx;

pub struct Sink {
    tx: Tx,
}

impl Sink {
    /// Starts the write transaction (on SQLite it takes the database's write lock for the run).
    pub async fn begin(store: &SqlStore) -> StoreResult<Sink> {
        Ok(Sink {
            tx: store.begin().await?,
        })
    }

    /// The tables that already hold rows, with their counts.
    pub async fn occupied_tables(&mut self) -> StoreResult<Vec<(&'static str, u64)>> {
        let mut out = Vec::new();
        for table in TABLES {
            let n = io::count(&mut self.tx, table, None).await?;
            if n > 0 {
                out.push((table.name, n));
            }
        }
        Ok(out)
    }

    /// Deletes every row of every table, children first (inside the transaction: a run that
    /// fails or is killed restores them).
    pub async fn empty_all(&mut self) -> StoreResult<()> {
        for table in TABLES.iter().rev() {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", table.name)))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub async fn insert(&mut self, table: &Table, rows: &[Row]) -> StoreResult<()> {
        io::insert(&mut self.tx, table, rows).await
    }

    /// Reads `table` back (what this transaction sees) and checksums it.
    pub async fn checksum(&mut self, table: &Table, batch: u32) -> StoreResult<Checksum> {
        let mut sum = Checksum::default();
        let mut last: Option<Row> = None;
        loop {
            let page = io::read_page(&mut self.tx, table, None, last.as_ref(), batch).await?;
            page.iter().for_each(|r| sum.add(r));
            match page.into_iter().last() {
                Some(row) => last = Some(row),
                None => return Ok(sum),
            }
        }
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }

    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await.map_err(db_err)
    }
}
