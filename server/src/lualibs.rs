//! The Lua libraries Redis 7.0 preloads besides Lua's own, written in Rust: `bit`
//! (LuaBitOp), `struct` (Roberto Ierusalimschy's struct), `cjson` (lua-cjson as
//! Redis patches it: an empty table encodes as `{}`) on serde_json, and `cmsgpack`
//! (lua-cmsgpack) on rmp. Each is a table of functions the sandbox exposes read-only,
//! with the behaviour of the C library Redis links (number formats, which table is an
//! array, error texts where they are observable).

use mlua::{
    FromLuaMulti, Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Value, Variadic,
};

type R<T> = mlua::Result<T>;

/// A library function: its errors name where the script called it
/// (`user_script:1: ...`), as `luaL_error` does.
fn function<A, T>(lua: &Lua, f: impl Fn(&Lua, A) -> R<T> + Send + 'static) -> R<Function>
where
    A: FromLuaMulti,
    T: IntoLuaMulti,
{
    lua.create_function(move |lua, args: A| f(lua, args).map_err(|e| located(lua, e)))
}

fn located(lua: &Lua, e: mlua::Error) -> mlua::Error {
    let mlua::Error::RuntimeError(m) = e else {
        return e;
    };
    let at = lua.inspect_stack(1, |d| {
        let src = d.source().short_src.map(|c| c.into_owned());
        (src, d.current_line())
    });
    match at {
        Some((Some(src), Some(line))) => mlua::Error::RuntimeError(format!("{src}:{line}: {m}")),
        _ => mlua::Error::RuntimeError(m),
    }
}

/// Adds the libraries to `libs` (name → table).
pub fn register(lua: &Lua, libs: &Table) -> R<()> {
    libs.raw_set("bit", bit(lua)?)?;
    libs.raw_set("struct", structlib(lua)?)?;
    libs.raw_set("cjson", cjson(lua)?)?;
    libs.raw_set("cmsgpack", cmsgpack(lua)?)?;
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// Lua's `lua_tonumber`: numbers, and strings that read as one.
fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => {
            let b = s.as_bytes();
            let t = std::str::from_utf8(&b).ok()?.trim();
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                return u64::from_str_radix(h, 16).ok().map(|n| n as f64);
            }
            t.parse::<f64>().ok()
        }
        _ => None,
    }
}

/// `luaL_checknumber`'s error for argument `n` of `fname`.
fn bad_arg(n: usize, fname: &str, expected: &str, got: Option<&Value>) -> mlua::Error {
    let got = got.map_or("no value", type_name);
    mlua::Error::runtime(format!(
        "bad argument #{n} to '{fname}' ({expected} expected, got {got})"
    ))
}

fn check_number(args: &[Value], i: usize, fname: &str) -> R<f64> {
    args.get(i)
        .and_then(to_number)
        .ok_or_else(|| bad_arg(i + 1, fname, "number", args.get(i)))
}

// ---------------------------------------------------------------------------------------
// bit
// ---------------------------------------------------------------------------------------

/// LuaBitOp's `barg`: the number rounded (to even) and taken modulo 2^32.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    let r = n.round_ties_even().rem_euclid(4_294_967_296.0);
    (r as u64 as u32) as i32
}

