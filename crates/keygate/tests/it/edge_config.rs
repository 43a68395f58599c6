//! Operator secrets checked by the real binary: a `secret_key` without entropy stops `serve` and
//! `check-config` with one sentence, and `metrics_token` is accepted from a file and redacted.

use crate::common;

use common::binary::{keygate, run, stderr, stdout};

const ZERO_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

#[tokio::test]
async fn an_all_zero_secret_key_stops_serve_and_check_config_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["serve"][..], &["check-config"][..]] {
        let output = run(keygate(dir.path())
            .args(args)
            .env("KEYGATE_BIND", "127.0.0.1:0")
            .env("KEYGATE_DATABASE_URL", "memory:")
            .env("KEYGATE_SECRET_KEY", ZERO_KEY))
        .await;
        assert!(!output.status.success(), "{args:?} must refuse the key");
        assert!(!stdout(&output).contains("listening on"), "{args:?}");
        let err = stderr(&output);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: one sentence, got {err:?}");
        assert!(lines[0].contains("secret_key is not random"), "{args:?}: {err}");
        assert!(!err.contains(ZERO_KEY));
    }
}

#[tokio::test]
async fn metrics_token_comes_from_a_file_and_is_printed_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let token = "scrape-token-from-a-secret-file";
    std::fs::write(dir.path().join("metrics"), format!("{token}\n")).unwrap();
    let output = run(keygate(dir.path())
        .args(["check-config", "--json"])
        .env("KEYGATE_METRICS_TOKEN_FILE", "metrics"))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["metrics_token"], "<redacted>");
    assert!(!stdout(&output).contains(token));
}
