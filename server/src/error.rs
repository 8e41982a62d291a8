//! Command errors as values, each mapped to the exact text Redis replies with.
//!
//! Clients and test suites match on these strings, so every handler reports failure
//! through [`CmdError`] and the one place that renders it ([`CmdError::message`]),
//! never with an ad-hoc string for a case that has a standard wording.

use std::borrow::Cow;

/// Why a command failed. Rendered with Redis 7's wording by [`CmdError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `ERR wrong number of arguments for '<name>' command` (name as typed, lowercased;
    /// subcommands as `container|sub`).
    WrongArity(String),
    /// `ERR syntax error`
    Syntax,
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR DB index is out of range`
    DbIndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`
    InvalidExpire(&'static str),
    /// `NOAUTH Authentication required.`
    NoAuth,
    /// `WRONGPASS invalid username-password pair or user is disabled.`
    WrongPass,
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand { sub: String, cmd: String },
    /// Any other error; the text includes its prefix (`ERR ...`, `NOPROTO ...`).
    Other(Cow<'static, str>),
}

impl CmdError {
    /// An `ERR`-style error with a fixed text (include the prefix).
    pub fn msg(text: &'static str) -> CmdError {
        CmdError::Other(Cow::Borrowed(text))
    }

    /// An error with a computed text (include the prefix).
    pub fn owned(text: String) -> CmdError {
        CmdError::Other(Cow::Owned(text))
    }

    /// The reply text (without the leading `-` and trailing CRLF).
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            CmdError::WrongArity(name) => Cow::Owned(format!(
                "ERR wrong number of arguments for '{name}' command"
            )),
            CmdError::Syntax => Cow::Borrowed("ERR syntax error"),
            CmdError::WrongType => {
                Cow::Borrowed("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::NotInteger => Cow::Borrowed("ERR value is not an integer or out of range"),
            CmdError::NotFloat => Cow::Borrowed("ERR value is not a valid float"),
            CmdError::Overflow => Cow::Borrowed("ERR increment or decrement would overflow"),
            CmdError::NoSuchKey => Cow::Borrowed("ERR no such key"),
            CmdError::DbIndexOutOfRange => Cow::Borrowed("ERR DB index is out of range"),
            CmdError::InvalidExpire(cmd) => {
                Cow::Owned(format!("ERR invalid expire time in '{cmd}' command"))
            }
            CmdError::NoAuth => Cow::Borrowed("NOAUTH Authentication required."),
            CmdError::WrongPass => {
                Cow::Borrowed("WRONGPASS invalid username-password pair or user is disabled.")
            }
            CmdError::UnknownSubcommand { sub, cmd } => {
                Cow::Owned(format!("ERR unknown subcommand '{sub}'. Try {cmd} HELP."))
            }
            CmdError::Other(s) => Cow::Borrowed(s),
        }
    }
}

/// Result of a command handler: the success reply was already written.
pub type CmdResult = Result<(), CmdError>;

/// Lossy UTF-8 of a client-supplied argument for an error message, truncated the way
/// Redis truncates (128 bytes).
pub fn show_arg(arg: &[u8]) -> String {
    let cut = &arg[..arg.len().min(128)];
    String::from_utf8_lossy(cut).into_owned()
}
