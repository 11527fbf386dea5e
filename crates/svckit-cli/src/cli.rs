//! The command line, as clap parses it. Values are checked here (durations, modes, signals), so
//! a bad one is a usage error naming the flag.
//!
//! The subcommands' arguments are deferred (`#[command(defer = true)]`): clap defines only the
//! invoked subcommand's arguments, not all thirty, which was a quarter of a short command's
//! start-up (0.28 ms and 90 page faults of `svckit status`). A deferred subcommand gets its
//! arguments after its own about text, so the argument structs' Rust docs are written as
//! `#[doc = concat!(..)]`, which clap does not read: as plain doc comments, clap would take them
//! for the subcommand's about and replace the one written on the variant.

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

/// The whole command line's definition, every subcommand's arguments defined: for what reads
/// them all (completion, checks of the docs), where parsing defines only the invoked one's.
pub fn whole() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    command.build();
    command
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run PROGRAM as a daemon (every step of daemon(7)); exit 0 only once it runs.
    #[command(after_help = exit::LINE)]
    Daemonize(DaemonizeArgs),
    /// Run PROGRAM under a minimal init, as a container's entrypoint (like tini, dumb-init)
    ///
    /// The program keeps the invocation's stdio, terminal (it gets the foreground, so a shell
    /// has job control), directory and environment; every catchable signal is forwarded to its
    /// process group (INT, QUIT, WINCH, TSTP/TTIN/TTOU/CONT, …); orphans are reaped; when it
    /// ends, what it left gets SIGTERM, then SIGKILL after --stop-timeout; svckit exits with
    /// its status (128 + the signal that killed it), or as a shell when it cannot be started:
    /// 127 not found, 126 not runnable.
    #[command(after_help = exit::LINE)]
    Run(RunArgs),
    /// Make a daemon's runtime directories under /run, for `svckit kill` to remove
    ///
    /// Made before the daemon starts (as an init script does before its checks), under /run
    /// (root) or $XDG_RUNTIME_DIR: never through a symlink, owned by --user/--group, recorded
    /// beside --pidfile so `svckit kill` removes exactly them once the daemon is gone.
    #[command(after_help = exit::LINE)]
    RuntimeDir(RuntimeDirArgs),
    /// Stop the daemon named by a locked PID file, and wait until it is gone.
    #[command(after_help = exit::LINE)]
    Kill(KillArgs),
    /// The service host the SCM starts for a hosted program (`svckit.exe host NAME`, as
    /// install registers it): runs the program in a job object and answers the SCM.
    #[command(hide = true)]
    Host(HostArgs),
    /// Install a service: NAME [OPTIONS...] -- PROGRAM [ARGS...], or --file
    ///
    /// On Unix into the supervisor, systemd or SysV init (--backend). On Windows into the
    /// SCM, over an existing service of that name (stopped, deleted, created anew); svckit.exe
    /// hosts the program unless --type notify.
    #[command(
        after_help = format!("{INSTALL_MORE}\n\n{}", exit::LINE),
        after_long_help = exit::LINE
    )]
    Install(Box<InstallArgs>),
    /// Stop a service and remove its definition (its logs stay).
    #[command(after_help = exit::LINE)]
    Uninstall(UninstallArgs),
    /// List the installed services and the backend of each (their state: `svckit status`).
    #[command(after_help = exit::LINE)]
    List(ListArgs),
    /// Print a service's definition (TOML, every key), as its supervisor or host reads it.
    #[command(after_help = exit::LINE)]
    Show(NameArgs),
    /// Edit a service's definition in $VISUAL or $EDITOR, then apply it
    ///
    /// The edited definition is checked first (a bad one changes nothing, and says why); a
    /// running service is restarted only when a key that shapes its process changed.
    #[command(after_help = exit::LINE)]
    Edit(NameArgs),
    /// Install or update services from definition files, or directories of *.toml
    ///
    /// Every file is checked first (one bad file installs none); then each new service is
    /// installed and each changed one updated, a running one restarted only when a key that
    /// shapes its process changed.
    #[command(after_help = exit::LINE)]
    Apply(ApplyArgs),
    /// Start services at boot (with the supervisor, systemd's or init's boot, the SCM's auto
    /// start): start = auto.
    #[command(after_help = exit::LINE)]
    Enable(EnableArgs),
    /// Start services only when asked: start = demand.
    #[command(after_help = exit::LINE)]
    Disable(EnableArgs),
    /// Print the svckit definition of a systemd service unit (with its drop-ins and
    /// environment files, as systemd reads them), and name every directive it does not carry
    /// over
    ///
    /// The definition goes to stdout, one line per directive not mapped as it is to stderr:
    /// "not honoured" for what svckit does not do (exit 2 unless --lenient), "informational"
    /// for what only means something to systemd (its targets, documentation). --install
    /// installs it (as `svckit apply` does).
    #[command(after_help = exit::LINE)]
    Import(ImportArgs),
    /// Print what install would write for a service with a backend (a systemd unit, an LSB
    /// init script, or the supervisor's definition), without installing anything
    ///
    /// On Windows: the SCM's record, as `sc qc` shows it, and the definition svckit's host
    /// reads.
    #[command(after_help = exit::LINE)]
    Render(RenderArgs),
    /// Tell whether the daemon of a PID file runs, in LSB status codes: 0 running, 1 dead but
    /// the PID file exists, 3 not running, 4 unknown (the file cannot be read).
    Probe(ProbeArgs),
    /// Wait until a health check passes: what a systemd unit's ExecStartPost= runs for a
    /// readiness probe (exit 0 once it passed --success-threshold times in a row; 1 when
    /// --within passed first)
    ///
    /// One check: --http URL (a status in 200-399, or --expect-status, and --header), --tcp
    /// ADDRESS:PORT (a connection), or a command after `--` (exit 0). Each check is bounded by
    /// --timeout (a command is killed with its process group); a failure is printed once
    /// for each new way of failing.
    #[command(after_help = exit::LINE)]
    ProbeWait(ProbeWaitArgs),
    /// Start services (in the order given); return once each runs (or is ready, for programs
    /// that say so).
    #[command(after_help = exit::LINE)]
    Start(StartArgs),
    /// Stop services; return once every process of each is gone.
    #[command(after_help = exit::LINE)]
    Stop(ManyWaitArgs),
    /// Stop services (those that run) and start them again.
    #[command(after_help = exit::LINE)]
    Restart(ManyWaitArgs),
    /// Pause services (SIGSTOP to the group, or the Pause control for programs on the API).
    #[command(after_help = exit::LINE)]
    Pause(ManyArgs),
    /// Continue paused services.
    #[command(after_help = exit::LINE)]
    Continue(ManyArgs),
    /// Ask services to reload their configuration (reload.signal or reload.command; SIGHUP
    /// for notify programs; refused for a program with neither).
    #[command(after_help = exit::LINE)]
    Reload(ManyArgs),
    /// Show services: state, pid, uptime, restarts, last exit (and recent log lines for one)
    ///
    /// For one service, the exit status is systemctl's: 0 while it runs (or is paused), 3 when
    /// it is stopped.
    #[command(after_help = exit::LINE)]
    Status(StatusArgs),
    /// The services on one screen, as top: their state, CPU% and memory, the selected one's
    /// last lines; keys act on it
    ///
    /// ↑/↓ (or k/j) select; s starts, x stops, r restarts, l reloads the selected service; q,
    /// Esc or Ctrl-C quits. Redrawn every --interval and at once on a key or a resize. The
    /// terminal is given back as found on every way out (a key, SIGTERM, SIGHUP, an error).
    #[command(after_help = exit::LINE)]
    Top(TopArgs),
    /// Print services' captured output, merged in time order
    ///
    /// stdout and stderr (--stream), each line with the time it was read, the supervisor's
    /// events between runs, several services or --all; --plain for one stream as written.
    /// (On Windows one hosted program's stream as written: its host records no times yet.)
    #[command(after_help = exit::LINE)]
    Logs(LogsArgs),
    /// What happened to services (or to one): starts, exits and what they mean, restarts and
    /// their delays, give-ups, reloads, stops and their escalations, adoptions.
    #[command(after_help = exit::LINE)]
    Events(EventsArgs),
    /// Run the supervisor (in the foreground unless --daemon; other commands start it on
    /// demand). As PID 1 it reaps zombies, forwards signals and exits with the main service.
    #[command(after_help = exit::LINE)]
    Supervise(SuperviseArgs),
    /// The supervisor itself: whether it runs, and stopping it (its services first)
    #[command(subcommand)]
    Supervisor(SupervisorCommand),
    /// Start the supervisor at boot, by what the host runs then (systemd, SysV init, cron)
    #[command(subcommand)]
    Boot(BootCommand),
    /// The demo services.
    #[command(subcommand)]
    Demo(Demo),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    ///
    /// For example: `svckit completions bash > /etc/bash_completion.d/svckit`, or
    /// `svckit completions zsh > "${fpath[1]}/_svckit"`.
    #[command(after_help = exit::LINE)]
    Completions(CompletionsArgs),
    /// Print the svckit(1) man page, or write it and one page per command into a directory
    ///
    /// For example: `svckit man --dir /usr/local/share/man/man1 && man svckit-install`.
    #[command(after_help = exit::LINE)]
    Man(ManArgs),
}

