//! `contrib/systemd/keygate.service`: `systemd-analyze verify` accepts it (with ExecStart pointed
//! at the binary this build made, since verify checks that the command exists), it keeps the
//! hardening it promises, and `systemd-analyze security` rates it low exposure. Skips with a note
//! when `systemd-analyze` is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALLED: &str = "ExecStart=/usr/local/bin/keygate serve";

fn systemd_analyze() -> Option<PathBuf> {
    let found = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipping: systemd-analyze is not installed (Debian package `systemd`)");
    }
    found
}

fn unit_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/systemd/keygate.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The unit in `dir`, its ExecStart on the built binary.
fn installable(dir: &Path, text: &str) -> PathBuf {
    assert!(text.contains(INSTALLED), "the unit starts {INSTALLED:?}");
    let text = text.replace(INSTALLED, &format!("ExecStart={} serve", env!("CARGO_BIN_EXE_keygate")));
    let path = dir.join("keygate.service");
    std::fs::write(&path, text).unwrap();
    path
}

/// What `verify` says about the unit: an error (non-zero exit) or any warning about its lines
/// (an unknown key or a value it cannot parse is only a warning, and the exit code stays 0).
fn verify_complaints(tool: &Path, unit: &Path) -> Vec<String> {
    let output = Command::new(tool)
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut complaints: Vec<String> = text
        .lines()
        .filter(|l| l.contains("keygate.service") || l.contains(&*unit.to_string_lossy()))
        .map(str::to_owned)
        .collect();
    if !output.status.success() {
        complaints.push(format!("exit status {}: {text}", output.status));
    }
    complaints
}

#[test]
fn systemd_verify_accepts_the_unit_and_catches_a_broken_one() {
    let Some(tool) = systemd_analyze() else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = unit_text();
    let unit = installable(dir.path(), &text);
    assert_eq!(verify_complaints(&tool, &unit), Vec::<String>::new());

    // The check is not blind: a misspelt value and a missing binary are both reported.
    let broken = installable(
        dir.path(),
        &text.replace("ProtectSystem=strict", "ProtectSystem=strcit"),
    );
    assert!(
        !verify_complaints(&tool, &broken).is_empty(),
        "a bad value must be reported"
    );
    if !Path::new("/usr/local/bin/keygate").exists() {
        std::fs::write(&broken, &text).unwrap();
        assert!(
            !verify_complaints(&tool, &broken).is_empty(),
            "/usr/local/bin/keygate does not exist here, so verify must refuse the unit as shipped"
        );
    }
}

#[test]
fn the_unit_keeps_its_hardening() {
    let text = unit_text();
    let settings: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for required in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "StateDirectory=keygate",
        "DynamicUser=yes",
        "EnvironmentFile=-/etc/keygate/keygate.env",
        INSTALLED,
    ] {
        assert!(settings.contains(&required), "missing {required}");
    }
}

#[test]
fn systemd_rates_the_unit_low_exposure() {
    let Some(tool) = systemd_analyze() else { return };
    let dir = tempfile::tempdir().unwrap();
    let unit = installable(dir.path(), &unit_text());
    let output = Command::new(&tool)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some(line) = text.lines().find(|l| l.contains("Overall exposure level")) else {
        eprintln!(
            "skipping: this systemd-analyze cannot rate a unit offline: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    };
    let score: f64 = line
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line:?}"));
    eprintln!("{}", line.trim());
    assert!(
        score <= 2.0,
        "exposure {score} (0 = locked down, 10 = unprotected): {line}"
    );
}
