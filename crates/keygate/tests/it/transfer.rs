//! Moving a deployment: SQLite -> PostgreSQL -> SQLite with `copy-storage`, and SQLite -> export
//! -> import into PostgreSQL under another secret key, through the real binary; then a server on
//! the copy serves the same users, clients, tokens and keys.

use crate::transfer_support;

use std::time::Duration;

use keygate_core::{Clock, ManualClock, SystemClock};
use keygate_store::testing::{fresh_postgres_url, postgres_test_url};
use keygate_store::{Backend, SqlOptions};
use transfer_support::{check_copy, failed, keygate, new_key, ok, rows, seed, start};

async fn backend(url: &str) -> Backend {
    Backend::connect(url, &SqlOptions::default()).await.unwrap()
}

/// The schema's tables, columns, indexes and constraints, with the schema's name left out.
async fn listing(url: &str, schema: &str) -> Vec<String> {
    let Backend::Sql(store) = backend(url).await else {
        unreachable!()
    };
    let lines = store.schema_listing().await.unwrap();
    lines.into_iter().map(|l| l.replace(schema, "SCHEMA")).collect()
}

/// Not even migrated: nothing was written.
async fn untouched(url: &str) -> bool {
    let status = backend(url).await.migration_status().await.unwrap();
    status.iter().all(|m| m.applied_at.is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_keeps_every_record_working() {
    let Some(base) = postgres_test_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let (pg, _guard) = fresh_postgres_url(&base).await;
    let key = new_key();
    let clock = ManualClock::new(SystemClock.now());

    let server = start(&source, &key, &clock).await;
    let seeded = seed(&server, &clock).await;
    let before = rows(&server.backend).await;
    server.stop().await;
    for (table, n) in &before {
        assert!(*n > 0, "the data set has no {table} rows: {before:?}");
    }

    let out = ok(&keygate(
        dir.path(),
        Some(&key),
        &["copy-storage", "--from", &source, "--to", &pg, "--json"],
    )
    .await);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["rows"], before.values().sum::<u64>(), "{report}");
    assert_eq!(rows(&backend(&pg).await).await, before, "PostgreSQL holds every row");
    let (fresh, fresh_guard) = fresh_postgres_url(&base).await;
    backend(&fresh).await.migrate_up().await.unwrap();
    assert_eq!(
        listing(&pg, _guard.schema()).await,
        listing(&fresh, fresh_guard.schema()).await,
        "the bulk load put back every index and foreign key it set aside"
    );

    ok(&keygate(
        dir.path(),
        Some(&key),
        &["copy-storage", "--from", &pg, "--to", &back, "--batch-size", "2"],
    )
    .await);
    assert_eq!(
        rows(&backend(&back).await).await,
        before,
        "the way back holds every row"
    );

    clock.advance(Duration::from_secs(60));
    let copy = start(&back, &key, &clock).await;
    check_copy(&copy, &clock, &seeded).await;
    copy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_into_postgres_under_another_key_and_keeps_working() {
    let Some(base) = postgres_test_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let (pg, _guard) = fresh_postgres_url(&base).await;
    let (old_key, new_key_text) = (new_key(), new_key());
    std::fs::write(dir.path().join("old.key"), format!("{old_key}\n")).unwrap();
    let clock = ManualClock::new(SystemClock.now());

    let server = start(&source, &old_key, &clock).await;
    let seeded = seed(&server, &clock).await;
    let before = rows(&server.backend).await;
    server.stop().await;

    let file = dir.path().join("keygate.jsonl.gz");
    let file = file.to_str().unwrap();
    ok(&keygate(
        dir.path(),
        Some(&old_key),
        &["--database-url", &source, "export", "--out", file],
    )
    .await);
    let dry = ok(&keygate(
        dir.path(),
        Some(&old_key),
        &["--database-url", &pg, "import", "--in", file, "--dry-run"],
    )
    .await);
    assert!(dry.contains("nothing was written"), "{dry}");
    assert!(untouched(&pg).await, "a dry run writes nothing");

    let refused = failed(
        &keygate(
            dir.path(),
            Some(&new_key_text),
            &["--database-url", &pg, "import", "--in", file],
        )
        .await,
    );
    assert!(refused.contains("exported with another secret key"), "{refused}");
    assert_eq!(refused.trim().lines().count(), 1, "one sentence: {refused}");
    assert!(untouched(&pg).await, "a refused import writes nothing");

    let out = ok(&keygate(
        dir.path(),
        Some(&new_key_text),
        &[
            "--database-url",
            &pg,
            "import",
            "--in",
            file,
            "--source-secret-key-file",
            "old.key",
            "--json",
        ],
    )
    .await);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["resealed"], true, "{report}");
    assert_eq!(
        rows(&backend(&pg).await).await,
        before,
        "PostgreSQL holds every row of the file"
    );

    clock.advance(Duration::from_secs(60));
    let copy = start(&pg, &new_key_text, &clock).await;
    check_copy(&copy, &clock, &seeded).await;
    copy.stop().await;
}
