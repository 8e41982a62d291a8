//! The script cache and the scripts running now, shared by every connection.
//!
//! - **Cache**: SHA1 (40 lower-case hex characters) → [`Script`] (body and shebang
//!   flags). Scripts loaded with SCRIPT LOAD stay until SCRIPT FLUSH; scripts that
//!   only EVAL added are kept in least-recently-used order and the oldest is dropped
//!   past [`EVAL_SCRIPTS_MAX`] (Redis 7.4's rule). Each worker thread compiles a
//!   script once into its own interpreter (`crate::scripting`); the cache's
//!   generation, bumped by SCRIPT FLUSH, tells them to drop what they compiled.
//! - **Undeclared keys**: a script that once had to be rerun because it reached a key
//!   outside its declared keys' shards while another client held that shard is
//!   marked ([`Script::undeclared`]): its later runs take every shard up front.
//! - **Busy scripts**: a script (or function) running longer than
//!   `busy-reply-threshold` registers itself here ([`Busy::mark`]); while one
//!   is registered, [`Scripts::busy`] (one relaxed load, read by dispatch's gates)
//!   makes other clients' commands answer BUSY, and SCRIPT KILL / FUNCTION KILL find
//!   it here. A script that ends quickly never touches this shared state.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

/// Most scripts that only EVAL added kept in the cache (Redis 7.4).
pub const EVAL_SCRIPTS_MAX: usize = 500;

/// A script's SHA1, 40 lower-case hex characters.
pub type Sha = [u8; 40];

/// The shebang flags of a script (`#!lua flags=...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang: Redis's backwards-compatible mode (flags come from the commands).
    pub compat: bool,
    /// `no-writes`.
    pub no_writes: bool,
    /// `allow-oom`.
    pub allow_oom: bool,
    /// `allow-stale`.
    pub allow_stale: bool,
    /// `no-cluster`.
    pub no_cluster: bool,
    /// `allow-cross-slot-keys`.
    pub allow_cross_slot: bool,
}

/// A cached script.
#[derive(Debug)]
pub struct Script {
    /// Its SHA1.
    pub sha: Sha,
    /// Its text, shebang line included.
    pub body: Box<[u8]>,
    /// Its shebang flags.
    pub flags: ScriptFlags,
    /// It reached keys it did not declare while another client held their shards:
    /// later runs lock every shard first.
    pub undeclared: AtomicBool,
    /// It ran to the end once (its first run holds every shard: until then, what it
    /// touches is unknown).
    pub ran: AtomicBool,
}

/// The SHA1 of `body` as Redis prints it.
pub fn sha1_hex(body: &[u8]) -> Sha {
    let hex = sha1_smol::Sha1::from(body).digest().to_string();
    let mut out = [0u8; 40];
    out.copy_from_slice(hex.as_bytes());
    out
}

