//! The README's walkthroughs, run as written: every ```sh block of the sections a newcomer
//! follows (Quick start to Protect an API, Deployment, Upgrades), in order, in one
//! `bash` session with `set -euo pipefail`, against the real binary serving a fresh SQLite file,
//! so variables (CLIENT_ID, tokens) flow from step to step as they do for a reader. A block is
//! left out only when the line before it says `<!-- not run by the README test: why -->`.
//!
//! The docs address the server as `http://127.0.0.1:8080` (the default issuer); the test serves
//! on a free port and writes that URL into the blocks instead. `keygate` on PATH is the binary
//! under test, `python3` one that has PyJWT (Debian's `/usr/bin/python3` with `python3-jwt`).
//! Missing curl, jq, openssl or PyJWT skip the walkthrough with a note, and fail it with CI=true.

use crate::common;
use crate::common::binary::listening_base;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::binary::keygate;
use tokio::process::{Child, Command};

/// The `## ` sections whose shell blocks are run.
const COVERED_SECTIONS: [&str; 6] = [
    "Quick start",
    "OAuth 2.1 and OpenID Connect",
    "Integrate your first app",
    "Protect an API",
    "Deployment",
    "Upgrades",
];
const NOT_RUN_MARK: &str = "<!-- not run by the README test:";
const DOCUMENTED_ISSUER: &str = "http://127.0.0.1:8080";

/// One ```sh block of a covered section.
#[derive(Debug)]
struct ShellBlock {
    section: String,
    /// 1-based line of the block's first command in README.md.
    line: usize,
    code: String,
    /// False when the line before the fence is the not-run mark.
    run: bool,
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The ```sh blocks of the covered sections, in README order.
fn shell_blocks(text: &str) -> Vec<ShellBlock> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut section = String::new();
    let mut previous = "";
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if let Some(title) = line.strip_prefix("## ") {
            section = title.trim().to_owned();
        }
        if line.trim() == "```sh" {
            let body_start = index + 1;
            let body_len = lines[body_start..]
                .iter()
                .position(|l| l.trim() == "```")
                .unwrap_or_else(|| panic!("README.md line {}: a ```sh block is never closed", index + 1));
            if COVERED_SECTIONS.contains(&section.as_str()) {
                blocks.push(ShellBlock {
                    section: section.clone(),
                    line: body_start + 1,
                    code: lines[body_start..body_start + body_len].join("\n"),
                    run: !previous.starts_with(NOT_RUN_MARK),
                });
            }
            index = body_start + body_len;
        }
        if !line.trim().is_empty() {
            previous = line.trim();
        }
        index += 1;
    }
    blocks
}

/// One bash script: the blocks to run, each announcing its README line so a failure names it.
fn script(blocks: &[ShellBlock], issuer: &str) -> String {
    let mut script = String::from(
        "set -euo pipefail\n\
         trap 'status=$?; [ $status -eq 0 ] || echo \"README.md block at line ${README_LINE:-?} failed (status $status)\" >&2' EXIT\n",
    );
    for block in blocks.iter().filter(|b| b.run) {
        script.push_str(&format!("README_LINE={}\n", block.line));
        script.push_str(&block.code.replace(DOCUMENTED_ISSUER, issuer));
        script.push('\n');
    }
    script.push_str("echo README-WALKTHROUGH-COMPLETE\n");
    script
}

