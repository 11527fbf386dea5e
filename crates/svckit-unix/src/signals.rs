//! Waiting for signals synchronously, without handlers: the signals are blocked and read from a
//! signalfd(2), so a daemon's main loop can wait for "the next tick or the next signal" in one
//! poll(2) and no code runs in signal context.

use std::{
    os::fd::{AsFd, BorrowedFd},
    time::Duration,
};

use nix::{
    errno::Errno,
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::{
        signal::{SigSet, SigmaskHow, sigprocmask},
        signalfd::{SfdFlags, SignalFd},
    },
};
use svckit_core::Signal;

/// Receives a fixed set of signals through a signalfd. While it lives, those signals are
/// blocked in the calling thread; dropping it unblocks them again.
#[derive(Debug)]
pub struct SignalWaiter {
    fd: SignalFd,
    set: SigSet,
}

impl SignalWaiter {
    /// Blocks `signals` (sigprocmask(2)) and opens a close-on-exec signalfd for them.
    pub fn new(signals: &[Signal]) -> nix::Result<SignalWaiter> {
        SignalWaiter::of(signals.iter().map(|signal| os_signal(*signal)).collect())
    }

    /// For an init that forwards every signal (some svckit has no name for, such as
    /// SIGSTKFLT): the signals numbered `numbers` and every real-time one (SIGRTMIN to
    /// SIGRTMAX); [`SignalWaiter::wait_number`] reads them.
    pub fn with_realtime(numbers: &[i32]) -> nix::Result<SignalWaiter> {
        let set = numbers
            .iter()
            .filter_map(|number| nix::sys::signal::Signal::try_from(*number).ok())
            .collect();
        SignalWaiter::of(crate::sys::with_realtime(set))
    }

    fn of(set: SigSet) -> nix::Result<SignalWaiter> {
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(SignalWaiter { fd, set })
    }

    /// Waits up to `timeout` (forever with `None`) for one of the signals and returns its
    /// number (a real-time one included); `Ok(None)` when the time ran out first.
    pub fn wait_number(&mut self, timeout: Option<Duration>) -> nix::Result<Option<i32>> {
        match self.ready(None, timeout)? {
            Pending::Signal => Ok(self.fd.read_signal()?.map(|info| info.ssi_signo as i32)),
            Pending::Other | Pending::Nothing => Ok(None),
        }
    }

    /// Waits up to `timeout` (forever with `None`) for one of the signals; `Ok(None)` when the
    /// time ran out first.
    pub fn wait(&mut self, timeout: Option<Duration>) -> nix::Result<Option<Signal>> {
        Ok(match self.poll(None, timeout)? {
            Wake::Signal(signal) => Some(signal),
            Wake::Readable | Wake::Timeout => None,
        })
    }

    /// Waits up to `timeout` (forever with `None`) for one of the signals or for `other` to
    /// become readable, in one poll(2). A signal wins when both are ready.
    pub fn wait_or_readable(
        &mut self,
        other: BorrowedFd<'_>,
        timeout: Option<Duration>,
    ) -> nix::Result<Wake> {
        self.poll(Some(other), timeout)
    }

    /// Reads one pending signal without waiting (`Ok(None)` when none is pending), for callers
    /// that poll the signalfd themselves through [`AsFd`].
    pub fn try_read(&mut self) -> nix::Result<Option<Signal>> {
        loop {
            match self.fd.read_signal() {
                Ok(Some(info)) => {
                    if let Some(signal) = Signal::from_number(info.ssi_signo as i32) {
                        return Ok(Some(signal));
                    }
                }
                Ok(None) | Err(Errno::EAGAIN) => return Ok(None),
                Err(errno) => return Err(errno),
            }
        }
    }

