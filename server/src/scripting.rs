//! The Lua engine: one Lua 5.1 interpreter per worker thread (`mlua`, vendored Lua
//! 5.1, as Redis embeds), sandboxed as Redis 7.0 sandboxes its own, running EVAL
//! scripts through the ordinary command handlers.
//!
//! - **Interpreter**: created on a thread's first script, kept for the thread's life
//!   ([`ENGINE`]); scripts are compiled once per thread and kept by SHA1 until SCRIPT
//!   FLUSH (the cache's generation moves).
//! - **Sandbox** (Redis 7.0's `scriptingInit`): only the allowed globals (no `os`,
//!   `io`, `print`, `loadfile`, `dofile`, `require`, `debug`); every table reachable
//!   from the globals is read-only (a proxy whose writes raise `Attempt to modify a
//!   readonly table`, as Redis's patched Lua does; `rawset`, `setmetatable` and
//!   `setfenv` are guarded too); reading a missing global raises `Script attempted to
//!   access nonexistent global variable`; `loadstring`/`load` refuse bytecode and
//!   give loaded code the sandbox's globals; `math.random` is Redis's `rand48`.
//! - **redis.call**: the arguments become a command run by dispatch's
//!   `script_call` under the script's locks (see ARCHITECTURE.md, "Scripts and
//!   locks"); its reply, written to the client's buffer in the script's protocol
//!   (`redis.setresp`), is cut off again and converted to Lua values by Redis's
//!   table (`conversion` below), then converted back to RESP when the script
//!   returns.
//! - **Per run**: `redis.call`'s Rust callback and the count hook are created once
//!   per interpreter; a run publishes its `Ctx`, call state and `Running` in
//!   thread-locals ([`CURRENT`], [`HOOK_RUN`]) only while its Lua call runs.
//! - **Time**: an instruction-count hook (every 100,000 instructions, as Redis)
//!   registers the script as busy once it passes `busy-reply-threshold` and stops it
//!   when SCRIPT KILL asks; Lua's `pcall`, `xpcall` and `coroutine.resume` re-raise
//!   once it is killed, so a script cannot swallow the kill.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mlua::{ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use shoal_protocol::{OwnedArgs, Proto, ReplyBuf};

use crate::access::Held;
use crate::command::{CallError, Ctx, ScriptCall};
use crate::error::{CmdError, CmdResult};
use crate::functions::{FunctionInfo, Functions, Library, LOAD_TIMEOUT_MS};
use crate::handoff::Midway;
use crate::scripts::{Busy, Running, Script, ScriptFlags, Sha};

/// Redis's version as scripts see it (`redis.REDIS_VERSION`).
const REDIS_VERSION: &str = "7.0.15";
/// `redis.REDIS_VERSION_NUM`.
const REDIS_VERSION_NUM: i64 = 0x0007_000f;
/// Instructions between two time checks (Redis's count hook).
const HOOK_EVERY: u32 = 100_000;
/// How long a script (or a library's code) runs on its worker before it hands the
/// worker's queue to another thread (see [`run_eval`]).
pub const HAND_OFF_AFTER: Duration = Duration::from_millis(1);
/// Deepest reply a script may return (Redis stops at its Lua stack limit).
const MAX_DEPTH: usize = 1000;

thread_local! {
    /// This thread's interpreter.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The hand-off of the script running on this thread (see [`run_eval`]).
    static MIDWAY: RefCell<Midway> = RefCell::new(Midway::new());
    /// Redis's `rand48` state for `math.random` (per interpreter, as Redis has one).
    static RAND48: std::cell::Cell<u64> = const { std::cell::Cell::new(0x1234_ABCD_330E) };
    /// The run `redis.call` serves: a `*mut Current` set by [`Engine::execute`] for
    /// the duration of the Lua call ([`CurrentGuard`]), null otherwise.
    static CURRENT: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
    /// The run the time hook checks (set with [`CURRENT`]), `None` between runs.
    static HOOK_RUN: RefCell<Option<HookRun>> = const { RefCell::new(None) };
    /// `redis.call`'s argument buffers, reused from call to call.
    static CALL_ARGS: Cell<OwnedArgs> = Cell::new(OwnedArgs::default());
}

/// What `redis.call`'s callback (registered once per interpreter) reaches of the
/// running script: set by [`Engine::execute`] through [`CURRENT`].
struct Current<'a, 'b> {
    ctx: &'a mut Ctx<'b>,
    state: &'a mut CallState,
    run: &'a Running,
}

/// Publishes a [`Current`] in [`CURRENT`] and clears it when dropped (also on a
/// panic), so that no pointer to it outlives it.
struct CurrentGuard;

impl CurrentGuard {
    fn set(current: &mut Current<'_, '_>) -> CurrentGuard {
        CURRENT.with(|c| c.set(current as *mut Current<'_, '_> as *mut ()));
        CurrentGuard
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(std::ptr::null_mut()));
    }
}

/// What the time hook (installed once per interpreter) checks of the running
/// script.
struct HookRun {
    run: Arc<Running>,
    /// `busy-reply-threshold` when the run started, ms (0: never busy).
    threshold: u64,
    busy: Arc<Busy>,
}

/// Sets [`HOOK_RUN`] and clears it when dropped.
struct HookGuard;

impl HookGuard {
    fn set(run: HookRun) -> HookGuard {
        HOOK_RUN.with(|h| *h.borrow_mut() = Some(run));
        HookGuard
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        HOOK_RUN.with(|h| *h.borrow_mut() = None);
    }
}

/// Lua strings the engine uses on every run, created once.
struct Names {
    call: mlua::String,
    resp: mlua::String,
    killed: mlua::String,
    keys: mlua::String,
    argv: mlua::String,
}

/// The sandbox set up once per interpreter; written in Lua because it is made of
/// Lua tables and closures. It receives the raw globals, the hidden table behind
/// the sandbox's globals, the slot through which the running script's `redis.call`
/// is reached, and the Rust helpers.
const SANDBOX: &str = r#"
local G, hidden, slot, sha1, log, lrand, srand, rcall, unwrap = ...
local type, error, pairs, ipairs, rawget, rawset, setmetatable, getmetatable, tostring,
      tonumber, select, pcall, xpcall, getfenv, setfenv, loadstring, concat, byte, sub,
      find, gsub, floor, fmod, resume, lower =
      type, error, pairs, ipairs, rawget, rawset, setmetatable, getmetatable, tostring,
      tonumber, select, pcall, xpcall, getfenv, setfenv, loadstring, table.concat,
      string.byte, string.sub, string.find, string.gsub, math.floor, math.fmod,
      coroutine.resume, string.lower
local RO = 'Attempt to modify a readonly table'
local inner_of = setmetatable({}, {__mode = 'k'})
local function ro() error(RO, 2) end
local frozen = {}
local function seal(inner)
  local proxy = {}
  setmetatable(proxy, {__index = inner, __newindex = ro, __metatable = frozen})
  inner_of[proxy] = inner
  return proxy
end
frozen = seal({})
local function protect(t, seen)
  if inner_of[t] then return t end
  if seen[t] then return seen[t] end
  local inner = {}
  local proxy = seal(inner)
  seen[t] = proxy
  for k, v in pairs(t) do
    if type(v) == 'table' then v = protect(v, seen) end
    rawset(inner, k, v)
  end
  return proxy
end
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- A kill raised by the time hook must not be swallowed.
local function fix(ok, ...)
  if ok then return ok, ... end
  if slot.killed then error((...), 0) end
  local e = (...)
  if type(e) == 'userdata' then e = unwrap(e, false) end
  if type(e) == 'table' then
    local m = rawget(e, 'err')
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end
local function refix(ok, ...)
  if ok then return ok, ... end
  if slot.killed then error((...), 0) end
  local e = (...)
  if type(e) == 'userdata' then e = unwrap(e, true) end
  return false, e
