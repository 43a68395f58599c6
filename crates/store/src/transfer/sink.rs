//! The target side: one write transaction holding the whole copy or import, so a run killed at
//! any point (even with SIGKILL) leaves the target exactly as it was: the database rolls an
//! uncommitted transaction back. The copy is verified inside that transaction, before commit.
//! SQLite takes multi-row INSERTs; PostgreSQL a native bulk load ([`super::pg_sink`]).

use keygate_core::error::StoreResult;

use super::catalog::{TABLES, Table};
use super::io;
use super::pg_sink::PgSink;
use super::value::{Checksum, Row};
use crate::sql::error::db_err;
use crate::sql::tx::Tx;
use crate::sql::{Dialect, SqlStore};

pub enum Sink {
    Sqlite(Tx),
    Postgres(Box<PgSink>),
}

impl Sink {
    /// Starts the write transaction (on SQLite it takes the database's write lock for the run).
    pub async fn begin(store: &SqlStore) -> StoreResult<Sink> {
        Ok(match store.dialect() {
            Dialect::Sqlite => Sink::Sqlite(store.begin().await?),
            Dialect::Postgres => Sink::Postgres(Box::new(PgSink::begin(store.url()).await?)),
        })
    }

    /// The tables that already hold rows, with their counts.
    pub async fn occupied_tables(&mut self) -> StoreResult<Vec<(&'static str, u64)>> {
        let mut out = Vec::new();
        for table in TABLES {
            let n = match self {
                Sink::Sqlite(tx) => io::count(tx, table, None).await?,
                Sink::Postgres(pg) => pg.count(table).await?,
            };
            if n > 0 {
                out.push((table.name, n));
            }
        }
        Ok(out)
    }

    /// Deletes every row of every table, children first (inside the transaction: a run that
    /// fails or is killed restores them).
    pub async fn empty_all(&mut self) -> StoreResult<()> {
        match self {
            Sink::Sqlite(tx) => {
                for table in TABLES.iter().rev() {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", table.name)))
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }
            Sink::Postgres(pg) => pg.empty_all().await,
        }
    }

    /// Prepares the (empty) target for a bulk load: on PostgreSQL, drops secondary indexes and
    /// foreign keys until [`Sink::finish_load`]; nothing to do on SQLite.
    pub async fn start_load(&mut self) -> StoreResult<()> {
        match self {
            Sink::Sqlite(_) => Ok(()),
            Sink::Postgres(pg) => pg.start_load().await,
        }
    }

    /// Puts back what [`Sink::start_load`] dropped; a foreign key the rows break fails here.
    pub async fn finish_load(&mut self) -> StoreResult<()> {
        match self {
            Sink::Sqlite(_) => Ok(()),
            Sink::Postgres(pg) => pg.finish_load().await,
        }
    }

    pub async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> StoreResult<()> {
        match self {
            Sink::Sqlite(tx) => io::insert(tx, table, rows).await,
            Sink::Postgres(pg) => pg.insert(table, rows).await,
        }
    }

    /// Reads `table` back (what this transaction sees) and checksums it.
    pub async fn checksum(&mut self, table: &Table, batch: u32) -> StoreResult<Checksum> {
        let tx = match self {
            Sink::Sqlite(tx) => tx,
            Sink::Postgres(pg) => return pg.checksum(table).await,
        };
        let mut sum = Checksum::default();
        let mut last: Option<Row> = None;
        loop {
            let page = io::read_page(tx, table, None, last.as_ref(), batch).await?;
            page.iter().for_each(|r| sum.add(r));
            match page.into_iter().last() {
                Some(row) => last = Some(row),
                None => return Ok(sum),
            }
        }
    }

    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Sink::Sqlite(tx) => tx.commit().await.map_err(db_err),
            Sink::Postgres(pg) => pg.commit().await,
        }
    }

    pub async fn rollback(self) -> StoreResult<()> {
        match self {
            Sink::Sqlite(tx) => tx.rollback().await.map_err(db_err),
            Sink::Postgres(pg) => pg.rollback().await,
        }
    }
}
