//! Migration tests on SQLite and PostgreSQL: up/down/up gives the same schema, both dialects ship
//! the same migrations, concurrent start-ups apply each migration once, status and the
//! `--no-migrate` check report what a user needs to know.

use std::collections::BTreeSet;
use std::path::Path;

use keygate_core::error::StoreError;
use keygate_store::testing::{fresh_postgres_url, fresh_sqlite_url, postgres_test_url, test_sql_options};
use keygate_store::{Backend, Dialect, SqlStore};
use sqlx::Row;

fn sql(backend: &Backend) -> &SqlStore {
    match backend {
        Backend::Sql(s) => s,
        Backend::Memory(_) => panic!("expected a SQL backend"),
    }
}

async fn table_names(store: &SqlStore) -> BTreeSet<String> {
    store
        .schema_listing()
        .await
        .unwrap()
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("table ").or_else(|| line.strip_prefix("column "))?;
            Some(rest.split([':', '.', ' ']).next()?.to_owned())
        })
        .collect()
}

/// up, down (all), up again: the same schema each time it is up, and nothing but the version
/// table when it is down.
async fn up_down_up_gives_the_same_schema(backend: &Backend) {
    let store = sql(backend);
    let latest = store.dialect().migrations().len();

    let applied = backend.migrate_up().await.unwrap();
    assert_eq!(applied.len(), latest, "a fresh database gets every migration");
    let first = store.schema_listing().await.unwrap();
    let tables = table_names(store).await;
    for expected in [
        "users",
        "totp_credentials",
        "recovery_codes",
        "sessions",
        "email_tokens",
        "clients",
        "consents",
        "authorization_codes",
        "token_families",
        "refresh_tokens",
        "access_tokens",
        "personal_access_tokens",
        "signing_keys",
        "audit_events",
        "ephemeral",
        "keygate_schema_migrations",
    ] {
        assert!(
            tables.contains(expected),
            "table {expected} missing after up: {tables:?}"
        );
    }
    assert!(
        backend.migrate_up().await.unwrap().is_empty(),
        "a second up applies nothing"
    );

    let reverted = backend.migrate_down(u32::MAX).await.unwrap();
    assert_eq!(reverted.len(), latest);
    assert!(reverted.iter().all(|m| m.applied_at.is_none()));
    let down_tables = table_names(store).await;
    assert_eq!(
        down_tables,
        BTreeSet::from(["keygate_schema_migrations".to_owned()]),
        "down removes every table but the version table"
    );
    assert!(
        backend
            .migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied_at.is_none())
    );

    assert_eq!(backend.migrate_up().await.unwrap().len(), latest);
    let again = store.schema_listing().await.unwrap();
    assert_eq!(first, again, "up after down must recreate exactly the same schema");
}

