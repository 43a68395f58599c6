//! The PostgreSQL target of a bulk load, on a native connection: rows go in with `COPY … FROM
//! STDIN` (text format), several times faster than INSERT, inside one transaction whose secondary
//! indexes and foreign keys are rebuilt once at the end (see [`super::bulk`]).

use keygate_core::error::StoreResult;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row as _, Transaction};

use super::bulk::{self, Deferred};
use super::catalog::{ColType, TABLES, Table};
use super::io::select_sql;
use super::value::{Checksum, Row, Value};
use crate::sql::error::db_err;

/// Encoded rows are sent once this many bytes are buffered (or the table changes): each COPY
/// costs a few round trips, and its final small message can wait for a delayed TCP ACK, so few
/// large COPYs are much faster than one per page, at a fixed memory cost.
const COPY_BUFFER_BYTES: usize = 4 << 20;

pub(crate) struct PgSink {
    tx: Transaction<'static, Postgres>,
    deferred: Option<Deferred>,
    /// Rows of `buffered` not yet sent, in COPY text format.
    buf: Vec<u8>,
    buffered: Option<&'static Table>,
}

impl PgSink {
    pub async fn begin(url: &str) -> StoreResult<PgSink> {
        let options: PgConnectOptions = url.parse().map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        let tx = pool.begin().await.map_err(db_err)?;
        Ok(PgSink {
            tx,
            deferred: None,
            buf: Vec::new(),
            buffered: None,
        })
    }

    pub async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", table.name)))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub async fn empty_all(&mut self) -> StoreResult<()> {
        for table in TABLES.iter().rev() {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", table.name)))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub async fn start_load(&mut self) -> StoreResult<()> {
        self.deferred = Some(bulk::defer(&mut self.tx).await?);
        Ok(())
    }

    pub async fn finish_load(&mut self) -> StoreResult<()> {
        self.flush().await?;
        if let Some(deferred) = self.deferred.take() {
            bulk::restore(&mut self.tx, &deferred).await?;
        }
        Ok(())
    }

    /// Buffers the rows; sends them when the buffer is full or another table begins.
    pub async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> StoreResult<()> {
        if self.buffered.is_some_and(|t| t.name != table.name) {
            self.flush().await?;
        }
        self.buffered = Some(table);
        for row in rows {
            encode_row(&mut self.buf, row);
        }
        if self.buf.len() >= COPY_BUFFER_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends the buffered rows with one COPY.
    pub async fn flush(&mut self) -> StoreResult<()> {
        let Some(table) = self.buffered.take() else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        let statement = format!("COPY {} ({}) FROM STDIN", table.name, table.column_names().join(", "));
        let mut copy = self.tx.copy_in_raw(&statement).await.map_err(db_err)?;
        if let Err(e) = copy.send(self.buf.as_slice()).await {
            let _ = copy.abort("send failed").await;
            return Err(db_err(e));
        }
        copy.finish().await.map_err(db_err)?;
        self.buf.clear();
        if self.buf.capacity() > 2 * COPY_BUFFER_BYTES {
            self.buf.shrink_to(COPY_BUFFER_BYTES);
        }
        Ok(())
    }

    pub async fn checksum(&mut self, table: &Table, batch: u32) -> StoreResult<Checksum> {
        self.flush().await?;
        let mut sum = Checksum::default();
        let mut last: Option<Row> = None;
        loop {
            let sql = select_sql(table, false, last.is_some(), batch.max(1));
            let mut q = sqlx::query(AssertSqlSafe(sql));
            if let Some(last) = &last {
                for k in table.key {
                    q = bind(q, table.columns[*k].ty, &last[*k]);
                }
            }
            let rows = q.fetch_all(&mut *self.tx).await.map_err(db_err)?;
            let page: Vec<Row> = rows.iter().map(|r| decode(table, r)).collect::<StoreResult<_>>()?;
            page.iter().for_each(|r| sum.add(r));
            match page.into_iter().last() {
                Some(row) => last = Some(row),
                None => return Ok(sum),
            }
        }
    }

    pub async fn commit(mut self) -> StoreResult<()> {
        self.flush().await?;
        self.tx.commit().await.map_err(db_err)
    }

    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await.map_err(db_err)
    }
}

fn bind<'q>(q: Query<'q, Postgres, PgArguments>, ty: ColType, v: &'q Value) -> Query<'q, Postgres, PgArguments> {
    match (v, ty) {
        (Value::Null, ColType::Int) => q.bind(None::<i64>),
        (Value::Null, ColType::Text) => q.bind(None::<String>),
        (Value::Null, ColType::Bytes) => q.bind(None::<Vec<u8>>),
        (Value::Int(n), _) => q.bind(*n),
        (Value::Text(s), _) => q.bind(s.as_str()),
        (Value::Bytes(b), _) => q.bind(b.as_slice()),
    }
}

fn decode(table: &Table, row: &PgRow) -> StoreResult<Row> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            Ok(match col.ty {
                ColType::Int => row.try_get::<Option<i64>, _>(i).map_err(db_err)?.map(Value::Int),
                ColType::Text => row.try_get::<Option<String>, _>(i).map_err(db_err)?.map(Value::Text),
                ColType::Bytes => row.try_get::<Option<Vec<u8>>, _>(i).map_err(db_err)?.map(Value::Bytes),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes in text,
/// bytea as `\\x` + hex.
fn encode_row(out: &mut Vec<u8>, row: &[Value]) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match v {
            Value::Null => out.extend_from_slice(b"\\N"),
            Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Text(s) => {
                for &b in s.as_bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
            Value::Bytes(bytes) => {
                out.extend_from_slice(b"\\\\x");
                for b in bytes {
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 15) as usize]);
                }
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_would_misread() {
        let mut out = Vec::new();
        let row = vec![
            Value::Text("a\tb\\c\nd".into()),
            Value::Null,
            Value::Int(-7),
            Value::Bytes(vec![0, 0xab]),
        ];
        encode_row(&mut out, &row);
        assert_eq!(String::from_utf8(out).unwrap(), "a\\tb\\\\c\\nd\t\\N\t-7\t\\\\x00ab\n");
    }
}
