//! Online backups of a SQLite database with `VACUUM INTO`: one consistent snapshot written as a
//! new, compact database file while other connections keep reading and writing.

use std::path::Path;

use keygate_core::error::{StoreError, StoreResult};
use sqlx::AssertSqlSafe;

use crate::sql::error::db_err;
use crate::sql::{Dialect, SqlStore};

/// Writes a copy of the SQLite database to `path` (which must not exist).
pub async fn sqlite_vacuum_into(store: &SqlStore, path: &Path) -> StoreResult<()> {
    if store.dialect() != Dialect::Sqlite {
        return Err(StoreError::Internal("VACUUM INTO is for SQLite only".into()));
    }
    let path = path
        .to_str()
        .ok_or_else(|| StoreError::Internal("the backup path is not UTF-8".into()))?;
    // A string literal: SQLite takes no parameter here. Quotes are doubled.
    let sql = format!("VACUUM INTO '{}'", path.replace('\'', "''"));
    sqlx::query(AssertSqlSafe(sql))
        .execute(store.pool())
        .await
        .map_err(db_err)?;
    Ok(())
}