#[doc = concat!(
    "Where the supervisor keeps its state (on Windows refused: svckit keeps\n",
    "`%ProgramData%\\svckit`).",
)]
#[derive(Debug, Clone, Args)]
pub struct StateDirArg {
    /// The supervisor's state directory
    ///
    /// By default $SVCKIT_STATE_DIR; /var/lib/svckit for root; else $XDG_STATE_HOME/svckit
    /// or ~/.local/state/svckit.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// What `install -h` says of the flags it does not show.
const INSTALL_MORE: &str = "More flags (readiness, restarts, hooks, limits, sockets, probes, logs): \
                            svckit install --help";

#[doc = concat!(
    "`svckit install`, on every platform. Every flag is a key of the TOML definition; what a\n",
    "backend cannot honour is refused by name.",
)]
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The service name.
    #[arg(required_unless_present = "file")]
    pub name: Option<String>,
    /// Read the definition from a TOML file (flags given override its keys).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Replace an installed service of that name
    ///
    /// It is stopped first. Also replaces an existing unit file or init script of that name.
    #[arg(long)]
    pub force: bool,
    /// `backend`: auto, builtin, systemd or sysv (Windows: windows)
    ///
    /// builtin is the supervisor; auto is systemd when it runs as init, sysv for root where SysV init runs as PID 1, else builtin. On Windows: windows
    /// (the SCM), the only one.
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<svckit::BackendKind>,
    /// Install into this alternate root (an image being built): write the unit or script
    /// under it (enabled with `systemctl --root`), start nothing. Needs --backend systemd or
    /// sysv; the definition goes to DIR/var/lib/svckit unless --state-dir says otherwise.
    #[arg(hide_short_help = true, long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// `display_name`.
    #[arg(hide_short_help = true, long, value_name = "TEXT")]
    pub display_name: Option<String>,
    /// `description`.
    #[arg(hide_short_help = true, long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub process: ProcessArgs,
    /// `password`: the password of --user's account (Windows services; on Unix refused by
    /// name, and not in the help).
    #[arg(long, value_name = "PASSWORD", requires = "user", hide = cfg!(unix))]
    pub password: Option<String>,
    /// `dependencies`: a service that must run first (repeatable).
    #[arg(long = "depends", value_name = "SERVICE")]
    pub depends: Vec<String>,
    /// `conditions`: what it waits for in a service it depends on, NAME=CONDITION: started,
    /// ready (the default), healthy, completed_successfully or log_ready:TEXT, a line of its
    /// output containing TEXT (repeatable).
    #[arg(hide_short_help = true, long, value_name = "NAME=CONDITION", value_parser = parse::condition)]
    pub condition: Vec<(svckit::ServiceName, svckit::condition::Condition)>,
    /// `start`: auto, delayed, demand or disabled
    ///
    /// auto starts at boot, or with the supervisor; delayed (Windows) is auto after the
    /// others.
    #[arg(long, value_name = "TYPE")]
    pub start: Option<svckit::StartType>,
    /// `type`: exec, forking, notify or oneshot
    ///
    /// exec: the program is the service (on Windows svckit.exe hosts it in a job object);
    /// forking: it daemonizes itself; notify: it says when it is ready (sd_notify, the svckit
    /// API, or $SVCKIT_READY_FD; on Windows it answers the SCM itself); oneshot: it runs to
    /// completion.
    #[arg(long = "type", value_name = "TYPE")]
    pub service_type: Option<svckit::ServiceType>,
    /// The same as --type notify.
    #[arg(hide_short_help = true, long, conflicts_with = "service_type")]
    pub notify: bool,
    /// `pid_file`: with --type forking, where the daemon writes its pid.
    #[arg(hide_short_help = true, long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// `notify_access`: with --type notify, main (only the main process may speak) or all.
    #[arg(hide_short_help = true, long, value_name = "WHO")]
    pub notify_access: Option<svckit::NotifyAccess>,
    /// `watchdog`: with --type notify, the longest time between two WATCHDOG=1 (0: none).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub watchdog: Option<Duration>,
    /// `kill_mode`: control-group (every process of it), mixed (the stop signal to the main
    /// process, SIGKILL to all) or process (the main process only).
    #[arg(hide_short_help = true, long, value_name = "MODE")]
    pub kill_mode: Option<svckit::KillMode>,
    /// `ready_timeout`: with --type notify or forking, how long it may take to become ready.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub ready_timeout: Option<Duration>,
    /// `restart.policy`: never, on-failure or always (or systemd's others).
    ///
    /// Also systemd's on-success (a clean end), on-abnormal (an unclean signal, a timeout, the
    /// watchdog), on-abort (an unclean signal) and on-watchdog.
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<svckit::Restart>,
    /// `restart.delay`: the first restart's delay (0 restarts at once).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub restart_delay: Option<Duration>,
    /// `restart.max_delay`: the cap of the exponential backoff.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub restart_max_delay: Option<Duration>,
    /// `restart.reset_after`: the uptime after which the backoff starts over.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub reset_after: Option<Duration>,
    /// `restart.limit`: more starts than this within the window → failed (0: no limit).
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub start_limit: Option<u32>,
    /// `restart.window`: the window of --start-limit.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub start_window: Option<Duration>,
    /// `stop.signal`: the signal sent to the group first (default TERM).
    #[arg(hide_short_help = true, long, value_name = "SIG")]
    pub stop_signal: Option<svckit::Signal>,
    /// `exec_start_pre`: a command run before the program (repeatable, in order), as its
    /// user; its failure fails the start (e.g. "/usr/sbin/nginx -t -q"). Split as sh would.
    #[arg(hide_short_help = true, long, value_name = "COMMAND", value_parser = parse::command_words)]
    pub exec_start_pre: Vec<parse::CommandWords>,
    /// `exec_start_post`: a command run once the program runs (repeatable, in order); the
    /// service is started when they succeeded.
    #[arg(hide_short_help = true, long, value_name = "COMMAND", value_parser = parse::command_words)]
    pub exec_start_post: Vec<parse::CommandWords>,
    /// `exec_stop`: a command run to stop the service before the stop signal reaches what is
    /// left (repeatable, in order; e.g. "/usr/sbin/nginx -s quit").
    #[arg(hide_short_help = true, long, value_name = "COMMAND", value_parser = parse::command_words)]
    pub exec_stop: Vec<parse::CommandWords>,
    /// `environment_file`: a file of NAME=value lines read at each start (repeatable); a
    /// leading `-` makes it optional (systemd's EnvironmentFile=).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "PATH",
        allow_hyphen_values = true
    )]
    pub environment_file: Vec<String>,
    /// `runtime_directory`: a directory made under /run (or $XDG_RUNTIME_DIR) at each start,
    /// owned by the service's user, removed when it stops (repeatable).
    #[arg(hide_short_help = true, long, value_name = "NAME")]
    pub runtime_directory: Vec<String>,
    /// `limits.KEY`: a resource limit, KEY=N, KEY=SOFT:HARD or KEY=infinity, for nofile, nproc,
    /// core, memlock, as, cpu (repeatable).
    #[arg(hide_short_help = true, long, value_name = "KEY=LIMIT", value_parser = parse::limit)]
    pub limit: Vec<(String, svckit::Limit)>,
    /// `success_exit_status`: an exit code or signal name that counts as success besides 0
    /// (repeatable; e.g. 143, TERM).
    #[arg(hide_short_help = true, long, value_name = "CODE|SIG")]
    pub success_exit_status: Vec<svckit::ExitMatch>,
    /// `restart_prevent_exit_status`: an exit code or signal name after which the service is
    /// not restarted, whatever the policy (repeatable; sshd's 255).
    #[arg(hide_short_help = true, long, value_name = "CODE|SIG")]
    pub restart_prevent_exit_status: Vec<svckit::ExitMatch>,
    /// `nice`: the scheduling priority, -20 (first) to 19 (last).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub nice: Option<i32>,
    /// `oom_score_adjust`: -1000 (never killed by the OOM killer) to 1000 (first).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub oom_score_adjust: Option<i32>,
    /// `listen`: a socket handed to it as systemd does (repeatable)
    ///
    /// Bound before the service runs and handed to it as systemd hands them (LISTEN_FDS); the
    /// first connection starts it: tcp:127.0.0.1:8080, tcp:8080 (every address),
    /// udp:ADDR:PORT, unix:/run/x.sock, unix:@name, unix-dgram:PATH.
    #[arg(long, value_name = "KIND:WHERE")]
    pub listen: Vec<svckit::listen::Address>,
    /// `accept`: svckit accepts each connection on --listen and runs an instance of the
    /// program for it, the connection on its stdin and stdout (inetd, the default) or at fd 3
    /// (fd); `no` (the default without the flag): the program accepts.
    #[arg(hide_short_help = true, long, value_name = "MODE", num_args = 0..=1, default_missing_value = "inetd")]
    pub accept: Option<svckit::listen::AcceptMode>,
    /// `max_connections`: how many instances run at once (64 by default); a connection beyond
    /// is closed at once.
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub max_connections: Option<u32>,
    /// `max_connections_per_source`: how many instances one remote address may have at once.
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub max_connections_per_source: Option<u32>,
    /// `idle_stop`: with --listen, stop the program once it has had no connection this long;
    /// it listens again, and the next connection starts it.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub idle_stop: Option<std::time::Duration>,
    /// `liveness.exec`: a shell command that exits 0 while it works
    ///
    /// Run as `/bin/sh -c CMD` (on Windows `cmd.exe /S /C CMD`), as Docker's --health-cmd;
    /// after --health-retries failures in a row the service is unhealthy and restarted by its
    /// restart policy.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["health_http", "health_tcp"])]
    pub health_cmd: Option<String>,
    /// `liveness.http`: GET this URL (`http://ADDRESS[:PORT]/PATH`); a status in 200-399 passes.
    #[arg(
        hide_short_help = true,
        long,
        value_name = "URL",
        conflicts_with = "health_tcp"
    )]
    pub health_http: Option<String>,
    /// `liveness.tcp`: connect to ADDRESS:PORT.
    #[arg(hide_short_help = true, long, value_name = "ADDRESS:PORT")]
    pub health_tcp: Option<String>,
    /// `liveness.period`: how often the health check runs (10s).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub health_interval: Option<std::time::Duration>,
    /// `liveness.timeout`: how long one check may take (1s).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub health_timeout: Option<std::time::Duration>,
    /// `liveness.failure_threshold`: failures in a row that make it unhealthy (3).
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub health_retries: Option<u32>,
    /// `liveness.initial_delay`: how long after it runs the first check waits (0).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub health_start_period: Option<std::time::Duration>,
    /// `readiness.exec`: a start is done (it returns, dependents start) once this shell
    /// command exits 0.
    #[arg(hide_short_help = true, long, value_name = "CMD", conflicts_with_all = ["ready_http", "ready_tcp"])]
    pub ready_cmd: Option<String>,
    /// `readiness.http`: a start is done once GET URL answers 200-399.
    #[arg(
        hide_short_help = true,
        long,
        value_name = "URL",
        conflicts_with = "ready_tcp"
    )]
    pub ready_http: Option<String>,
    /// `readiness.tcp`: a start is done once ADDRESS:PORT takes a connection.
    #[arg(hide_short_help = true, long, value_name = "ADDRESS:PORT")]
    pub ready_tcp: Option<String>,
    /// `readiness.period`: how often the readiness check runs until it passes (1s).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub ready_interval: Option<std::time::Duration>,
    /// `reload.signal`: `svckit reload` sends this signal to the main process (notify
    /// programs get HUP unless told; other programs have no reload unless given one).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "SIG",
        conflicts_with = "reload_command"
    )]
    pub reload_signal: Option<svckit::Signal>,
    /// `reload.command`: `svckit reload` runs this command as the service's user, split into
    /// words as sh would (quotes, backslashes), e.g. "/usr/sbin/nginx -s reload".
    #[arg(hide_short_help = true, long, value_name = "COMMAND", value_parser = parse::command_words)]
    pub reload_command: Option<parse::CommandWords>,
    /// `stop.timeout`: how long before SIGKILL to the group (default 10s).
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = parse::duration)]
    pub stop_timeout: Option<Duration>,
    /// `logs.max_size`: rotate stdout/stderr logs at this size (0: never).
    #[arg(hide_short_help = true, long, value_name = "SIZE", value_parser = parse::size)]
    pub log_max_size: Option<u64>,
    /// `logs.keep`: rotated files kept.
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub log_keep: Option<u32>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
    /// The program and its arguments, after `--`
    ///
    /// After `--`, so that a forgotten NAME is not taken from them.
    #[arg(num_args = 1.., last = true, value_name = "PROGRAM", conflicts_with = "file")]
    pub command: Vec<OsString>,
}

