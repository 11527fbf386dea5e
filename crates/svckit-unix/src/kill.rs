//! Stopping the daemon a PID file names — `svckit kill`, and the `stop` of svckit's init
//! scripts: every process of it (its cgroup's, where daemonize made one; else its processes'
//! groups, session and descendants), verified, never a pid that only happens to be in the
//! file; the stop signal, then SIGKILL after the timeout; then the runtime directories
//! daemonize recorded beside the PID file, and nothing swapped in at their paths since.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use svckit_core::Signal;

use crate::{
    cgroup::Cgroup,
    pidfile::{self, PidfileError, PidfileState},
    process::{self, Terminated},
    sys,
};

/// How to stop it.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// The signal sent first.
    pub signal: Signal,
    /// How long it is given before SIGKILL.
    pub timeout: Duration,
    /// Send the signal to the main process only, and return (a reload: `--signal HUP`).
    pub no_wait: bool,
}

/// What became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// It was not running: no PID file.
    NotRunning,
    /// It was not running: its stale PID file was removed.
    StaleRemoved,
    /// The signal was sent to its main process ([`Stop::no_wait`]).
    Signalled,
    /// Every process of it is gone, and its PID file with them.
    Gone,
}

/// The stop, and what was left behind that should not have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What became of it.
    pub stopped: Stopped,
    /// Why a runtime directory daemonize made for it is left, if one is.
    pub left: Option<String>,
}

/// Why it could not be stopped.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    /// The PID file names a process that is not the daemon that wrote it.
    #[error(
        "PID {pid} in {} is not the daemon that wrote it (no lock, no matching start time); not \
         signalled",
        path.display()
    )]
    Unverified {
        /// The pid in the file.
        pid: svckit_core::Pid,
        /// The PID file.
        path: PathBuf,
    },
    /// The PID file is locked by a process that cannot be seen (another pid namespace).
    #[error("pid file {} is locked by a process that cannot be seen", .0.display())]
    Unseen(PathBuf),
    /// Its cgroup still holds processes after SIGKILL.
    #[error("{} still holds processes after SIGKILL", .0.display())]
    CgroupNotEmpty(PathBuf),
    /// A process of it still runs after SIGKILL.
    #[error("PID {0} is still running after SIGKILL")]
    StillRunning(svckit_core::Pid),
    /// The PID file could not be read or removed.
    #[error(transparent)]
    Pidfile(#[from] PidfileError),
    /// A signal could not be sent.
    #[error("cannot signal PID {pid}: {source}")]
    Signal {
        /// To whom.
        pid: svckit_core::Pid,
        /// Why.
        source: std::io::Error,
    },
}

/// Stops the daemon named by the PID file at `path` as `stop` says.
pub fn stop_daemon(path: &Path, stop: &Stop) -> Result<Outcome, KillError> {
    let inspection = pidfile::inspect(path)?;
    let done = |stopped| Outcome {
        stopped,
        left: remove_runtime_directories(path),
    };
    match inspection.state {
        PidfileState::Missing => return Ok(done(Stopped::NotRunning)),
        PidfileState::Stale => {
            pidfile::remove_stale(path)?;
            return Ok(done(Stopped::StaleRemoved));
        }
        PidfileState::Unverified(pid) => {
            return Err(KillError::Unverified {
                pid,
                path: path.to_owned(),
            });
        }
        PidfileState::Running(_) if inspection.processes.is_empty() => {
            return Err(KillError::Unseen(path.to_owned()));
        }
        PidfileState::Running(_) => {}
    }
    let targets = inspection.processes.clone();
    // The verified main process (the PID file's), else the oldest of the daemon's.
    let main = match inspection.state {
        PidfileState::Running(Some(pid)) => pid,
        _ => inspection.processes[0],
    };
    if stop.no_wait {
        sys::kill(main, Some(stop.signal))
            .map_err(|source| KillError::Signal { pid: main, source })?;
        return Ok(Outcome {
            stopped: Stopped::Signalled,
            left: None,
        });
    }
    // Where daemonize gave it a cgroup: everything in it, connection handlers that called
    // setsid and their children included (they once lived on after `kill` said 0).
    match targets.iter().find_map(|pid| Cgroup::of_daemon(*pid)) {
        Some(cgroup) => stop_cgroup(&cgroup, stop)?,
        None => stop_processes(path, targets, stop).map_err(|err| match err {
            Some(source) => KillError::Signal { pid: main, source },
            None => KillError::StillRunning(main),
        })?,
    }
    pidfile::remove_stale(path)?;
    Ok(done(Stopped::Gone))
}

/// Stops everything in the daemon's `cgroup`: the signal, then SIGKILL (cgroup.kill) after
/// the timeout; the cgroup removed once it is empty.
fn stop_cgroup(cgroup: &Cgroup, stop: &Stop) -> Result<(), KillError> {
    cgroup.signal_all(stop.signal);
    if !process::wait_until(stop.timeout, || cgroup.is_empty()) {
        cgroup.kill_all();
        if !process::wait_until(Duration::from_secs(5), || cgroup.is_empty()) {
            return Err(KillError::CgroupNotEmpty(cgroup.dir().to_owned()));
        }
    }
    cgroup.remove();
    Ok(())
}

/// Stops a daemon without a cgroup: `targets` (its verified processes), their session's
/// processes and the descendants of both, as the supervisor finds a service without a cgroup;
/// each with its group (a daemon leads its own, so its workers go too). Done once the PID
/// file's lock has no holder left either. An error: why one could not be signalled, or None
/// for one still running after SIGKILL.
fn stop_processes(
    path: &Path,
    mut targets: Vec<svckit_core::Pid>,
    stop: &Stop,
) -> Result<(), Option<std::io::Error>> {
    let found: Vec<_> = targets
        .iter()
        .filter_map(|pid| process::session(*pid).map(|sid| (sid, *pid)))
        .flat_map(|(sid, pid)| process::session_members(sid, Some(pid)))
        .collect();
    for pid in found {
        if !targets.contains(&pid) {
            targets.push(pid);
        }
    }
    let gone = || {
        targets.iter().all(|pid| process::is_gone(*pid))
            && pidfile::inspect(path).is_ok_and(|now| now.processes.is_empty())
    };
    match process::terminate_all(&targets, stop.signal, stop.timeout, gone)? {
        Terminated::Gracefully | Terminated::Killed => Ok(()),
        Terminated::StillRunning => Err(None),
    }
}

/// Once the daemon is gone: the runtime directories `daemonize` made for it, as it recorded
/// them beside the PID file, and nothing swapped in at their paths since; then the record.
/// Why one is left, if one is.
fn remove_runtime_directories(path: &Path) -> Option<String> {
    let (Ok(made), Some(base)) = (pidfile::read_runtime(path), crate::dirs::runtime_base()) else {
        return None;
    };
    let left = crate::dirs::remove(&base, &made)
        .err()
        .map(|err| format!("runtime directory left: {err}"));
    pidfile::forget_runtime(path);
    left
}
