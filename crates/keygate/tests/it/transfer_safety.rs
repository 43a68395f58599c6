//! What an operator must be able to bet on when moving data: a copy of a live database is one
//! snapshot; SIGKILL during a copy or an import leaves the target as it was (and a rerun works);
//! a damaged, truncated or newer export file is refused with one sentence and writes nothing;
//! a target holding data is refused unless --force; `memory:` is refused; a file from before a
//! column was added imports with the column's default.

use crate::{common, transfer_support};

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keygate_core::model::{AuditAction, AuditEvent, AuditFilter, Outcome};
use keygate_core::paging::PageRequest;
use keygate_core::{Clock, ManualClock, SystemClock};
use keygate_store::testing::{fresh_postgres_url, postgres_test_url};
use keygate_store::transfer::{CopyOptions, NoProgress, copy};
use keygate_store::{Backend, SqlOptions, SqlStore};
use tokio::io::{AsyncBufReadExt, BufReader};
use transfer_support::{failed, keygate, new_key, ok, rows};

async fn backend(url: &str) -> Backend {
    let b = Backend::connect(url, &SqlOptions::default()).await.unwrap();
    b.migrate_up().await.unwrap();
    b
}

/// A migrated database at `url` holding `n` audit events (and nothing else).
async fn filled(url: &str, n: usize) -> Backend {
    let b = backend(url).await;
    let now = SystemClock.now();
    let events: Vec<AuditEvent> = (0..n)
        .map(|_| AuditEvent::new(AuditAction::UserRegistered, "seed", Outcome::Success, now))
        .collect();
    for chunk in events.chunks(1000) {
        b.stores().audit.append_audit(chunk).await.unwrap();
    }
    b
}

async fn empty(url: &str) -> bool {
    rows(&backend(url).await).await.values().all(|n| *n == 0)
}

fn sqlite(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_truncated_and_newer_files_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let source = sqlite(&dir, "source.db");
    filled(&source, 50).await;
    let file = dir.path().join("good.jsonl");
    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &source, "export", "--out", file.to_str().unwrap()],
    )
    .await);
    let good = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = good.lines().collect();

    let edited = good.replacen("\"seed\"", "\"seez\"", 1);
    let truncated = lines[..lines.len() - 1].join("\n") + "\n";
    let cut = &good[..good.len() / 2];
    let newer = good.replacen("\"format_version\":1", "\"format_version\":2", 1);
    let cases = [
        ("edited", edited, "checksum does not match"),
        ("truncated", truncated, "truncated"),
        ("cut", cut.to_owned(), "damaged"),
        ("newer", newer, "format version 2"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&path, text).unwrap();
        let target = sqlite(&dir, &format!("{name}.db"));
        let err = failed(
            &keygate(
                dir.path(),
                Some(&key),
                &["--database-url", &target, "import", "--in", path.to_str().unwrap()],
            )
            .await,
        );
        assert!(err.contains(expected), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: one sentence: {err}");
        assert!(empty(&target).await, "{name}: nothing imported");
        let dry = failed(
            &keygate(
                dir.path(),
                Some(&key),
                &[
                    "--database-url",
                    &target,
                    "import",
                    "--in",
                    path.to_str().unwrap(),
                    "--dry-run",
                ],
            )
            .await,
        );
        assert!(dry.contains(expected), "{name} (dry run): {dry}");
    }
    let target = sqlite(&dir, "good.db");
    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &target, "import", "--in", file.to_str().unwrap()],
    )
    .await);
    assert_eq!(rows(&backend(&target).await).await["audit_events"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_with_data_is_refused_unless_forced_and_memory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let (source, target) = (sqlite(&dir, "a.db"), sqlite(&dir, "b.db"));
    filled(&source, 20).await;
    filled(&target, 7).await;
    let err = failed(
        &keygate(
            dir.path(),
            Some(&key),
            &["copy-storage", "--from", &source, "--to", &target],
        )
        .await,
    );
    assert!(
        err.contains("already holds data (audit_events: 7 rows)") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(rows(&backend(&target).await).await["audit_events"], 7, "untouched");
    let out = keygate(
        dir.path(),
        Some(&key),
        &["copy-storage", "--from", &source, "--to", &target, "--force"],
    )
    .await;
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("emptied"),
        "--force says what it does"
    );
    assert_eq!(
        rows(&backend(&target).await).await["audit_events"],
        20,
        "replaced, not merged"
    );

    for args in [
        ["--from", "memory:", "--to", target.as_str()],
        ["--from", source.as_str(), "--to", "memory:"],
    ] {
        let mut all = vec!["copy-storage"];
        all.extend(args);
        let err = failed(&keygate(dir.path(), Some(&key), &all).await);
        assert!(
            err.contains("memory: cannot be the") && err.contains("server process"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }

    let missing = sqlite(&dir, "missing.db");
    let err = failed(
        &keygate(
            dir.path(),
            Some(&key),
            &["copy-storage", "--from", &missing, "--to", &target],
        )
        .await,
    );
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        !dir.path().join("missing.db").exists(),
        "no empty source file is created"
    );
    let err = failed(
        &keygate(
            dir.path(),
            None,
            &["copy-storage", "--from", &source, "--to", &target, "--force"],
        )
        .await,
    );
    assert!(
        err.contains("no key file") && err.contains("--source-secret-key-file"),
        "{err}"
    );
    assert!(
        !dir.path().join("a.db.secret").exists(),
        "no key is invented for the source"
    );
}

/// Runs the binary until it has finished the small tables and is inside `audit_events`, then
/// kills it with SIGKILL.
async fn kill_midway(dir: &std::path::Path, key: &str, args: &[&str]) {
    let mut command = common::binary::keygate(dir);
    command.env("KEYGATE_SECRET_KEY", key).args(args).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("no progress within 60 s")
            .unwrap()
            .expect("keygate ended before reaching audit_events");
        if line.starts_with("signing_keys:") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "still copying when killed");
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_copy_or_import_leaves_the_target_untouched_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let source = sqlite(&dir, "source.db");
    filled(&source, 20_000).await;
    let (target, _guard) = match postgres_test_url() {
        Some(base) => {
            let (url, guard) = fresh_postgres_url(&base).await;
            (url, Some(guard))
        }
        None => (sqlite(&dir, "target.db"), None),
    };
    let copy_args = [
        "copy-storage",
        "--from",
        source.as_str(),
        "--to",
        target.as_str(),
        "--batch-size",
        "2",
    ];
    kill_midway(dir.path(), &key, &copy_args).await;
    assert!(empty(&target).await, "a killed copy leaves no rows behind");
    ok(&keygate(dir.path(), Some(&key), &copy_args[..5]).await);
    assert_eq!(rows(&backend(&target).await).await["audit_events"], 20_000);

    let file = dir.path().join("export.jsonl.gz");
    let file = file.to_str().unwrap();
    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &source, "export", "--out", file],
    )
    .await);
    let imported = sqlite(&dir, "imported.db");
    let import_args = [
        "--database-url",
        imported.as_str(),
        "import",
        "--in",
        file,
        "--batch-size",
        "2",
    ];
    kill_midway(dir.path(), &key, &import_args).await;
    assert!(empty(&imported).await, "a killed import leaves no rows behind");
    ok(&keygate(dir.path(), Some(&key), &import_args[..5]).await);
    assert_eq!(rows(&backend(&imported).await).await["audit_events"], 20_000);
}

