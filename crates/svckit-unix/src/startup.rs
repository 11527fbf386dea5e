//! What a binary built with `#![no_main]` still needs of std's start-up.
//!
//! svckit's binaries start from C's `main` (each binary's `sys` module) rather than std's: std's
//! runtime start-up reads /proc/self/maps for the main thread's stack guard and maps an
//! alternate signal stack, about 0.05 ms of every start, which is most of what an init adds to
//! a container's start (docs/benchmarks.md). What it does that matters is kept here: the
//! standard descriptors are never left closed, and SIGPIPE is ignored. The environment is read
//! through `std::env` as before. The arguments are taken from C's `main` ([`begin_with`]) and
//! read through [`args_os`]: glibc hands them to std itself, musl does not (`std::env::args` is
//! empty in a `no_main` binary linked with musl, as svckit-init is).

use std::{
    ffi::OsString,
    os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd},
    sync::OnceLock,
};

use nix::{
    errno::Errno,
    fcntl::{FcntlArg, OFlag, fcntl, open},
    sys::stat::Mode,
};
use svckit_core::Signal;

use crate::sys;

/// The arguments C's `main` got, kept by [`begin_with`].
static ARGS: OnceLock<Vec<OsString>> = OnceLock::new();

pub use crate::sys::c_arguments;

/// [`begin`], and keeps `args`, the arguments C's `main` got (read with [`c_arguments`]), for
/// [`args_os`].
pub fn begin_with(args: Vec<OsString>) {
    begin();
    let _ = ARGS.set(args);
}

/// The program's arguments, its name first: those kept by [`begin_with`], else std's (kept
/// from the first call on).
pub fn args_os() -> &'static [OsString] {
    ARGS.get_or_init(|| std::env::args_os().collect())
}

/// Does what std's start-up does before `main` that svckit relies on; call it first.
///
/// - Each of the descriptors 0, 1 and 2 that is closed is opened on /dev/null, as std does: a
///   file opened later must never become stdout (a log line written into a PID file).
/// - SIGPIPE is ignored, as std does: a write to a reader that went away fails with EPIPE
///   (`svckit status | head -1` ends quietly; the supervisor outlives a client that left)
///   instead of killing the process. Programs started get it back at its default.
pub fn begin() {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let standard: [(BorrowedFd<'_>, i32); 3] =
        [(stdin.as_fd(), 0), (stdout.as_fd(), 1), (stderr.as_fd(), 2)];
    for (fd, number) in standard {
        if fcntl(fd, FcntlArg::F_GETFD) != Err(Errno::EBADF) {
            continue;
        }
        // The lowest free descriptor: this one, since those before it are open by now.
        match open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
            Ok(null) if null.as_raw_fd() == number => {
                let _ = null.into_raw_fd();
            }
            // Not where it belongs (or not opened): closed again, as nothing can be done.
            _ => {}
        }
    }
    let _ = sys::ignore_signal(Signal::Pipe);
}