end

local function err_table(text) return {err = text} end
local function raise(text) error({err = text}, 0) end

local ENV
local function guard_load(s, name)
  if type(s) == 'string' and byte(s, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = loadstring(s, name)
  if f then setfenv(f, ENV) end
  return f, e
end

local redis = {}
-- A C function: a tail call to it keeps the caller's frame (for the error's line).
redis.call = rcall
redis.pcall = function(...)
  local c = slot.call
  if not c then raise('ERR redis.call/pcall can only be called inside a script invocation') end
  local r = c(...)
  return r
end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then raise('ERR wrong number of arguments') end
  local s = ...
  if type(s) == 'number' then s = tostring(s) end
  if type(s) ~= 'string' then s = '' end
  return sha1(s)
end
local function pushed_error(s)
  -- Redis's luaPushErrorBuff: "-CODE msg" keeps its code, anything else gets ERR.
  local code, msg
  if sub(s, 1, 1) == '-' then
    local sp = find(s, ' ', 1, true)
    if sp then code, msg = sub(s, 2, sp - 1), sub(s, sp + 1)
    else code, msg = 'ERR', sub(s, 2) end
  else
    code, msg = 'ERR', s
  end
  msg = gsub(gsub(msg, '^[\r\n]+', ''), '[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end
redis.error_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return err_table('ERR wrong number or type of arguments')
  end
  if sub(s, 1, 1) ~= '-' then s = '-' .. s end
  return pushed_error(s)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return err_table('ERR wrong number or type of arguments')
  end
  return {ok = s}
end
redis.log = function(...)
  local n = select('#', ...)
  if n < 2 then raise('ERR redis.log() requires two arguments or more.') end
  local level = tonumber((...))
  if not level then raise('ERR First argument must be a number (log level).') end
  level = level - fmod(level, 1)
  if level < 0 or level > 3 then raise('ERR Invalid debug level.') end
  local parts = {}
  for j = 2, n do
    local v = select(j, ...)
    if type(v) == 'string' or type(v) == 'number' then parts[#parts + 1] = tostring(v) end
  end
  log(level, concat(parts, ' '))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = function(...)
  if not slot.call then raise('ERR redis.setresp can only be called inside a script invocation') end
  if select('#', ...) ~= 1 then raise('ERR redis.setresp() requires one argument.') end
  local r = tonumber((...)) or 0
  r = r - fmod(r, 1)
  if r ~= 2 and r ~= 3 then raise('ERR RESP version must be 2 or 3.') end
  slot.resp = r
end
redis.set_repl = function(...)
  if not slot.call then raise('ERR redis.set_repl can only be called inside a script invocation') end
  if select('#', ...) ~= 1 then raise('ERR redis.set_repl() requires two arguments.') end
  local f = tonumber((...)) or 0
  if f < 0 or f > 3 or fmod(f, 1) ~= 0 then
    raise('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REDIS_VERSION = slot.version
redis.REDIS_VERSION_NUM = slot.version_num

local math2 = copy(G.math)
local function checkint(v, n)
  local x = tonumber(v)
  if not x then
    error("bad argument #" .. n .. " to 'random' (number expected, got " ..
      (v == nil and 'no value' or type(v)) .. ")", 3)
  end
  return x - fmod(x, 1)
end
math2.random = function(...)
  local n = select('#', ...)
  local r = (lrand() % 2147483647) / 2147483647
  if n == 0 then return r end
  local a, b = ...
  if n == 1 then
    local u = checkint(a, 1)
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * u) + 1
  elseif n == 2 then
    local l, u = checkint(a, 1), checkint(b, 2)
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end
math2.randomseed = function(s)
  local x = tonumber(s)
  if not x then error("bad argument #1 to 'randomseed' (number expected, got " ..
    (s == nil and 'no value' or type(s)) .. ")", 2) end
  srand(x - fmod(x, 1))
end
local co2 = copy(G.coroutine)
co2.resume = function(co, ...) return refix(resume(co, ...)) end

local env = {}
for _, name in ipairs({'tostring', 'next', 'assert', 'tonumber', 'rawequal',
    'collectgarbage', 'getmetatable', 'type', 'select', 'unpack', 'gcinfo', 'pairs',
    'rawget', 'ipairs', '_VERSION', 'error', 'newproxy'}) do
  env[name] = G[name]
end
for name, lib in pairs(slot.libs) do env[name] = lib end
env.string = G.string
env.table = G.table
env.math = math2
env.coroutine = co2
env.redis = redis
env.rawset = function(t, k, v)
  if inner_of[t] then error(RO, 0) end
  return rawset(t, k, v)
end
env.setmetatable = function(t, m)
  if inner_of[t] then error(RO, 0) end
  return setmetatable(t, m)
end
env.pcall = function(f, ...) return fix(pcall(f, ...)) end
env.xpcall = function(f, h)
  return refix(xpcall(f, function(e)
    if type(e) == 'userdata' then e = unwrap(e, true) end
    return h(e)
  end))
end
env.loadstring = guard_load
env.load = function(fn, name)
  if type(fn) == 'string' then return guard_load(fn, name) end
  local parts = {}
  while true do
    local piece = fn()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = piece
  end
  return guard_load(concat(parts), name or '=(load)')
end
env.getfenv = function(f)
  if f == nil then f = 1 end
  if type(f) == 'number' and f > 0 then f = f + 1 end
  local e = getfenv(f)
  if e == G then return ENV end
  return e
end
env.setfenv = function(f, t)
  if f == 0 or inner_of[f] then error(RO, 0) end
  if type(f) == 'number' and f > 0 then f = f + 1 end
  return setfenv(f, t)
end

-- The globals: a read-only proxy over `hidden`; a missing name is an error.
local seen = {}
for k, v in pairs(env) do
  if type(v) == 'table' then v = protect(v, seen) end
  rawset(hidden, k, v)
end
setmetatable(hidden, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 0)
end})
ENV = seal(hidden)
inner_of[ENV] = hidden
rawset(hidden, '_G', ENV)
getmetatable('').__metatable = frozen

