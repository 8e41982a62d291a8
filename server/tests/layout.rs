//! The layout of `server/src`, checked: no module imports a module that imports it
//! back, directly or through others (ARCHITECTURE.md, "Layout").
//!
//! A small scanner over the sources rather than a tool (`cargo-modules` and friends
//! need a nightly toolchain or a separate install): every `crate::...` path (in `use`
//! items, brace groups included, and inline in code), every `super::...` path and
//! every path through a child module a file declares (`mod x;` then `x::...`) is an
//! edge from the file's module to the longest module prefix of the path. Comments
//! and `#[cfg(test)]` modules are skipped (a unit test may reach any module).
//! `lib.rs` (which declares every module) and `main.rs` (another crate) are not
//! nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`commands::strings`) of every source file under `src`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if parts.last().map(String::as_str) == Some("mod") {
                parts.pop();
            }
            let name = parts.join("::");
            if name == "lib" || name == "main" {
                continue;
            }
            out.insert(name, path);
        }
    }
    out
}

/// The code of a file without comment lines and without its `#[cfg(test)]` items.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(test)]") {
            // Skip the next item: through its matching closing brace (or `;`).
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                for ch in l.chars() {
                    match ch {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Paths that follow `prefix::` in `code` (`crate::` or `super::` or `child::`),
/// each as its segments; brace groups are expanded (`a::{b, c::d}`).
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let needle = format!("{prefix}::");
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(pos) = code[from..].find(&needle) {
        let start = from + pos;
        from = start + needle.len();
        // A whole segment: not `xcrate::`, not `a::crate::`.
        if start > 0 {
            let before = bytes[start - 1] as char;
            if is_ident(before) || before == ':' {
                continue;
            }
        }
        expand(&code[from..], &mut Vec::new(), &mut out);
    }
    out
}

/// Reads one path (or brace group) at the start of `rest`, appending to `prefix`.
fn expand(rest: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        // Split the group at top-level commas.
        let mut depth = 0;
        let mut item_start = 0;
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&inner[item_start..i], &mut prefix.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[item_start..i], &mut prefix.clone(), out);
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
    if end == 0 {
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    prefix.push(rest[..end].to_string());
    match rest[end..].strip_prefix("::") {
        Some(more) => expand(more, prefix, out),
        None => out.push(prefix.clone()),
    }
}

/// The longest prefix of `path` that names a module in `known`.
fn resolve(path: &[String], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| known.contains_key(m))
}

/// Edges `module -> modules it uses`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &known {
        let text = std::fs::read_to_string(path).expect("read source");
        let code = code(&text);
        let segments: Vec<String> = module.split("::").map(str::to_string).collect();
        let mut targets = BTreeSet::new();
        for p in paths_after(&code, "crate") {
            targets.extend(resolve(&p, &known));
        }
        // `super` of `a::b` is `a`; of a top-level module, the crate root.
        let parent = &segments[..segments.len() - 1];
        for p in paths_after(&code, "super") {
            let mut full = parent.to_vec();
            full.extend(p);
            targets.extend(resolve(&full, &known));
        }
        // Child modules this file declares, used by relative paths.
        for line in code.lines() {
            let t = line.trim();
            let decl = t
                .strip_prefix("pub mod ")
                .or_else(|| t.strip_prefix("pub(crate) mod "))
                .or_else(|| t.strip_prefix("mod "));
            let Some(child) = decl.and_then(|d| d.strip_suffix(';')) else {
                continue;
            };
            for p in paths_after(&code, child) {
                let mut full = segments.clone();
                full.push(child.to_string());
                full.extend(p);
                targets.extend(resolve(&full, &known));
            }
        }
        targets.remove(module);
        edges.insert(module.clone(), targets);
    }
    edges
}

/// A cycle through `start`, if there is one (the modules in order).
fn cycle_through(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn server_modules_have_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(
        edges.len() > 20 && edges.values().map(BTreeSet::len).sum::<usize>() > 40,
        "the scanner found too little: {edges:#?}"
    );
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|m| cycle_through(m, &edges))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles in server/src:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_scanner_sees_groups_super_and_children() {
    let code = "use crate::{a::b, c::{d, e::f}};\nfn x() { crate::g::h(); super::i::j(); k::l(); }\nmod k;\n";
    let crate_paths = paths_after(code, "crate");
    let names: Vec<String> = crate_paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(names, ["a::b", "c::d", "c::e::f", "g::h"]);
    assert_eq!(
        paths_after(code, "super"),
        [vec!["i".to_string(), "j".into()]]
    );
    assert_eq!(paths_after(code, "k"), [vec!["l".to_string()]]);
    // Comments and test modules are not code.
    let c = code_of_sample();
    assert!(
        !c.contains("crate::hidden") && c.contains("crate::seen"),
        "{c}"
    );
}

fn code_of_sample() -> String {
    code("use crate::seen;\n// crate::hidden\n#[cfg(test)]\nmod tests {\n    use crate::hidden;\n}\n")
}

#[test]
fn a_cycle_is_found() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.insert("a".into(), ["b".to_string()].into());
    edges.insert("b".into(), ["c".to_string()].into());
    edges.insert("c".into(), ["a".to_string()].into());
    edges.insert("d".into(), ["a".to_string()].into());
    assert_eq!(
        cycle_through("a", &edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(cycle_through("d", &edges), None);
}
