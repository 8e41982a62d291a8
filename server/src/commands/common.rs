//! Small helpers several families share: the container row handler, Redis's help
//! reply, arguments as text.

use shoal_protocol::{Args, ReplyBuf};

use crate::command::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;

/// Handler of container rows (CONFIG, SLOWLOG, MEMORY): dispatch resolves their
/// subcommands, so it never runs; if it did, the container was called bare.
pub fn container(_ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    Err(CmdError::WrongArity(
        String::from_utf8_lossy(&args[0]).to_ascii_lowercase(),
    ))
}

/// Redis's `addReplyHelp`: the usage line, the lines given, then HELP.
pub fn help(out: &mut ReplyBuf, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple_str(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple_str(line);
    }
    out.simple_str("HELP");
    out.simple_str("    Prints this help.");
}

/// An argument as text for APIs that take `&str` (config names and values).
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// The options of SCAN and HSCAN (and the SSCAN/ZSCAN to come): `[MATCH pattern]
/// [COUNT count]`, and `[TYPE type]` for SCAN. One parser, Redis's rules: options in
/// any order, the last of each wins, COUNT must be an integer (`NotInteger`) of at
/// least 1 (a syntax error otherwise), an unknown option or one without its value is
/// a syntax error. MATCH `*` is no pattern at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions<'a> {
    /// COUNT (default 10).
    pub count: usize,
    /// MATCH, unless `*`.
    pub pattern: Option<&'a [u8]>,
    /// TYPE (SCAN only).
    pub type_name: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    /// Parses the options from `args[from..]`; `with_type` accepts TYPE.
    pub fn parse(
        args: &Args<'a>,
        from: usize,
        with_type: bool,
    ) -> Result<ScanOptions<'a>, CmdError> {
        let mut o = ScanOptions {
            count: 10,
            pattern: None,
            type_name: None,
        };
        let mut i = from;
        while let Some(opt) = args.get(i) {
            match args.get(i + 1) {
                Some(v) if opt.eq_ignore_ascii_case(b"count") => {
                    let c = parse_i64(v).ok_or(CmdError::NotInteger)?;
                    if c < 1 {
                        return Err(CmdError::Syntax);
                    }
                    o.count = usize::try_from(c).unwrap_or(usize::MAX);
                }
                Some(v) if opt.eq_ignore_ascii_case(b"match") => {
                    o.pattern = (v != b"*").then_some(v);
                }
                Some(v) if with_type && opt.eq_ignore_ascii_case(b"type") => {
                    o.type_name = Some(v);
                }
                _ => return Err(CmdError::Syntax),
            }
            i += 2;
        }
        Ok(o)
    }
}

/// A SCAN-family reply (HSCAN, SSCAN, ZSCAN): the cursor to continue from, then the
/// `n` items, encoded aside in `items` while the cursor was not yet known.
pub fn scan_reply(out: &mut ReplyBuf, next: u64, items: &ReplyBuf, n: usize) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(n);
    out.raw(items.as_bytes());
}

/// The SCAN-family reply for a missing key: cursor 0, no items.
pub fn empty_scan_reply(out: &mut ReplyBuf) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}