async fn registrations(backend: &Backend) -> u64 {
    let filter = AuditFilter {
        action: Some(AuditAction::UserRegistered),
        ..AuditFilter::default()
    };
    let mut page = PageRequest::first(500);
    let mut n = 0;
    loop {
        let got = backend.stores().audit.list_audit(&filter, &page).await.unwrap();
        n += got.items.iter().filter(|e| e.actor != "seed").count() as u64;
        match got.next {
            Some(next) => page = PageRequest::after(next, 500),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_database_a_server_is_writing_to_is_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let (source, target) = (sqlite(&dir, "live.db"), sqlite(&dir, "copy.db"));
    filled(&source, 3_000).await.close().await;
    let clock = ManualClock::new(SystemClock.now());
    let server = transfer_support::start(&source, &key, &clock).await;
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (base, done) = (server.base.clone(), done.clone());
        tokio::spawn(async move {
            let api = common::accounts::Api::new(&base);
            let mut i = 0;
            let mut after_done = 0;
            while after_done < 3 {
                let r = api
                    .register(&format!("w{i}@example.com"), common::accounts::PASSWORD)
                    .await;
                assert_eq!(r.status, 201, "{}", r.text);
                i += 1;
                if done.load(Ordering::SeqCst) {
                    after_done += 1;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let from = SqlStore::connect(&source, &SqlOptions::default()).await.unwrap();
    let to = SqlStore::connect(&target, &SqlOptions::default()).await.unwrap();
    to.migrate_up().await.unwrap();
    let opts = CopyOptions {
        batch_size: 1,
        force: false,
        now_ms: SystemClock.now().as_millis(),
    };
    let reports = copy(&from, &to, &opts, None, &mut NoProgress).await.unwrap();
    done.store(true, Ordering::SeqCst);
    writer.await.unwrap();

    let copied = Backend::Sql(Arc::new(to));
    let copied_users = rows(&copied).await["users"];
    let users_reported = reports.iter().find(|r| r.table == "users").unwrap().rows;
    assert_eq!(copied_users, users_reported);
    assert!(copied_users > 0, "the writer had registered users before the snapshot");
    // Users are copied first and audit events last: only one snapshot has exactly one
    // registration event per user.
    assert_eq!(
        registrations(&copied).await,
        copied_users,
        "users and their audit events agree"
    );
    let live_users = rows(&server.backend).await["users"];
    assert!(
        live_users > copied_users,
        "the server kept writing during the copy ({live_users} > {copied_users})"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_to_stdout_imports_from_stdin() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let source = sqlite(&dir, "source.db");
    filled(&source, 30).await;
    let out = keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &source, "export", "--out", "-"],
    )
    .await;
    let text = ok(&out);
    assert!(
        text.starts_with("{\"format\":\"keygate-export\""),
        "{}",
        &text[..80.min(text.len())]
    );
    assert!(text.trim_end().lines().last().unwrap().starts_with("{\"end\":"));

    let target = sqlite(&dir, "target.db");
    let mut command = common::binary::keygate(dir.path());
    command
        .env("KEYGATE_SECRET_KEY", &key)
        .args(["--database-url", &target, "import", "--in", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    ok(&output);
    assert_eq!(rows(&backend(&target).await).await["audit_events"], 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_into_a_pipe_writes_through_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let source = sqlite(&dir, "source.db");
    filled(&source, 10).await;
    let fifo = dir.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = tokio::spawn({
        let fifo = fifo.clone();
        async move { tokio::fs::read_to_string(&fifo).await.unwrap() }
    });
    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &source, "export", "--out", fifo.to_str().unwrap()],
    )
    .await);
    let text = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .unwrap()
        .unwrap();
    assert!(
        text.trim_end().lines().last().unwrap().starts_with("{\"end\":"),
        "the whole export went through"
    );
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        kind.is_fifo(),
        "a pipe (or a device) is written to, never replaced by a renamed file"
    );
    assert!(!dir.path().join("pipe.partial").exists());
}

/// `file` rewritten as a build before `users.roles` wrote it: the column gone from the header and
/// from every users record, the trailer's users checksum, record hash and count made anew.
fn without_roles_column(file: &std::path::Path, out: &std::path::Path, drop: &str) {
    use keygate_store::transfer::{Checksum, TABLES};
    use sha2::{Digest, Sha256};
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let trailer = lines.pop().unwrap();
    let users = TABLES.iter().find(|t| t.name == "users").unwrap();
    let position = users.columns.iter().position(|c| c.name == drop).unwrap();
    for table in lines[0]["tables"].as_array_mut().unwrap() {
        if table["name"] == "users" {
            table["columns"].as_array_mut().unwrap().remove(position);
        }
    }
    let mut sum = Checksum::default();
    for record in lines.iter_mut().skip(1).filter(|r| r["t"] == "users") {
        record["r"].as_array_mut().unwrap().remove(position);
        let kept: Vec<_> = users
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != position)
            .collect();
        let json = &record["r"];
        let row: Vec<_> = kept
            .iter()
            .zip(json.as_array().unwrap())
            .map(|((_, c), v)| keygate_store::transfer::Value::from_json(c.ty, v).unwrap())
            .collect();
        sum.add(&row);
    }
    let mut hash = Sha256::new();
    let mut written = String::new();
    for line in &lines {
        let text = serde_json::to_string(line).unwrap();
        hash.update(text.as_bytes());
        hash.update(b"\n");
        written.push_str(&text);
        written.push('\n');
    }
    let mut end = trailer["end"].clone();
    end["checksums"]["users"] = serde_json::Value::String(sum.hex());
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    end["sha256"] = serde_json::Value::String(digest);
    written.push_str(&serde_json::to_string(&serde_json::json!({ "end": end })).unwrap());
    written.push('\n');
    std::fs::write(out, written).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_from_before_the_roles_column_imports_with_no_roles_and_another_gap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key();
    let source = sqlite(&dir, "source.db");
    let b = backend(&source).await;
    let user = keygate_core::model::User::new(
        keygate_core::email::Email::parse("old@example.com").unwrap(),
        None,
        SystemClock.now(),
    );
    b.stores().users.create_user(&user, &[]).await.unwrap();
    let file = dir.path().join("now.jsonl");
    let path = file.to_str().unwrap();
    ok(&keygate(
        dir.path(),
        Some(&key),
        &["--database-url", &source, "export", "--out", path],
    )
    .await);

    let older = dir.path().join("older.jsonl");
    without_roles_column(&file, &older, "roles");
    let target = sqlite(&dir, "target.db");
    let args = ["--database-url", &target, "import", "--in", older.to_str().unwrap()];
    ok(&keygate(dir.path(), Some(&key), &args).await);
    let imported = backend(&target).await;
    let got = imported
        .stores()
        .users
        .get_user(user.id)
        .await
        .unwrap()
        .expect("the user is imported");
    assert_eq!(got.email.as_str(), "old@example.com");
    assert!(got.roles.is_empty(), "an added column takes its default");

    // A file missing a column that is no later addition is refused, and writes nothing.
    let broken = dir.path().join("broken.jsonl");
    without_roles_column(&file, &broken, "deleted_at");
    let other = sqlite(&dir, "other.db");
    let args = ["--database-url", &other, "import", "--in", broken.to_str().unwrap()];
    let err = failed(&keygate(dir.path(), Some(&key), &args).await);
    assert!(err.contains("differ from this build's schema"), "{err}");
    assert!(empty(&other).await);
}