    /// The one poll(2) behind both waits: the signalfd, and `other` if given. An interrupted
    /// poll, or a signal that is not a [`Signal`], counts as the time running out.
    fn poll(
        &mut self,
        other: Option<BorrowedFd<'_>>,
        timeout: Option<Duration>,
    ) -> nix::Result<Wake> {
        match self.ready(other, timeout)? {
            Pending::Signal => {}
            Pending::Other => return Ok(Wake::Readable),
            Pending::Nothing => return Ok(Wake::Timeout),
        }
        Ok(match self.fd.read_signal()? {
            Some(info) => {
                Signal::from_number(info.ssi_signo as i32).map_or(Wake::Timeout, Wake::Signal)
            }
            None => Wake::Timeout,
        })
    }

    /// Polls the signalfd and `other`: whether a signal is pending (still to be read), only
    /// `other` is ready, or nothing (the time ran out, or the poll was interrupted).
    fn ready(
        &mut self,
        other: Option<BorrowedFd<'_>>,
        timeout: Option<Duration>,
    ) -> nix::Result<Pending> {
        let timeout = match timeout {
            Some(timeout) => PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let mut fds = vec![PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        fds.extend(other.map(|other| PollFd::new(other, PollFlags::POLLIN)));
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => Ok(Pending::Nothing),
            Ok(_) if fds[0].any().unwrap_or(false) => Ok(Pending::Signal),
            Ok(_) => Ok(Pending::Other),
            Err(errno) => Err(errno),
        }
    }
}

/// What one poll found ready.
enum Pending {
    Signal,
    Other,
    Nothing,
}

/// What ended a [`SignalWaiter::wait_or_readable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// One of the signals arrived.
    Signal(Signal),
    /// The other fd became readable (or hung up).
    Readable,
    /// The time ran out.
    Timeout,
}

impl AsFd for SignalWaiter {
    /// The signalfd (non-blocking): readable while a signal is pending.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SignalWaiter {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&self.set), None);
    }
}

/// The OS signal for a definition's [`svckit_core::Signal`]: one arm per name, so no name can
/// fall back to another (the supervisor once parsed the name and fell back to SIGTERM).
pub const fn os_signal(signal: svckit_core::Signal) -> nix::sys::signal::Signal {
    use nix::sys::signal::Signal as Os;
    use svckit_core::Signal;
    match signal {
        Signal::Hup => Os::SIGHUP,
        Signal::Int => Os::SIGINT,
        Signal::Quit => Os::SIGQUIT,
        Signal::Ill => Os::SIGILL,
        Signal::Trap => Os::SIGTRAP,
        Signal::Abrt => Os::SIGABRT,
        Signal::Bus => Os::SIGBUS,
        Signal::Fpe => Os::SIGFPE,
        Signal::Kill => Os::SIGKILL,
        Signal::Usr1 => Os::SIGUSR1,
        Signal::Segv => Os::SIGSEGV,
        Signal::Usr2 => Os::SIGUSR2,
        Signal::Pipe => Os::SIGPIPE,
        Signal::Alrm => Os::SIGALRM,
        Signal::Term => Os::SIGTERM,
        Signal::Chld => Os::SIGCHLD,
        Signal::Cont => Os::SIGCONT,
        Signal::Stop => Os::SIGSTOP,
        Signal::Tstp => Os::SIGTSTP,
        Signal::Ttin => Os::SIGTTIN,
        Signal::Ttou => Os::SIGTTOU,
        Signal::Urg => Os::SIGURG,
        Signal::Xcpu => Os::SIGXCPU,
        Signal::Xfsz => Os::SIGXFSZ,
        Signal::Vtalrm => Os::SIGVTALRM,
        Signal::Prof => Os::SIGPROF,
        Signal::Winch => Os::SIGWINCH,
        Signal::Io => Os::SIGIO,
        Signal::Pwr => Os::SIGPWR,
        Signal::Sys => Os::SIGSYS,
    }
}

#[cfg(test)]
mod os_signal_tests {
    /// Every name maps to the OS signal of that name.
    #[test]
    fn every_signal_maps_to_the_os_signal_of_its_name() {
        for signal in svckit_core::Signal::ALL {
            assert_eq!(super::os_signal(*signal).as_str(), format!("SIG{signal}"));
            assert_eq!(super::os_signal(*signal) as i32, signal.number());
        }
    }
}
