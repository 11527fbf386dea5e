//! The command line, as clap parses it. Values are checked here (durations, modes, signals), so
//! a bad one is a usage error naming the flag.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{exit, parse};

/// Make any program a correct, supervised background service.
#[derive(Debug, Parser)]
#[command(name = "svckit", version, after_help = exit::TABLE)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run PROGRAM as a daemon (every step of daemon(7)); exit 0 only once it runs.
    #[cfg(unix)]
    #[command(after_help = exit::TABLE)]
    Daemonize(DaemonizeArgs),
    /// Stop the daemon named by a locked PID file, and wait until it is gone.
    #[cfg(unix)]
    #[command(after_help = exit::TABLE)]
    Kill(KillArgs),
    /// Install PROGRAM as a service (over an existing one of that name: stop, delete, create).
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Install(InstallArgs),
    /// Stop a service and remove it.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Uninstall(UninstallArgs),
    /// Start a service and wait until it runs.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Start(StartArgs),
    /// Stop a service and wait until it has stopped.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Stop(ControlArgs),
    /// Pause a service and wait until it is paused.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Pause(ControlArgs),
    /// Continue a paused service and wait until it runs.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Continue(ControlArgs),
    /// Show a service's state, pid, accepted controls, exit codes and start type.
    #[cfg(windows)]
    #[command(after_help = exit::TABLE)]
    Status(StatusArgs),
    /// The demo services.
    #[command(subcommand)]
    Demo(Demo),
}

/// `svckit daemonize`.
#[derive(Debug, Args)]
pub struct DaemonizeArgs {
    /// Create, lock (for the daemon's life) and write this PID file; refuse if it is locked.
    #[arg(long, value_name = "PATH")]
    pub pidfile: Option<PathBuf>,
    /// Change to this directory (default /).
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// File mode creation mask, octal (default 022).
    #[arg(long, value_name = "OCTAL", value_parser = parse::umask)]
    pub umask: Option<u32>,
    /// Run as this user (name or uid), with its supplementary groups.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Run as this group (name or gid).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Append the daemon's stdout to this file (default /dev/null).
    #[arg(long, value_name = "FILE")]
    pub stdout: Option<PathBuf>,
    /// Append the daemon's stderr to this file (default /dev/null).
    #[arg(long, value_name = "FILE")]
    pub stderr: Option<PathBuf>,
    /// Set a variable in the daemon's environment (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse::env_pair)]
    pub env: Vec<(OsString, OsString)>,
    /// Keep this variable of the current environment (repeatable); PATH, HOME, USER, LOGNAME,
    /// SHELL, LANG, LANGUAGE, TZ and LC_* are kept anyway.
    #[arg(long = "keep-env", value_name = "NAME")]
    pub keep_env: Vec<OsString>,
    /// Fork once (the textbook way): the daemon stays a session leader.
    #[arg(long)]
    pub single_fork: bool,
    /// Wait until PROGRAM writes a newline to the fd in $SVCKIT_READY_FD (s6 readiness: the
    /// program then closes it).
    #[arg(long)]
    pub wait_ready: bool,
    /// With --wait-ready: give up (and stop the daemon) after this long, e.g. 10s.
    #[arg(long, value_name = "DURATION", value_parser = parse::duration, requires = "wait_ready")]
    pub ready_timeout: Option<Duration>,
    /// The program and its arguments.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// `svckit kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The daemon's PID file.
    #[arg(long, value_name = "PATH")]
    pub pidfile: PathBuf,
    /// The signal to send first (default TERM), to the daemon's process group.
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = parse::signal)]
    pub signal: SignalArg,
    /// How long to wait before SIGKILL (default 10s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse::duration)]
    pub timeout: Duration,
}

/// A signal as parsed from the command line.
#[cfg(unix)]
pub type SignalArg = svckit::unix::Signal;
/// A signal as parsed from the command line (signals are a Unix notion).
#[cfg(not(unix))]
pub type SignalArg = String;

