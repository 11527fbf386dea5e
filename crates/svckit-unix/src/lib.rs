//! Daemonization done right, on Unix: every step of [daemon(7)], a PID file locked for the
//! daemon's life, a verified privilege drop, and readiness or failure reported back to the
//! launching process through a pipe.
//!
//! The launcher returns only once the daemon is ready, or with an [`Error`] that names the step
//! that failed and the OS error, so `svckit daemonize -- prog` exits non-zero when `prog` cannot
//! start. The steps, in order (see [`Step`]):
//!
//! 1. close every fd but 0-2 (close_range(2)); 2. reset every signal handler; 3. reset the signal
//!    mask; 4. sanitize the environment ([`environment::KEPT_BY_DEFAULT`]); 5. create the
//!    readiness pipe; 6. fork; 7. setsid; 8. fork again; 9. stdio to /dev/null or log files;
//!    10. umask (022); 11. chdir (`/`); 12. PID file (`O_NOFOLLOW`, flock, then written);
//!    13. drop privileges (setgroups → setgid → setuid, verified); 14. report ready;
//!    15. (for [`Daemonize::exec`]) exec, reported by a close-on-exec pipe.
//!
//! Forking is only sound while the process has one thread: every entry point checks and refuses
//! with [`Error::MultiThreaded`] otherwise.
//!
//! [daemon(7)]: https://man7.org/linux/man-pages/man7/daemon.7.html
#![cfg(unix)]

pub mod accounts;
pub mod cgroup;
mod daemonize;
pub mod dirs;
pub mod entrypoint;
pub mod environment;
mod error;
pub mod fdholder;
pub mod files;
pub mod forker;
pub mod kill;
pub mod memory;
pub mod notify;
pub mod pidfile;
pub mod privileges;
pub mod process;
mod report;
pub mod screen;
pub mod service;
pub mod signals;
pub mod sockets;
pub mod spawn;
pub mod startup;
mod sys;

pub use daemonize::{Daemon, Daemonize, Forked, Launched, READY_FD_ENV, daemon};
pub use error::{Error, Step};