/// A SHA1 argument as the cache looks it up (case-insensitive, as Redis).
pub fn sha_arg(arg: &[u8]) -> Option<Sha> {
    let mut out = [0u8; 40];
    if arg.len() != 40 {
        return None;
    }
    for (o, b) in out.iter_mut().zip(arg) {
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

#[derive(Default)]
struct Cache {
    map: HashMap<Sha, (Arc<Script>, Option<u64>)>,
    /// EVAL-only scripts by last use: tick → SHA.
    lru: BTreeMap<u64, Sha>,
    tick: u64,
    /// Bytes of the cached bodies (INFO used_memory_scripts_eval).
    bytes: usize,
}

/// A script or function running past the busy threshold.
#[derive(Debug)]
pub struct Running {
    /// When it started.
    pub started: Instant,
    /// SCRIPT KILL / FUNCTION KILL asked it to stop.
    pub kill: AtomicBool,
    /// It ran a write command: it can no longer be killed.
    pub wrote: AtomicBool,
    /// An EVAL script (not a function).
    pub eval: bool,
    /// Registered in [`Scripts`] (past the threshold).
    pub registered: AtomicBool,
    /// A function's name and the command that called it (FUNCTION STATS).
    pub function: Option<(String, Vec<Vec<u8>>)>,
}

impl Running {
    /// The state of a script starting now.
    pub fn new(eval: bool) -> Running {
        Running {
            started: Instant::now(),
            kill: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            eval,
            registered: AtomicBool::new(false),
            function: None,
        }
    }

    /// The state of function `name` called by `command`, starting now.
    pub fn function(name: &str, command: &[&[u8]]) -> Running {
        Running {
            function: Some((
                name.to_string(),
                command.iter().map(|a| a.to_vec()).collect(),
            )),
            ..Running::new(false)
        }
    }
}

/// What runs past the busy threshold (FUNCTION STATS).
#[derive(Debug)]
pub enum BusyNow {
    /// Nothing.
    Nothing,
    /// An EVAL script.
    Eval,
    /// A function.
    Function {
        /// Its name.
        name: String,
        /// The command that called it.
        command: Vec<Vec<u8>>,
        /// How long it has run, ms.
        ms: u64,
    },
}

/// What SCRIPT KILL / FUNCTION KILL found.
#[derive(Debug, PartialEq, Eq)]
pub enum Kill {
    /// No script is busy.
    NotBusy,
    /// The busy script already wrote.
    Unkillable,
    /// The busy one is a function (SCRIPT KILL) or a script (FUNCTION KILL).
    WrongKind,
    /// Asked to stop.
    Killed,
}

/// The scripts running past the busy threshold (shared with the running scripts'
/// time-check hooks).
#[derive(Default, Debug)]
pub struct Busy {
    flag: AtomicBool,
    running: Mutex<Vec<Arc<Running>>>,
}

impl Busy {
    /// Registers `run` as busy (it passed the threshold).
    pub fn mark(&self, run: &Arc<Running>) {
        if run.registered.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut r = self.running.lock();
        r.push(Arc::clone(run));
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// The script cache and the busy scripts (in `Shared`).
#[derive(Default)]
pub struct Scripts {
    cache: RwLock<Cache>,
    generation: AtomicU64,
    busy: Arc<Busy>,
    /// Scripts running now, busy or not.
    running: AtomicUsize,
}

/// A script counted in [`Scripts::running`] until this drops.
pub struct RunningNow<'a>(&'a AtomicUsize);

impl Drop for RunningNow<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Scripts {
    /// Counts a script as running until the returned guard drops.
    pub fn start(&self) -> RunningNow<'_> {
        self.running.fetch_add(1, Ordering::Relaxed);
        RunningNow(&self.running)
    }

    /// Whether a script runs now (one relaxed load): dispatch then takes a plain
    /// command's shards before its handler runs, so that a wait behind a script can
    /// end in BUSY (see ARCHITECTURE.md, "Busy scripts").
    #[inline(always)]
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed) > 0
    }

    /// The cached script `sha`.
    pub fn get(&self, sha: &Sha) -> Option<Arc<Script>> {
        self.cache.read().map.get(sha).map(|(s, _)| Arc::clone(s))
    }

    /// Adds (or finds) a script; `eval` if EVAL adds it (least-recently-used, bounded),
    /// not SCRIPT LOAD (kept). Returns it.
    pub fn add(&self, sha: Sha, body: &[u8], flags: ScriptFlags, eval: bool) -> Arc<Script> {
        let mut c = self.cache.write();
        c.tick += 1;
        let tick = c.tick;
        if let Some((script, slot)) = c.map.get_mut(&sha) {
            let script = Arc::clone(script);
            let old = *slot;
            match (old, eval) {
                (Some(t), true) => {
                    *slot = Some(tick);
                    c.lru.remove(&t);
                    c.lru.insert(tick, sha);
                }
                (Some(t), false) => {
                    *slot = None;
                    c.lru.remove(&t);
                }
                (None, _) => {}
            }
            return script;
        }
        let script = Arc::new(Script {
            sha,
            body: body.into(),
            flags,
            undeclared: AtomicBool::new(false),
            ran: AtomicBool::new(false),
        });
        c.bytes += body.len() + 40;
        let slot = eval.then_some(tick);
        c.map.insert(sha, (Arc::clone(&script), slot));
        if eval {
            c.lru.insert(tick, sha);
            while c.lru.len() > EVAL_SCRIPTS_MAX {
                if let Some((_, old)) = c.lru.pop_first() {
                    if let Some((s, _)) = c.map.remove(&old) {
                        c.bytes -= s.body.len() + 40;
                    }
                }
            }
        }
        script
    }

    /// Whether `sha` is cached.
    pub fn exists(&self, sha: &Sha) -> bool {
        self.cache.read().map.contains_key(sha)
    }

    /// SCRIPT FLUSH: empties the cache; interpreters drop what they compiled.
    pub fn flush(&self) {
        let mut c = self.cache.write();
        *c = Cache::default();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The cache's generation (bumped by each flush).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Cached scripts and the bytes of their bodies (INFO).
    pub fn stats(&self) -> (usize, usize) {
        let c = self.cache.read();
        (c.map.len(), c.bytes)
    }

    /// Whether a script runs past the busy threshold now (one relaxed load).
    #[inline(always)]
    pub fn busy(&self) -> bool {
        self.busy.flag.load(Ordering::Relaxed)
    }

    /// The busy registry, for a running script's time-check hook.
    pub fn busy_registry(&self) -> Arc<Busy> {
        Arc::clone(&self.busy)
    }

    /// Whether the busy script is an EVAL script (else a function), for BUSY's text.
    pub fn busy_is_eval(&self) -> bool {
        self.busy.running.lock().first().is_none_or(|r| r.eval)
    }

    /// The BUSY error for the kind of script running long (an EVAL script or a
    /// function): the gates' reply, and that of a command that waited for a shard a
    /// busy script holds.
    #[cold]
    pub fn busy_error(&self) -> crate::error::CmdError {
        crate::error::CmdError::msg(if self.busy_is_eval() {
            crate::error::BUSY_EVAL
        } else {
            crate::error::BUSY_FUNCTION
        })
    }

    /// What runs past the busy threshold now (FUNCTION STATS).
    pub fn busy_now(&self) -> BusyNow {
        let r = self.busy.running.lock();
        match r.first() {
            None => BusyNow::Nothing,
            Some(run) => match &run.function {
                None => BusyNow::Eval,
                Some((name, command)) => BusyNow::Function {
                    name: name.clone(),
                    command: command.clone(),
                    ms: run.started.elapsed().as_millis() as u64,
                },
            },
        }
    }

    /// `run` ended: unregisters it if it was busy.
    pub fn finished(&self, run: &Arc<Running>) {
        if !run.registered.load(Ordering::Relaxed) {
            return;
        }
        let mut r = self.busy.running.lock();
        r.retain(|x| !Arc::ptr_eq(x, run));
        self.busy.flag.store(!r.is_empty(), Ordering::Relaxed);
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: stops the busy scripts of that kind that
    /// have not written.
    pub fn kill(&self, eval: bool) -> Kill {
        let r = self.busy.running.lock();
        if r.is_empty() {
            return Kill::NotBusy;
        }
        let mut outcome = Kill::WrongKind;
        for run in r.iter() {
            if run.wrote.load(Ordering::Relaxed) {
                if outcome != Kill::Killed {
                    outcome = Kill::Unkillable;
                }
                continue;
            }
            if run.eval != eval {
                continue;
            }
            run.kill.store(true, Ordering::Relaxed);
            outcome = Kill::Killed;
        }
        outcome
    }
}

/// Parses a script's shebang line (`#!<engine> [flags=a,b]`): its flags and the
/// length of the line (without its newline, which the script keeps so line numbers
/// stay right). A script without one is in compatibility mode. `Err` is Redis's text.
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((
            ScriptFlags {
                compat: true,
                ..ScriptFlags::default()
            },
            0,
        ));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".to_string());
    };
    let line = String::from_utf8_lossy(&body[2..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {part}"));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot = true,
                other => return Err(format!("Unexpected flag in script shebang: {other}")),
            }
        }
    }
    Ok((flags, end))
}
