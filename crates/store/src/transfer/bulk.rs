//! Bulk loading into PostgreSQL the way `pg_restore` does it: inside the load's transaction, the
//! target's foreign keys, primary keys, unique constraints and other indexes are dropped, the rows
//! go in, then the keys and indexes are built (one sort each, instead of one random B-tree
//! insertion per row) and the foreign keys validated once each. All of it is transactional DDL: a
//! failed or killed load restores them as they were, and a duplicate key fails the rebuild, which
//! rolls the whole load back.

use keygate_core::error::StoreResult;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::sql::error::db_err;

/// What was dropped, to be put back after the load.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    /// (table, constraint, definition) of primary keys and unique constraints.
    keys: Vec<(String, String, String)>,
    /// `CREATE INDEX …` statements.
    indexes: Vec<String>,
    /// (table, constraint, definition).
    foreign_keys: Vec<(String, String, String)>,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Drops the constraints of kinds `kinds` (`pg_constraint.contype` letters) of the current
/// schema's tables (not the migrations table); returns (table, name, definition) of each.
async fn drop_constraints(conn: &mut PgConnection, kinds: &str) -> StoreResult<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT CAST(c.conrelid::regclass AS TEXT) AS t, CAST(c.conname AS TEXT) AS name, \
                CAST(pg_get_constraintdef(c.oid) AS TEXT) AS def \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE strpos($1, CAST(c.contype AS TEXT)) > 0 AND n.nspname = current_schema() \
           AND c.conrelid <> CAST('keygate_schema_migrations' AS regclass) ORDER BY 1, 2",
    )
    .bind(kinds)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut dropped = Vec::with_capacity(rows.len());
    for row in &rows {
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
        dropped.push((table, name, def));
    }
    Ok(dropped)
}

/// Drops the current schema's foreign keys, then its primary keys and unique constraints (the
/// foreign keys depend on them), then its other indexes.
pub(crate) async fn defer(conn: &mut PgConnection) -> StoreResult<Deferred> {
    let mut deferred = Deferred {
        foreign_keys: drop_constraints(conn, "f").await?,
        keys: drop_constraints(conn, "pu").await?,
        indexes: Vec::new(),
    };
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

/// Adds the primary keys and unique constraints again (a duplicate fails here), builds the
/// indexes, then adds (and so validates) the foreign keys.
pub(crate) async fn restore(conn: &mut PgConnection, deferred: &Deferred) -> StoreResult<()> {
    for (table, name, def) in &deferred.keys {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} {def}",
            quote(name)
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
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
