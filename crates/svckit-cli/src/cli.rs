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
    #[command(after_help = exit::TABLE)]
    Daemonize(DaemonizeArgs),
    /// Stop the daemon named by a locked PID file, and wait until it is gone.
    #[command(after_help = exit::TABLE)]
    Kill(KillArgs),
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
    Timelog(TimelogArgs),
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
