//! `keygate backup` and `keygate stats`: a SQLite backup taken while a server runs is a database
//! holding the same rows; a PostgreSQL backup is an export file that `import --dry-run` verifies;
//! `stats --json` reports rows per table, the database size and live counts.

use crate::transfer_support;

use keygate_core::{Clock, ManualClock, SystemClock};
use keygate_store::testing::{fresh_postgres_url, postgres_test_url};
use keygate_store::{Backend, SqlOptions};
use transfer_support::{failed, keygate, new_key, ok, rows, seed, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_of_a_running_server_holds_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let clock = ManualClock::new(SystemClock.now());
    let server = start(&url, &key, &clock).await;
    seed(&server, &clock).await;
    let before = rows(&server.backend).await;

    let out = ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &url, "backup", "--out", "backup.db", "--json"],
    )
    .await);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["kind"], "sqlite", "{report}");
    let copy = format!("sqlite://{}", dir.path().join("backup.db").display());
    let backup = Backend::connect(&copy, &SqlOptions::default()).await.unwrap();
    assert_eq!(rows(&backup).await, before, "the backup holds what the server held");
    backup.close().await;
    server.stop().await;

    let again = failed(
        &keygate(
            dir.path(),
            Some(&key),
            &["--database-url", &url, "backup", "--out", "backup.db"],
        )
        .await,
    );
    assert!(again.contains("already exists"), "{again}");

    let stats = ok(&keygate(dir.path(), Some(&key), &["--database-url", &url, "stats", "--json"]).await);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["rows"]["users"], before["users"], "{stats}");
    assert!(stats["database_bytes"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(stats["live_access_tokens"], 1, "the opaque token: {stats}");
    assert_eq!(stats["live_personal_access_tokens"], 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_is_an_export_that_a_dry_run_verifies() {
    let Some(base) = postgres_test_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let (url, _guard) = fresh_postgres_url(&base).await;
    let clock = ManualClock::new(SystemClock.now());
    let server = start(&url, &key, &clock).await;
    seed(&server, &clock).await;
    let before = rows(&server.backend).await;

    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &url, "backup", "--out", "pg.jsonl.gz"],
    )
    .await);
    server.stop().await;
    let out = ok(&keygate(
        dir.path(),
        Some(&key),
        &["import", "--in", "pg.jsonl.gz", "--dry-run", "--json"],
    )
    .await);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["secret_key_checked"], true, "{report}");
    assert_eq!(report["rows"], before.values().sum::<u64>(), "{report}");
}
