//! Test helpers (feature `testing`): fresh SQLite files, isolated PostgreSQL schemas and Redis key
//! prefixes that are removed afterwards even when the test fails, and the rule for when the
//! PostgreSQL and Redis tests run.
//!
//! ```ignore
//! let Some(base) = keygate_store::testing::postgres_test_url() else { return };
//! let (url, _guard) = keygate_store::testing::fresh_postgres_url(&base).await;
//! let backend = Backend::connect(&url, &SqlOptions::default()).await.unwrap();
//! ```

use std::path::PathBuf;
use std::time::Duration;

use sqlx::{Connection, Executor};

use crate::{Backend, SqlOptions};

/// The environment variable naming the PostgreSQL server tests use.
pub const POSTGRES_URL_VAR: &str = "KEYGATE_TEST_POSTGRES_URL";

/// The PostgreSQL URL for tests, or None when they should be skipped (a note is printed).
///
/// Panics when `CI=true` and the variable is unset: in CI a missing database must fail the
/// suite, never silently skip it.
pub fn postgres_test_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{POSTGRES_URL_VAR} is not set but CI=true: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("note: {POSTGRES_URL_VAR} is not set; skipping a PostgreSQL test");
            None
        }
    }
}

/// The environment variable naming the Redis server tests use.
pub const REDIS_URL_VAR: &str = "KEYGATE_TEST_REDIS_URL";

/// The Redis URL for tests, or None when they should be skipped (a note is printed).
///
/// Panics when `CI=true` and the variable is unset, like [`postgres_test_url`].
pub fn redis_test_url() -> Option<String> {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{REDIS_URL_VAR} is not set but CI=true: the Redis tests must run in CI")
        }
        _ => {
            eprintln!("note: {REDIS_URL_VAR} is not set; skipping a Redis test");
            None
        }
    }
}

/// Deletes every Redis key under its prefix when dropped.
#[must_use = "the keys are deleted when the guard is"]
pub struct RedisPrefixGuard {
    url: String,
    prefix: String,
}

impl RedisPrefixGuard {
    /// The prefix (`keygate-test-<uuid>:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for RedisPrefixGuard {
    fn drop(&mut self) {
        // As for schemas: clean up on a thread and runtime of its own, also while unwinding.
        let url = self.url.clone();
        let prefix = self.prefix.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(delete_prefixed_keys(&url, &prefix))
        });
        match cleanup.join() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("warning: could not delete Redis keys {}*: {e}", self.prefix),
            Err(_) => eprintln!("warning: deleting Redis keys {}* panicked", self.prefix),
        }
    }
}

/// Deletes every key starting with `prefix`; returns how many.
pub async fn delete_prefixed_keys(url: &str, prefix: &str) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let client = ::redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let n: u64 = ::redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// A fresh key prefix on the Redis server of `url`, with a guard that deletes its keys.
pub fn fresh_redis_prefix(url: &str) -> RedisPrefixGuard {
    RedisPrefixGuard {
        url: url.to_owned(),
        prefix: format!("keygate-test-{}:", uuid::Uuid::new_v4().simple()),
    }
}

/// Redis options for tests: the given prefix, and the default (short) timeouts.
pub fn test_redis_options(prefix: &str) -> crate::RedisOptions {
    crate::RedisOptions {
        prefix: prefix.to_owned(),
        ..crate::RedisOptions::default()
    }
}

/// Drops its PostgreSQL schema when dropped (after ending any connection still using it).
#[must_use = "the schema is dropped when the guard is"]
pub struct SchemaGuard {
    base: String,
    schema: String,
}

impl SchemaGuard {
    /// The schema's name (`kg_test_<uuid>`).
    pub fn schema(&self) -> &str {
        &self.schema
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime (perhaps while unwinding from a failed assertion):
        // do the async clean-up on a thread of its own, and wait for it.
        let base = self.base.clone();
        let schema = self.schema.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_schema(&base, &schema))
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test schema {}: {e}", self.schema),
            Err(_) => eprintln!("warning: dropping test schema {} panicked", self.schema),
        }
    }
}