-- Functions. A library's code (FUNCTION LOAD) runs with only the library API as
-- globals; the functions it registers run with the sandbox's globals, KEYS and ARGV
-- excepted (they get them as arguments). A missing name raises with the caller's
-- position, as Redis's C metamethod does.
local function missing(k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end
local function strict(t)
  local proxy = {}
  setmetatable(proxy, {__index = function(_, k)
    local v = rawget(t, k)
    if v == nil then missing(k) end
    return v
  end, __newindex = ro, __metatable = frozen})
  inner_of[proxy] = t
  return proxy
end
local FLAGS = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local function regerr(m) error({err = 'ERR ' .. m}, 0) end
local function is_str(v) local t = type(v) return t == 'string' or t == 'number' end
local function register_function(...)
  local lib = slot.lib
  if not lib then regerr('redis.register_function can only be called on FUNCTION LOAD command') end
  local n = select('#', ...)
  if n < 1 or n > 2 then regerr('wrong number of arguments to redis.register_function') end
  local name, cb, desc, flags
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      regerr('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in pairs(t) do
      if not is_str(k) then regerr('named argument key given to redis.register_function is not a string') end
      local key = lower(tostring(k))
      if key == 'function_name' then
        if not is_str(v) then regerr('function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif key == 'description' then
        if not is_str(v) then regerr('description argument given to redis.register_function must be a string') end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then regerr('callback argument given to redis.register_function must be a function') end
        cb = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then
          regerr('flags argument to redis.register_function must be a table representing function flags')
        end
        flags = {}
        local j = 1
        while true do
          local f = v[j]
          if f == nil then break end
          if not is_str(f) then regerr('unknown flag given') end
          f = lower(tostring(f))
          if not FLAGS[f] then regerr('unknown flag given') end
          flags[f] = true
          j = j + 1
        end
      else
        regerr('unknown argument given to redis.register_function')
      end
    end
    if not name then regerr('redis.register_function must get a function name argument') end
    if not cb then regerr('redis.register_function must get a callback argument') end
  else
    local a, b = ...
    if not is_str(a) then regerr('first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then regerr('second argument to redis.register_function must be a function') end
    name, cb = tostring(a), b
  end
  if name == '' or find(name, '[^%w_]') then
    regerr('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  if lib.seen[name] then regerr('Function already exists in the library') end
  lib.seen[name] = true
  local list = lib.list
  list[#list + 1] = {name = name, callback = cb, description = desc, flags = flags or {}}
end
local libredis = strict({register_function = register_function, log = redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = slot.version, REDIS_VERSION_NUM = slot.version_num})
local FENV = {}
local fmeta = {__newindex = ro, __metatable = frozen}
local function lib_index(_, k)
  if k == 'redis' then return libredis end
  missing(k)
end
local function run_index(_, k)
  if k ~= 'KEYS' and k ~= 'ARGV' then
    local v = rawget(hidden, k)
    if v ~= nil then return v end
  end
  missing(k)
end
fmeta.__index = run_index
setmetatable(FENV, fmeta)
inner_of[FENV] = hidden
local function lib_mode(on)
  if on then fmeta.__index = lib_index else fmeta.__index = run_index end
end
local function invoke(f, keys, args, handler)
  return xpcall(function() return f(keys, args) end, handler)
end
return ENV, FENV, lib_mode, invoke
"#;

/// One thread's interpreter.
struct Engine {
    lua: Lua,
    /// The sandbox's globals (user code's environment).
    env: Table,
    /// The table behind them (KEYS and ARGV are set here).
    hidden: Table,
    /// Where the running script's `redis.call` is found (`slot.call`), its
    /// protocol (`slot.resp`) and whether it was killed (`slot.killed`).
    slot: Table,
    /// Lua's own `xpcall`.
    xpcall: Function,
    /// `redis.call`'s Rust side (`slot.call` during a run), reaching the run
    /// through [`CURRENT`].
    call: Function,
    /// Strings used on every run.
    names: Names,
    /// The error handler scripts run under (adds where the error happened).
    handler: Function,
    /// Compiled scripts by SHA1.
    compiled: HashMap<Sha, Function>,
    /// The cache generation `compiled` belongs to.
    generation: u64,
    /// The globals of library code and functions (switched by `lib_mode`).
    fenv: Table,
    /// `lib_mode(true)`: library code's globals (FUNCTION LOAD); `false`: functions'.
    lib_mode: Function,
    /// Calls a function with its keys and arguments under the error handler.
    invoke: Function,
    /// Lua's own `pcall`.
    pcall: Function,
    /// Compiled functions by library id, then name.
    libs: HashMap<u64, HashMap<String, Function>>,
    /// The functions generation `libs` was last checked against.
    libs_generation: u64,
    /// The memory each library's code took when it ran here, by id.
    lib_bytes: HashMap<u64, usize>,
    /// What [`Engine::report_memory`] last published: (all, functions).
    reported: (usize, usize),
}

/// Maps an mlua error (only the sandbox's own setup can fail) to a command error.
fn lua_err(e: mlua::Error) -> CmdError {
    CmdError::Other(crate::error::err_code(e).into())
}

impl Engine {
    fn new() -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let g = lua.globals();
        let hidden = lua.create_table()?;
        let slot = lua.create_table()?;
        let names = Names {
            call: lua.create_string("call")?,
            resp: lua.create_string("resp")?,
            killed: lua.create_string("killed")?,
            keys: lua.create_string("KEYS")?,
            argv: lua.create_string("ARGV")?,
        };
        let call = {
            let slot = slot.clone();
            let resp = names.resp.clone();
            lua.create_function(move |lua, args: MultiValue| call_current(lua, &slot, &resp, args))?
        };
        slot.raw_set("version", REDIS_VERSION)?;
        slot.raw_set("version_num", REDIS_VERSION_NUM)?;
        let libs = lua.create_table()?;
        crate::lualibs::register(&lua, &libs)?;
        slot.raw_set("libs", libs)?;
        let sha1 = lua.create_function(|lua, s: mlua::String| {
            let hex = crate::scripts::sha1_hex(&s.as_bytes());
            lua.create_string(hex)
        })?;
        let log = lua.create_function(|_, (level, msg): (i64, mlua::String)| {
            let msg = String::from_utf8_lossy(&msg.as_bytes()).into_owned();
            match level {
                0 => tracing::debug!(target: "shoal::script", "{msg}"),
                1 => tracing::debug!(target: "shoal::script", "{msg}"),
                2 => tracing::info!(target: "shoal::script", "{msg}"),
                _ => tracing::warn!(target: "shoal::script", "{msg}"),
            }
            Ok(())
        })?;
        let lrand = lua.create_function(|_, ()| Ok(rand48_next()))?;
        let srand = lua.create_function(|_, seed: f64| {
            rand48_seed(seed as i64 as i32);
            Ok(())
        })?;
        // `redis.call`: the same Rust side, called directly (no second crossing),
        // raising the error a command replied.
        let rcall = {
            let slot = slot.clone();
            let resp = names.resp.clone();
            lua.create_function(move |lua, args: MultiValue| {
                let (v, is_err) = call_current(lua, &slot, &resp, args)?;
                if is_err {
                    if let Value::Table(t) = &v {
                        let text: mlua::String = t.raw_get("err")?;
                        return Err(raised(&String::from_utf8_lossy(&text.as_bytes())));
                    }
                }
                Ok(v)
            })?
        };
        let unwrap = lua.create_function(|lua, (e, table): (Value, bool)| {
            let Value::Error(err) = &e else {
                return Ok(e);
            };
            let text = match raised_text(err) {
                Some(t) => t,
                None => return Ok(e),
            };
            if table {
                let t = lua.create_table()?;
                t.raw_set("err", text)?;
                Ok(Value::Table(t))
            } else {
                Ok(Value::String(lua.create_string(text)?))
            }
        })?;
        let (env, fenv, lib_mode, invoke): (Table, Table, Function, Function) =
            lua.load(SANDBOX).set_name("=sandbox").call((
                g.clone(),
                hidden.clone(),
                slot.clone(),
                sha1,
                log,
                lrand,
                srand,
                rcall,
                unwrap,
            ))?;
        let xpcall: Function = g.get("xpcall")?;
        let pcall: Function = g.get("pcall")?;
        let handler = lua.create_function(error_handler)?;
        let eng = Engine {
            lua,
            env,
            hidden,
            slot,
            xpcall,
            call,
            names,
            handler,
            compiled: HashMap::new(),
            generation: 0,
            fenv,
            lib_mode,
            invoke,
            pcall,
            libs: HashMap::new(),
            libs_generation: 0,
            lib_bytes: HashMap::new(),
            reported: (0, 0),
        };
        eng.install_hook()?;
        Ok(eng)
    }

    /// Installs the time-check hook (once per interpreter, and again after a
    /// library load replaced it): it checks the run in [`HOOK_RUN`], if any.
    fn install_hook(&self) -> mlua::Result<()> {
        let slot = self.slot.clone();
        let killed = self.names.killed.clone();
        self.lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _debug| {
                HOOK_RUN.with(|h| {
                    let Ok(h) = h.try_borrow() else {
                        return Ok(mlua::VmState::Continue);
                    };
                    let Some(h) = h.as_ref() else {
                        return Ok(mlua::VmState::Continue);
                    };
                    let run = &h.run;
                    let ran = run.started.elapsed();
                    if ran >= HAND_OFF_AFTER {
                        hand_off();
                    }
                    if run.kill.load(Ordering::Relaxed) {
                        slot.raw_set(&killed, true)?;
                        tracing::warn!("Lua script killed by user with SCRIPT KILL.");
                        return Err(mlua::Error::runtime(crate::error::SCRIPT_KILLED));
                    }
                    if h.threshold > 0
                        && !run.registered.load(Ordering::Relaxed)
                        && ran >= Duration::from_millis(h.threshold)
                    {
                        tracing::warn!(
                            "Slow script detected: still in execution after {} milliseconds. \
                             You can try killing the script using the SCRIPT KILL command.",
                            ran.as_millis()
                        );
                        h.busy.mark(run);
                    }
                    Ok(mlua::VmState::Continue)
                })
            },
        )
    }

    /// Runs a library's code (from `body_at`, its shebang's newline) with the library
    /// API as globals, as Redis's `luaEngineCreate`: its registered functions, in
    /// order. `timeout`: stop it past [`LOAD_TIMEOUT_MS`] (FUNCTION LOAD; not when
    /// loading a dump). `Err` is Redis's text, without `ERR `.
    fn run_library(
        &mut self,
        code: &[u8],
        body_at: usize,
        timeout: bool,
    ) -> Result<Vec<(Registered, Function)>, String> {
        let f = self
            .lua
            .load(&code[body_at..])
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(self.fenv.clone())
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", syntax_message(&e)))?;
        let internal = |e: mlua::Error| e.to_string();
        let lib = self.lua.create_table().map_err(internal)?;
        lib.raw_set("seen", self.lua.create_table().map_err(internal)?)
            .map_err(internal)?;
        let list = self.lua.create_table().map_err(internal)?;
        lib.raw_set("list", list.clone()).map_err(internal)?;
        self.slot.raw_set("lib", lib).map_err(internal)?;
        self.lib_mode.call::<()>(true).map_err(internal)?;
        if timeout {
            let started = std::time::Instant::now();
            MIDWAY.with(|m| *m.borrow_mut() = Midway::new());
            self.lua
                .set_hook(
                    HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                    move |_lua, _debug| {
                        if started.elapsed() >= HAND_OFF_AFTER {
                            hand_off();
                        }
                        if started.elapsed() > Duration::from_millis(LOAD_TIMEOUT_MS) {
                            return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
                        }
                        Ok(mlua::VmState::Continue)
                    },
                )
                .map_err(internal)?;
        }
        let ran = self.pcall.call::<(bool, Value)>(f);
        let hooked = if timeout { self.install_hook() } else { Ok(()) };
        let _ = self.lib_mode.call::<()>(false);
        let _ = self.slot.raw_set("lib", Value::Nil);
        hooked.map_err(internal)?;
        let (ok, err) = ran.map_err(internal)?;
        if !ok {
            return Err(format!(
                "Error registering functions: {}",
                load_error_text(&err)
            ));
        }
        let mut out = Vec::new();
        for entry in list.sequence_values::<Table>() {
            let entry = entry.map_err(internal)?;
            let name: String = entry.raw_get("name").map_err(internal)?;
            let callback: Function = entry.raw_get("callback").map_err(internal)?;
            let desc: Option<mlua::String> = entry.raw_get("description").map_err(internal)?;
            let flags: Table = entry.raw_get("flags").map_err(internal)?;
            let has = |f: &str| {
                flags
                    .raw_get::<Option<bool>>(f)
                    .ok()
                    .flatten()
                    .unwrap_or(false)
            };
            let flags = ScriptFlags {
                compat: false,
                no_writes: has("no-writes"),
                allow_oom: has("allow-oom"),
                allow_stale: has("allow-stale"),
                no_cluster: has("no-cluster"),
                allow_cross_slot: has("allow-cross-slot-keys"),
            };
            out.push((
                Registered {
                    name,
                    desc: desc.map(|d| d.as_bytes().to_vec()),
                    flags,
                },
                callback,
            ));
        }
        Ok(out)
    }

    /// The compiled function `idx` of `lib` on this thread (the library's code run
    /// here first if this thread has not yet).
    fn library_function(
        &mut self,
        functions: &Functions,
        lib: &Library,
        idx: usize,
    ) -> Result<Function, CmdError> {
        let generation = functions.generation();
        if self.libs_generation != generation {
            let live = functions.live_ids();
            self.libs.retain(|id, _| live.contains(id));
            self.lib_bytes.retain(|id, _| live.contains(id));
            self.libs_generation = generation;
        }
        if !self.libs.contains_key(&lib.id) {
            let before = self.lua.used_memory();
            let fns = self
                .run_library(&lib.code, lib.body_at, false)
                .map_err(|e| CmdError::Other(crate::error::err_code(e).into()))?;
            let took = self.lua.used_memory().saturating_sub(before);
            self.lib_bytes.insert(lib.id, took);
            let fns = fns.into_iter().map(|(r, f)| (r.name, f)).collect();
            self.libs.insert(lib.id, fns);
        }
        let name = &lib.functions[idx].name;
        self.libs
            .get(&lib.id)
            .and_then(|m| m.get(name))
            .cloned()
            .ok_or_else(|| CmdError::msg(crate::error::FUNCTION_NOT_FOUND))
    }

    /// The compiled function of `script` (compiled now if this thread has not yet).
    fn function(&mut self, script: &Script, generation: u64) -> Result<Function, CmdError> {
        if self.generation != generation {
            self.compiled.clear();
            self.generation = generation;
        }
        if let Some(f) = self.compiled.get(&script.sha) {
            return Ok(f.clone());
        }
        let f = compile(&self.lua, &self.env, &script.body)?;
        self.compiled.insert(script.sha, f.clone());
        Ok(f)
    }
}

/// A function a library's code registered (name, description, flags).
#[derive(Debug)]
pub struct Registered {
    /// Its name.
    pub name: String,
    /// Its description.
    pub desc: Option<Vec<u8>>,
    /// Its flags.
    pub flags: ScriptFlags,
}

/// The message of a compile error.
fn syntax_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The text of an error library code raised while loading (Redis's
/// `luaExtractErrorInformation`: a table's `err`, anything else `ERR ` and its text).
fn load_error_text(v: &Value) -> String {
    match v {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            _ => crate::error::UNKNOWN_ERROR.to_string(),
        },
        Value::String(s) => crate::error::err_text(String::from_utf8_lossy(&s.as_bytes())),
        Value::Error(e) => match raised_text(e) {
            Some(t) => t,
            None => crate::error::err_text(error_text(e)),
        },
        Value::Integer(i) => crate::error::err_text(i),
        Value::Number(n) => crate::error::err_text(format_number(*n)),
        other => crate::error::err_text(other.type_name()),
    }
}

/// Creates library `code` (FUNCTION LOAD, RESTORE, a dump's): parses its first
/// line, checks its name and engine, runs its code on this thread to learn its
/// functions (kept compiled here). Without `replace`, a library of that name
/// already there is refused before its code runs, as Redis; `timeout`: FUNCTION
/// LOAD's. `Err` is Redis's text, without `ERR `.
pub fn create_library(
    functions: &Functions,
    code: &[u8],
    replace: bool,
    timeout: bool,
) -> Result<Library, String> {
    let meta = crate::functions::parse_meta(code)?;
    if !crate::functions::valid_name(&meta.name) {
        return Err(crate::functions::BAD_NAME.to_string());
    }
    if !meta.engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{}' not found", meta.engine));
    }
    if !replace && functions.has_library(&meta.name) {
        return Err(format!("Library '{}' already exists", meta.name));
    }
    let id = functions.new_id();
    let result = with_engine(|eng| {
        let before = eng.lua.used_memory();
        let r = eng.run_library(code, meta.body_at, timeout);
        if r.is_ok() {
            let took = eng.lua.used_memory().saturating_sub(before);
            eng.lib_bytes.insert(id, took);
        }
        Ok(r)
    });
    let fns = match result {
        Ok(r) => r?,
        Err(e) => return Err(String::from_utf8_lossy(&e.message()).into_owned()),
    };
    if fns.is_empty() {
        forget_library(id);
        return Err("No functions registered".to_string());
    }
    let mut compiled = HashMap::new();
    let mut infos = Vec::with_capacity(fns.len());
    for (r, f) in fns {
        compiled.insert(r.name.clone(), f);
        infos.push(FunctionInfo {
            name: r.name,
            desc: r.desc,
            flags: r.flags,
            undeclared: Default::default(),
            ran: Default::default(),
        });
    }
    let _ = with_engine(|eng| {
        eng.libs.insert(id, compiled);
        Ok(())
    });
    Ok(Library {
        id,
        name: meta.name,
        code: code.into(),
        body_at: meta.body_at,
        functions: infos,
    })
}

/// Drops what this thread compiled for library `id` (a library created here that
/// was not installed after all).
pub fn forget_library(id: u64) {
    let _ = with_engine(|eng| {
        eng.libs.remove(&id);
        eng.lib_bytes.remove(&id);
        Ok(())
    });
}

/// Compiles a script body (its shebang line skipped, its newline kept so that line
/// numbers stay right) in the sandbox.
fn compile(lua: &Lua, env: &Table, body: &[u8]) -> Result<Function, CmdError> {
    let skip = match crate::scripts::parse_shebang(body) {
        Ok((_, len)) => len,
        Err(e) => return Err(CmdError::Other(crate::error::err_code(e).into())),
    };
    lua.load(&body[skip..])
        .set_name("@user_script")
        .set_mode(ChunkMode::Text)
        .set_environment(env.clone())
        .into_function()
        .map_err(|e| {
            let msg = match &e {
                mlua::Error::SyntaxError { message, .. } => message.clone(),
                other => other.to_string(),
            };
            crate::error::script_compile_error(&msg)
        })
}

/// Checks that `body` compiles (SCRIPT LOAD, EVAL of a new script) on this thread.
pub fn check_compiles(script: &Script, generation: u64) -> CmdResult {
    with_engine(|eng| eng.function(script, generation).map(|_| ()))
}

fn with_engine<R>(f: impl FnOnce(&mut Engine) -> Result<R, CmdError>) -> Result<R, CmdError> {
    ENGINE.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return Err(CmdError::msg(crate::error::SCRIPT_NESTED));
        };
        if slot.is_none() {
            *slot = Some(Engine::new().map_err(lua_err)?);
        }
        let eng = slot.as_mut().expect("engine just created");
        let r = f(eng);
        eng.report_memory();
        r
    })
}

