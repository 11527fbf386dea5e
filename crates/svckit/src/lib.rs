//! svckit makes any program a correct, supervised background service on Linux and Windows.
//!
//! This crate is the front door:
//! - the model ([`State`], [`Control`], [`Accept`], [`ExitCode`], [`ServiceName`],
//!   [`ServiceSpec`]) with the Windows SCM's numeric values;
//! - the service API: declare a [`Service`] once and [`run`] it unchanged under the Windows SCM,
//!   as a Unix daemon, under systemd or under a supervisor;
//! - on Unix, the daemonization library (`svckit::unix`) that performs every step of daemon(7);
//! - management ([`manage`]): install, start, stop, query and uninstall services through the
//!   host's manager — the Windows SCM, systemd, SysV init, or svckit's own supervisor — so an
//!   application can offer `myapp service install` itself (see `examples/self_service.rs`).
//!
//! ```no_run
//! use std::time::Duration;
//! use svckit::{Accept, Control, ExitCode, Service, ServiceName};
//!
//! let service = Service::new(ServiceName::new("MemoryStatus")?, |ctx| {
//!     ctx.ready(); // RUNNING to the SCM, READY=1 to systemd, "ready" to the launcher
//!     let mut paused = false;
//!     loop {
//!         match ctx.recv_timeout(Duration::from_secs(1)) {
//!             None if !paused => println!("{}", svckit::demo::memory_status().unwrap()),
//!             None => {}
//!             Some(Control::Stop | Control::Shutdown) => return ExitCode::SUCCESS,
//!             Some(Control::Pause) => (paused = true, ctx.paused()).1,
//!             Some(Control::Continue) => (paused = false, ctx.ready()).1,
//!             Some(_) => {}
//!         }
//!     }
//! })
//! .accept(Accept::STOP | Accept::SHUTDOWN | Accept::PAUSE_CONTINUE);
//! let exit_code = svckit::run(service)?;
//! std::process::exit(exit_code.unix_status().into());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! On Unix, the daemon side of daemonization:
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

/// The event log's format, as `svckit events` reads it: the last events, and following new
/// ones.
pub use svckit_core::journal;
/// A service's log files on both platforms: their last lines, and moving them aside.
pub use svckit_core::logfiles;
/// A systemd service unit read as a definition (`svckit import`).
pub use svckit_core::unit_import;
pub use svckit_core::{
    Accept, BackendKind, Context, Control, DefinitionError, ExitCode, ExitMatch, KillMode,
    LastExit, Limit, Limits, LogPolicy, MAX_SERVICE_NAME_BYTES, MAX_SERVICE_NAME_LEN, ModelError,
    NotifyAccess, Pid, ReloadAction, ReloadPolicy, Restart, RestartPolicy, Service, ServiceName,
    ServiceProcess, ServiceSpec, ServiceType, Signal, StartType, State, StopPolicy, condition,
    health, listen, most_like, parse, service,
};

/// The sockets this process was handed by its service manager (svckit's supervisor, systemd,
/// `systemd-socket-activate`), as sd_listen_fds(3) finds them: only when `LISTEN_PID` is this
/// process's pid, `LISTEN_FDS` of them from fd 3, named by `LISTEN_FDNAMES`; once per process.
///
/// ```no_run
/// # #[cfg(unix)] {
/// for socket in svckit::listen_fds() {
///     println!("handed {} (fd {:?})", socket.name, socket.fd);
/// }
/// # }
/// ```
#[cfg(unix)]
pub use svckit_unix::sockets::{ListenFd, listen_fds};

/// Service management through one [`Backend`](manage::Backend) trait for every manager:
/// [`Manager::local`](manage::Manager::local) is this host's (the SCM; else the
/// supervisor's state directory, whose services may be run by systemd or SysV init too).
///
/// ```no_run
/// use std::time::Duration;
/// use svckit::{ServiceName, ServiceSpec, manage::{InstallOptions, Manager}};
///
/// let name = ServiceName::new("myapp")?;
/// let mut spec = ServiceSpec::new(name.clone(), std::env::current_exe()?);
/// spec.args = vec!["run".into()];
/// let manager = Manager::local()?;
/// manager.install(spec, &InstallOptions::default())?;
/// let status = manager.start(&name, Some(Duration::from_secs(30)))?;
/// println!("{name}: {}", status.state_name());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub mod manage {
    /// A state directory of the supervisor's, to give a [`Manager`]: `StateDir::new(PATH)`.
    #[cfg(unix)]
    pub use svckit_install::StateDir;
    pub use svckit_install::{
        Action, Backend, Error, Host, InstallOptions, InstallReport, Installed, LastExit, Listed,
        Logs, Manager, Status, detect, detect_kind,
    };
}

/// Unix daemonization: [`unix::Daemonize`], [`unix::daemon`], PID files ([`unix::pidfile`]),
/// the environment a daemon keeps ([`unix::environment`]), and the service API's Unix runtime
/// ([`unix::service`]). Pids are [`Pid`]s and signals [`Signal`]s: no type of the OS binding
/// (nix) is part of this API.
#[cfg(unix)]
pub mod unix {
    pub use svckit_unix::{
        Daemon, Daemonize, Error, Forked, Launched, READY_FD_ENV, Step, daemon, dirs, entrypoint,
        entrypoint::Entrypoint, environment, pidfile, process::stdout_reader_gone, service,
    };
}

/// The service API's Windows runtime (dispatcher, ServiceMain, control handler).
#[cfg(windows)]
pub use svckit_windows as windows;

/// The terminal of a watched screen (`svckit status --watch`): taken and given back, frames
/// drawn in place, keys and interrupts that end the watch; the platform's.
#[cfg(unix)]
pub use svckit_unix::screen;
/// The terminal of a watched screen (`svckit status --watch`): taken and given back, frames
/// drawn in place, keys and interrupts that end the watch; the platform's.
#[cfg(windows)]
pub use svckit_windows::screen;

/// Why [`run`] could not run the service.
#[cfg(unix)]
pub type RunError = svckit_unix::service::RuntimeError;
/// Why [`run`] could not run the service.
#[cfg(windows)]
pub type RunError = svckit_windows::RuntimeError;

/// Runs `service` until it stops and returns its exit code: under the SCM when the SCM started
/// this process (a console start runs it in the foreground with Ctrl-C as Stop); on Unix with
/// signals as controls and readiness reported to systemd (`$NOTIFY_SOCKET`), to `svckit
/// daemonize --wait-ready` or the supervisor (`$SVCKIT_READY_FD`).
///
/// Call it before starting other threads: on Unix it blocks the control signals in the calling
/// thread, and threads started earlier would still receive them.
pub fn run(service: Service) -> Result<ExitCode, RunError> {
    #[cfg(unix)]
    {
        svckit_unix::service::run(service)
    }
    #[cfg(windows)]
    {
        svckit_windows::run(service)
    }
}

/// What the demos of the original design use beyond the model: the `MemoryStatus` service's
/// snapshot of memory use (`svckit demo memory-status`; `svckit demo timelog` needs nothing
/// more than `svckit::unix::Daemonize`).
pub mod demo {
    pub use svckit_core::demo::MemoryStatus;

    /// The current memory status: GlobalMemoryStatusEx on Windows, `/proc/meminfo` on Linux.
    pub fn memory_status() -> std::io::Result<MemoryStatus> {
        #[cfg(unix)]
        {
            svckit_unix::memory::memory_status()
        }
        #[cfg(windows)]
        {
            svckit_windows::memory::memory_status()
        }
    }
}
