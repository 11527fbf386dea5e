//! The supervisor's event log, `STATE/events.log`: one line per thing that happened to a
//! service — start, readiness, exit and what it means, restart and its delay, give-up, reload,
//! stop and its escalation to SIGKILL, adoption — with a readable local timestamp:
//!
//! ```text
//! 2026-11-29 00:57:24.123 web: exited with exit code 1 (a failure); restarting in 400ms (restart 3)
//! ```
//!
//! Written by the supervisor alone (appended; rotated to `events.log.1` past 1 MiB, so a crash
//! loop cannot fill the disk); read by `svckit events` and `svckit status`. A failed write is
//! dropped: the supervisor outlives its log.

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use svckit_core::ServiceName;

use crate::{StateDir, logs};

/// Past this size the log is rotated.
const MAX_SIZE: u64 = 1 << 20;

/// The event log of one state directory, as the supervisor writes it.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: Option<File>,
    size: u64,
}

impl EventLog {
    /// The event log of `dir` (opened at the first event).
    pub fn new(dir: &StateDir) -> EventLog {
        EventLog {
            path: path(dir),
            file: None,
            size: 0,
        }
    }

    /// Appends one line: now, the service, what happened.
    pub fn record(&mut self, name: &ServiceName, what: std::fmt::Arguments<'_>) {
        let line = format!("{} {name}: {what}\n", now());
        if self.size + line.len() as u64 > MAX_SIZE && self.file.is_some() {
            self.file = None;
            let _ = fs::rename(&self.path, logs::numbered(&self.path, 1));
        }
        if self.file.is_none() {
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(&self.path)
                .ok();
            self.size = self
                .file
                .as_ref()
                .and_then(|file| file.metadata().ok())
                .map_or(0, |meta| meta.len());
        }
        if let Some(file) = &mut self.file
            && file.write_all(line.as_bytes()).is_ok()
        {
            self.size += line.len() as u64;
        }
    }
}

/// Where `dir`'s event log is.
pub fn path(dir: &StateDir) -> PathBuf {
    dir.root().join("events.log")
}

/// The local time as the log writes it: `2026-11-29 00:57:24.123`.
pub fn now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// The last `lines` events, of `name` only when given (oldest first), from the log and the
/// one rotated before it.
pub fn recent(dir: &StateDir, name: Option<&ServiceName>, lines: usize) -> Vec<String> {
    let path = path(dir);
    let mut events = Vec::new();
    for file in [logs::numbered(&path, 1), path] {
        events.extend(of(&file, name));
    }
    let skip = events.len().saturating_sub(lines);
    events.split_off(skip)
}

/// The lines of `file` about `name` (every line without one).
fn of(file: &Path, name: Option<&ServiceName>) -> Vec<String> {
    let Ok(text) = fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter(|line| name.is_none_or(|name| is_about(line, name)))
        .map(str::to_owned)
        .collect()
}

/// Whether `line` is an event of `name`: its third word is `NAME:`.
pub fn is_about(line: &str, name: &ServiceName) -> bool {
    line.split(' ')
        .nth(2)
        .is_some_and(|word| word.strip_suffix(':') == Some(name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart_by_service_and_rotated_past_the_limit() {
        let root = std::env::temp_dir().join(format!("svckit-events-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = StateDir::new(&root).unwrap();
        dir.create().unwrap();
        let (web, api) = (
            ServiceName::new("web").unwrap(),
            ServiceName::new("api").unwrap(),
        );
        let mut log = EventLog::new(&dir);
        log.record(&web, format_args!("started (PID 10)"));
        log.record(&api, format_args!("started (PID 11)"));
        log.record(&web, format_args!("exited with exit code 1"));
        let of_web = recent(&dir, Some(&web), 10);
        assert_eq!(of_web.len(), 2, "{of_web:?}");
        assert!(of_web[1].ends_with(" web: exited with exit code 1"));
        assert_eq!(recent(&dir, None, 10).len(), 3);
        assert_eq!(recent(&dir, None, 1).len(), 1);
        // A crash loop cannot fill the disk: rotated, the last lines still read.
        for n in 0..20_000 {
            log.record(&web, format_args!("restart {n} of a service that loops"));
        }
        let size = fs::metadata(path(&dir)).unwrap().len();
        assert!(size <= MAX_SIZE, "{size}");
        assert!(recent(&dir, Some(&web), 1)[0].ends_with("restart 19999 of a service that loops"));
        let _ = fs::remove_dir_all(&root);
    }
}