/// Bytes every thread's interpreter holds, and the part of it the function
/// libraries took when their code ran (INFO `used_memory_vm_*`).
static VM_BYTES: AtomicUsize = AtomicUsize::new(0);
static VM_FUNCTION_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The interpreters' memory: (EVAL part, functions part), bytes.
pub fn vm_memory() -> (usize, usize) {
    let total = VM_BYTES.load(Ordering::Relaxed);
    let functions = VM_FUNCTION_BYTES.load(Ordering::Relaxed).min(total);
    (total - functions, functions)
}

fn adjust(counter: &AtomicUsize, old: usize, new: usize) {
    if new >= old {
        counter.fetch_add(new - old, Ordering::Relaxed);
    } else {
        counter.fetch_sub(old - new, Ordering::Relaxed);
    }
}

impl Engine {
    /// Publishes this interpreter's memory to [`vm_memory`].
    fn report_memory(&mut self) {
        let now = self.lua.used_memory();
        adjust(&VM_BYTES, self.reported.0, now);
        let fns: usize = self.lib_bytes.values().sum();
        adjust(&VM_FUNCTION_BYTES, self.reported.1, fns);
        self.reported = (now, fns);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        adjust(&VM_BYTES, self.reported.0, 0);
        adjust(&VM_FUNCTION_BYTES, self.reported.1, 0);
    }
}

