//! PostgreSQL computes a loaded table's checksum itself (sha256 in SQL); it must agree with the
//! Rust checksum of the same rows for every awkward value: NULL next to empty, multi-byte text,
//! tabs, newlines and backslashes (which COPY escapes), empty and binary bytes.

use keygate_core::model::{AuditAction, AuditEvent, Outcome};
use keygate_core::store::AuditStore;
use keygate_core::{Clock, SystemClock};
use keygate_store::SqlStore;
use keygate_store::testing::{fresh_postgres_url, fresh_sqlite_url, postgres_test_url, test_sql_options};
use keygate_store::transfer::{CopyOptions, NoProgress, copy};

#[tokio::test]
async fn awkward_values_copy_to_postgres_and_verify() {
    let Some(base) = postgres_test_url() else { return };
    let (src_url, _src_guard) = fresh_sqlite_url();
    let (dst_url, _dst_guard) = fresh_postgres_url(&base).await;
    let source = SqlStore::connect(&src_url, &test_sql_options()).await.unwrap();
    source.migrate_up().await.unwrap();
    let now = SystemClock.now();
    let texts = ["", "é😀", "tab\there", "line\nbreak\r", "back\\slash \\N", "\\x00"];
    let events: Vec<AuditEvent> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            AuditEvent::new(AuditAction::UserRegistered, *t, Outcome::Failure, now)
                .from_request((i % 2 == 0).then(|| t.to_string()), None)
                .details(serde_json::json!({ "text": t }))
        })
        .collect();
    source.append_audit(&events).await.unwrap();
    let target = SqlStore::connect(&dst_url, &test_sql_options()).await.unwrap();
    target.migrate_up().await.unwrap();
    let opts = CopyOptions {
        batch_size: 2,
        force: false,
        now_ms: now.as_millis(),
    };
    let reports = copy(&source, &target, &opts, None, &mut NoProgress).await.unwrap();
    let audit = reports.iter().find(|r| r.table == "audit_events").unwrap();
    assert_eq!(audit.rows, texts.len() as u64);
    let back = target
        .list_audit(&Default::default(), &keygate_core::paging::PageRequest::first(50))
        .await
        .unwrap();
    let mut actors: Vec<String> = back.items.iter().map(|e| e.actor.clone()).collect();
    actors.sort();
    let mut expected: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(actors, expected, "COPY's escaping round-trips every text");
    target.close().await;
}
