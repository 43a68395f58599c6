//! `keygate user` (create, list with search, show, update, set-password, deactivate, activate,
//! unlock, sessions, end-sessions, reset-totp, grant-admin, revoke-admin, delete) on a SQLite file,
//! checked through the real binary and through the account API of a server on the same file.

use crate::common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use keygate_store::{Backend, SqlOptions};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use common::TestServer;
use common::accounts::Api;

const PASSWORD: &str = "granite-orchard-sailboat-19";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn keygate(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keygate"));
    command.current_dir(dir).kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYGATE_") || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    command
        .env("KEYGATE_DATABASE_URL", "sqlite://kg.db")
        .env("KEYGATE_LOG", "warn")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("keygate did not finish")
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn login_status(dir: &Path, email: &str, password: &str) -> u16 {
    let url = format!("sqlite://{}", dir.join("kg.db").display());
    let backend = Backend::connect(&url, &SqlOptions::default()).await.unwrap();
    // One key for every start on this file, as a real deployment keeps it.
    let config = keygate::config::Config {
        secret_key: Some(KEY.to_owned().try_into().unwrap()),
        ..keygate::config::Config::default()
    };
    let server = TestServer::start_with(backend, config, |r| r).await;
    let status = Api::new(&server.base).login(email, password).await.status;
    server.stop().await;
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_create_list_deactivate_activate_set_password_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(keygate(d, &["migrate", "up"], None).await.status.success());

    let created = json_of(
        &keygate(
            d,
            &[
                "user",
                "create",
                "--email",
                "Op@Example.com",
                "--password-stdin",
                "--verified",
                "--json",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .await,
    );
    assert_eq!(created["email"], "Op@Example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(login_status(d, "op@example.com", PASSWORD).await, 200);

    let table = keygate(d, &["user", "list"], None).await;
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("ID") && text.contains("Op@Example.com"), "{text}");

    json_of(&keygate(d, &["user", "deactivate", "op@example.com", "--json"], None).await);
    let list = json_of(&keygate(d, &["user", "list", "--json"], None).await);
    assert_eq!(
        list,
        json!([{ "id": created["id"], "email": "Op@Example.com", "email_verified": true, "active": false, "roles": [], "created_at": created["created_at"] }])
    );
    assert_eq!(login_status(d, "op@example.com", PASSWORD).await, 403);
    json_of(&keygate(d, &["user", "activate", "op@example.com", "--json"], None).await);

    let new_password = "another-quiet-riverbank-8";
    let set = keygate(d, &["user", "set-password", "op@example.com"], Some(new_password)).await;
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert_eq!(login_status(d, "op@example.com", PASSWORD).await, 401);
    assert_eq!(login_status(d, "op@example.com", new_password).await, 200);

    let weak = keygate(d, &["user", "set-password", "op@example.com"], Some("password")).await;
    assert_eq!(weak.status.code(), Some(1));
    let err = String::from_utf8(weak.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("breach") && err.lines().count() == 1,
        "{err}"
    );

    json_of(&keygate(d, &["user", "delete", "op@example.com", "--json"], None).await);
    let list = json_of(&keygate(d, &["user", "list", "--json"], None).await);
    assert_eq!(list, json!([]));
    let missing = keygate(d, &["user", "deactivate", "op@example.com"], None).await;
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(err.trim(), "error: no account has this email address");
}

/// `count` failed logins for `email` against a server on the file that locks after 2.
async fn fail_logins(dir: &Path, email: &str, count: usize) -> u16 {
    let url = format!("sqlite://{}", dir.join("kg.db").display());
    let backend = Backend::connect(&url, &SqlOptions::default()).await.unwrap();
    let mut config = keygate::config::Config {
        secret_key: Some(KEY.to_owned().try_into().unwrap()),
        ..keygate::config::Config::default()
    };
    config.accounts.lockout_threshold = 2;
    config.accounts.failure_delay_ms = 0;
    let server = TestServer::start_with(backend, config, |r| r).await;
    let mut last = 0;
    for _ in 0..count {
        last = Api::new(&server.base).login(email, "not-the-password-1").await.status;
    }
    server.stop().await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_search_show_update_unlock_sessions_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(keygate(d, &["migrate", "up"], None).await.status.success());
    for email in ["ops@example.com", "opal@example.com", "zed@example.com"] {
        let args = [
            "user",
            "create",
            "--email",
            email,
            "--password-stdin",
            "--verified",
            "--json",
        ];
        json_of(&keygate(d, &args, Some(PASSWORD)).await);
    }
    let found = json_of(&keygate(d, &["user", "list", "--search", "OP", "--json"], None).await);
    let emails: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ops@example.com", "opal@example.com"]);

    let moved = json_of(
        &keygate(
            d,
            &[
                "user",
                "update",
                "zed@example.com",
                "--new-email",
                "zoe@example.com",
                "--json",
            ],
            None,
        )
        .await,
    );
    assert_eq!(moved["email"], "zoe@example.com");
    assert_eq!(moved["email_verified"], false, "a new address starts unverified");
    let unverified = json_of(&keygate(d, &["user", "list", "--verified", "false", "--json"], None).await);
    assert_eq!(unverified.as_array().unwrap().len(), 1);

    json_of(&keygate(d, &["user", "grant-admin", "ops@example.com", "--json"], None).await);
    let shown = json_of(&keygate(d, &["user", "show", "ops@example.com", "--json"], None).await);
    assert_eq!(shown["roles"], json!(["admin"]));
    assert_eq!(shown["locked_until"], Value::Null);
    assert_eq!(shown["totp_enabled"], false);

    // Locked by failures, unlocked from the shell.
    assert_eq!(fail_logins(d, "ops@example.com", 3).await, 429);
    let shown = json_of(&keygate(d, &["user", "show", "ops@example.com", "--json"], None).await);
    assert!(shown["locked_until"].is_string(), "{shown}");
    assert_eq!(login_status(d, "ops@example.com", PASSWORD).await, 429);
    json_of(&keygate(d, &["user", "unlock", "ops@example.com", "--json"], None).await);
    assert_eq!(login_status(d, "ops@example.com", PASSWORD).await, 200);

    let sessions = json_of(&keygate(d, &["user", "sessions", "ops@example.com", "--json"], None).await);
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let ended = json_of(&keygate(d, &["user", "end-sessions", "ops@example.com", "--json"], None).await);
    assert_eq!(ended["result"], "1 session(s) ended");
    let sessions = json_of(&keygate(d, &["user", "sessions", "ops@example.com", "--json"], None).await);
    assert_eq!(sessions, json!([]));

    let revoked = json_of(&keygate(d, &["user", "revoke-tokens", "ops@example.com", "--json"], None).await);
    assert_eq!(revoked["result"], "0 token famil(ies) revoked");
    let reset = json_of(&keygate(d, &["user", "reset-totp", "ops@example.com", "--json"], None).await);
    assert_eq!(reset["result"], "TOTP was not enabled");
    json_of(&keygate(d, &["user", "revoke-admin", "ops@example.com", "--json"], None).await);
    let shown = json_of(&keygate(d, &["user", "show", "ops@example.com", "--json"], None).await);
    assert_eq!(shown["roles"], json!([]));
}
