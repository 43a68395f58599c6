//! Reading keyset pages and writing multi-row INSERTs over one connection, for any table of the
//! catalog: the only SQL a copy, an export or an import runs on table data.

use keygate_core::error::StoreResult;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row as _};

use super::catalog::{ColType, Table};
use super::value::{Row, Value};
use crate::sql::error::db_err;
use crate::sql::tx::{placeholders, values_rows};

/// Bound parameters per INSERT statement: under SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;

/// The select list: integers read as BIGINT whatever their declared width (PostgreSQL's
/// SMALLINT flags).
fn select_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| match c.ty {
            ColType::Int => format!("CAST({0} AS BIGINT) AS {0}", c.name),
            _ => c.name.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SELECT COUNT(*) AS n FROM t [WHERE expires_at > $1]`.
pub(crate) fn count_sql(table: &Table, live: bool) -> String {
    let filter = if live { " WHERE expires_at > $1" } else { "" };
    format!("SELECT COUNT(*) AS n FROM {}{filter}", table.name)
}

/// `SELECT cols FROM t [WHERE expires_at > $1] [AND key > last] ORDER BY key LIMIT n`.
pub(crate) fn select_sql(table: &Table, live: bool, after: bool, limit: u32) -> String {
    let cols = select_list(table);
    let keys: Vec<&str> = table.key.iter().map(|k| table.columns[*k].name).collect();
    let mut conds = Vec::new();
    let mut p = 1;
    if live {
        conds.push("expires_at > $1".to_owned());
        p = 2;
    }
    if after {
        let params = placeholders(p - 1, keys.len());
        conds.push(if keys.len() == 1 {
            format!("{} > {params}", keys[0])
        } else {
            format!("({}) > ({params})", keys.join(", "))
        });
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    format!(
        "SELECT {cols} FROM {}{filter} ORDER BY {} LIMIT {limit}",
        table.name,
        keys.join(", ")
    )
}

pub(crate) fn bind<'q>(q: Query<'q, Any, AnyArguments>, ty: ColType, v: &'q Value) -> Query<'q, Any, AnyArguments> {
    match (v, ty) {
        (Value::Null, ColType::Int) => q.bind(None::<i64>),
        (Value::Null, ColType::Text) => q.bind(None::<String>),
        (Value::Null, ColType::Bytes) => q.bind(None::<Vec<u8>>),
        (Value::Int(n), _) => q.bind(*n),
        (Value::Text(s), _) => q.bind(s.as_str()),
        (Value::Bytes(b), _) => q.bind(b.as_slice()),
    }
}

fn decode(table: &Table, row: &AnyRow) -> StoreResult<Row> {
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

/// The next page of `table` after the row `after` (by primary key), at most `limit` rows; with
/// `live_after`, only rows expiring after that instant (unix ms).
pub(crate) async fn read_page(
    conn: &mut AnyConnection,
    table: &Table,
    live_after: Option<i64>,
    after: Option<&Row>,
    limit: u32,
) -> StoreResult<Vec<Row>> {
    let sql = select_sql(table, live_after.is_some(), after.is_some(), limit.max(1));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(now) = live_after {
        q = q.bind(now);
    }
    if let Some(last) = after {
        for k in table.key {
            q = bind(q, table.columns[*k].ty, &last[*k]);
        }
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(db_err)?;
    rows.iter().map(|r| decode(table, r)).collect()
}

/// How many rows of `table` there are (live ones only with `live_after`).
pub(crate) async fn count(conn: &mut AnyConnection, table: &Table, live_after: Option<i64>) -> StoreResult<u64> {
    let sql = count_sql(table, live_after.is_some());
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(now) = live_after {
        q = q.bind(now);
    }
    let row = q.fetch_one(&mut *conn).await.map_err(db_err)?;
    let n: i64 = row.try_get("n").map_err(db_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Inserts `rows` into `table` with as few multi-row INSERTs as the parameter limit allows.
pub(crate) async fn insert(conn: &mut AnyConnection, table: &Table, rows: &[Row]) -> StoreResult<()> {
    let ncols = table.columns.len();
    let per_statement = (MAX_PARAMS / ncols).max(1);
    let cols = table.column_names().join(", ");
    for chunk in rows.chunks(per_statement) {
        let sql = format!(
            "INSERT INTO {} ({cols}) VALUES {}",
            table.name,
            values_rows(chunk.len(), ncols)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for (col, v) in table.columns.iter().zip(row) {
                q = bind(q, col.ty, v);
            }
        }
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::catalog::table;
    use super::*;

    #[test]
    fn pages_follow_the_primary_key() {
        let users = table("users").unwrap();
        let sql = select_sql(users, false, true, 10);
        assert!(sql.ends_with("FROM users WHERE id > $1 ORDER BY id LIMIT 10"), "{sql}");
        assert!(sql.contains("CAST(created_at AS BIGINT) AS created_at"), "{sql}");
        let codes = table("recovery_codes").unwrap();
        assert!(
            select_sql(codes, false, true, 5).contains("WHERE (user_id, digest) > ($1, $2) ORDER BY user_id, digest")
        );
        let eph = table("ephemeral").unwrap();
        assert!(select_sql(eph, true, true, 5).contains("WHERE expires_at > $1 AND key > $2"));
    }
}
