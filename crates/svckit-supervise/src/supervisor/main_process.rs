//! A service's processes: its main one (pid, start time, the fds that tell its end and its
//! readiness), its group, session and cgroup, and how they are signalled, killed and known to
//! be gone. The OS's side (kill, /proc, cgroup files) is svckit-unix's.

use std::{
    os::fd::OwnedFd,
    time::{Instant, SystemTime},
};

use mio::Token;
use svckit_core::{KillMode, Pid, Signal};
use svckit_unix::{cgroup::Cgroup, process};

/// A service's main process and its group, while they exist.
#[derive(Default)]
pub(super) struct MainProcess {
    /// The main process (None once it ended, while the group may live on).
    pub(super) pid: Option<Pid>,
    /// Its process group, which a stop signals and waits to be empty.
    pub(super) pgid: Option<Pid>,
    /// Its start time in clock ticks, to tell it from a recycled pid.
    pub(super) start_ticks: Option<u64>,
    /// When it started: for its uptime, and as status shows it.
    pub(super) started: Option<(Instant, SystemTime)>,
    /// A pidfd of an adopted process (not our child): readable once it ends.
    pub(super) pidfd: Option<(Token, OwnedFd)>,
    /// The readiness pipe of a program that says when it is ready.
    pub(super) ready: Option<(Token, OwnedFd)>,
    /// Its cgroup, where the supervisor makes them: every process of the service, wherever it
    /// went.
    pub(super) cgroup: Option<Cgroup>,
    /// The session the supervisor started it in (its first process's pid): without a cgroup,
    /// the service is what is left in it and in its process group.
    pub(super) sid: Option<Pid>,
    /// Without a cgroup: the processes a stop signalled, waited for even once they are
    /// orphaned (and so no longer anyone's descendant).
    pub(super) signalled: Vec<(Pid, Option<u64>)>,
}

impl MainProcess {
    /// Sends `signal` to every process of the service: its cgroup's, else its group's and
    /// session's.
    pub(super) fn signal_all(&mut self, signal: Signal) {
        match &self.cgroup {
            Some(cgroup) => cgroup.signal_all(signal),
            None => {
                // The tree first: a main process that dies of the signal orphans its children,
                // which are then no one's descendants.
                let members = self.members();
                if let Some(pgid) = self.pgid {
                    process::send_group(pgid, signal);
                }
                for pid in members {
                    process::send(pid, signal);
                    if !self.signalled.iter().any(|(known, _)| *known == pid) {
                        self.signalled.push((pid, process::start_time(pid).ok()));
                    }
                }
            }
        }
    }

    /// Whether `pid` is one of the service's processes.
    pub(super) fn contains(&self, pid: Pid) -> bool {
        self.pid == Some(pid)
            || match &self.cgroup {
                Some(cgroup) => cgroup.pids().contains(&pid),
                None => self.members().contains(&pid),
            }
    }

    /// Without a cgroup: the live processes of its session and group.
    pub(super) fn members(&self) -> Vec<Pid> {
        match self.sid {
            Some(sid) => process::session_members(sid, self.pgid),
            None => Vec::new(),
        }
    }

    /// Sends `signal` to the main process (to the group when it is gone).
    pub(super) fn signal_main(&self, signal: Signal) {
        match (self.pid, self.pgid) {
            (Some(pid), _) => process::send(pid, signal),
            (None, Some(pgid)) => process::send_group(pgid, signal),
            (None, None) => {}
        }
    }

    /// SIGKILLs every process of the service (cgroup.kill, else its group and session).
    pub(super) fn kill_all(&mut self) {
        match &self.cgroup {
            Some(cgroup) => cgroup.kill_all(),
            None => self.signal_all(Signal::Kill),
        }
    }

    /// Whether no process of the service is left (the main one is gone already).
    pub(super) fn all_gone(&self, kill_mode: KillMode) -> bool {
        match (&self.cgroup, kill_mode) {
            (_, KillMode::Process) => true,
            (Some(cgroup), _) => cgroup.is_empty(),
            (None, _) => {
                !self.pgid.is_some_and(process::group_exists)
                    && self.members().is_empty()
                    && self.signalled.iter().all(|(pid, started)| {
                        process::is_gone(*pid) || process::start_time(*pid).ok() != *started
                    })
            }
        }
    }
}
