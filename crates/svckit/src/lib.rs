//! svckit makes any program a correct, supervised background service on Linux and Windows.
//!
//! This crate is the front door: the model ([`State`], [`Control`], [`Accept`],
//! [`ServiceName`]) with the Windows SCM's numeric values, and on Unix the daemonization
//! library ([`unix`]) that performs every step of daemon(7).
//!
//! ```no_run
//! # #[cfg(unix)] {
//! use svckit::unix::{Daemonize, Forked};
//!
//! match Daemonize::new().pidfile("/tmp/mydaemon.pid").start()? {
//!     Forked::Launcher(launched) => println!("running as PID {}", launched.pid),
//!     Forked::Daemon(mut daemon) => {
//!         daemon.ready()?;
//!         // serve ...
//!     }
//! }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use svckit_core::{Accept, Control, MAX_SERVICE_NAME_LEN, ModelError, ServiceName, State};

/// Unix daemonization: [`unix::Daemonize`], [`unix::daemon`], PID files, privileges.
#[cfg(unix)]
pub use svckit_unix as unix;