/// Status lists every known migration, pending then applied; check_schema explains itself.
async fn status_and_check_report_pending_and_applied(backend: &Backend) {
    let status = backend.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(
        status.iter().all(|m| m.applied_at.is_none()),
        "fresh database: all pending {status:?}"
    );
    assert_eq!(status[0].version, 1);
    assert_eq!(status[0].name, "init");

    let err = backend
        .check_schema()
        .await
        .expect_err("an un-migrated database must be refused");
    let latest = status.last().unwrap().version;
    match err {
        StoreError::Corrupt(msg) => {
            assert_eq!(
                msg,
                format!("schema is at version 0, this build needs {latest}; run `keygate migrate up`")
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Looking must not change anything: status and check create no tables.
    assert!(table_names(sql(backend)).await.is_empty());

    let before = keygate_core::Clock::now(&keygate_core::SystemClock);
    backend.migrate_up().await.unwrap();
    let status = backend.migration_status().await.unwrap();
    assert!(
        status.iter().all(|m| m.applied_at.is_some_and(|t| t >= before)),
        "{status:?}"
    );
    backend.check_schema().await.unwrap();

    backend.migrate_down(1).await.unwrap();
    let status = backend.migration_status().await.unwrap();
    assert!(status.last().unwrap().applied_at.is_none(), "down 1 reverts the newest");
    assert!(backend.check_schema().await.is_err());
}

#[tokio::test]
async fn sqlite_up_down_up_gives_the_same_schema() {
    let (url, _dir) = fresh_sqlite_url();
    let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
    up_down_up_gives_the_same_schema(&backend).await;
    backend.close().await;
}

#[tokio::test]
async fn sqlite_status_and_check() {
    let (url, _dir) = fresh_sqlite_url();
    let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
    status_and_check_report_pending_and_applied(&backend).await;
    backend.close().await;
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_with_foreign_keys() {
    let (url, dir) = fresh_sqlite_url();
    assert!(!dir.path().join("keygate.db").exists());
    let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
    assert_eq!(backend.kind(), "sqlite");
    assert!(dir.path().join("keygate.db").exists(), "connect creates the file");
    let pool = sql(&backend).pool();
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query("PRAGMA foreign_keys").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(fk, 1);
    backend.close().await;
}

#[tokio::test]
async fn sqlite_concurrent_migrations_apply_each_once() {
    let (url, _dir) = fresh_sqlite_url();
    concurrent_migrations_apply_each_once(&url).await;
}

/// Three instances (separate pools) start at once on one database.
async fn concurrent_migrations_apply_each_once(url: &str) {
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(Backend::connect(url, &test_sql_options()).await.unwrap());
    }
    let results = futures::future::join_all(instances.iter().map(|b| b.migrate_up())).await;
    let mut applied_versions = Vec::new();
    for r in results {
        applied_versions.extend(
            r.expect("every instance's migrate up succeeds")
                .into_iter()
                .map(|m| m.version),
        );
    }
    applied_versions.sort();
    let known: Vec<i64> = sql(&instances[0])
        .dialect()
        .migrations()
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(
        applied_versions, known,
        "each migration applied by exactly one instance"
    );

    let rows =
        sqlx::query("SELECT version, COUNT(*) AS n FROM keygate_schema_migrations GROUP BY version ORDER BY version")
            .fetch_all(sql(&instances[0]).pool())
            .await
            .unwrap();
    let recorded: Vec<(i64, i64)> = rows.iter().map(|r| (r.get("version"), r.get("n"))).collect();
    assert_eq!(recorded, known.iter().map(|v| (*v, 1)).collect::<Vec<_>>());
    for b in &instances {
        b.check_schema().await.unwrap();
        b.close().await;
    }
}

#[tokio::test]
async fn postgres_up_down_up_gives_the_same_schema() {
    let Some(base) = postgres_test_url() else { return };
    let (url, guard) = fresh_postgres_url(&base).await;
    let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
    assert_eq!(backend.kind(), "postgres");
    // The isolation really works: connections use the test schema.
    let schema: String = sqlx::query("SELECT current_schema()::text")
        .fetch_one(sql(&backend).pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(schema, guard.schema());
    up_down_up_gives_the_same_schema(&backend).await;
    backend.close().await;
}

#[tokio::test]
async fn postgres_status_and_check() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
    status_and_check_report_pending_and_applied(&backend).await;
    backend.close().await;
}

#[tokio::test]
async fn postgres_concurrent_migrations_apply_each_once() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _guard) = fresh_postgres_url(&base).await;
    concurrent_migrations_apply_each_once(&url).await;
}

#[tokio::test]
async fn postgres_outage_is_a_fast_unavailable_error() {
    // Nothing listens on port 1: connecting must fail promptly as Unavailable, not hang.
    let opts = keygate_store::SqlOptions {
        acquire_timeout: std::time::Duration::from_secs(1),
        ..test_sql_options()
    };
    let started = std::time::Instant::now();
    let err = Backend::connect("postgres://postgres@127.0.0.1:1/none", &opts)
        .await
        .expect_err("no server");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_schemes_are_refused_naming_the_accepted_ones() {
    let err = Backend::connect("mysql://localhost/x", &test_sql_options())
        .await
        .unwrap_err();
    let msg = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(
        msg.contains("memory:") && msg.contains("sqlite://") && msg.contains("postgres://"),
        "{msg}"
    );
    let memory = Backend::connect("memory:", &test_sql_options()).await.unwrap();
    assert_eq!(memory.kind(), "memory");
    assert!(memory.migration_status().await.unwrap().is_empty());
    memory.check_schema().await.unwrap();
}

/// Both folders hold the same file names, every migration has an up and a down, and every file
/// is embedded in the build (none forgotten in the list).
#[test]
fn both_dialects_ship_the_same_migrations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |dialect: &str| -> BTreeSet<String> {
        std::fs::read_dir(root.join(dialect))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    let sqlite = names("sqlite");
    let postgres = names("postgres");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must hold the same names"
    );

    let stems: BTreeSet<String> = sqlite
        .iter()
        .map(|n| {
            n.strip_suffix(".up.sql")
                .or_else(|| n.strip_suffix(".down.sql"))
                .unwrap_or_else(|| panic!("{n} is neither NAME.up.sql nor NAME.down.sql"))
                .to_owned()
        })
        .collect();
    for stem in &stems {
        assert!(sqlite.contains(&format!("{stem}.up.sql")), "{stem} has no up");
        assert!(sqlite.contains(&format!("{stem}.down.sql")), "{stem} has no down");
    }

    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let embedded = dialect.migrations();
        assert_eq!(embedded.len(), stems.len(), "{dialect:?}: every file must be embedded");
        for (i, (m, stem)) in embedded.iter().zip(&stems).enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions count up from 1 without gaps");
            assert_eq!(stem, &format!("{:04}_{}", m.version, m.name));
            let up = std::fs::read_to_string(root.join(dialect.name()).join(format!("{stem}.up.sql"))).unwrap();
            assert_eq!(m.up, up, "{stem}: the embedded up is the file");
        }
    }
}

/// The isolation helper cleans up after a test that panics mid-transaction.
#[tokio::test]
async fn postgres_test_schema_is_dropped_even_when_the_test_panics() {
    let Some(base) = postgres_test_url() else { return };
    let (schema_tx, schema_rx) = tokio::sync::oneshot::channel();
    let failing_test = tokio::spawn(async move {
        let (url, guard) = fresh_postgres_url(&base).await;
        let _ = schema_tx.send(guard.schema().to_owned());
        let backend = Backend::connect(&url, &test_sql_options()).await.unwrap();
        backend.migrate_up().await.unwrap();
        let mut tx = sql(&backend).pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        panic!("a failing assertion while a transaction holds a lock");
    });
    assert!(failing_test.await.is_err(), "the task panicked");
    let schema = schema_rx.await.unwrap();
    let base = postgres_test_url().unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await.unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&schema)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "schema {schema} must be gone");
}