/// The message handler scripts run under (Redis's `__redis__err__handler`): the
/// error as a table `{err=...}` (a string error gets `ERR ` in front), with the
/// source and line of the innermost script frame.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) if matches!(t.raw_get::<Value>("err")?, Value::String(_)) => t,
        other => {
            let text = match other {
                Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => format_number(n),
                Value::Error(e) => match raised_text(&e) {
                    Some(text) => {
                        // `redis.call`'s error: counted where it was made.
                        let t = lua.create_table()?;
                        t.raw_set("err", text)?;
                        t.raw_set(COUNTED, true)?;
                        return locate(lua, t);
                    }
                    None => error_text(&e),
                },
                Value::Nil => "nil".to_string(),
                other => other.type_name().to_string(),
            };
            let t = lua.create_table()?;
            t.raw_set("err", crate::error::err_code(text))?;
            t
        }
    };
    locate(lua, t)
}

/// Adds the source and line of the innermost script frame to error table `t`.
fn locate(lua: &Lua, t: Table) -> mlua::Result<Table> {
    for level in 1..64 {
        let frame = lua.inspect_stack(level, |d| {
            let s = d.source();
            let source = s.source.map(|c| c.into_owned());
            (source, d.current_line())
        });
        let Some((source, line)) = frame else { break };
        if let (Some(src), Some(line)) = (source, line) {
            if src.starts_with('@') {
                t.raw_set("source", src)?;
                t.raw_set("line", line)?;
                break;
            }
        }
    }
    Ok(t)
}

/// The field of an error table that says its error was counted already (INFO
/// errorstats) where it was made: errors of `redis.call`/`redis.pcall` carry it, and a
/// script that returns one (or a table of its own with it) does not count it again,
/// as Redis 7.0's `ignore_error_stats_update`.
const COUNTED: &str = "ignore_error_stats_update";

/// Whether error table `t` says its error was counted already ([`COUNTED`] set to
/// anything but nil or false, as Lua's truth).
fn counted_already(t: &Table) -> bool {
    !matches!(
        t.raw_get::<Value>(COUNTED),
        Ok(Value::Nil | Value::Boolean(false)) | Err(_)
    )
}

/// An error `redis.call` raises: Redis raises a table `{err=text}`; mlua raises a
/// Rust error, which the error handler, `pcall`, `xpcall` and `coroutine.resume`
/// turn back into what Redis's scripts see.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

fn raised(text: &str) -> mlua::Error {
    mlua::Error::external(Raised(text.to_string()))
}

/// The text of a [`Raised`] error, through mlua's wrappers.
fn raised_text(e: &mlua::Error) -> Option<String> {
    match e {
        mlua::Error::ExternalError(x) => x.downcast_ref::<Raised>().map(|r| r.0.clone()),
        mlua::Error::CallbackError { cause, .. } => raised_text(cause),
        mlua::Error::WithContext { cause, .. } => raised_text(cause),
        _ => None,
    }
}

/// The text of an error raised from Rust inside Lua (the time hook's kill).
fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        other => other.to_string(),
    }
}

