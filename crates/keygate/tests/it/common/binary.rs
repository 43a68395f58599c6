//! The real `keygate` binary, run in a folder with no configuration inherited from the test's
//! environment, and the captured output of a finished run.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `keygate` in `dir`, with no `KEYGATE_*`, `DATABASE_URL`, `REDIS_URL` or `RUST_LOG` inherited.
pub fn keygate(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keygate"));
    command.current_dir(dir).kill_on_drop(true).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYGATE_") || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    command
}

/// Runs to the end (at most 60 s) and returns the status and output.
pub async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("keygate did not finish within 60 s")
        .unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The base URL a `serve` child (spawned with piped stdout) names on its first stdout line,
/// `listening on http://ADDR:PORT`, waited for at most 60 s; `log` tells why when the server
/// exits or says something else first. Stdout is drained afterwards, so the server never blocks
/// on a full pipe.
pub async fn listening_base(child: &mut Child, log: impl FnOnce() -> String) -> String {
    let stdout = child.stdout.take().expect("serve spawned with a piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("no `listening on` line within 60 s")
        .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    match first.as_deref().and_then(|line| line.strip_prefix("listening on ")) {
        Some(base) => base.to_owned(),
        None => panic!(
            "serve's first stdout line is {first:?}, not `listening on …`: {}",
            log()
        ),
    }
}
