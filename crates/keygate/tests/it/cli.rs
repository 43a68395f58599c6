//! The real `keygate` binary: serve on a new SQLite file and stop on a signal, check-config,
//! configuration precedence and `_FILE` secrets, and `migrate up | down | status`.

use crate::common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

const ADMIN_TOKEN: &str = "admintoken-0123456789-abcdefghijklmnop";

/// `keygate` in `dir`, with no configuration inherited from the test's environment.
fn keygate(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keygate"));
    command.current_dir(dir).kill_on_drop(true).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYGATE_") || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    command
}

async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("keygate did not finish")
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A failed command: exit status 1 and exactly one line `error: …` on stderr.
fn assert_one_sentence_error(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    let text = stderr(output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {text}");
    assert!(lines[0].starts_with("error: "), "{text}");
    assert!(!text.contains("panicked") && !text.contains("backtrace"), "{text}");
    lines[0].to_owned()
}

async fn check_config_json(command: &mut Command) -> Value {
    let output = run(command.args(["check-config", "--json"])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[tokio::test]
async fn version_prints_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(keygate(dir.path()).arg("--version")).await;
    assert!(output.status.success());
    assert_eq!(stdout(&output).trim(), format!("keygate {}", env!("CARGO_PKG_VERSION")));
}

/// `kill SIGNAL` to the child.
fn send_signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(killed.success());
}

async fn serve_then_signal(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = keygate(dir.path())
        .arg("serve")
        .env("KEYGATE_BIND", "127.0.0.1:0")
        .env("KEYGATE_DATABASE_URL", "sqlite://fresh.db")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = common::binary::listening_base(&mut child, String::new).await;
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");

    let response = common::client()
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(dir.path().join("fresh.db").exists(), "serve creates the SQLite file");

    send_signal(&child, signal);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    let mut log = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut log)
        .await
        .unwrap();
    assert!(status.success(), "exit status {status} after {signal}; log:\n{log}");
    assert!(log.contains("shutting down"), "{log}");
}

#[tokio::test]
async fn serve_on_a_new_sqlite_file_answers_ready_and_stops_cleanly_on_sigterm() {
    serve_then_signal("-TERM").await;
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigint() {
    serve_then_signal("-INT").await;
}

/// Introspections are audited by a batching writer after the answer is sent. While the test holds
/// SQLite's write lock, the writer cannot write and the events wait in its queue; a SIGTERM then
/// (the lock released a moment later) must still find every one of them in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_every_queued_audit_event_before_it_stops() {
    const REQUESTS: usize = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let with_env = |command: &mut Command| {
        command
            .env("KEYGATE_DATABASE_URL", "sqlite://audit.db")
            .env("KEYGATE_OAUTH__EXTRA_SCOPES", "api")
            // Quiet: a request log line each would fill the unread stderr pipe and stall it.
            .env("KEYGATE_LOG", "warn")
            .env("KEYGATE_DATABASE__BUSY_TIMEOUT_SECS", "30")
            .env("KEYGATE_DATABASE__QUERY_TIMEOUT_SECS", "30")
            .env("KEYGATE_HTTP__REQUEST_TIMEOUT_SECS", "60");
    };
    let mut create = keygate(dir.path());
    with_env(&mut create);
    let created = run(create.args([
        "client",
        "create",
        "--name",
        "rs",
        "--grant-type",
        "client_credentials",
        "--scope",
        "api",
        "--access-token-format",
        "opaque",
        "--json",
    ]))
    .await;
    assert!(created.status.success(), "{}", stderr(&created));
    let client: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );

    let mut serve = keygate(dir.path());
    with_env(&mut serve);
    let mut child = serve
        .arg("serve")
        .env("KEYGATE_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = common::binary::listening_base(&mut child, String::new).await;
    let http = common::client();
    let token: Value = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let backend = keygate_store::Backend::connect(&url, &keygate_store::SqlOptions::default())
        .await
        .unwrap();
    let keygate_store::Backend::Sql(sql) = &backend else {
        unreachable!()
    };
    let mut lock = sql.pool().acquire().await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *lock).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (http, base, id, secret, token) = (http.clone(), base.clone(), id.clone(), secret.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / 50 {
                let answer: Value = http
                    .post(format!("{base}/oauth2/introspect"))
                    .basic_auth(&id, Some(&secret))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(answer["active"], true);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    send_signal(&child, "-TERM");
    // The server stops accepting and shuts down while the writer still waits for the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::raw_sql("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    assert!(status.success());

    let filter = keygate_core::model::AuditFilter {
        action: Some(keygate_core::model::AuditAction::TokenIntrospected),
        ..Default::default()
    };
    let mut page = keygate_core::paging::PageRequest::first(500);
    let mut audited = 0;
    loop {
        let found = backend.stores().audit.list_audit(&filter, &page).await.unwrap();
        audited += found.items.len();
        match found.next {
            Some(cursor) => page = keygate_core::paging::PageRequest::after(cursor, 500),
            None => break,
        }
    }
    backend.close().await;
    assert_eq!(
        audited, REQUESTS,
        "every introspection answered before SIGTERM is in the audit log"
    );
}

#[tokio::test]
async fn serve_no_migrate_refuses_an_unmigrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(keygate(dir.path())
        .args(["serve", "--no-migrate", "--bind", "127.0.0.1:0"])
        .env("KEYGATE_DATABASE_URL", "sqlite://empty.db"))
    .await;
    let line = assert_one_sentence_error(&output);
    assert!(line.contains("keygate migrate up"), "{line}");
    assert!(stdout(&output).is_empty(), "it must not announce a listener");
}