/// Redis's `rand48`: the next 31-bit value.
fn rand48_next() -> i64 {
    RAND48.with(|s| {
        let x = s.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
        s.set(x);
        (x >> 17) as i64
    })
}

/// Redis's `srand48`.
fn rand48_seed(seed: i32) {
    RAND48.with(|s| s.set(((u64::from(seed as u32)) << 16) | 0x330E));
}

/// What runs: an EVAL script or a library's function.
#[derive(Clone, Copy)]
pub enum Target<'x> {
    /// An EVAL script.
    Script(&'x Arc<Script>),
    /// Function `.1` of library `.0` (FCALL), called by the command `.2`.
    Function(&'x Arc<Library>, usize, &'x [&'x [u8]]),
}

impl Target<'_> {
    /// Its flags.
    pub fn flags(&self) -> ScriptFlags {
        match self {
            Target::Script(s) => s.flags,
            Target::Function(l, i, _) => l.functions[*i].flags,
        }
    }

    /// Whether it ran once, and whether it reached undeclared keys (see
    /// [`Script::undeclared`]).
    fn marks(
        &self,
    ) -> (
        &std::sync::atomic::AtomicBool,
        &std::sync::atomic::AtomicBool,
    ) {
        match self {
            Target::Script(s) => (&s.ran, &s.undeclared),
            Target::Function(l, i, _) => (&l.functions[*i].ran, &l.functions[*i].undeclared),
        }
    }

    /// The name its errors give (`script: <name>`).
    fn name(&self) -> String {
        match self {
            Target::Script(s) => String::from_utf8_lossy(&s.sha).into_owned(),
            Target::Function(l, i, _) => l.functions[*i].name.clone(),
        }
    }
}

/// How a script should run.
pub struct Invocation<'x> {
    /// The script or function.
    pub target: Target<'x>,
    /// KEYS.
    pub keys: &'x [&'x [u8]],
    /// ARGV.
    pub argv: &'x [&'x [u8]],
    /// EVAL_RO/EVALSHA_RO/FCALL_RO, or a `no-writes` script: write commands are
    /// refused.
    pub read_only: bool,
}

/// What one attempt at running a script came to.
enum Attempt {
    /// It ran (or failed): the reply is ready.
    Done(Value, u8),
    /// It failed: the error reply (its text, without `-`), and whether that error
    /// was counted where it was made (`redis.call`'s).
    Failed(String, bool),
    /// It met a shard another client held before changing anything: run it again
    /// with every shard held.
    Retry,
}

/// Runs an EVAL script for `ctx`'s client and writes its reply to `ctx.out`.
///
/// Locks: in a group (EXEC), the group's shards (it holds every shard: EVAL rows
/// are `Scope::All`); otherwise the shards of the declared keys, or of every
/// database if the script is known to reach undeclared keys; a script that meets a
/// shard held by another client before it changed anything is rerun with every
/// shard held (see ARCHITECTURE.md, "Scripts and locks").
pub fn run_eval(ctx: &mut Ctx<'_>, inv: &Invocation<'_>) -> CmdResult {
    // A script runs on its connection's worker thread. One that goes on past
    // [`HAND_OFF_AFTER`] hands that worker's queue to another thread from its time
    // hook or its next `redis.call` ([`crate::handoff::Midway`]), so that no
    // connection waits behind it (SCRIPT KILL, BUSY replies, accepts) and a script
    // in an endless loop costs one thread; a short script hands nothing off.
    MIDWAY.with(|m| *m.borrow_mut() = Midway::new());
    run_eval_here(ctx, inv)
}

fn run_eval_here(ctx: &mut Ctx<'_>, inv: &Invocation<'_>) -> CmdResult {
    let shared = ctx.shared;
    let generation = shared.scripts.generation();
    with_engine(|eng| {
        let (f, run) = match inv.target {
            Target::Script(script) => (eng.function(script, generation)?, Running::new(true)),
            Target::Function(lib, idx, command) => (
                eng.library_function(&shared.functions, lib, idx)?,
                Running::function(&lib.functions[idx].name, command),
            ),
        };
        let run = Arc::new(run);
        let _counted = shared.scripts.start();
        let in_group = ctx.held.is_some();
        let (ran, undeclared) = inv.target.marks();
        // A script's first run holds every shard: what it touches is unknown yet.
        let mut everything = !ran.load(Ordering::Relaxed) || undeclared.load(Ordering::Relaxed);
        let saved_db = ctx.client.db;
        ctx.client.in_script = true;
        ctx.client.script_allow_oom = inv.target.flags().allow_oom;
        let attempt = loop {
            if !in_group {
                match lock_for(ctx, inv.keys, everything) {
                    Some(held) => ctx.held = Some(held),
                    None => break Err(Refused::Busy),
                }
            }
            let scope = (!in_group).then(shoal_storage::GroupScope::enter);
            let attempt = eng.execute(ctx, &f, inv, &run, !in_group);
            drop(scope);
            ctx.client.db = saved_db;
            if !in_group {
                ctx.held = None;
            }
            match attempt {
                Ok(Attempt::Retry) => {
                    undeclared.store(true, Ordering::Relaxed);
                    everything = true;
                }
                other => break other.map_err(Refused::Lua),
            }
        };
        ctx.client.in_script = false;
        ctx.client.script_allow_oom = false;
        shared.scripts.finished(&run);
        let _ = eng.slot.raw_set(&eng.names.killed, Value::Nil);
        let attempt = match attempt {
            Ok(a) => a,
            Err(Refused::Lua(e)) => return Err(lua_err(e)),
            Err(Refused::Busy) => return Err(shared.scripts.busy_error()),
        };
        let mut errors = ReplyErrors {
            counters: &shared.counters,
            failed: false,
        };
        match attempt {
            Attempt::Done(value, resp) => write_reply(ctx.out, &value, resp, 0, &mut errors),
            Attempt::Failed(text, counted) => {
                errors.error(ctx.out, &crlf_to_spaces(text.as_bytes()), counted)
            }
            Attempt::Retry => unreachable!("retries loop"),
        }
        ctx.tally.failed |= errors.failed;
        Ok(())
    })
}

/// The shards of a script's declared keys, sorted.
fn declared_shards(ctx: &Ctx<'_>, keys: &[&[u8]]) -> Vec<(usize, usize)> {
    let dbi = ctx.client.db;
    let db = ctx.keyspace.db(dbi);
    let mut v: Vec<(usize, usize)> = keys
        .iter()
        .map(|k| (dbi, db.shard_index(db.hash(k))))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Why a script did not run to an [`Attempt`].
enum Refused {
    /// The interpreter failed (only the sandbox's own setup can).
    Lua(mlua::Error),
    /// While it waited for its shards, another script ran past
    /// `busy-reply-threshold`: BUSY, as the gates would have answered.
    Busy,
}

/// The shards a script starts with: its declared keys' (in the client's database),
/// or every shard of every database. `None` if another script went busy while this
/// one waited for them (see [`Held::lock_unless`]).
fn lock_for<'a>(ctx: &Ctx<'a>, keys: &[&[u8]], everything: bool) -> Option<Held<'a>> {
    let ks = ctx.keyspace;
    let wanted = if everything {
        (0..ks.num_dbs())
            .flat_map(|d| (0..ks.db(d).num_shards()).map(move |i| (d, i)))
            .collect()
    } else {
        let db = ks.db(ctx.client.db);
        keys.iter()
            .map(|k| (ctx.client.db, db.shard_index(db.hash(k))))
            .collect()
    };
    let scripts = &ctx.shared.scripts;
    Held::lock_unless(ks, wanted, &|| scripts.busy())
}

