//! The supervisor's event log, `STATE/events.log`: the shared format of
//! [`svckit_core::journal`] (its words from the lifecycle machine), one log for every service
//! of the state directory, written by the supervisor alone.

use std::path::PathBuf;

use svckit_core::{ServiceName, journal};

pub use journal::{is_about, now};

use crate::StateDir;

/// The event log of one state directory, as the supervisor writes it.
pub type EventLog = journal::Journal;

/// The event log of `dir` (opened at the first event).
pub fn log(dir: &StateDir) -> EventLog {
    journal::Journal::new(path(dir))
}

/// Where `dir`'s event log is.
pub fn path(dir: &StateDir) -> PathBuf {
    dir.root().join("events.log")
}

/// The last `lines` events, of `name` only when given (oldest first), from the log and the
/// one rotated before it.
pub fn recent(dir: &StateDir, name: Option<&ServiceName>, lines: usize) -> Vec<String> {
    journal::recent(&[path(dir)], name, lines)
}
