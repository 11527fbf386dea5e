//! A service's control command (a pre-start, post-start, stop or reload command, one at a
//! time, as the machine asks): which runs, and why the last reload command failed, for the
//! client that waits for it. spawn.rs starts them; their end is reaped as any child's.

use svckit_core::{LastExit, Pid};

use crate::machine::ControlCommand;

/// A service's control command.
#[derive(Debug, Default)]
pub(super) struct Control {
    /// The one running, and which it is.
    running: Option<(Pid, ControlCommand)>,
    /// Why the last reload command failed, when it did.
    reload_error: Option<String>,
}

impl Control {
    /// `command` runs as `pid`.
    pub(super) fn started(&mut self, pid: Pid, command: ControlCommand) {
        self.running = Some((pid, command));
    }

    /// The command running, if any.
    pub(super) fn running(&self) -> Option<(Pid, ControlCommand)> {
        self.running
    }

    /// Whether `pid` is the command running: then it has ended, and which it was.
    pub(super) fn ended(&mut self, pid: Pid) -> Option<ControlCommand> {
        match self.running {
            Some((running, command)) if running == pid => {
                self.running = None;
                Some(command)
            }
            _ => None,
        }
    }

    /// A reload command is about to run: no failure of an earlier one is told.
    pub(super) fn reload_starts(&mut self) {
        self.reload_error = None;
    }

    /// A reload command ended with `exit` (or could not start, `failed` saying why).
    pub(super) fn reload_ended(&mut self, exit: LastExit, failed: Option<String>) {
        self.reload_error = failed
            .or_else(|| (!exit.success()).then(|| format!("its reload command ended with {exit}")));
    }

    /// Why the last reload command failed, when it did.
    pub(super) fn reload_error(&self) -> Option<&str> {
        self.reload_error.as_deref()
    }
}