impl Engine {
    /// One attempt at running `f` with its locks held in `ctx.held`.
    fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        f: &Function,
        inv: &Invocation<'_>,
        run: &Arc<Running>,
        may_retry: bool,
    ) -> mlua::Result<Attempt> {
        let lua = &self.lua;
        let keys = strings_table(lua, inv.keys)?;
        let argv = strings_table(lua, inv.argv)?;
        let is_function = matches!(inv.target, Target::Function(..));
        if !is_function {
            self.hidden.raw_set(&self.names.keys, &keys)?;
            self.hidden.raw_set(&self.names.argv, &argv)?;
        }
        let names = &self.names;
        self.slot.raw_set(&names.resp, 2)?;
        self.slot.raw_set(&names.killed, Value::Nil)?;
        let mut state = CallState {
            call: ScriptCall {
                read_only: inv.read_only,
                may_retry,
                declared: declared_shards(ctx, inv.keys),
                ..ScriptCall::default()
            },
            retry: false,
            failed: false,
        };
        let result = {
            let _hook = HookGuard::set(HookRun {
                run: Arc::clone(run),
                threshold: ctx.shared.live.busy_reply_threshold.load(Ordering::Relaxed),
                busy: ctx.shared.scripts.busy_registry(),
            });
            let mut current = Current {
                ctx: &mut *ctx,
                state: &mut state,
                run,
            };
            let _current = CurrentGuard::set(&mut current);
            self.slot.raw_set(&names.call, &self.call)?;
            let r = if is_function {
                self.invoke
                    .call::<(bool, Value)>((f, keys, argv, &self.handler))
            } else {
                self.xpcall.call::<(bool, Value)>((f, &self.handler))
            };
            self.slot.raw_set(&names.call, Value::Nil)?;
            r
        };
        let (ok, value) = result?;
        ctx.tally.dirty += state.call.dirty;
        ctx.tally.failed |= state.failed;
        if state.retry {
            return Ok(Attempt::Retry);
        }
        let (ran, undeclared) = inv.target.marks();
        ran.store(true, Ordering::Relaxed);
        if state.call.outside {
            undeclared.store(true, Ordering::Relaxed);
        }
        let resp: u8 = self
            .slot
            .raw_get::<Option<u8>>(&self.names.resp)?
            .unwrap_or(2);
        let killed = run.kill.load(Ordering::Relaxed);
        if ok && !killed {
            return Ok(Attempt::Done(value, resp));
        }
        let counted = !killed && matches!(&value, Value::Table(t) if counted_already(t));
        Ok(Attempt::Failed(
            failure_text(&value, &inv.target.name(), killed)?,
            counted,
        ))
    }
}

/// The error reply of a script that failed: the error table's `err`, and where
/// (`script: <name>, on <source>:<line>.`), as Redis's `luaCallFunction` writes it.
fn failure_text(value: &Value, name: &str, killed: bool) -> mlua::Result<String> {
    let Value::Table(t) = value else {
        return Ok(crate::error::script_run_failure(name));
    };
    let msg = if killed {
        crate::error::SCRIPT_KILLED.to_string()
    } else {
        match t.raw_get::<Value>("err")? {
            Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            _ => crate::error::SCRIPT_EXECUTION_FAILURE.to_string(),
        }
    };
    let source: Option<mlua::String> = t.raw_get("source")?;
    let line: Option<i64> = t.raw_get("line")?;
    Ok(match (source, line) {
        (Some(src), Some(line)) => format!(
            "{msg} script: {name}, on {}:{line}.",
            String::from_utf8_lossy(&src.as_bytes())
        ),
        _ => msg,
    })
}

/// A Lua array of byte strings.
fn strings_table(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// `redis.call`/`redis.pcall` for the run in [`CURRENT`] (none: not inside a run).
fn call_current(
    lua: &Lua,
    slot: &Table,
    resp: &mlua::String,
    args: MultiValue,
) -> mlua::Result<(Value, bool)> {
    let p = CURRENT.with(|c| c.replace(std::ptr::null_mut()));
    if p.is_null() {
        return Err(raised(crate::error::SCRIPT_OUTSIDE_RUN));
    }
    // Put back when this call ends, also on a panic.
    struct Restore(*mut ());
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(p);
    // SAFETY: `p` was set by `CurrentGuard::set` from a `Current` that lives on
    // `Engine::execute`'s stack and is cleared by the guard's drop before that
    // `Current` goes away, so it is valid here; it was taken out of `CURRENT` (null
    // until `_restore` puts it back), so this is the only reference made from it
    // while it lives, and `execute` does not touch the `Current` during the Lua call.
    let cur = unsafe { &mut *(p as *mut Current<'_, '_>) };
    redis_call(lua, cur.ctx, slot, resp, cur.state, cur.run, args)
}

/// What `redis.call` keeps across the calls of one script run.
struct CallState {
    call: ScriptCall,
    retry: bool,
    /// A call failed before any command ran (its error counted by `redis_call`).
    failed: bool,
}

/// `redis.call`/`redis.pcall`'s Rust side: runs the command and returns its reply
/// as Lua values, plus whether it is an error (the Lua side raises it for
/// `redis.call`).
fn redis_call(
    lua: &Lua,
    ctx: &mut Ctx<'_>,
    slot: &Table,
    resp_key: &mlua::String,
    state: &mut CallState,
    run: &Running,
    args: MultiValue,
) -> mlua::Result<(Value, bool)> {
    let table = |text: &str| -> mlua::Result<(Value, bool)> {
        let t = lua.create_table()?;
        t.raw_set("err", text)?;
        t.raw_set(COUNTED, true)?;
        Ok((Value::Table(t), true))
    };
    if state.retry {
        // The run is abandoned and rerun: nothing to count.
        return table(crate::error::SCRIPT_RERUN_PENDING);
    }
    // An error of the call itself (no command ran to count it): counted here, and
    // the script's command fails (Redis's `failed_calls`).
    let shared = ctx.shared;
    let failed = &mut state.failed;
    let mut err = |text: &str| -> mlua::Result<(Value, bool)> {
        shared.counters.error_reply(text.as_bytes());
        *failed = true;
        table(text)
    };
    if args.is_empty() {
        return err(crate::error::SCRIPT_NO_ARGS);
    }
    // The command's arguments, built in this thread's reused buffer.
    let mut owned = CALL_ARGS.take();
    owned.clear();
    for v in args.iter() {
        match v {
            Value::String(s) => owned.push(&s.as_bytes()),
            Value::Integer(i) => owned.push(itoa::Buffer::new().format(*i).as_bytes()),
            Value::Number(n) => owned.push(format_g17(*n).as_bytes()),
            _ => {
                CALL_ARGS.set(owned);
                return err(crate::error::SCRIPT_ARG_TYPE);
            }
        }
    }
    drop(args);
    let a = owned.args();
    let resp = match slot.raw_get::<Option<u8>>(resp_key)? {
        Some(3) => Proto::Resp3,
        _ => Proto::Resp2,
    };
    let start = ctx.out.len();
    let saved = ctx.out.proto;
    ctx.out.proto = resp;
    let script_call = ctx.table.script_call;
    let outcome = script_call(ctx, &a, &mut state.call);
    CALL_ARGS.set(owned);
    ctx.out.proto = saved;
    if state.call.wrote {
        run.wrote.store(true, Ordering::Relaxed);
    }
    let result = match outcome {
        Ok(()) => {
            let mut pos = start;
            let bytes = ctx.out.as_bytes();
            let is_err = bytes.get(start) == Some(&b'-');
            parse_reply(lua, bytes, &mut pos).map(|v| (v, is_err))
        }
        Err(CallError::Retry) => {
            state.retry = true;
            table(crate::error::SCRIPT_RERUN_PENDING)
        }
        Err(CallError::Refused(text)) => err(&text),
    };
    ctx.out.truncate(start);
    // A command may take long without the time hook running (it counts Lua
    // instructions only).
    if run.started.elapsed() >= HAND_OFF_AFTER {
        hand_off();
    }
    result
}

/// The running script has gone on past [`HAND_OFF_AFTER`]: its worker's queue goes
/// to another thread, if it has not yet.
#[cold]
fn hand_off() {
    MIDWAY.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.step();
        }
    });
}

