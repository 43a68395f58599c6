//! Everything that differs between SQLite and PostgreSQL, in one place: URL schemes, how a write
//! transaction starts, the migrations, the migration lock and schema introspection. All other SQL
//! text is shared (both accept `$N` placeholders, `RETURNING` and `ON CONFLICT`).

use keygate_core::error::StoreResult;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Row};

use super::error::db_err;
use super::migrate::{MIGRATIONS_TABLE, Migration};

/// Which SQL database a [`super::SqlStore`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Key of the PostgreSQL advisory lock that serialises migrations across instances ("keygate1").
const MIGRATION_LOCK_KEY: i64 = 0x6B65_7967_6174_6531;

macro_rules! migration {
    ($dir:literal, $version:literal, $stem:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!("../../migrations/", $dir, "/", $stem, ".up.sql")),
            down: include_str!(concat!("../../migrations/", $dir, "/", $stem, ".down.sql")),
        }
    };
}

/// SQLite's migrations, oldest first. Same file names as [`POSTGRES_MIGRATIONS`].
static SQLITE_MIGRATIONS: &[Migration] = &[
    migration!("sqlite", 1, "0001_init", "init"),
    migration!("sqlite", 2, "0002_user_roles", "user_roles"),
    migration!("sqlite", 3, "0003_change_notifications", "change_notifications"),
];

/// PostgreSQL's migrations, oldest first.
static POSTGRES_MIGRATIONS: &[Migration] = &[
    migration!("postgres", 1, "0001_init", "init"),
    migration!("postgres", 2, "0002_user_roles", "user_roles"),
    migration!("postgres", 3, "0003_change_notifications", "change_notifications"),
];

impl Dialect {
    /// The dialect a database URL names, if it is one of ours.
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// "sqlite" or "postgres".
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// The migrations of this dialect, oldest first.
    pub fn migrations(self) -> &'static [Migration] {
        match self {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        }
    }

    /// The statement opening a transaction that will write. SQLite takes the write lock up front
    /// (`IMMEDIATE`): a deferred transaction that reads and then writes can fail with SQLITE_BUSY at
    /// once instead of waiting out the busy timeout. PostgreSQL locks rows as it goes.
    pub(crate) fn begin_write(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("BEGIN IMMEDIATE"),
            Dialect::Postgres => None,
        }
    }

    pub(crate) fn create_migrations_table(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "CREATE TABLE IF NOT EXISTS keygate_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            }
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS keygate_schema_migrations (version BIGINT PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            }
        }
    }

    /// Inside a write transaction: waits until no other instance is migrating. SQLite's
    /// `BEGIN IMMEDIATE` already holds the database's write lock; PostgreSQL takes an advisory lock
    /// released at commit or rollback.
    pub(crate) async fn lock_migrations(self, conn: &mut AnyConnection) -> StoreResult<()> {
        match self {
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => {
                // Migrations (and waiting for another instance's) may outlast the per-statement
                // limit every pooled connection has; lift it for this transaction only.
                sqlx::raw_sql("SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0")
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(MIGRATION_LOCK_KEY)
                    .execute(conn)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }
        }
    }

    /// Whether the migrations table exists (without creating it: status must not write).
    pub(crate) async fn migrations_table_exists(self, pool: &AnyPool) -> StoreResult<bool> {
        let sql = match self {
            Dialect::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1",
            Dialect::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(MIGRATIONS_TABLE)
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
        let n: i64 = row.try_get("n").map_err(db_err)?;
        Ok(n > 0)
    }
}

/// One line per table, column, index and constraint of the current schema, sorted.
pub(crate) async fn schema_listing(pool: &AnyPool, dialect: Dialect) -> StoreResult<Vec<String>> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
        Dialect::Postgres => {
            "SELECT line FROM ( \
               SELECT ('column ' || table_name || '.' || column_name || ' ' || data_type || \
                       CASE WHEN is_nullable = 'YES' THEN ' null' ELSE ' not null' END || \
                       COALESCE(' default ' || column_default, '') || \
                       COALESCE(' collate ' || collation_name, ''))::text AS line \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
               UNION ALL \
               SELECT ('index ' || indexname || ': ' || indexdef)::text \
                 FROM pg_indexes WHERE schemaname = current_schema() \
               UNION ALL \
               SELECT ('constraint ' || c.conrelid::regclass::text || '.' || c.conname || ': ' || \
                       pg_get_constraintdef(c.oid))::text \
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                 WHERE n.nspname = current_schema() \
             ) AS listing ORDER BY 1"
        }
    };
    let rows = sqlx::query(sql).fetch_all(pool).await.map_err(db_err)?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("line").map_err(db_err))
        .collect()
}