/// `svckit demo`.
#[derive(Debug, Subcommand)]
pub enum Demo {
    /// Append a timestamp line (like "Tue Nov 24 16:37:16 2026") to a log every interval.
    #[cfg(unix)]
    Timelog(TimelogArgs),
    /// The MemoryStatus service: log memory use every interval; accepts Stop, Shutdown,
    /// Pause/Continue and ParamChange (SIGTERM, SIGPWR, SIGTSTP/SIGCONT, SIGHUP on Unix).
    MemoryStatus(MemoryStatusArgs),
}

/// `svckit demo memory-status`.
#[derive(Debug, Args)]
pub struct MemoryStatusArgs {
    /// How often to log a line (a ParamChange re-reads it from --config).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse::duration)]
    pub interval: Duration,
    /// The log to append to.
    #[arg(long, value_name = "PATH", default_value = "memory-status.log")]
    pub log: PathBuf,
    /// A TOML file with `interval = "2s"`, read at start and on every ParamChange (SIGHUP).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Text put at the start of every line (to tell instances apart).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// The controls to accept (others are refused before they reach the service).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "STOP|SHUTDOWN|PAUSE_CONTINUE|PARAMCHANGE"
    )]
    pub accept: svckit::Accept,
    /// The service name to report under when not started by a service manager.
    #[arg(long, value_name = "NAME", default_value = "MemoryStatus")]
    pub name: String,
    /// Run as a daemon (the launcher returns once it is running).
    #[cfg(unix)]
    #[arg(long)]
    pub daemon: bool,
    /// With --daemon: a PID file, locked for the daemon's life.
    #[cfg(unix)]
    #[arg(long, value_name = "PATH", requires = "daemon")]
    pub pidfile: Option<PathBuf>,
}

/// `svckit install`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The service name (the key in the service manager).
    pub name: String,
    /// The name shown in service listings.
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    /// What the service does.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// When it starts: auto, delayed (auto, after the others), demand or disabled.
    #[arg(long, value_name = "TYPE", default_value = "demand")]
    pub start: svckit::StartType,
    /// The account to run as (e.g. `.\\user`, `NT AUTHORITY\\LocalService`); LocalSystem
    /// when absent.
    #[arg(long, value_name = "ACCOUNT")]
    pub user: Option<String>,
    /// The account's password.
    #[arg(long, value_name = "PASSWORD", requires = "user")]
    pub password: Option<String>,
    /// A service that must run first (repeatable).
    #[arg(long = "depends", value_name = "SERVICE")]
    pub depends: Vec<String>,
    /// Restart by the SCM's failure actions: never, on-failure (crash or non-zero exit code),
    /// always (the same: the SCM never restarts a service that stopped cleanly on its own).
    #[arg(long, value_name = "POLICY", default_value = "never")]
    pub restart: svckit::Restart,
    /// How long the SCM waits before a restart.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse::duration)]
    pub restart_delay: Duration,
    /// The program (a service built on the svckit API) and its arguments.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// `svckit uninstall`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The service.
    pub name: String,
    /// How long to wait for it to stop.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse::duration)]
    pub timeout: Duration,
}

/// `svckit start`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The service.
    pub name: String,
    /// Return once the start is requested, without waiting for RUNNING.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for RUNNING.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse::duration)]
    pub timeout: Duration,
}

/// `svckit stop`, `pause`, `continue`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The service.
    pub name: String,
    /// How long to wait for the new state.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse::duration)]
    pub timeout: Duration,
}

/// `svckit status`.
#[cfg(windows)]
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The service.
    pub name: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `svckit demo timelog`.
#[derive(Debug, Args)]
pub struct TimelogArgs {
    /// How often to write a line.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse::duration)]
    pub interval: Duration,
    /// The log to append to.
    #[arg(long, value_name = "PATH", default_value = "daemon.log")]
    pub log: PathBuf,
    /// Run as a daemon (the launcher returns once it is running).
    #[arg(long)]
    pub daemon: bool,
    /// With --daemon: a PID file, locked for the daemon's life.
    #[arg(long, value_name = "PATH", requires = "daemon")]
    pub pidfile: Option<PathBuf>,
}
