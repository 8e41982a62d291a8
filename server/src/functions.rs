//! The function libraries (Redis 7.0's `functions.c`), shared by every connection.
//!
//! - **Libraries**: name → [`Library`] (its code, `#!lua name=<lib>` line included,
//!   and the functions its code registered). **Functions**: name, looked up without
//!   regard to case as Redis's function dictionary does → its library and index.
//!   Both change only under the registry's write lock, as one unit (a library and its
//!   functions appear and disappear together).
//! - **Engines**: each worker thread runs library code in its own interpreter
//!   (`crate::scripting`): FUNCTION LOAD runs the code once on the loading thread to
//!   learn the functions it registers; another thread runs it again the first time it
//!   calls one of them. A library's `id` is unique for the process's life: a thread's
//!   compiled functions are kept by id, and the registry's generation (bumped by every
//!   change) tells threads to drop the ids no longer registered.
//! - Persistence and FUNCTION DUMP/RESTORE carry the libraries' code only, as Redis
//!   does; loading it creates the libraries again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::scripts::ScriptFlags;

/// Redis's `LOAD_TIMEOUT_MS`: longest a library's code may run when loaded.
pub const LOAD_TIMEOUT_MS: u64 = 500;

/// One function a library registered.
#[derive(Debug)]
pub struct FunctionInfo {
    /// Its name (letters, digits, `_`).
    pub name: String,
    /// `description`, if given.
    pub desc: Option<Vec<u8>>,
    /// Its flags (never in compatibility mode).
    pub flags: ScriptFlags,
    /// It reached keys it did not declare while another client held their shards:
    /// later runs lock every shard first (as [`crate::scripts::Script::undeclared`]).
    pub undeclared: AtomicBool,
    /// It ran to the end once.
    pub ran: AtomicBool,
}

/// A library.
#[derive(Debug)]
pub struct Library {
    /// Unique for the process's life (threads key their compiled functions by it).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its code as loaded, `#!lua` line included (FUNCTION LIST WITHCODE, DUMP, RDB).
    pub code: Box<[u8]>,
    /// Where the Lua code starts in `code` (at the shebang's newline, which is kept so
    /// line numbers stay right).
    pub body_at: usize,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// A library's `#!<engine> name=<name>` line, parsed (Redis's
/// `functionExtractLibMetaData`).
#[derive(Debug, PartialEq, Eq)]
pub struct Meta {
    /// The engine named.
    pub engine: String,
    /// The library's name.
    pub name: String,
    /// Where the code after the line starts (the newline).
    pub body_at: usize,
}

/// Parses a library's first line. `Err` is Redis's text (without `ERR `).
pub fn parse_meta(code: &[u8]) -> Result<Meta, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(first) = parts.next() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first[2..].to_string();
    let mut name = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok(Meta {
        engine,
        name,
        body_at: end,
    })
}

/// Redis's `functionsVerifyName`: letters, digits and `_`, at least one.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The error for a name [`valid_name`] refuses (Redis 7.0 says "Library" for
/// function names too).
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

#[derive(Default)]
struct Registry {
    libraries: BTreeMap<String, Arc<Library>>,
    /// Lower-cased function name → (library name, index in its functions).
    functions: HashMap<String, (Arc<Library>, usize)>,
}

impl Registry {
    fn link(&mut self, lib: Arc<Library>) {
        for (i, f) in lib.functions.iter().enumerate() {
            self.functions
                .insert(f.name.to_ascii_lowercase(), (Arc::clone(&lib), i));
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    fn unlink(&mut self, name: &str) -> Option<Arc<Library>> {
        let lib = self.libraries.remove(name)?;
        for f in &lib.functions {
            self.functions.remove(&f.name.to_ascii_lowercase());
        }
        Some(lib)
    }

    /// The first function of `lib` whose name another library has.
    fn collision<'l>(&self, lib: &'l Library) -> Option<&'l str> {
        lib.functions
            .iter()
            .find(|f| self.functions.contains_key(&f.name.to_ascii_lowercase()))
            .map(|f| f.name.as_str())
    }
}

/// How FUNCTION RESTORE treats the libraries already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Delete them all first.
    Flush,
    /// Add the new ones; a library name already there fails the whole restore.
    Append,
    /// Add the new ones, replacing libraries of the same name.
    Replace,
}

/// The function libraries (in `Shared`, and given to persistence).
#[derive(Default)]
pub struct Functions {
    registry: RwLock<Registry>,
    generation: AtomicU64,
    next_id: AtomicU64,
}

