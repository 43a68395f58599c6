//! The layout rules of this crate, checked on its sources: feature modules never import each
//! other, the floor (`http/`) imports nothing else of the crate, `state` imports no feature, and
//! no handler calls a store (they call core services).
//! A loop in the import graph starts with one of these, so this test is where it fails first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The feature modules: each one a folder or a file under `src/`.
const FEATURES: &[&str] = &["admin", "api", "health", "metrics", "oauth", "pages"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/<name>.rs` and every `.rs` file under `src/<name>/`.
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules a source text names after `crate::`, also inside `use crate::{a, b::c}`.
/// Comment lines are skipped (doc links may name anything).
fn crate_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        found.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// Every (file, module) pair where a file of `module` names a module outside `allowed`.
fn violations(module: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for file in files_of(module) {
        let text = std::fs::read_to_string(&file).unwrap();
        for named in crate_modules(&text) {
            if !allowed(&named) {
                let shown = file.strip_prefix(src()).unwrap_or(&file).display().to_string();
                found.push(format!("{shown} imports crate::{named}"));
            }
        }
    }
    found
}

#[test]
fn the_scanner_finds_plain_and_grouped_imports_and_skips_comments() {
    let text = "use crate::api::X;\nuse crate::{pages::Y, http::{a, b}, oauth};\n// crate::admin\n";
    let found: Vec<String> = crate_modules(text).into_iter().collect();
    assert_eq!(found, ["api", "http", "oauth", "pages"]);
}

#[test]
fn feature_modules_never_import_each_other() {
    for feature in FEATURES {
        assert!(!files_of(feature).is_empty(), "no sources for feature {feature}");
        let found = violations(feature, |named| named == *feature || !FEATURES.contains(&named));
        assert!(
            found.is_empty(),
            "features must not import features:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_floor_imports_nothing_else_of_the_crate() {
    let found = violations("http", |named| named == "http");
    assert!(found.is_empty(), "http/ is the floor:\n{}", found.join("\n"));
}

#[test]
fn the_state_imports_no_feature() {
    let found = violations("state", |named| !FEATURES.contains(&named));
    assert!(
        found.is_empty(),
        "state must not import features:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_handler_calls_a_store_directly() {
    let mut found = Vec::new();
    for feature in FEATURES {
        for file in files_of(feature) {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
            for line in code {
                let trimmed = line.trim();
                if trimmed.contains("stores.") || trimmed.starts_with(".stores") || trimmed.ends_with(".stores") {
                    let shown = file.strip_prefix(src()).unwrap_or(&file).display().to_string();
                    found.push(format!("{shown}: {trimmed}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "handlers call core services, not stores:\n{}",
        found.join("\n")
    );
}