fn bit(lua: &Lua) -> R<Table> {
    let t = lua.create_table()?;
    fn bitarg(args: &[Value], i: usize, f: &str) -> R<i32> {
        check_number(args, i, f).map(tobit)
    }
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        t.raw_set(
            name,
            function(lua, move |_, args: Variadic<Value>| {
                let mut acc = bitarg(&args, 0, name)?;
                for i in 1..args.len() {
                    acc = op(acc, bitarg(&args, i, name)?);
                }
                Ok(f64::from(acc))
            })?,
        )?;
    }
    t.raw_set(
        "tobit",
        function(lua, |_, args: Variadic<Value>| {
            Ok(f64::from(bitarg(&args, 0, "tobit")?))
        })?,
    )?;
    t.raw_set(
        "bnot",
        function(lua, |_, args: Variadic<Value>| {
            Ok(f64::from(!bitarg(&args, 0, "bnot")?))
        })?,
    )?;
    t.raw_set(
        "bswap",
        function(lua, |_, args: Variadic<Value>| {
            Ok(f64::from(bitarg(&args, 0, "bswap")?.swap_bytes()))
        })?,
    )?;
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |a, n| ((a as u32) << n) as i32),
        ("rshift", |a, n| ((a as u32) >> n) as i32),
        ("arshift", |a, n| a >> n),
        ("rol", |a, n| (a as u32).rotate_left(n) as i32),
        ("ror", |a, n| (a as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        t.raw_set(
            name,
            function(lua, move |_, args: Variadic<Value>| {
                let a = bitarg(&args, 0, name)?;
                let n = (bitarg(&args, 1, name)? & 31) as u32;
                Ok(f64::from(op(a, n)))
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        function(lua, |_, args: Variadic<Value>| {
            let b = bitarg(&args, 0, "tohex")? as u32;
            let n = match args.get(1) {
                None | Some(Value::Nil) => 8,
                Some(_) => bitarg(&args, 1, "tohex")?,
            };
            let upper = n < 0;
            let n = n.unsigned_abs().min(8) as usize;
            let s = if upper {
                format!("{b:08X}")
            } else {
                format!("{b:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// struct
// ---------------------------------------------------------------------------------------

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

struct Fmt<'a> {
    f: &'a [u8],
    pos: usize,
    little: bool,
    align: usize,
}

impl Fmt<'_> {
    fn number(&mut self, default: usize) -> usize {
        if self.pos >= self.f.len() || !self.f[self.pos].is_ascii_digit() {
            return default;
        }
        let mut a = 0usize;
        while self.pos < self.f.len() && self.f[self.pos].is_ascii_digit() {
            a = a
                .saturating_mul(10)
                .saturating_add(usize::from(self.f[self.pos] - b'0'));
            self.pos += 1;
        }
        a
    }

    /// The size of option `opt` (after reading its number, if it takes one).
    fn size(&mut self, opt: u8) -> R<usize> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b'x' => 1,
            b'c' => self.number(1),
            b'i' | b'I' => {
                let sz = self.number(4);
                if sz > MAXINTSIZE {
                    return Err(mlua::Error::runtime(format!(
                        "integral size {sz} is larger than limit of {MAXINTSIZE}"
                    )));
                }
                sz
            }
            _ => 0,
        })
    }

    /// Padding before an item of `size` at `len` (the `!` alignment).
    fn gap(&self, opt: u8, size: usize, len: usize) -> R<usize> {
        if opt == b'c' || opt == b's' {
            return Ok(0);
        }
        let align = size.min(self.align);
        if align <= 1 {
            return Ok(0);
        }
        if !align.is_power_of_two() {
            return Err(mlua::Error::runtime("alignment must be power of 2"));
        }
        Ok((align - (len & (align - 1))) & (align - 1))
    }

    /// Endianness and alignment controls; true if `opt` was one.
    fn control(&mut self, opt: u8) -> R<bool> {
        match opt {
            b' ' => {}
            b'>' => self.little = false,
            b'<' => self.little = true,
            b'!' => {
                let a = self.number(MAXALIGN);
                if !a.is_power_of_two() {
                    return Err(mlua::Error::runtime("alignment must be power of 2"));
                }
                self.align = a;
            }
            b'=' => self.little = true,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn invalid_format(fname: &str, opt: u8) -> mlua::Error {
    mlua::Error::runtime(format!(
        "bad argument #1 to '{fname}' (invalid format option '{}')",
        opt as char
    ))
}

fn put_int(out: &mut Vec<u8>, v: u64, size: usize, little: bool) {
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = if i < 8 {
            (v >> (8 * i)) as u8
        } else if (v as i64) < 0 {
            0xff
        } else {
            0
        };
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn structlib(lua: &Lua) -> R<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        function(lua, |lua, args: Variadic<Value>| {
            let Some(Value::String(fmt)) = args.first() else {
                return Err(bad_arg(1, "pack", "string", args.first()));
            };
            let fmt = fmt.as_bytes().to_vec();
            let mut f = Fmt {
                f: &fmt,
                pos: 0,
                little: true,
                align: 1,
            };
            let mut out = Vec::new();
            let mut arg = 1;
            while f.pos < f.f.len() {
                let opt = f.f[f.pos];
                f.pos += 1;
                let size = f.size(opt)?;
                let gap = f.gap(opt, size, out.len())?;
                out.resize(out.len() + gap, 0);
                match opt {
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let n = check_number(&args, arg, "pack")?;
                        arg += 1;
                        let v = if matches!(opt, b'b' | b'h' | b'l' | b'i') {
                            n as i64 as u64
                        } else {
                            n as u64
                        };
                        put_int(&mut out, v, size, f.little);
                    }
                    b'x' => out.push(0),
                    b'f' => {
                        let n = check_number(&args, arg, "pack")? as f32;
                        arg += 1;
                        let b = if f.little {
                            n.to_le_bytes()
                        } else {
                            n.to_be_bytes()
                        };
                        out.extend_from_slice(&b);
                    }
                    b'd' => {
                        let n = check_number(&args, arg, "pack")?;
                        arg += 1;
                        let b = if f.little {
                            n.to_le_bytes()
                        } else {
                            n.to_be_bytes()
                        };
                        out.extend_from_slice(&b);
                    }
                    b'c' | b's' => {
                        let s: Vec<u8> = match args.get(arg) {
                            Some(Value::String(s)) => s.as_bytes().to_vec(),
                            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                                format_number(to_number(v).unwrap_or(0.0)).into_bytes()
                            }
                            other => return Err(bad_arg(arg + 1, "pack", "string", other)),
                        };
                        arg += 1;
                        let mut l = s.len();
                        if opt == b'c' {
                            if size == 0 {
                                // `c0`: the string's own length.
                            } else if l < size {
                                return Err(mlua::Error::runtime(format!(
                                    "bad argument #{arg} to 'pack' (string too short)"
                                )));
                            } else {
                                l = size;
                            }
                        }
                        out.extend_from_slice(&s[..l]);
                        if opt == b's' {
                            out.push(0);
                        }
                    }
                    _ => {
                        if !f.control(opt)? {
                            return Err(invalid_format("pack", opt));
                        }
                    }
                }
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        function(lua, |lua, args: Variadic<Value>| {
            let Some(Value::String(fmt)) = args.first() else {
                return Err(bad_arg(1, "unpack", "string", args.first()));
            };
            let Some(Value::String(data)) = args.get(1) else {
                return Err(bad_arg(2, "unpack", "string", args.get(1)));
            };
            let fmt = fmt.as_bytes().to_vec();
            let data = data.as_bytes().to_vec();
            let start = match args.get(2) {
                None | Some(Value::Nil) => 1.0,
                Some(_) => check_number(&args, 2, "unpack")?,
            };
            if start < 1.0 {
                return Err(mlua::Error::runtime(
                    "bad argument #3 to 'unpack' (offset must be 1 or greater)",
                ));
            }
            let mut pos = start as usize - 1;
            let mut f = Fmt {
                f: &fmt,
                pos: 0,
                little: true,
                align: 1,
            };
            let mut out: Vec<Value> = Vec::new();
            let too_short =
                || mlua::Error::runtime("bad argument #2 to 'unpack' (data string too short)");
            while f.pos < f.f.len() {
                let opt = f.f[f.pos];
                f.pos += 1;
                let mut size = f.size(opt)?;
                pos += f.gap(opt, size, pos)?;
                if size > 0 && pos + size > data.len() {
                    return Err(too_short());
                }
                match opt {
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let mut bytes = data[pos..pos + size].to_vec();
                        if !f.little {
                            bytes.reverse();
                        }
                        let mut v: u64 = 0;
                        for (i, b) in bytes.iter().enumerate().take(8) {
                            v |= u64::from(*b) << (8 * i);
                        }
                        let signed = matches!(opt, b'b' | b'h' | b'l' | b'i');
                        let n = if signed && size < 8 {
                            let shift = 64 - 8 * size as u32;
                            ((v << shift) as i64 >> shift) as f64
                        } else if signed {
                            v as i64 as f64
                        } else {
                            v as f64
                        };
                        out.push(Value::Number(n));
                    }
                    b'x' => {}
                    b'f' => {
                        let b: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes");
                        let n = if f.little {
                            f32::from_le_bytes(b)
                        } else {
                            f32::from_be_bytes(b)
                        };
                        out.push(Value::Number(f64::from(n)));
                    }
                    b'd' => {
                        let b: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes");
                        let n = if f.little {
                            f64::from_le_bytes(b)
                        } else {
                            f64::from_be_bytes(b)
                        };
                        out.push(Value::Number(n));
                    }
                    b'c' => {
                        if size == 0 {
                            // `c0`: the length is the previous value.
                            let Some(prev) = out.pop().as_ref().and_then(to_number) else {
                                return Err(mlua::Error::runtime(
                                    "format 'c0' needs a previous size",
                                ));
                            };
                            size = prev as usize;
                            if pos + size > data.len() {
                                return Err(too_short());
                            }
                        }
                        out.push(Value::String(lua.create_string(&data[pos..pos + size])?));
                    }
                    b's' => {
                        let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                            return Err(mlua::Error::runtime("unfinished string in data"));
                        };
                        out.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                        size = end + 1;
                    }
                    _ => {
                        if !f.control(opt)? {
                            return Err(invalid_format("unpack", opt));
                        }
                    }
                }
                pos += size;
            }
            out.push(Value::Number((pos + 1) as f64));
            Ok(MultiValue::from_iter(out))
        })?,
    )?;
    t.raw_set(
        "size",
        function(lua, |_, fmt: mlua::String| {
            let fmt = fmt.as_bytes().to_vec();
            let mut f = Fmt {
                f: &fmt,
                pos: 0,
                little: true,
                align: 1,
            };
            let mut total = 0usize;
            while f.pos < f.f.len() {
                let opt = f.f[f.pos];
                f.pos += 1;
                let size = f.size(opt)?;
                total += f.gap(opt, size, total)?;
                match opt {
                    b's' => {
                        return Err(mlua::Error::runtime(
                            "bad argument #1 to 'size' (options 's' has no fixed size)",
                        ))
                    }
                    b'c' if size == 0 => {
                        return Err(mlua::Error::runtime(
                            "bad argument #1 to 'size' (options 'c0' has no fixed size)",
                        ))
                    }
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' | b'x' | b'f'
                    | b'd' | b'c' => {}
                    _ => {
                        if !f.control(opt)? {
                            return Err(invalid_format("size", opt));
                        }
                    }
                }
                total += size;
            }
            Ok(total as f64)
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// cjson
// ---------------------------------------------------------------------------------------

/// `%.14g`, as Lua prints numbers and lua-cjson encodes them.
fn format_number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let exp = n.abs().log10().floor() as i32;
    // Round to 14 significant digits first: the exponent may move.
    let sci = format!("{n:.13e}");
    let (mant, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..14).contains(&e) {
        let decimals = usize::try_from(13 - e).unwrap_or(0);
        trim(&format!("{n:.decimals$}"))
    } else {
        format!(
            "{}e{}{:02}",
            trim(mant),
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    }
}

const JSON_DEPTH: usize = 1000;

fn json_err(m: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(m.into())
}

/// lua-cjson's `lua_array_length`: the array's length, `None` if the table is not an
/// array (a key that is not a positive integer, or too sparse: an error).
fn array_length(t: &Table) -> R<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    if max > items * 2 && max > 10 {
        return Err(json_err("Cannot serialise table: excessively sparse array"));
    }
    Ok(Some(max))
}

fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_number(out: &mut Vec<u8>, n: f64) -> R<()> {
    if !n.is_finite() {
        return Err(json_err("Cannot serialise number: must not be NaN or Inf"));
    }
    out.extend_from_slice(format_number(n).as_bytes());
    Ok(())
}

fn json_encode(out: &mut Vec<u8>, v: &Value, depth: usize) -> R<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => json_number(out, *i as f64)?,
        Value::Number(n) => json_number(out, *n)?,
        Value::String(s) => json_string(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > JSON_DEPTH {
                return Err(json_err(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        json_encode(out, &t.raw_get::<Value>(i)?, depth)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => json_string(out, &s.as_bytes()),
                            Value::Integer(_) | Value::Number(_) => {
                                out.push(b'"');
                                json_number(out, to_number(&k).unwrap_or(0.0))?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(json_err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                )))
                            }
                        }
                        out.push(b':');
                        json_encode(out, &val, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(json_err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            )))
        }
    }
    Ok(())
}

fn json_to_lua(lua: &Lua, v: serde_json::Value) -> R<Value> {
    Ok(match v {
        serde_json::Value::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
        serde_json::Value::Bool(b) => Value::Boolean(b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(lua.create_string(&s)?),
        serde_json::Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, x) in a.into_iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, x)?)?;
            }
            Value::Table(t)
        }
        serde_json::Value::Object(o) => {
            let t = lua.create_table_with_capacity(0, o.len())?;
            for (k, x) in o {
                t.raw_set(lua.create_string(&k)?, json_to_lua(lua, x)?)?;
            }
            Value::Table(t)
        }
    })
}

fn cjson(lua: &Lua) -> R<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        function(lua, |lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(json_err(
                    "bad argument #1 to 'encode' (expected 1 argument)",
                ));
            }
            let mut out = Vec::new();
            json_encode(&mut out, &args[0], 0)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        function(lua, |lua, args: Variadic<Value>| {
            let Some(Value::String(s)) = args.first() else {
                return Err(bad_arg(1, "decode", "string", args.first()));
            };
            let v: serde_json::Value = serde_json::from_slice(&s.as_bytes()).map_err(|e| {
                json_err(format!(
                    "Expected value but found invalid token at character {}",
                    e.column().max(1)
                ))
            })?;
            json_to_lua(lua, v)
        })?,
    )?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    // The configuration functions: accepted, the defaults kept.
    for name in [
        "encode_sparse_array",
        "encode_max_depth",
        "decode_max_depth",
        "encode_number_precision",
        "encode_keep_buffer",
        "encode_invalid_numbers",
        "decode_invalid_numbers",
    ] {
        t.raw_set(name, function(lua, |_, _: MultiValue| Ok(()))?)?;
    }
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// cmsgpack
// ---------------------------------------------------------------------------------------

