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
//!
//! And errors in one place: no string literal outside `error.rs` starts with a Redis
//! error code (`"ERR ..."`, `b"-ERR ..."`, `"WRONGTYPE ..."`, ...); every error text
//! lives in `error.rs` (ARCHITECTURE.md, invariant 10).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src`, with its path relative to `src`.
fn rust_files(src: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                let rel = path.strip_prefix(src).expect("under src").to_path_buf();
                out.push((path, rel));
            }
        }
    }
    out
}

/// Module path (`commands::strings`) of every source file under `src`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for (path, rel) in rust_files(src) {
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
    out
}

/// The code of a file without comment lines and without its `#[cfg(test)]` items
/// (each left as an empty line, so line numbers stay those of the file).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            out.push('\n');
            continue;
        }
        if t.starts_with("#[cfg(test)]") {
            out.push('\n');
            // Skip the next item: through its matching closing brace (or `;`).
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                out.push('\n');
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

// ---------------------------------------------------------------------------------------
// Errors in one place
// ---------------------------------------------------------------------------------------

/// Files (under `server/src`) allowed to write error texts inline: none. (Kept as a
/// list so that the test's own check of it stays exercised; never add to it.)
const ERROR_TEXTS_NOT_YET_IN_ERROR_RS: &[&str] = &[];

/// The codes Redis error replies start with (`-` and the code, then a space or the
/// end of the text).
const ERROR_CODES: &[&str] = &[
    "ERR",
    "WRONGTYPE",
    "NOAUTH",
    "NOPROTO",
    "LOADING",
    "MISCONF",
    "READONLY",
    "EXECABORT",
    "BUSY",
    "BUSYKEY",
    "BUSYGROUP",
    "NOTBUSY",
    "UNKILLABLE",
    "NOSCRIPT",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "DENIED",
    "NOREPLICAS",
    "MASTERDOWN",
    "UNBLOCKED",
    "CROSSSLOT",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "MOVED",
    "ASK",
    "INVALIDOBJ",
];

/// Every string literal in `code` (plain, byte, raw, `b`/`r` prefixed): its line
/// (1-based) and its text as written between the quotes. Comments (`//`, nested
/// `/* */`) are skipped, and so are char literals and lifetimes, so a `'"'` does not
/// open a string.
fn string_literals(code: &str) -> Vec<(usize, &str)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let ident = |at: usize| at > 0 && is_ident(b[at - 1] as char);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(b[i] == b'\n');
                        i += 1;
                    }
                }
            }
            b'\'' => {
                // A char literal ('x', '\n', '\'', '\u{..}'), else a lifetime.
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|p| i + 2 + p)
                } else {
                    let ch = code[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
                };
                i = end.map_or(i + 1, |e| e + 1);
            }
            b'r' | b'b' if !ident(i) && raw_string_at(&b[i..]).is_some() => {
                let (hashes, open) = raw_string_at(&b[i..]).unwrap_or_default();
                let start = i + open;
                let mut close = vec![b'"'];
                close.extend(std::iter::repeat_n(b'#', hashes));
                let len = b[start..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .unwrap_or(b.len() - start);
                out.push((line, &code[start..start + len]));
                line += b[start..start + len]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count();
                i = start + len + close.len();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                out.push((line, &code[start..end]));
                line += b[start..end].iter().filter(|&&c| c == b'\n').count();
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// At a raw string's start (`r"`, `r#"`, `br"`, ...): its number of `#`s and the
/// length of its opening.
fn raw_string_at(b: &[u8]) -> Option<(usize, usize)> {
    let rest = b.strip_prefix(b"b").unwrap_or(b);
    let rest = rest.strip_prefix(b"r")?;
    let hashes = rest.iter().take_while(|&&c| c == b'#').count();
    (rest.get(hashes) == Some(&b'"')).then_some((hashes, b.len() - rest.len() + hashes + 1))
}

/// Whether a literal's text (as written) starts like a Redis error reply: an optional
/// `-`, an error code, then a space, a line break, an escape (`\r\n`) or the end.
fn is_error_text(lit: &str) -> bool {
    let mut t = lit;
    // A line continuation right after the quote.
    if let Some(rest) = t.strip_prefix("\\\n") {
        t = rest.trim_start();
    }
    let t = t.strip_prefix('-').unwrap_or(t);
    ERROR_CODES.iter().any(|code| {
        t.strip_prefix(code)
            .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\n', '\\']))
    })
}

/// `file:line: text` for each error text written outside `error.rs`, by file (path
/// relative to `src`).
fn inline_error_texts(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, rel) in rust_files(src) {
        let rel = rel
            .iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if rel == "error.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (line, lit) in string_literals(&code(&text)) {
            if is_error_text(lit) {
                let shown: String = lit.chars().take(60).collect();
                found
                    .entry(rel.clone())
                    .or_default()
                    .push(format!("server/src/{rel}:{line}: \"{shown}\""));
            }
        }
    }
    found
}

#[test]
fn error_texts_live_in_error_rs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = inline_error_texts(&src);
    let mut stale = Vec::new();
    for allowed in ERROR_TEXTS_NOT_YET_IN_ERROR_RS {
        if found.remove(*allowed).is_none() {
            stale.push(*allowed);
        }
    }
    let inline: Vec<String> = found.into_values().flatten().collect();
    assert!(
        inline.is_empty(),
        "error texts written outside server/src/error.rs (move each there: a CmdError \
         variant, a constructor, or a constant used as CmdError::msg(error::NAME)):\n{}",
        inline.join("\n")
    );
    assert!(
        stale.is_empty(),
        "no inline error text left in {stale:?}: remove them from \
         ERROR_TEXTS_NOT_YET_IN_ERROR_RS"
    );
}

#[test]
fn the_error_text_scanner_sees_literals_not_comments_or_tests() {
    let sample = r##"fn a<'x>(s: &'x str) -> char {
    let q = '"'; let e = '\''; // "ERR in a comment"
    /* "ERR in a block
       comment" */
    f("ERR one");
    g(b"-ERR two\r\n", "ERRORS are fine", "ERR", r#"WRONGTYPE three"#);
    h("not an error \" ERR quoted", "OOM
    command not allowed");
    i("\
       NOAUTH continued");
    'q'
}
/// "ERR in a doc comment"
#[cfg(test)]
mod tests {
    fn t() { f("ERR in a test"); }
}
"##;
    let code = code(sample);
    let hits: Vec<(usize, &str)> = string_literals(&code)
        .into_iter()
        .filter(|(_, lit)| is_error_text(lit))
        .collect();
    let lines: Vec<usize> = hits.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [5, 6, 6, 6, 7, 9], "{hits:?}");
    assert_eq!(hits[1].1, "-ERR two\\r\\n");
    assert_eq!(hits[3].1, "WRONGTYPE three");
}