/// `%.17g`, as Redis formats a Lua number given to `redis.call`.
fn format_g17(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{n:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..17).contains(&exp) {
        let decimals = usize::try_from(16 - exp).unwrap_or(0);
        trim(&format!("{n:.decimals$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    }
}

/// Lua's own `%.14g` for numbers shown in error texts.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Reads one RESP value at `*pos` of `bytes` (a reply a handler just wrote) as
/// Redis's `redisProtocolToLuaType` converts it.
fn parse_reply(lua: &Lua, bytes: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let line = |pos: &mut usize| -> &[u8] {
        let rest = &bytes[*pos..];
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        *pos += end + 2;
        &rest[..end]
    };
    let Some(&kind) = bytes.get(*pos) else {
        return Ok(Value::Nil);
    };
    *pos += 1;
    let head = line(pos);
    let num = |h: &[u8]| -> i64 { crate::num::parse_i64(h).unwrap_or(0) };
    let table1 = |k: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(k, v)?;
        Ok(Value::Table(t))
    };
    match kind {
        b'+' => table1("ok", Value::String(lua.create_string(head)?)),
        b'-' => {
            let text = String::from_utf8_lossy(head);
            let text = text.trim_matches(|c| c == '\r' || c == '\n');
            let text = if text.contains(' ') {
                text.to_string()
            } else {
                crate::error::err_code(text)
            };
            // The command's error reply was counted as it was written.
            let t = table1("err", Value::String(lua.create_string(text)?))?;
            if let Value::Table(t) = &t {
                t.raw_set(COUNTED, true)?;
            }
            Ok(t)
        }
        b':' => Ok(Value::Number(num(head) as f64)),
        b'$' | b'=' => {
            let n = num(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let n = n as usize;
            let body = &bytes[*pos..(*pos + n).min(bytes.len())];
            *pos += n + 2;
            if kind == b'=' {
                let (fmt, text) = if body.len() >= 4 {
                    (&body[..3], &body[4..])
                } else {
                    (&b"txt"[..], body)
                };
                let inner = lua.create_table()?;
                inner.raw_set("string", lua.create_string(text)?)?;
                inner.raw_set("format", lua.create_string(fmt)?)?;
                return table1("verbatim_string", Value::Table(inner));
            }
            Ok(Value::String(lua.create_string(body)?))
        }
        b'*' | b'>' => {
            let n = num(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n as usize, 0)?;
            for i in 0..n {
                let v = parse_reply(lua, bytes, pos)?;
                t.raw_set(i + 1, v)?;
            }
            Ok(Value::Table(t))
        }
        b'%' => {
            let n = num(head);
            let inner = lua.create_table()?;
            for _ in 0..n {
                let k = parse_reply(lua, bytes, pos)?;
                let v = parse_reply(lua, bytes, pos)?;
                inner.raw_set(k, v)?;
            }
            table1("map", Value::Table(inner))
        }
        b'~' => {
            let n = num(head);
            let inner = lua.create_table()?;
            for _ in 0..n {
                let k = parse_reply(lua, bytes, pos)?;
                inner.raw_set(k, true)?;
            }
            table1("set", Value::Table(inner))
        }
        b'|' => {
            let n = num(head);
            for _ in 0..n * 2 {
                parse_reply(lua, bytes, pos)?;
            }
            parse_reply(lua, bytes, pos)
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(head == b"t")),
        b',' => {
            let text = String::from_utf8_lossy(head);
            let d = match text.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                t => t.parse().unwrap_or(0.0),
            };
            table1("double", Value::Number(d))
        }
        b'(' => table1("big_number", Value::String(lua.create_string(head)?)),
        _ => Ok(Value::Nil),
    }
}

fn crlf_to_spaces(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

/// Writes a script's return value as Redis's `luaReplyToRedisReply` does; `resp`
/// is the script's protocol (`redis.setresp`), which decides how booleans go.
///
/// Each error it writes fails the command (`errors.failed`), and counts in INFO
/// errorstats unless its table says it was counted already ([`COUNTED`]).
fn write_reply(
    out: &mut ReplyBuf,
    v: &Value,
    resp: u8,
    depth: usize,
    errors: &mut ReplyErrors<'_>,
) {
    if depth > MAX_DEPTH {
        errors.error(out, crate::error::SCRIPT_STACK_LIMIT.as_bytes(), false);
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp == 2 {
                if *b {
                    out.int(1);
                } else {
                    out.null();
                }
            } else {
                out.boolean(*b);
            }
        }
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(*n as i64),
        Value::Table(t) => write_table(out, t, resp, depth, errors),
        _ => out.null(),
    }
}

/// The errors a script's reply holds (see [`write_reply`]).
struct ReplyErrors<'s> {
    counters: &'s crate::counters::Counters,
    failed: bool,
}

impl ReplyErrors<'_> {
    /// Writes error `text`, counting it unless it was `counted` already.
    fn error(&mut self, out: &mut ReplyBuf, text: &[u8], counted: bool) {
        if !counted {
            self.counters.error_reply(text);
        }
        self.failed = true;
        out.error(text);
    }
}

fn write_table(
    out: &mut ReplyBuf,
    t: &Table,
    resp: u8,
    depth: usize,
    errors: &mut ReplyErrors<'_>,
) {
    let field = |k: &str| t.raw_get::<Value>(k).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        errors.error(out, &crlf_to_spaces(&e.as_bytes()), counted_already(t));
        return;
    }
    if let Value::String(s) = field("ok") {
        out.simple(&crlf_to_spaces(&s.as_bytes()));
        return;
    }
    match field("double") {
        Value::Number(d) => return out.double(d),
        Value::Integer(i) => return out.double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        out.big_number(&crlf_to_spaces(&s.as_bytes()));
        return;
    }
    if let Value::Table(v) = field("verbatim_string") {
        if let (Ok(Value::String(fmt)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            let fb = fmt.as_bytes();
            let mut f3 = [b' '; 3];
            for (d, s) in f3.iter_mut().zip(fb.iter()) {
                *d = *s;
            }
            out.verbatim(&f3, &s.as_bytes());
            return;
        }
    }
    if let Value::Table(m) = field("map") {
        let d = out.deferred_map();
        let mut n = 0;
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            write_reply(out, &k, resp, depth + 1, errors);
            write_reply(out, &v, resp, depth + 1, errors);
            n += 1;
        }
        out.finish_deferred(d, n);
        return;
    }
    if let Value::Table(s) = field("set") {
        let d = out.deferred_set();
        let mut n = 0;
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            write_reply(out, &k, resp, depth + 1, errors);
            n += 1;
        }
        out.finish_deferred(d, n);
        return;
    }
    let d = out.deferred_array();
    let mut n = 0;
    loop {
        let v = t.raw_get::<Value>(n + 1).unwrap_or(Value::Nil);
        if v.is_nil() {
            break;
        }
        write_reply(out, &v, resp, depth + 1, errors);
        n += 1;
    }
    out.finish_deferred(d, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17() {
        assert_eq!(format_g17(10.0), "10");
        assert_eq!(format_g17(3.5), "3.5");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(-2.0), "-2");
        assert_eq!(format_g17(1.5e-7), "1.4999999999999999e-07");
    }
}
