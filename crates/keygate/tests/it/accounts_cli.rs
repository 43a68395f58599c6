//! `keygate user create | list | set-password | deactivate | activate | delete` on a SQLite file,
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
        json!([{ "id": created["id"], "email": "Op@Example.com", "email_verified": true, "active": false, "created_at": created["created_at"] }])
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