#[doc = concat!(
    "What the program runs as and where: the flags `install` and `daemonize` share (in a\n",
    "definition: `working_dir`, `umask`, `user`, `group`, `env`).",
)]
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Run in this directory (default /).
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// File mode creation mask, octal (default 022).
    #[arg(long, value_name = "OCTAL", value_parser = parse::umask)]
    pub umask: Option<u32>,
    /// Run as this user (a name or uid; on Windows an account)
    ///
    /// On Unix a name or uid, with its supplementary groups; on Windows an account (`.\user`, `NT AUTHORITY\LocalService`; LocalSystem when absent).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Run as this group (name or gid).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Set a variable in its environment (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse::env_pair)]
    pub env: Vec<(OsString, OsString)>,
}

#[doc = concat!("`svckit apply`.")]
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Definition files (TOML, as `svckit show` prints), or directories of them (*.toml).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Print the plan (install, change and restart, start, unchanged, remove) and change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Uninstall the services applied before from a directory given that are no longer in it.
    #[arg(long)]
    pub prune: bool,
    /// Say what was done as JSON: an array of {name, action (installed, changed, unchanged,
    /// removed), changed (the keys), restarted, started, backend}.
    #[arg(long, conflicts_with = "dry_run")]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("A command naming one service.")]
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The service.
    pub name: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit enable` and `disable`.")]
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The services.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Start them now too (enable), or stop them now too (disable), as systemctl's --now.
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit import`.")]
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The unit file (`/lib/systemd/system/nginx.service`).
    #[arg(value_name = "UNIT")]
    pub unit: PathBuf,
    /// The service's name (default: the unit's, without `.service`).
    #[arg(long = "as", value_name = "NAME")]
    pub name: Option<String>,
    /// Exit 0 even when some directive is not honoured (each is still said).
    #[arg(long)]
    pub lenient: bool,
    /// Install (or update) the service instead of printing its definition, as `svckit apply`
    /// would; nothing is installed when some directive is not honoured, unless --lenient.
    #[arg(long)]
    pub install: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit render`.")]
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// An installed service.
    #[arg(required_unless_present = "file")]
    pub name: Option<String>,
    /// Render this TOML definition instead.
    #[arg(long, value_name = "FILE", conflicts_with = "name")]
    pub file: Option<PathBuf>,
    /// systemd (a unit file), sysv (an init script) or builtin (the definition); on Windows,
    /// windows (the SCM, the only one: auto is it there).
    #[arg(
        long,
        value_name = "BACKEND",
        default_value = "auto",
        conflicts_with = "target"
    )]
    pub backend: svckit::BackendKind,
    /// Render for an engine that schedules across machines instead: kubernetes (a Deployment,
    /// a Job for a oneshot), compose (a Compose file) or nomad (a JSON job). Each key it has
    /// no place for is named on stderr, and the exit status is 2 unless --lenient.
    #[arg(long, value_name = "ENGINE")]
    pub target: Option<svckit_install::engines::Engine>,
    /// With --target: the container image (kubernetes and compose need one; nomad runs it
    /// with the docker driver, else the program on the client).
    #[arg(long, value_name = "IMAGE", requires = "target")]
    pub image: Option<String>,
    /// With --target: where svckit-init is in the image.
    #[arg(
        long,
        value_name = "PATH",
        requires = "target",
        default_value = "/usr/local/bin/svckit-init"
    )]
    pub init: String,
    /// With --target: print the manifest and exit 0 though some keys are not mapped.
    #[arg(long, requires = "target")]
    pub lenient: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit probe`.")]
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The daemon's PID file.
    #[arg(long, value_name = "PATH")]
    pub pidfile: PathBuf,
}

