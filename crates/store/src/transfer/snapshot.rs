//! The source side: one read transaction that sees a single consistent state of the database
//! while servers keep writing (SQLite: a WAL read transaction; PostgreSQL: REPEATABLE READ, READ
//! ONLY), read in pages after a cursor so memory stays flat whatever the table's size.
//!
//! SQLite is read on a native connection of its own, a page per result row (see
//! [`super::packed`]); PostgreSQL through the store's pool, in primary-key order.

use keygate_core::error::StoreResult;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Any, AssertSqlSafe, ConnectOptions, Connection, Row as _, Transaction};

use super::catalog::Table;
use super::value::Row;
use super::{io, packed};
use crate::sql::error::db_err;
use crate::sql::{Dialect, SqlStore};

enum Source {
    /// PostgreSQL, through the store's pool.
    Any(Transaction<'static, Any>),
    /// SQLite, a connection of its own inside `BEGIN`.
    Sqlite(SqliteConnection),
}

/// Where the next page of a table starts.
#[derive(Debug, Default)]
pub enum Cursor {
    #[default]
    Start,
    /// After this row's primary key (PostgreSQL).
    Key(Row),
    /// After this rowid (SQLite).
    Rowid(i64),
    /// The table is read.
    Done,
}

/// A page as read: PostgreSQL's rows come decoded, SQLite's packed (see [`super::packed`]).
pub enum Fetched {
    Rows(Vec<Row>),
    Packed(String),
}

impl Fetched {
    /// Whether the table had no more rows.
    pub fn is_empty(&self) -> bool {
        match self {
            Fetched::Rows(rows) => rows.is_empty(),
            Fetched::Packed(_) => false,
        }
    }

    pub fn decode(self, table: &Table) -> StoreResult<Vec<Row>> {
        match self {
            Fetched::Rows(rows) => Ok(rows),
            Fetched::Packed(json) => packed::decode_page(table, &json),
        }
    }
}

pub struct Snapshot {
    source: Source,
    /// Unix ms the copy started at: ephemeral rows expiring before it are left behind.
    now: i64,
}

impl Snapshot {
    /// Opens the read transaction. On SQLite the snapshot is fixed by the first read, which the
    /// caller makes at once (the counts).
    pub async fn open(store: &SqlStore, now_ms: i64) -> StoreResult<Snapshot> {
        let source = match store.dialect() {
            Dialect::Sqlite => {
                let options: SqliteConnectOptions = store.url().parse().map_err(db_err)?;
                // A read transaction waits only for a checkpoint or a recovery, never for writers.
                let mut conn = options
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .connect()
                    .await
                    .map_err(db_err)?;
                sqlx::raw_sql("BEGIN").execute(&mut conn).await.map_err(db_err)?;
                Source::Sqlite(conn)
            }
            Dialect::Postgres => Source::Any(
                store
                    .pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(db_err)?,
            ),
        };
        Ok(Snapshot { source, now: now_ms })
    }

    fn live_after(&self, table: &Table) -> Option<i64> {
        table.live_only.then_some(self.now)
    }

    /// Rows of `table` this snapshot will yield.
    pub async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let live = self.live_after(table);
        let n = match &mut self.source {
            Source::Any(tx) => return io::count(tx, table, live).await,
            Source::Sqlite(conn) => {
                let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(io::count_sql(table, live.is_some())));
                if let Some(now) = live {
                    q = q.bind(now);
                }
                q.fetch_one(&mut *conn).await.map_err(db_err)?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The next page of at most `limit` rows of `table` after `cursor`, which it moves on; empty
    /// at the end. Pages come in primary-key order on PostgreSQL, in storage order on SQLite.
    pub async fn page(&mut self, table: &Table, cursor: &mut Cursor, limit: u32) -> StoreResult<Vec<Row>> {
        let (page, next) = self.fetch(table, cursor, limit).await?;
        *cursor = next;
        page.decode(table)
    }

    /// The next page as fetched, and the cursor after it: decoding a SQLite page is left to the
    /// caller, so that it can decode one page while the next is being read.
    pub async fn fetch(&mut self, table: &Table, cursor: &Cursor, limit: u32) -> StoreResult<(Fetched, Cursor)> {
        let live = self.live_after(table);
        let limit = limit.max(1);
        let rows = match (&mut self.source, cursor) {
            (_, Cursor::Done) => return Ok((Fetched::Rows(Vec::new()), Cursor::Done)),
            (Source::Any(tx), Cursor::Key(last)) => io::read_page(tx, table, live, Some(last), limit).await?,
            (Source::Any(tx), _) => io::read_page(tx, table, live, None, limit).await?,
            (Source::Sqlite(conn), at) => {
                let after = match at {
                    Cursor::Rowid(rowid) => *rowid,
                    _ => i64::MIN,
                };
                let mut q = sqlx::query(AssertSqlSafe(packed::page_sql(table, live.is_some())))
                    .bind(after)
                    .bind(i64::from(limit));
                if let Some(now) = live {
                    q = q.bind(now);
                }
                let row = q.fetch_one(&mut *conn).await.map_err(db_err)?;
                let last: Option<i64> = row.try_get("last").map_err(db_err)?;
                let json: String = row.try_get("rows").map_err(db_err)?;
                return Ok(match last {
                    Some(last) => (Fetched::Packed(json), Cursor::Rowid(last)),
                    None => (Fetched::Rows(Vec::new()), Cursor::Done),
                });
            }
        };
        let next = match rows.last() {
            Some(last) => Cursor::Key(last.clone()),
            None => Cursor::Done,
        };
        Ok((Fetched::Rows(rows), next))
    }

    /// Ends the read transaction (it wrote nothing).
    pub async fn close(self) -> StoreResult<()> {
        match self.source {
            Source::Any(tx) => tx.rollback().await.map_err(db_err),
            Source::Sqlite(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.map_err(db_err)?;
                conn.close().await.map_err(db_err)
            }
        }
    }
}
