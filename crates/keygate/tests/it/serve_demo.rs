//! `keygate serve --demo` with the real binary on a fresh SQLite file: stdout still starts with
//! `listening on …`; stderr shows the first-start hint, the demo account, client and a working
//! authorization URL; a second start reuses both instead of failing or duplicating them.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::binary::{keygate, run, stderr, stdout};
use tokio::io::AsyncReadExt;

const ISSUER: &str = "http://127.0.0.1:18931";

struct Started {
    base: String,
    log: String,
}

/// Starts `serve --demo`, waits for `listening on`, checks readiness, then stops it with SIGTERM
/// and returns the base URL it served on and everything it wrote on stderr.
async fn serve_demo_once(dir: &std::path::Path, check: impl AsyncFnOnce(&str)) -> Started {
    let mut child = keygate(dir)
        .args(["serve", "--demo"])
        .env("KEYGATE_BIND", "127.0.0.1:0")
        .env("KEYGATE_ISSUER", ISSUER)
        .env("KEYGATE_DATABASE_URL", "sqlite://demo.db")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let log_reader = tokio::spawn(async move {
        let mut log = String::new();
        err_pipe.read_to_string(&mut log).await.unwrap();
        log
    });
    let base = common::binary::listening_base(&mut child, String::new).await;
    check(&base).await;
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    let log = log_reader.await.unwrap();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    Started { base, log }
}

fn line_after<'a>(log: &'a str, label: &str) -> &'a str {
    log.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{log}"))
        .trim()
}

#[tokio::test]
async fn serve_demo_prints_credentials_and_an_authorization_url_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve_demo_once(dir.path(), async |base: &str| {
        let ready = common::client()
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    })
    .await;
    let log = &first.log;
    assert!(
        log.contains("keygate client create --name"),
        "first-start hint expected:\n{log}"
    );
    assert!(log.contains("keygate admin-token create --user EMAIL"), "{log}");
    assert_eq!(line_after(log, "email:"), "demo@example.com");
    let password = line_after(log, "password:");
    assert!(
        password.ends_with("(shown only now)") && password.len() > 30,
        "{password}"
    );
    let client_id = line_after(log, "client_id:").to_owned();
    assert!(!client_id.is_empty());
    let verifier = line_after(log, "code_verifier:");
    assert!((43..=128).contains(&verifier.len()), "{verifier}");
    let url = log
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{ISSUER}/oauth2/authorize?")))
        .unwrap_or_else(|| panic!("no authorization URL under the issuer in:\n{log}"))
        .to_owned();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains(&format!("client_id={client_id}")), "{url}");
    let challenge = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(
        challenge,
        keygate_core::pkce::challenge_for(verifier),
        "the URL's challenge is the printed verifier's"
    );

    // The second start keeps the account and client, shows no new password and no first-start hint,
    // and the printed URL is accepted by the authorization endpoint (a redirect to the login page).
    let path_and_query = url.strip_prefix(ISSUER).unwrap().to_owned();
    let second = serve_demo_once(dir.path(), async |base: &str| {
        let response = common::client()
            .get(format!("{base}{path_and_query}"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "status {}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("/login"), "{location}");
    })
    .await;
    assert!(!first.base.is_empty() && !second.base.is_empty());
    let log = &second.log;
    assert!(
        !log.contains("keygate client create --name"),
        "clients exist now:\n{log}"
    );
    assert!(
        !log.contains("(shown only now)"),
        "the password is printed only once:\n{log}"
    );
    assert_eq!(line_after(log, "client_id:"), client_id);

    let output = run(keygate(dir.path())
        .args(["user", "list", "--json"])
        .env("KEYGATE_DATABASE_URL", "sqlite://demo.db"))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let users: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let demo_accounts: Vec<_> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == "demo@example.com")
        .collect();
    assert_eq!(demo_accounts.len(), 1, "{users}");
    assert_eq!(demo_accounts[0]["email_verified"], true);
}