#[doc = concat!("`svckit probe-wait`.")]
#[derive(Debug, Args)]
pub struct ProbeWaitArgs {
    /// GET this URL (`http://ADDRESS[:PORT]/PATH`).
    #[arg(long, value_name = "URL", conflicts_with = "tcp")]
    pub http: Option<String>,
    /// With --http: the one status that passes.
    #[arg(long, value_name = "STATUS", requires = "http")]
    pub expect_status: Option<u16>,
    /// With --http: a header the answer must have.
    #[arg(long, value_name = "NAME: VALUE", requires = "http")]
    pub header: Option<String>,
    /// Connect to ADDRESS:PORT.
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub tcp: Option<String>,
    /// How often it checks.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse::duration)]
    pub period: Duration,
    /// How long one check may take.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse::duration)]
    pub timeout: Duration,
    /// How long before the first check.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse::duration)]
    pub initial_delay: Duration,
    /// Passes in a row that count.
    #[arg(long, value_name = "N", default_value = "1")]
    pub success_threshold: u32,
    /// Give up (exit 1) after this long; without it, it waits until it passes (or its service
    /// manager's start timeout ends it).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    pub within: Option<Duration>,
    /// The command to run as the check (exit 0 passes).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[doc = concat!("`svckit list`.")]
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON: an array of {name, backend} (on Windows each hosted program's status).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit start`.")]
#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
    /// Return once the start is requested.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for it to run.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse::timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("The services a command acts on: names, or every installed one.")]
#[derive(Debug, Args)]
pub struct Targets {
    /// The services, acted on in this order.
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every installed service (in name order).
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
}

#[doc = concat!("`svckit pause`, `continue` and `reload`.")]
#[derive(Debug, Args)]
pub struct ManyArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit stop` and `restart`.")]
#[derive(Debug, Args)]
pub struct ManyWaitArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
    /// How long to wait for each to stop (and, for restart, to run again).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse::timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit uninstall`.")]
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The service.
    pub name: String,
    /// How long to wait for it to stop.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse::timeout)]
    pub timeout: Duration,
    /// Remove it even when it cannot be stopped: its processes are ended (on Windows, where
    /// its process died while the SCM says RUNNING, or it does not answer Stop within
    /// --timeout; on Unix a stop always ends them, SIGKILL after the stop timeout).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit status`.")]
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The services, each described in turn (all, as a table, when absent).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Log lines shown for one service.
    #[arg(short = 'n', long, value_name = "N", default_value = "5")]
    pub lines: usize,
    /// Draw it again every --interval, in place, until q or Ctrl-C (as watch(1) and top).
    #[arg(short = 'w', long, conflicts_with = "json")]
    pub watch: bool,
    /// With --watch: how often.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse::watch_interval, requires = "watch")]
    pub interval: Duration,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit top`.")]
#[derive(Debug, Args)]
pub struct TopArgs {
    /// How often it is drawn again.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse::watch_interval)]
    pub interval: Duration,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit events`.")]
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this service's events.
    pub name: Option<String>,
    /// Keep printing new events until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// How many of the last events to print.
    #[arg(short = 'n', long, value_name = "N", default_value = "20")]
    pub lines: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: TimeFilter,
    /// One JSON object per line: time, service, event.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("What of a service's captured output `svckit logs` prints, on every platform.")]
#[derive(Debug, Args)]
pub struct LogView {
    /// Keep printing what it writes (across rotations) until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// How many of the last lines to print.
    #[arg(short = 'n', long, value_name = "N", default_value = "10")]
    pub lines: usize,
    /// Its stderr instead of its stdout.
    #[arg(long)]
    pub stderr: bool,
}

#[doc = concat!("`svckit logs`.")]
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The services (their lines merged in time order).
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every installed service.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub view: LogView,
    /// stdout, stderr or both (the default), merged in time order.
    #[arg(long, value_name = "STREAM", default_value = "both")]
    pub stream: StreamChoice,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: TimeFilter,
    /// One JSON object per line: time, service, stream, line.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// The lines alone, byte for byte as the program wrote them: one service, one stream
    /// (stdout, or --stderr), no time, no events.
    #[arg(long)]
    pub plain: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

/// Which of a service's streams `svckit logs` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamChoice {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Both, merged in time order.
    Both,
    /// Its events alone (starts, exits, restarts), as `svckit events` shows them.
    Events,
}

#[doc = concat!("Which lines `svckit logs` and `svckit events` show: by time and by a pattern.")]
#[derive(Debug, Args)]
pub struct TimeFilter {
    /// Only what came since: a duration ago (10m), or a time: 03:14, yesterday, "2 min ago",
    /// "2026-11-29 10:00" (local).
    #[arg(long, value_name = "TIME", value_parser = parse::since)]
    pub since: Option<std::time::SystemTime>,
    /// Only what came until then (the same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse::since)]
    pub until: Option<std::time::SystemTime>,
    /// Only the lines this regular expression matches (as journalctl -g).
    #[arg(short = 'g', long, value_name = "PATTERN", value_parser = parse::pattern)]
    pub grep: Option<crate::parse::Pattern>,
}

#[doc = concat!("`svckit supervise`.")]
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// Daemonize; return once the control socket answers.
    #[arg(long)]
    pub daemon: bool,
    /// The main service: when it ends for good, every service is stopped and the supervisor
    /// exits with its status (default as PID 1: the only `start = auto` service).
    #[arg(long, value_name = "NAME")]
    pub main: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

#[doc = concat!("`svckit daemonize`.")]
#[derive(Debug, Args)]
pub struct DaemonizeArgs {
    /// Create, lock (for the daemon's life) and write this PID file; refuse if it is locked.
    #[arg(long, value_name = "PATH")]
    pub pidfile: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub process: ProcessArgs,
    /// Append the daemon's stdout to this file (default /dev/null).
    #[arg(long, value_name = "FILE")]
    pub stdout: Option<PathBuf>,
    /// Append the daemon's stderr to this file (default /dev/null).
    #[arg(long, value_name = "FILE")]
    pub stderr: Option<PathBuf>,
    /// Keep this variable of the current environment (repeatable); PATH, HOME, USER, LOGNAME,
    /// SHELL, LANG, LANGUAGE, TZ and LC_* are kept anyway.
    #[arg(long = "keep-env", value_name = "NAME")]
    pub keep_env: Vec<OsString>,
    /// Fork once (the textbook way): the daemon stays a session leader.
    #[arg(long)]
    pub single_fork: bool,
    /// How PROGRAM runs: exec (it is the daemon once exec'd), forking (it daemonizes itself:
    /// the daemon is what it leaves when its first process exits 0), or notify (the same as
    /// --wait-ready). oneshot is for services.
    #[arg(long = "type", value_name = "TYPE")]
    pub daemon_type: Option<svckit::ServiceType>,
    /// With --type forking: the PID file PROGRAM writes its daemon's pid to (nginx's `pid`,
    /// redis's `pidfile`); without it, the daemon is the one process PROGRAM leaves. --pidfile
    /// then names the daemon, so kill and probe reach it.
    #[arg(long, value_name = "PATH")]
    pub program_pidfile: Option<PathBuf>,
    /// Wait until PROGRAM says it is ready: a newline to the fd in $SVCKIT_READY_FD (s6
    /// readiness), or READY=1 to $NOTIFY_SOCKET (sd_notify).
    #[arg(long)]
    pub wait_ready: bool,
    /// Make this directory under /run (root) or $XDG_RUNTIME_DIR for the daemon, owned by
    /// --user/--group (repeatable, like `sshd`): never through a symlink; `svckit kill`
    /// removes what was made once the daemon is gone.
    #[arg(long, value_name = "NAME", requires = "pidfile")]
    pub runtime_directory: Vec<PathBuf>,
    /// With --wait-ready or --type forking: give up (and stop what PROGRAM started) after
    /// this long, e.g. 10s (forking: 90s unless given).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    pub ready_timeout: Option<Duration>,
    /// The program and its arguments.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

#[doc = concat!("`svckit runtime-dir`.")]
#[derive(Debug, Args)]
pub struct RuntimeDirArgs {
    /// The daemon's PID file: what was made is recorded beside it (FILE.svckit-run).
    #[arg(long, value_name = "PATH")]
    pub pidfile: PathBuf,
    /// The directories' owner.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Their group (default: the user's).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Their names, relative to /run (like `sshd`, `nginx/cache`).
    #[arg(required = true, num_args = 1.., value_name = "NAME")]
    pub names: Vec<PathBuf>,
}

#[doc = concat!("`svckit kill`.")]
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The daemon's PID file.
    #[arg(long, value_name = "PATH")]
    pub pidfile: PathBuf,
    /// The signal to send first (default TERM), to the daemon's process group.
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = parse::signal)]
    pub signal: SignalArg,
    /// How long to wait before SIGKILL (default 10s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse::timeout)]
    pub timeout: Duration,
    /// Send the signal to the daemon's main process only, and return at once: no wait, no
    /// SIGKILL (a reload: `--signal HUP --no-wait`).
    #[arg(long)]
    pub no_wait: bool,
}

