//! Bulk loading into PostgreSQL the way `pg_restore` does it: inside the load's transaction, the
//! target's secondary indexes and foreign keys are dropped, the rows go in, then the indexes are
//! built and the foreign keys validated once each, which is several times faster than maintaining
//! them row by row. All of it is transactional DDL: a failed or killed load restores them as they
//! were. Primary keys and unique constraints stay, so a duplicate is still refused at once.

use keygate_core::error::StoreResult;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::sql::error::db_err;

/// What was dropped, to be put back after the load.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    /// `CREATE INDEX …` statements.
    indexes: Vec<String>,
    /// (table, constraint, definition).
    foreign_keys: Vec<(String, String, String)>,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Drops the current schema's foreign keys and its indexes that back no constraint.
pub(crate) async fn defer(conn: &mut PgConnection) -> StoreResult<Deferred> {
    let fks = sqlx::query(
        "SELECT CAST(c.conrelid::regclass AS TEXT) AS t, CAST(c.conname AS TEXT) AS name, \
                CAST(pg_get_constraintdef(c.oid) AS TEXT) AS def \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut deferred = Deferred::default();
    for row in &fks {
        let (table, name, def): (String, String, String) = (
            row.try_get("t").map_err(db_err)?,
            row.try_get("name").map_err(db_err)?,
            row.try_get("def").map_err(db_err)?,
        );
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {table} DROP CONSTRAINT {}",
            quote(&name)
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        deferred.foreign_keys.push((table, name, def));
    }
    let indexes = sqlx::query(
        "SELECT CAST(i.indexname AS TEXT) AS name, CAST(i.indexdef AS TEXT) AS def FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename <> 'keygate_schema_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                           WHERE n.nspname = current_schema() AND c.conname = i.indexname) \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for row in &indexes {
        let (name, def): (String, String) = (
            row.try_get("name").map_err(db_err)?,
            row.try_get("def").map_err(db_err)?,
        );
        sqlx::query(AssertSqlSafe(format!("DROP INDEX {}", quote(&name))))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        deferred.indexes.push(def);
    }
    Ok(deferred)
}

/// Builds the indexes again and adds (and so validates) the foreign keys.
pub(crate) async fn restore(conn: &mut PgConnection, deferred: &Deferred) -> StoreResult<()> {
    for def in &deferred.indexes {
        sqlx::query(AssertSqlSafe(def.clone()))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (table, name, def) in &deferred.foreign_keys {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} {def}",
            quote(name)
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}