/// lua-cmsgpack's nesting limit: deeper tables are packed as nil.
const MSGPACK_MAX_NESTING: usize = 16;

/// lua-cmsgpack's `table_is_an_array`: every key a positive integer, 1..n.
fn is_array(t: &Table) -> R<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n as usize);
        count += 1;
    }
    Ok((max == count).then_some(max))
}

fn mp_number(out: &mut Vec<u8>, n: f64) {
    if n.is_finite() && (n as i64) as f64 == n {
        let _ = rmp::encode::write_sint(out, n as i64);
    } else if f64::from(n as f32) == n {
        let _ = rmp::encode::write_f32(out, n as f32);
    } else {
        let _ = rmp::encode::write_f64(out, n);
    }
}

fn mp_encode(out: &mut Vec<u8>, v: &Value, level: usize) -> R<()> {
    match v {
        Value::Boolean(b) => {
            let _ = rmp::encode::write_bool(out, *b);
        }
        Value::Integer(i) => {
            let _ = rmp::encode::write_sint(out, *i);
        }
        Value::Number(n) => mp_number(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
            let _ = rmp::encode::write_str_len(out, b.len() as u32);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MSGPACK_MAX_NESTING => match is_array(t)? {
            Some(len) => {
                let _ = rmp::encode::write_array_len(out, len as u32);
                for i in 1..=len {
                    mp_encode(out, &t.raw_get::<Value>(i)?, level + 1)?;
                }
            }
            None => {
                let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().collect::<R<_>>()?;
                let _ = rmp::encode::write_map_len(out, pairs.len() as u32);
                for (k, val) in pairs {
                    mp_encode(out, &k, level + 1)?;
                    mp_encode(out, &val, level + 1)?;
                }
            }
        },
        _ => {
            let _ = rmp::encode::write_nil(out);
        }
    }
    Ok(())
}

struct MpReader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn missing_bytes() -> mlua::Error {
    mlua::Error::runtime("Missing bytes in input.")
}

impl MpReader<'_> {
    fn take(&mut self, n: usize) -> R<&[u8]> {
        if self.pos + n > self.b.len() {
            return Err(missing_bytes());
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> R<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }

    fn value(&mut self, lua: &Lua) -> R<Value> {
        use rmp::Marker as M;
        let m = M::from_u8(self.take(1)?[0]);
        let num = |n: f64| Ok(Value::Number(n));
        match m {
            M::FixPos(n) => num(f64::from(n)),
            M::FixNeg(n) => num(f64::from(n)),
            M::Null => Ok(Value::Nil),
            M::True => Ok(Value::Boolean(true)),
            M::False => Ok(Value::Boolean(false)),
            M::U8 => num(self.uint(1)? as f64),
            M::U16 => num(self.uint(2)? as f64),
            M::U32 => num(self.uint(4)? as f64),
            M::U64 => num(self.uint(8)? as f64),
            M::I8 => num(f64::from(self.uint(1)? as u8 as i8)),
            M::I16 => num(f64::from(self.uint(2)? as u16 as i16)),
            M::I32 => num(f64::from(self.uint(4)? as u32 as i32)),
            M::I64 => num(self.uint(8)? as i64 as f64),
            M::F32 => num(f64::from(f32::from_bits(self.uint(4)? as u32))),
            M::F64 => num(f64::from_bits(self.uint(8)?)),
            M::FixStr(n) => self.string(lua, usize::from(n)),
            M::Str8 => {
                let n = self.uint(1)? as usize;
                self.string(lua, n)
            }
            M::Str16 => {
                let n = self.uint(2)? as usize;
                self.string(lua, n)
            }
            M::Str32 => {
                let n = self.uint(4)? as usize;
                self.string(lua, n)
            }
            M::FixArray(n) => self.array(lua, usize::from(n)),
            M::Array16 => {
                let n = self.uint(2)? as usize;
                self.array(lua, n)
            }
            M::Array32 => {
                let n = self.uint(4)? as usize;
                self.array(lua, n)
            }
            M::FixMap(n) => self.map(lua, usize::from(n)),
            M::Map16 => {
                let n = self.uint(2)? as usize;
                self.map(lua, n)
            }
            M::Map32 => {
                let n = self.uint(4)? as usize;
                self.map(lua, n)
            }
            _ => Err(mlua::Error::runtime("Bad data format in input.")),
        }
    }

    fn string(&mut self, lua: &Lua, n: usize) -> R<Value> {
        let s = self.take(n)?;
        Ok(Value::String(lua.create_string(s)?))
    }

    fn array(&mut self, lua: &Lua, n: usize) -> R<Value> {
        let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
        for i in 1..=n {
            let v = self.value(lua)?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, lua: &Lua, n: usize) -> R<Value> {
        let t = lua.create_table()?;
        for _ in 0..n {
            let k = self.value(lua)?;
            let v = self.value(lua)?;
            if !k.is_nil() {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    }
}

fn cmsgpack(lua: &Lua) -> R<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        function(lua, |lua, args: Variadic<Value>| {
            if args.is_empty() {
                return Err(mlua::Error::runtime(
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for a in args.iter() {
                mp_encode(&mut out, a, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    // unpack(s): every object; unpack_one(s [, offset]) / unpack_limit(s, limit
    // [, offset]): the next offset (-1 at the end), then the objects.
    fn unpack(
        lua: &Lua,
        s: &[u8],
        limit: usize,
        offset: usize,
        with_offset: bool,
    ) -> R<MultiValue> {
        let mut r = MpReader { b: s, pos: offset };
        let mut out = Vec::new();
        while r.pos < s.len() && (limit == 0 || out.len() < limit) {
            out.push(r.value(lua)?);
        }
        if with_offset {
            let next = if r.pos >= s.len() { -1.0 } else { r.pos as f64 };
            out.insert(0, Value::Number(next));
        }
        Ok(MultiValue::from_iter(out))
    }
    t.raw_set(
        "unpack",
        function(lua, |lua, s: mlua::String| {
            unpack(lua, &s.as_bytes(), 0, 0, false)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        function(lua, |lua, (s, offset): (mlua::String, Option<f64>)| {
            unpack(
                lua,
                &s.as_bytes(),
                1,
                offset.unwrap_or(0.0).max(0.0) as usize,
                true,
            )
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        function(
            lua,
            |lua, (s, limit, offset): (mlua::String, f64, Option<f64>)| {
                unpack(
                    lua,
                    &s.as_bytes(),
                    limit.max(0.0) as usize,
                    offset.unwrap_or(0.0).max(0.0) as usize,
                    true,
                )
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_format() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(1e20), "1e+20");
        assert_eq!(format_number(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(format_number(-2.5), "-2.5");
        assert_eq!(format_number(1.0 / 3.0), "0.33333333333333");
    }

    #[test]
    fn tobit_wraps() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(-1.0), -1);
    }
}
