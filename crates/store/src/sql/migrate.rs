//! Keygate's own migrator: SQL files embedded per dialect, a version table, each migration and its
//! version row in one transaction, and a lock so that instances starting together apply each
//! migration exactly once (the others wait, re-check and skip it).

use std::collections::BTreeMap;

use keygate_core::error::{StoreError, StoreResult};
use keygate_core::{Clock, SystemClock, Timestamp};
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::dialect::Dialect;
use super::error::{db_err, is_outage};

/// The table recording which migrations are applied.
pub const MIGRATIONS_TABLE: &str = "keygate_schema_migrations";

/// One schema change, as embedded in the binary.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

/// A migration known to this build and when it was applied (None: pending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    pub applied_at: Option<Timestamp>,
}

/// A migration's SQL failed; says which one, keeps the database's error.
#[derive(Debug, thiserror::Error)]
#[error("migration {version} ({name}) failed to {direction}")]
pub struct MigrationFailed {
    pub version: i64,
    pub name: &'static str,
    pub direction: &'static str,
    #[source]
    pub source: sqlx::Error,
}

/// Applies every pending migration in order; returns those this call applied.
pub async fn up(pool: &AnyPool, dialect: Dialect) -> StoreResult<Vec<MigrationStatus>> {
    ensure_table(pool, dialect).await?;
    let already = applied(pool).await?;
    let mut done = Vec::new();
    for m in dialect.migrations() {
        if already.contains_key(&m.version) {
            continue;
        }
        let mut tx = begin_locked(pool, dialect).await?;
        // Another instance may have applied it while we waited for the lock.
        if is_applied(&mut tx, m.version).await? {
            tx.rollback().await.map_err(db_err)?;
            continue;
        }
        sqlx::raw_sql(m.up)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(m, "apply", e))?;
        let now = SystemClock.now();
        sqlx::query("INSERT INTO keygate_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        done.push(MigrationStatus {
            version: m.version,
            name: m.name.to_owned(),
            applied_at: Some(now),
        });
    }
    Ok(done)
}

/// Reverts the newest `steps` applied migrations, newest first; returns them (now pending).
pub async fn down(pool: &AnyPool, dialect: Dialect, steps: u32) -> StoreResult<Vec<MigrationStatus>> {
    if steps == 0 || !dialect.migrations_table_exists(pool).await? {
        return Ok(Vec::new());
    }
    let newest_first: Vec<i64> = applied(pool).await?.into_keys().rev().take(steps as usize).collect();
    let mut done = Vec::new();
    for version in newest_first {
        let m = known(dialect, version).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the database has migration {version}, which this build does not know; \
                 revert it with the build that applied it"
            ))
        })?;
        let mut tx = begin_locked(pool, dialect).await?;
        if !is_applied(&mut tx, version).await? {
            tx.rollback().await.map_err(db_err)?;
            continue;
        }
        sqlx::raw_sql(m.down)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(m, "revert", e))?;
        sqlx::query("DELETE FROM keygate_schema_migrations WHERE version = $1")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        tracing::info!(version = m.version, name = m.name, "reverted migration");
        done.push(MigrationStatus {
            version,
            name: m.name.to_owned(),
            applied_at: None,
        });
    }
    Ok(done)
}

/// Every migration this build knows, oldest first, with when it was applied.
pub async fn status(pool: &AnyPool, dialect: Dialect) -> StoreResult<Vec<MigrationStatus>> {
    let applied = if dialect.migrations_table_exists(pool).await? {
        applied(pool).await?
    } else {
        BTreeMap::new()
    };
    Ok(dialect
        .migrations()
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name.to_owned(),
            applied_at: applied.get(&m.version).copied(),
        })
        .collect())
}

/// For `serve --no-migrate`: an error naming the versions when a known migration is pending.
pub async fn check(pool: &AnyPool, dialect: Dialect) -> StoreResult<()> {
    let status = status(pool, dialect).await?;
    if status.iter().all(|m| m.applied_at.is_some()) {
        return Ok(());
    }
    let current = status
        .iter()
        .take_while(|m| m.applied_at.is_some())
        .last()
        .map_or(0, |m| m.version);
    let needed = status.last().map_or(0, |m| m.version);
    Err(StoreError::Corrupt(format!(
        "schema is at version {current}, this build needs {needed}; run `keygate migrate up`"
    )))
}

fn known(dialect: Dialect, version: i64) -> Option<&'static Migration> {
    dialect.migrations().iter().find(|m| m.version == version)
}

fn failed(m: &Migration, direction: &'static str, source: sqlx::Error) -> StoreError {
    // An outage mid-migration stays an outage; anything else is the migration's own fault.
    if is_outage(&source) {
        return db_err(source);
    }
    StoreError::Internal(Box::new(MigrationFailed {
        version: m.version,
        name: m.name,
        direction,
        source,
    }))
}

async fn begin_locked(pool: &AnyPool, dialect: Dialect) -> StoreResult<Transaction<'static, Any>> {
    let mut tx = match dialect.begin_write() {
        Some(begin) => pool.begin_with(begin).await,
        None => pool.begin().await,
    }
    .map_err(db_err)?;
    dialect.lock_migrations(&mut tx).await?;
    Ok(tx)
}

/// Creates the version table under the migration lock (concurrent `CREATE TABLE IF NOT EXISTS`
/// can fail on PostgreSQL).
async fn ensure_table(pool: &AnyPool, dialect: Dialect) -> StoreResult<()> {
    if dialect.migrations_table_exists(pool).await? {
        return Ok(());
    }
    let mut tx = begin_locked(pool, dialect).await?;
    sqlx::query(dialect.create_migrations_table())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

async fn applied(pool: &AnyPool) -> StoreResult<BTreeMap<i64, Timestamp>> {
    let rows = sqlx::query("SELECT version, applied_at FROM keygate_schema_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let version: i64 = r.try_get("version").map_err(db_err)?;
            let at: i64 = r.try_get("applied_at").map_err(db_err)?;
            Ok((version, Timestamp::from_millis(at)))
        })
        .collect()
}

async fn is_applied(conn: &mut AnyConnection, version: i64) -> StoreResult<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM keygate_schema_migrations WHERE version = $1")
        .bind(version)
        .fetch_one(conn)
        .await
        .map_err(db_err)?;
    let n: i64 = row.try_get("n").map_err(db_err)?;
    Ok(n > 0)
}