#[tokio::test]
async fn check_config_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let with_secrets = || {
        let mut command = keygate(dir.path());
        command
            .env("KEYGATE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(
                "KEYGATE_DATABASE_URL",
                "postgres://keygate:hunter2-db-pass@db.example:5432/keygate",
            )
            .env("KEYGATE_REDIS_URL", "redis://:redis-pass-99@cache.example:6379");
        command
    };
    let table = run(with_secrets().arg("check-config")).await;
    assert!(table.status.success(), "{}", stderr(&table));
    let json = check_config_json(&mut with_secrets()).await;
    for text in [stdout(&table), json.to_string()] {
        for secret in [ADMIN_TOKEN, "hunter2-db-pass", "redis-pass-99"] {
            assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
        }
        assert!(text.contains("<redacted>"), "{text}");
    }
    assert_eq!(json["admin_token"], "<redacted>");
    assert_eq!(
        json["database_url"],
        "postgres://keygate:<redacted>@db.example:5432/keygate"
    );
    assert!(
        stdout(&table).contains("environment variable KEYGATE_ADMIN_TOKEN"),
        "the table names sources"
    );
}

#[tokio::test]
async fn check_config_fails_with_one_sentence_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // (arguments before the command, environment, what the error must say)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        (
            &[],
            &[("KEYGATE_DATABASE_URL", "not a url")],
            "database_url is not a URL",
        ),
        (
            &[],
            &[("KEYGATE_DATABASE_URL", "mysql://db/keygate")],
            "unknown backend `mysql:`",
        ),
        (&[], &[("KEYGATE_ISSUER", "http://exa mple")], "issuer"),
        (
            &["--config", "missing.toml"],
            &[],
            "the config file `missing.toml` does not exist",
        ),
        (
            &[],
            &[("KEYGATE_ADMIN_TOKEN", "too-short")],
            "admin_token is 9 characters long",
        ),
    ];
    for (args, vars, expected) in cases {
        let mut command = keygate(dir.path());
        command.args(args).arg("check-config").envs(vars.iter().copied());
        let line = assert_one_sentence_error(&run(&mut command).await);
        assert!(line.contains(expected), "expected {expected:?} in {line:?}");
    }
}

#[tokio::test]
async fn check_config_warns_about_unknown_keygate_variables() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(keygate(dir.path())
        .arg("check-config")
        .env("KEYGATE_ISUER", "https://typo.example"))
    .await;
    assert!(output.status.success());
    assert!(stderr(&output).contains("warning: ignoring unknown environment variable KEYGATE_ISUER"));
}

