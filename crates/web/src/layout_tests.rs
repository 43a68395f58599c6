//! The layout rules of this crate, checked on its sources: feature modules never import each
//! other, the floor (`http/`) imports nothing else of the crate, `state` imports no feature, no
//! handler calls a store (they call core services), and the imports between files form no loop.

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

/// Every `.rs` file under `src/` with its module path (`http/html/mod.rs` -> `["http", "html"]`).
fn all_modules() -> Vec<(Vec<String>, PathBuf)> {
    let mut found = Vec::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(src()) else {
                continue;
            };
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            found.push((parts, path));
        }
    }
    found.sort();
    found
}

/// The paths a file of module `module` (not a `mod.rs`) names, made absolute: `crate::a::b` and
/// `super::c`, groups (`{a, b}`) expanded one level.
fn named_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let starts = line.match_indices("crate::").chain(line.match_indices("super::"));
        for (at, _) in starts {
            let before = &line[..at];
            if before.ends_with("::") || before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut rest = &line[at..];
            let mut base: Vec<String> = Vec::new();
            if let Some(r) = rest.strip_prefix("crate::") {
                rest = r;
            } else {
                base = module.to_vec();
                while let Some(r) = rest.strip_prefix("super::") {
                    rest = r;
                    base.pop();
                }
            }
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            base.extend(head.split("::").filter(|s| !s.is_empty()).map(str::to_owned));
            match rest[head.len()..].strip_prefix('{') {
                Some(group) => {
                    let group = group.split('}').next().unwrap_or("");
                    for item in group.split(',').map(str::trim) {
                        let name: String = item.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        if !name.is_empty() {
                            let mut path = base.clone();
                            path.push(name);
                            paths.push(path);
                        }
                    }
                }
                None => paths.push(base),
            }
        }
    }
    paths
}

/// The files and the import edges between them. A `mod.rs` (or `lib.rs`) only declares and
/// re-exports its children, so edges into and out of one are not counted.
fn file_graph() -> (Vec<String>, Vec<BTreeSet<usize>>) {
    let modules = all_modules();
    let is_hub = |file: &Path| file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
    let index = |path: &[String]| -> Option<usize> {
        // The longest prefix of `path` that is a file of its own.
        (0..=path.len())
            .rev()
            .find_map(|n| modules.iter().position(|(m, _)| m.as_slice() == &path[..n]))
    };
    let mut edges = vec![BTreeSet::new(); modules.len()];
    for (from, (module, file)) in modules.iter().enumerate() {
        if is_hub(file) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for path in named_paths(&text, module) {
            if let Some(to) = index(&path)
                && to != from
                && !is_hub(&modules[to].1)
            {
                edges[from].insert(to);
            }
        }
    }
    let names = modules.into_iter().map(|(m, _)| m.join("::")).collect();
    (names, edges)
}

/// A loop in `edges`, as the nodes along it, if there is one.
fn find_loop(edges: &[BTreeSet<usize>]) -> Option<Vec<usize>> {
    fn visit(n: usize, edges: &[BTreeSet<usize>], state: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[n] = 1;
        stack.push(n);
        for &m in &edges[n] {
            if state[m] == 1 {
                let start = stack.iter().position(|&s| s == m).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            if state[m] == 0
                && let Some(found) = visit(m, edges, state, stack)
            {
                return Some(found);
            }
        }
        stack.pop();
        state[n] = 2;
        None
    }
    let mut state = vec![0u8; edges.len()];
    (0..edges.len()).find_map(|n| {
        if state[n] == 0 {
            visit(n, edges, &mut state, &mut Vec::new())
        } else {
            None
        }
    })
}

#[test]
fn the_loop_finder_finds_a_loop_and_only_a_loop() {
    let set = |v: &[usize]| v.iter().copied().collect::<BTreeSet<usize>>();
    assert_eq!(find_loop(&[set(&[1]), set(&[2]), set(&[])]), None);
    assert_eq!(find_loop(&[set(&[1]), set(&[2]), set(&[1])]), Some(vec![1, 2]));
}

#[test]
fn the_file_graph_sees_the_imports_there_are() {
    let (names, edges) = file_graph();
    let edge = |from: &str, to: &str| {
        let from = names.iter().position(|n| n == from).unwrap();
        let to = names.iter().position(|n| n == to).unwrap();
        edges[from].contains(&to)
    };
    assert!(edge("routes", "oauth::token"), "crate:: paths in a group");
    assert!(edge("http::session", "http::proxies"), "super:: paths");
    assert!(edge("oauth::consent", "oauth::authorize"));
    assert!(!edge("http::proxies", "http::session"));
}

#[test]
fn the_import_graph_between_files_has_no_loop() {
    let (names, edges) = file_graph();
    if let Some(found) = find_loop(&edges) {
        let names: Vec<&str> = found.iter().map(|&i| names[i].as_str()).collect();
        panic!("import loop: {}", names.join(" -> "));
    }
}
