//! (being written)

use crate::command::Command;

/// This family's commands.
pub const COMMANDS: &[Command] = &[];