/// A signal as parsed from the command line.
pub type SignalArg = svckit::Signal;

/// `svckit demo`.
#[derive(Debug, Subcommand)]
pub enum Demo {
    /// Append a timestamp line (like "Tue Nov 24 16:37:16 2026") to a log every interval, as
    /// a Unix daemon.
    Timelog(TimelogArgs),
    /// The MemoryStatus service: log memory use every interval; accepts Stop, Shutdown,
    /// Pause/Continue and ParamChange (SIGTERM, SIGPWR, SIGTSTP/SIGCONT, SIGHUP on Unix).
    MemoryStatus(MemoryStatusArgs),
}

#[doc = concat!("`svckit demo memory-status`.")]
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
    #[arg(long)]
    pub daemon: bool,
    /// With --daemon: a PID file, locked for the daemon's life.
    #[arg(long, value_name = "PATH", requires = "daemon")]
    pub pidfile: Option<PathBuf>,
}

#[doc = concat!("`svckit host` (Windows).")]
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The hosted service.
    pub name: String,
    /// svckit's directory (default `%ProgramData%\svckit`): its definition is in
    /// `registry\NAME.toml`, its output goes to `logs\`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
}

#[doc = concat!("`svckit demo timelog`.")]
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

#[doc = concat!("`svckit completions`.")]
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[doc = concat!("`svckit man`.")]
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write svckit.1 and svckit-COMMAND.1 here instead of printing svckit.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `svckit supervisor`.
#[derive(Debug, Subcommand)]
pub enum SupervisorCommand {
    /// Whether the supervisor runs (exit 0) or not (exit 3), its pid and state directory.
    #[command(after_help = exit::LINE)]
    Status(StateDirArg),
    /// Stop the supervisor: its services stop first, in reverse dependency order, then it
    /// exits. Not running is not an error.
    #[command(after_help = exit::LINE)]
    Stop(SupervisorStopArgs),
}

