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

use crate::sys;

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
        SignalWaiter::of(
            signals
                .iter()
                .map(|signal| sys::os_signal(*signal))
                .collect(),
        )
    }

    /// For an init that forwards every signal (some svckit has no name for, such as
    /// SIGSTKFLT): the signals numbered `numbers` and every real-time one (SIGRTMIN to
    /// SIGRTMAX); [`SignalWaiter::wait_number`] reads them.
    pub fn with_realtime(numbers: &[i32]) -> nix::Result<SignalWaiter> {
        SignalWaiter::of(sys::with_realtime(numbers))
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