/// A program the walkthrough needs is missing: skip, or fail under CI=true.
fn missing_tools() -> Option<String> {
    let absent: Vec<&str> = ["curl", "jq", "openssl"]
        .into_iter()
        .filter(|tool| {
            !std::process::Command::new("bash")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let mut message = String::new();
    if !absent.is_empty() {
        message.push_str(&format!("{absent:?} not installed; "));
    }
    if python_with_pyjwt().is_none() {
        message.push_str("no python3 with PyJWT (apt-get install python3-jwt); ");
    }
    (!message.is_empty()).then_some(message)
}

/// A python3 that can `import jwt`: Debian's first (it sees python3-jwt), then the one on PATH.
fn python_with_pyjwt() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|python| {
            std::process::Command::new(python)
                .args(["-c", "import jwt, cryptography"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `keygate serve` in `dir` (its default `./keygate.db`, as for a reader), with the issuer at
/// `port`; returns once it printed `listening on`.
async fn start_server(dir: &Path, port: u16) -> Child {
    let mut child = keygate(dir)
        .arg("serve")
        .env("KEYGATE_BIND", format!("127.0.0.1:{port}"))
        .env("KEYGATE_ISSUER", format!("http://127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(dir.join("serve.log")).unwrap()))
        .spawn()
        .unwrap();
    let base = listening_base(&mut child, || server_log(dir)).await;
    assert_eq!(base, format!("http://127.0.0.1:{port}"), "{}", server_log(dir));
    child
}

fn server_log(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    format!(
        "server log (last lines):\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}

/// Runs `script` with bash in `dir`, `bin` first on PATH and no Keygate setting inherited.
async fn run_bash(dir: &Path, bin: &Path, script: &str) -> Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let script_file = dir.join("readme.sh");
    std::fs::write(&script_file, script).unwrap();
    let mut command = Command::new("bash");
    command
        .arg(&script_file)
        .current_dir(dir)
        .env("PATH", path)
        // curl and PyJWT talk to the server on loopback, never through a proxy from the env.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYGATE") || ["DATABASE_URL", "REDIS_URL", "RUST_LOG"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    tokio::time::timeout(Duration::from_secs(180), command.output())
        .await
        .expect("the README walkthrough did not finish within 180 s")
        .unwrap()
}

/// A folder holding `keygate` (the binary under test) and `python3` (one with PyJWT).
fn bin_dir(dir: &Path, python: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keygate"), bin.join("keygate")).unwrap();
    let python = std::process::Command::new("bash")
        .args(["-c", &format!("command -v {}", python.display())])
        .output()
        .unwrap();
    let python = String::from_utf8(python.stdout).unwrap();
    std::os::unix::fs::symlink(python.trim(), bin.join("python3")).unwrap();
    bin
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_walkthroughs_run_as_written() {
    let blocks = shell_blocks(&readme());
    for section in COVERED_SECTIONS {
        assert!(
            blocks.iter().any(|b| b.section == section && b.run),
            "README.md has no runnable ```sh block under `## {section}` (renamed or all marked not run?)"
        );
    }
    if let Some(missing) = missing_tools() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {missing}.ci/run installs jq and python3-jwt"
        );
        eprintln!("skipping the README walkthrough: {missing}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(dir.path(), &python_with_pyjwt().unwrap());
    let port = free_port();
    let mut server = start_server(dir.path(), port).await;

    let output = run_bash(dir.path(), &bin, &script(&blocks, &format!("http://127.0.0.1:{port}"))).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("README-WALKTHROUGH-COMPLETE"),
        "the README walkthrough failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- {}",
        output.status,
        server_log(dir.path())
    );
    // What the reader did is stored: one account, and one client per `keygate client create`.
    let created: usize = blocks
        .iter()
        .filter(|b| b.run)
        .map(|b| b.code.matches("keygate client create").count())
        .sum();
    let stats = keygate(dir.path()).args(["stats", "--json"]).output().await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(
        (stats["users"].as_u64(), stats["clients"].as_u64()),
        (Some(1), Some(created as u64)),
        "{stats}"
    );
    server.start_kill().unwrap();
}

#[tokio::test]
async fn a_failing_step_or_a_missing_value_fails_the_walkthrough() {
    let dir = tempfile::tempdir().unwrap();
    let block = |code: &str| ShellBlock {
        section: "Protect an API".into(),
        line: 7,
        code: code.into(),
        run: true,
    };
    for broken in [
        "false\necho after",
        "false | cat",
        "echo \"$UNSET_VARIABLE\"",
        "echo '{}' | jq -e .active",
    ] {
        let output = run_bash(dir.path(), dir.path(), &script(&[block(broken)], "http://x")).await;
        assert!(!output.status.success(), "`{broken}` passed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("README.md block at line 7 failed"),
            "`{broken}`: {stderr}"
        );
    }
    let skipped = ShellBlock {
        run: false,
        ..block("false")
    };
    let output = run_bash(dir.path(), dir.path(), &script(&[skipped, block("true")], "http://x")).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_not_run_mark_leaves_out_only_the_block_after_it() {
    let text = "## Quick start\n\n<!-- not run by the README test: starts a server -->\n```sh\nkeygate serve\n```\n\n\
                ```sh\ncurl -fsS http://127.0.0.1:8080/health/ready\n```\n\n## Commands\n\n```sh\nnot covered\n```\n";
    let blocks = shell_blocks(text);
    let summary: Vec<(&str, usize, bool)> = blocks.iter().map(|b| (b.code.as_str(), b.line, b.run)).collect();
    assert_eq!(
        summary,
        [
            ("keygate serve", 5, false),
            ("curl -fsS http://127.0.0.1:8080/health/ready", 9, true)
        ]
    );
    assert!(script(&blocks, "http://127.0.0.1:41234").contains("curl -fsS http://127.0.0.1:41234/health/ready"));
}