#[doc = concat!("`svckit supervisor stop`.")]
#[derive(Debug, Args)]
pub struct SupervisorStopArgs {
    /// How long to wait for its services to stop and for it to exit.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse::timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

/// `svckit boot`.
#[derive(Debug, Subcommand)]
pub enum BootCommand {
    /// Start the supervisor (and so its auto services) at boot: a systemd unit (the user's,
    /// with lingering, for a user), an init script where SysV init runs, else an @reboot
    /// crontab line; in a container, print the entrypoint to use.
    #[command(after_help = exit::LINE)]
    Enable(BootArgs),
    /// No longer start it at boot (a running supervisor goes on running).
    #[command(after_help = exit::LINE)]
    Disable(BootArgs),
    /// How it would be started at boot, and whether it is set up: exit 0 when it is, 3 not.
    #[command(after_help = exit::LINE)]
    Status(BootArgs),
}

#[doc = concat!("`svckit boot …`.")]
#[derive(Debug, Args)]
pub struct BootArgs {
    /// How it starts at boot: what this host runs (auto: systemd, else an init script where
    /// SysV init runs, else the entrypoint in a container, else cron), or this way.
    #[arg(long, value_enum, default_value = "auto")]
    pub via: BootVia,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub state: StateDirArg,
}

/// `svckit boot --via`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BootVia {
    /// What this host runs.
    Auto,
    /// A systemd unit (the user's, with lingering, for a user).
    Systemd,
    /// An LSB init script, with update-rc.d (root).
    Sysv,
    /// An @reboot line in the user's crontab.
    Cron,
    /// Print the container entrypoint to use; set nothing up.
    Entrypoint,
}

