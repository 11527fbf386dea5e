//! svckit's [`Pid`] and [`Signal`] as the OS takes them, and the process calls that need the
//! conversion (kill, killpg, waitpid, pidfd_open, getsid, setpgid): every other module of the crate calls
//! these and never names nix's `Pid` or `Signal`.
#![deny(unsafe_code)]

use std::io;

use nix::{
    errno::Errno,
    sys::{
        signal::Signal as OsSignal,
        wait::{WaitPidFlag, WaitStatus, waitpid},
    },
    unistd::Pid as OsPid,
};
use svckit_core::{LastExit, Pid, Signal};

/// `pid` as nix takes it.
pub(crate) fn os_pid(pid: Pid) -> OsPid {
    OsPid::from_raw(pid.as_i32())
}

/// A pid nix gave, as svckit's [`Pid`] (`None` for 0 or a group's negative id).
pub(crate) fn our_pid(pid: OsPid) -> Option<Pid> {
    Pid::from_i32(pid.as_raw())
}

/// The OS signal for a definition's [`Signal`]: one arm per name, so no name can fall back to
/// another (the supervisor once parsed the name and fell back to SIGTERM).
pub(crate) const fn os_signal(signal: Signal) -> OsSignal {
    match signal {
        Signal::Hup => OsSignal::SIGHUP,
        Signal::Int => OsSignal::SIGINT,
        Signal::Quit => OsSignal::SIGQUIT,
        Signal::Ill => OsSignal::SIGILL,
        Signal::Trap => OsSignal::SIGTRAP,
        Signal::Abrt => OsSignal::SIGABRT,
        Signal::Bus => OsSignal::SIGBUS,
        Signal::Fpe => OsSignal::SIGFPE,
        Signal::Kill => OsSignal::SIGKILL,
        Signal::Usr1 => OsSignal::SIGUSR1,
        Signal::Segv => OsSignal::SIGSEGV,
        Signal::Usr2 => OsSignal::SIGUSR2,
        Signal::Pipe => OsSignal::SIGPIPE,
        Signal::Alrm => OsSignal::SIGALRM,
        Signal::Term => OsSignal::SIGTERM,
        Signal::Chld => OsSignal::SIGCHLD,
        Signal::Cont => OsSignal::SIGCONT,
        Signal::Stop => OsSignal::SIGSTOP,
        Signal::Tstp => OsSignal::SIGTSTP,
        Signal::Ttin => OsSignal::SIGTTIN,
        Signal::Ttou => OsSignal::SIGTTOU,
        Signal::Urg => OsSignal::SIGURG,
        Signal::Xcpu => OsSignal::SIGXCPU,
        Signal::Xfsz => OsSignal::SIGXFSZ,
        Signal::Vtalrm => OsSignal::SIGVTALRM,
        Signal::Prof => OsSignal::SIGPROF,
        Signal::Winch => OsSignal::SIGWINCH,
        Signal::Io => OsSignal::SIGIO,
        Signal::Pwr => OsSignal::SIGPWR,
        Signal::Sys => OsSignal::SIGSYS,
    }
}

/// kill(2): `signal` to `pid`, or with `None` only whether it exists (and may be signalled).
pub(crate) fn kill(pid: Pid, signal: Option<Signal>) -> io::Result<()> {
    nix::sys::signal::kill(os_pid(pid), signal.map(os_signal)).map_err(io::Error::from)
}

/// killpg(2): `signal` to the process group `pgid`; with `None` only whether any of it is left.
pub(crate) fn killpg(pgid: Pid, signal: Option<Signal>) -> io::Result<()> {
    nix::sys::signal::killpg(os_pid(pgid), signal.map(os_signal)).map_err(io::Error::from)
}

/// kill(2) of every process this one may signal but itself and init (`kill(-1, …)`): what a
/// PID 1 sends to what is left of its namespace.
pub(crate) fn kill_everyone(signal: Signal) -> io::Result<()> {
    nix::sys::signal::kill(OsPid::from_raw(-1), os_signal(signal)).map_err(io::Error::from)
}

/// How a waited-for child ended, as svckit records it.
fn last_exit(status: WaitStatus) -> Option<(Pid, LastExit)> {
    match status {
        WaitStatus::Exited(pid, code) => Some((our_pid(pid)?, LastExit::Code(code))),
        WaitStatus::Signaled(pid, signal, _) => {
            Some((our_pid(pid)?, LastExit::Signal(signal as i32)))
        }
        _ => None,
    }
}

/// Waits for our child `pid` to end (waitpid(2), again after EINTR) and says how;
/// [`LastExit::Unknown`] when it is not (or no longer) ours to wait for.
pub(crate) fn wait_for(pid: Pid) -> LastExit {
    loop {
        match waitpid(os_pid(pid), None) {
            Ok(status) => {
                if let Some((_, exit)) = last_exit(status) {
                    return exit;
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return LastExit::Unknown,
        }
    }
}

/// What [`reap_one`] found.
pub(crate) enum Reaped {
    /// This child ended, and how; it is reaped.
    Ended(Pid, LastExit),
    /// Children are left, none has ended.
    Running,
    /// This process has no child left.
    NoChildren,
}

/// One child of this process that has ended, reaped without waiting (waitpid(-1, WNOHANG),
/// again after EINTR). Children that stopped or continued are skipped; an error other than
/// ECHILD counts as [`Reaped::Running`].
pub(crate) fn reap_one() -> Reaped {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return Reaped::Running,
            Err(Errno::ECHILD) => return Reaped::NoChildren,
            Ok(status) => {
                if let Some((pid, exit)) = last_exit(status) {
                    return Reaped::Ended(pid, exit);
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return Reaped::Running,
        }
    }
}

/// pidfd_open(2), non-blocking and close-on-exec.
pub(crate) fn pidfd_open(pid: Pid) -> io::Result<std::os::fd::OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid.as_i32())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    Ok(rustix::process::pidfd_open(
        pid,
        rustix::process::PidfdFlags::NONBLOCK,
    )?)
}

/// getsid(2): the session `pid` is in.
pub(crate) fn session_of(pid: Pid) -> Option<Pid> {
    nix::unistd::getsid(Some(os_pid(pid)))
        .ok()
        .and_then(our_pid)
}

/// setpgid(0, 0): the calling process leads a process group of its own.
pub(crate) fn lead_own_group() -> nix::Result<()> {
    nix::unistd::setpgid(OsPid::from_raw(0), OsPid::from_raw(0))
}

#[cfg(test)]
mod tests {
    /// Every name maps to the OS signal of that name.
    #[test]
    fn every_signal_maps_to_the_os_signal_of_its_name() {
        for signal in svckit_core::Signal::ALL {
            assert_eq!(super::os_signal(*signal).as_str(), format!("SIG{signal}"));
            assert_eq!(super::os_signal(*signal) as i32, signal.number());
        }
    }
}