async fn drop_schema(base: &str, schema: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = sqlx::postgres::PgConnection::connect(base).await?;
    conn.execute("SET lock_timeout = '10s'").await?;
    // The test's pool may still hold connections (or an open transaction, after a panic); they
    // carry the schema name as application_name, so end them before dropping.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()")
        .bind(schema)
        .execute(&mut conn)
        .await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .await?;
    conn.close().await?;
    Ok(())
}

/// Creates an empty schema `kg_test_<uuid>` on the server of `base` and returns a URL whose
/// connections use it (`options=-c search_path=…`, and `application_name` set to its name), with
/// a guard that drops it. Panics if the server cannot be reached (it is a test helper).
pub async fn fresh_postgres_url(base: &str) -> (String, SchemaGuard) {
    let schema = format!("kg_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::postgres::PgConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .await
        .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
    let _ = conn.close().await;
    let guard = SchemaGuard {
        base: base.to_owned(),
        schema: schema.clone(),
    };
    let mut url = url::Url::parse(base).unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL: {e}"));
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={schema}"))
        .append_pair("application_name", &schema);
    (url.to_string(), guard)
}

/// Removes its temporary directory (with the SQLite file and its WAL) when dropped.
#[must_use = "the directory is removed when the guard is"]
pub struct TempDirGuard {
    dir: PathBuf,
}

impl TempDirGuard {
    pub fn path(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `sqlite://` URL for a database file (not yet created) in a fresh temporary directory.
pub fn fresh_sqlite_url() -> (String, TempDirGuard) {
    let dir = std::env::temp_dir().join(format!("keygate-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let url = format!("sqlite://{}", dir.join("keygate.db").display());
    (url, TempDirGuard { dir })
}

/// Whatever a test database needs removed afterwards.
pub enum TestDbGuard {
    None,
    Sqlite(TempDirGuard),
    Postgres(SchemaGuard),
}

/// Pool settings for tests: small pools, short waits, so a broken test fails quickly.
pub fn test_sql_options() -> SqlOptions {
    SqlOptions {
        max_connections: 5,
        acquire_timeout: Duration::from_secs(10),
        busy_timeout: Duration::from_secs(10),
        ..SqlOptions::default()
    }
}

/// A migrated backend on a fresh SQLite file.
pub async fn sqlite_backend() -> (Backend, TestDbGuard) {
    let (url, guard) = fresh_sqlite_url();
    let backend = Backend::connect(&url, &test_sql_options()).await.expect("open SQLite");
    backend.migrate_up().await.expect("migrate SQLite");
    (backend, TestDbGuard::Sqlite(guard))
}

/// A migrated backend in a fresh schema on the PostgreSQL server of `base`.
pub async fn postgres_backend(base: &str) -> (Backend, TestDbGuard) {
    let (url, guard) = fresh_postgres_url(base).await;
    let backend = Backend::connect(&url, &test_sql_options())
        .await
        .expect("open PostgreSQL");
    backend.migrate_up().await.expect("migrate PostgreSQL");
    (backend, TestDbGuard::Postgres(guard))
}

/// A fresh memory backend (its guard removes nothing).
pub fn memory_backend() -> (Backend, TestDbGuard) {
    (
        Backend::Memory(std::sync::Arc::new(crate::MemoryStore::new())),
        TestDbGuard::None,
    )
}

/// A public client registered for nothing but `openid`, for store tests that need one row.
pub fn public_client(id: &str, now: keygate_core::Timestamp) -> keygate_core::model::Client {
    use keygate_core::model::{AuthMethod, Client, TokenFormat};
    Client {
        id: keygate_core::ids::ClientId::from(id),
        secret_digest: None,
        name: id.to_owned(),
        auth_method: AuthMethod::None,
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![],
        scope: keygate_core::scope::Scopes::parse("openid").unwrap_or_default(),
        access_token_format: TokenFormat::Jwt,
        access_token_alg: None,
        id_token_alg: None,
        first_party: false,
        created_at: now,
        updated_at: now,
    }
}

/// Waits (up to 10 s, then panics) until `near` hears its own heartbeats, so that lookups use it.
pub async fn wait_until_trusted(near: &crate::NearCache) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !near.trusted() {
        assert!(
            std::time::Instant::now() < deadline,
            "the in-memory cache never heard its own heartbeat"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