#[doc = concat!("`svckit run`.")]
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How long what the program left gets between SIGTERM and SIGKILL once the program
    /// ended (short: a container runtime's own stop timeout is usually 10s, and the exit
    /// status must be the program's, not its SIGKILL's).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse::duration)]
    pub stop_timeout: Duration,
    /// A variable set on top of the invocation's environment (repeatable).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse::env_pair)]
    pub env: Vec<(OsString, OsString)>,
    /// Also capture the program's stdout and stderr into DIR/NAME.stdout and DIR/NAME.stderr
    /// (NAME: the program's file name), rotated and time-indexed as a service's, while they
    /// still reach this stdout and stderr (`docker logs`).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// With --log-dir: rotate at this size (0: never).
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = parse::size, requires = "log_dir")]
    pub log_max_size: u64,
    /// With --log-dir: rotated files kept.
    #[arg(long, value_name = "N", default_value = "5", value_parser = clap::value_parser!(u32).range(..=i64::from(svckit::parse::MAX_LOG_KEEP)), requires = "log_dir")]
    pub log_keep: u32,
    /// The program and its arguments (after `--`, or alone as an image's CMD gives them:
    /// what follows PROGRAM is its own).
    #[arg(num_args = 1.., trailing_var_arg = true, required = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// `svckit daemonize` parsed on its own (see [`Command::Daemonize`]): the same arguments and
