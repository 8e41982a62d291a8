//! Small helpers several families share: the container row handler, Redis's help
//! reply, arguments as text.

use shoal_protocol::{Args, ReplyBuf};

use crate::command::Ctx;
use crate::error::{CmdError, CmdResult};

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