#[tokio::test]
async fn file_suffix_reads_secrets_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db-url"), "sqlite://from-secret-file.db\n").unwrap();
    std::fs::write(dir.path().join("token"), format!("{ADMIN_TOKEN}\n")).unwrap();
    let mut command = keygate(dir.path());
    command
        .env("KEYGATE_DATABASE_URL_FILE", dir.path().join("db-url"))
        .env("KEYGATE_ADMIN_TOKEN_FILE", "token");
    let json = check_config_json(&mut command).await;
    assert_eq!(json["database_url"], "sqlite://from-secret-file.db");
    assert_eq!(json["admin_token"], "<redacted>");

    // The value really comes from the file: a short token there is refused as such.
    std::fs::write(dir.path().join("token"), "short\n").unwrap();
    let output = run(keygate(dir.path())
        .arg("check-config")
        .env("KEYGATE_ADMIN_TOKEN_FILE", "token"))
    .await;
    let line = assert_one_sentence_error(&output);
    assert!(
        line.contains("admin_token is 5 characters long") && line.contains("KEYGATE_ADMIN_TOKEN_FILE"),
        "{line}"
    );
}

#[tokio::test]
async fn flags_beat_environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keygate.toml"),
        "issuer = \"https://file.example\"\nbind = \"127.0.0.1:9001\"\nlog = \"debug\"\n\n[database]\nmax_connections = 4\n",
    )
    .unwrap();
    let mut command = keygate(dir.path());
    command
        .env("KEYGATE_BIND", "127.0.0.1:9002")
        .env("KEYGATE_DATABASE__MAX_CONNECTIONS", "6")
        .env("DATABASE_URL", "sqlite://conventional.db");
    let json = check_config_json(&mut command).await;
    assert_eq!(json["issuer"], "https://file.example", "file beats default");
    assert_eq!(json["log"], "debug", "file beats default");
    assert_eq!(json["bind"], "127.0.0.1:9002", "environment beats file");
    assert_eq!(json["database"]["max_connections"], 6, "nested keys use __");
    assert_eq!(json["database"]["acquire_timeout_secs"], 5, "default");
    assert_eq!(
        json["database_url"], "sqlite://conventional.db",
        "DATABASE_URL is accepted"
    );
    assert_eq!(json["log_format"], "text");

    let mut flagged = keygate(dir.path());
    flagged
        .env("KEYGATE_DATABASE_URL", "sqlite://env.db")
        .args(["--database-url", "memory:"]);
    assert_eq!(
        check_config_json(&mut flagged).await["database_url"],
        "memory:",
        "flag beats environment"
    );

    std::fs::write(dir.path().join("other.toml"), "bind = \"127.0.0.1:9003\"\n").unwrap();
    let mut explicit = keygate(dir.path());
    explicit.args(["--config", "other.toml"]);
    let json = check_config_json(&mut explicit).await;
    assert_eq!(json["bind"], "127.0.0.1:9003", "--config replaces ./keygate.toml");
    assert_eq!(json["issuer"], "http://127.0.0.1:8080");
}

async fn migrate(dir: &Path, args: &[&str]) -> Value {
    let output = run(keygate(dir)
        .arg("migrate")
        .args(args)
        .arg("--json")
        .env("KEYGATE_DATABASE_URL", "sqlite://m.db"))
    .await;
    assert!(output.status.success(), "migrate {args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[tokio::test]
async fn migrate_up_down_and_status_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let status = migrate(dir.path(), &["status"]).await;
    let all = status.as_array().unwrap().len();
    assert!(all >= 1, "{status}");
    assert!(
        status.as_array().unwrap().iter().all(|m| m["applied"] == false),
        "{status}"
    );

    let applied = migrate(dir.path(), &["up"]).await;
    assert_eq!(
        applied.as_array().unwrap().len(),
        all,
        "up applies every pending migration"
    );
    let status = migrate(dir.path(), &["status"]).await;
    assert!(
        status
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == true && m["applied_at"].is_string())
    );
    assert_eq!(
        migrate(dir.path(), &["up"]).await,
        serde_json::json!([]),
        "a second up does nothing"
    );

    let reverted = migrate(dir.path(), &["down"]).await;
    assert_eq!(reverted.as_array().unwrap().len(), 1, "down reverts one by default");
    let last = &status.as_array().unwrap()[all - 1];
    assert_eq!(reverted[0]["version"], last["version"]);
    let status = migrate(dir.path(), &["status"]).await;
    assert_eq!(status[all - 1]["applied"], false);

    let output = run(keygate(dir.path())
        .args(["migrate", "status"])
        .env("KEYGATE_DATABASE_URL", "sqlite://m.db"))
    .await;
    assert!(output.status.success());
    let table = stdout(&output);
    assert!(table.starts_with("VERSION") && table.contains("pending"), "{table}");
}