/// help.
#[derive(Debug, Parser)]
#[command(name = "svckit")]
pub enum DaemonizeOnly {
    /// Run PROGRAM as a daemon (every step of daemon(7)); exit 0 only once it runs.
    #[command(after_help = exit::LINE)]
    Daemonize(DaemonizeArgs),
}

/// `svckit status` parsed on its own (see [`Command::Status`]): the same arguments and help.
#[derive(Debug, Parser)]
#[command(name = "svckit")]
pub enum StatusOnly {
    /// Show services: state, pid, uptime, restarts, last exit (and recent log lines for one)
    ///
    /// For one service, the exit status is systemctl's: 0 while it runs (or is paused), 3 when
    /// it is stopped.
    #[command(after_help = exit::LINE)]
    Status(StatusArgs),
}

/// `svckit run` parsed on its own (see [`Command::Run`]): the same arguments and help.
#[derive(Debug, Parser)]
#[command(name = "svckit")]
pub enum RunOnly {
    /// Run PROGRAM under a minimal init, as a container's entrypoint (like tini, dumb-init)
    ///
    /// The program keeps the invocation's stdio, terminal (it gets the foreground, so a shell
    /// has job control), directory and environment; every catchable signal is forwarded to its
    /// process group (INT, QUIT, WINCH, TSTP/TTIN/TTOU/CONT, …); orphans are reaped; when it
    /// ends, what it left gets SIGTERM, then SIGKILL after --stop-timeout; svckit exits with
    /// its status (128 + the signal that killed it), or as a shell when it cannot be started:
    /// 127 not found, 126 not runnable.
    #[command(after_help = exit::LINE)]
    Run(RunArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The help of `name` as the parser `command` renders it, long and short, once built.
    fn helps(mut command: clap::Command, name: &str) -> (String, String) {
        command.build();
        let sub = command
            .find_subcommand_mut(name)
            .unwrap_or_else(|| panic!("no {name}"));
        (
            sub.render_long_help().to_string(),
            sub.render_help().to_string(),
        )
    }

    /// The hot paths' parsers (`run`, `daemonize`, `status` parsed alone) define the same
    /// arguments and say the same help as the whole command line's: their texts are copies.
    #[test]
    fn each_command_parsed_alone_has_the_whole_parsers_help() {
        for (alone, name) in [
            (super::RunOnly::command(), "run"),
            (super::DaemonizeOnly::command(), "daemonize"),
            (super::StatusOnly::command(), "status"),
        ] {
            assert_eq!(
                helps(alone, name),
                helps(super::whole(), name),
                "svckit {name}"
            );
        }
    }
}