impl Functions {
    /// A fresh library id.
    pub fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The registry's generation (bumped by every change).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The function `name` (any case): its library and index there.
    pub fn get(&self, name: &[u8]) -> Option<(Arc<Library>, usize)> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.registry
            .read()
            .functions
            .get(&name)
            .map(|(l, i)| (Arc::clone(l), *i))
    }

    /// Whether library `name` exists.
    pub fn has_library(&self, name: &str) -> bool {
        self.registry.read().libraries.contains_key(name)
    }

    /// The ids of the libraries registered now.
    pub fn live_ids(&self) -> HashSet<u64> {
        self.registry
            .read()
            .libraries
            .values()
            .map(|l| l.id)
            .collect()
    }

    /// Adds `lib` (FUNCTION LOAD), replacing the library of the same name if
    /// `replace`. `Err` is Redis's text.
    pub fn install(&self, lib: Library, replace: bool) -> Result<(), String> {
        let mut r = self.registry.write();
        let old = r.libraries.contains_key(&lib.name);
        if old && !replace {
            return Err(format!("Library '{}' already exists", lib.name));
        }
        let old = r.unlink(&lib.name);
        if let Some(f) = r.collision(&lib) {
            let e = format!("Function {f} already exists");
            if let Some(old) = old {
                r.link(old);
            }
            return Err(e);
        }
        r.link(Arc::new(lib));
        drop(r);
        self.changed();
        Ok(())
    }

    /// Adds several libraries at once (FUNCTION RESTORE, an RDB file's): all or
    /// none. `Err` is Redis's text.
    pub fn install_all(&self, libs: Vec<Library>, policy: RestorePolicy) -> Result<(), String> {
        // Within the new set: a library or function twice is an error (Redis builds
        // the set in a fresh context first).
        let mut names = HashSet::new();
        let mut fnames = HashSet::new();
        for lib in &libs {
            if !names.insert(lib.name.clone()) {
                return Err(format!("Library '{}' already exists", lib.name));
            }
            for f in &lib.functions {
                if !fnames.insert(f.name.to_ascii_lowercase()) {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
        }
        let mut r = self.registry.write();
        if policy == RestorePolicy::Flush {
            *r = Registry::default();
        }
        let mut replaced = Vec::new();
        for lib in &libs {
            if r.libraries.contains_key(&lib.name) {
                if policy != RestorePolicy::Replace {
                    for old in replaced {
                        r.link(old);
                    }
                    return Err(format!("Library {} already exists", lib.name));
                }
                if let Some(old) = r.unlink(&lib.name) {
                    replaced.push(old);
                }
            }
        }
        for lib in &libs {
            if let Some(f) = r.collision(lib) {
                let e = format!("Function {f} already exists");
                for old in replaced {
                    r.link(old);
                }
                return Err(e);
            }
        }
        for lib in libs {
            r.link(Arc::new(lib));
        }
        drop(r);
        self.changed();
        Ok(())
    }

    /// FUNCTION DELETE. `false` if there is no such library.
    pub fn delete(&self, name: &[u8]) -> bool {
        let Ok(name) = std::str::from_utf8(name) else {
            return false;
        };
        let gone = self.registry.write().unlink(name).is_some();
        if gone {
            self.changed();
        }
        gone
    }

    /// FUNCTION FLUSH.
    pub fn flush(&self) {
        *self.registry.write() = Registry::default();
        self.changed();
    }

    /// Every library, by name.
    pub fn libraries(&self) -> Vec<Arc<Library>> {
        self.registry.read().libraries.values().cloned().collect()
    }

    /// Every library's code, by name (FUNCTION DUMP, saves).
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.registry
            .read()
            .libraries
            .values()
            .map(|l| l.code.to_vec())
            .collect()
    }

    /// Bytes of the libraries' code, names and descriptions (INFO
    /// `used_memory_functions`).
    pub fn bytes(&self) -> usize {
        let r = self.registry.read();
        r.libraries
            .values()
            .map(|l| {
                std::mem::size_of::<Library>()
                    + l.code.len()
                    + l.name.len()
                    + l.functions
                        .iter()
                        .map(|f| {
                            std::mem::size_of::<FunctionInfo>()
                                + 2 * f.name.len()
                                + f.desc.as_ref().map_or(0, Vec::len)
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// Libraries and functions (FUNCTION STATS, INFO).
    pub fn counts(&self) -> (usize, usize) {
        let r = self.registry.read();
        (r.libraries.len(), r.functions.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        let m = parse_meta(b"#!lua name=mylib\nreturn").unwrap();
        assert_eq!(
            m,
            Meta {
                engine: "lua".into(),
                name: "mylib".into(),
                body_at: 16
            }
        );
        assert_eq!(parse_meta(b"#!LUA   NAME=x\n").unwrap().name, "x");
        assert_eq!(
            parse_meta(b"return 1").unwrap_err(),
            "Missing library metadata"
        );
        assert_eq!(
            parse_meta(b"#!lua name=x").unwrap_err(),
            "Invalid library metadata"
        );
        assert_eq!(
            parse_meta(b"#!\n").unwrap_err(),
            "Library name was not given"
        );
        assert_eq!(
            parse_meta(b"#!lua name=a name=b\n").unwrap_err(),
            "Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(
            parse_meta(b"#!lua name=a b=c\n").unwrap_err(),
            "Invalid metadata value given: b=c"
        );
        assert!(valid_name("a_1Z"));
        assert!(!valid_name(""));
        assert!(!valid_name("a-b"));
    }
}
