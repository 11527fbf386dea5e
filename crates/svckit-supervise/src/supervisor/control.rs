//! A service's control command (a pre-start, post-start, stop or reload command, one at a
//! time, as the machine asks): which runs, and why the last reload command failed, for the
//! client that waits for it. spawn.rs starts them; their end is reaped as any child's.

use svckit_core::{LastExit, Pid};

use crate::machine::ControlCommand;

/// A service's control command: boxed, and only while there is something to hold (most
/// services have no control command, and a supervisor may hold thousands).
#[derive(Debug, Default)]
pub(super) struct Control(Option<Box<Commands>>);

/// What [`Control`] holds.
#[derive(Debug, Default)]
struct Commands {
    /// The one running, and which it is.
    running: Option<(Pid, ControlCommand)>,
    /// Why the last reload command failed, when it did.
    reload_error: Option<String>,
}

impl Control {
    /// `command` runs as `pid`.
    pub(super) fn started(&mut self, pid: Pid, command: ControlCommand) {
        self.0.get_or_insert_default().running = Some((pid, command));
    }

    /// The command running, if any.
    pub(super) fn running(&self) -> Option<(Pid, ControlCommand)> {
        self.0.as_ref()?.running
    }

    /// Whether `pid` is the command running: then it has ended, and which it was.
    pub(super) fn ended(&mut self, pid: Pid) -> Option<ControlCommand> {
        let commands = self.0.as_mut()?;
        match commands.running {
            Some((running, command)) if running == pid => {
                commands.running = None;
                self.tidy();
                Some(command)
            }
            _ => None,
        }
    }

    /// A reload command is about to run: no failure of an earlier one is told.
    pub(super) fn reload_starts(&mut self) {
        if let Some(commands) = &mut self.0 {
            commands.reload_error = None;
            self.tidy();
        }
    }

    /// A reload command ended with `exit` (or could not start, `failed` saying why).
    pub(super) fn reload_ended(&mut self, exit: LastExit, failed: Option<String>) {
        let error = failed
            .or_else(|| (!exit.success()).then(|| format!("its reload command ended with {exit}")));
        match error {
            Some(error) => self.0.get_or_insert_default().reload_error = Some(error),
            None => self.reload_starts(),
        }
    }

    /// Why the last reload command failed, when it did.
    pub(super) fn reload_error(&self) -> Option<&str> {
        self.0.as_ref()?.reload_error.as_deref()
    }

    /// Lets the box go once it holds nothing.
    fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|c| c.running.is_none() && c.reload_error.is_none())
        {
            self.0 = None;
        }
    }
}
