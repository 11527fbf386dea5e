use std::{ffi::OsString, fmt, path::PathBuf, str::FromStr, time::Duration};

use crate::{ModelError, ServiceName, Signal};

/// When a service starts (the SCM's start types; other backends map them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StartType {
    /// Started at boot (`SERVICE_AUTO_START`).
    Auto,
    /// Started at boot, after the other auto-start services (`SERVICE_AUTO_START` with the
    /// delayed-auto-start flag).
    Delayed,
    /// Started on request only (`SERVICE_DEMAND_START`).
    #[default]
    Demand,
    /// Cannot be started (`SERVICE_DISABLED`).
    Disabled,
}

impl StartType {
    /// Every start type, in the order the documentation lists them.
    pub const ALL: [StartType; 4] = [
        StartType::Auto,
        StartType::Delayed,
        StartType::Demand,
        StartType::Disabled,
    ];

    /// The lowercase name the CLI and definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            StartType::Auto => "auto",
            StartType::Delayed => "delayed",
            StartType::Demand => "demand",
            StartType::Disabled => "disabled",
        }
    }
}

impl FromStr for StartType {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<StartType, ModelError> {
        StartType::ALL
            .into_iter()
            .find(|start| start.name() == text)
            .ok_or_else(|| {
                ModelError::invalid(
                    "start",
                    format!("{text:?} is not auto, delayed, demand or disabled"),
                )
            })
    }
}

impl fmt::Display for StartType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An enum whose values are written by name in definitions and on the command line: `name()`,
/// `ALL`, `FromStr` (the error lists the names) and `Display`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident for $key:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            /// Every value, in the order the documentation lists them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name definitions and flags use.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = ModelError;
            fn from_str(text: &str) -> Result<$ty, ModelError> {
                $ty::ALL.iter().copied().find(|value| value.name() == text).ok_or_else(|| {
                    let names: Vec<&str> = $ty::ALL.iter().map(|value| value.name()).collect();
                    ModelError::invalid($key, format!("{text:?} is not one of {}", names.join(", ")))
                })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// How a service's program behaves (the `type` key, in systemd's words).
    pub enum ServiceType for "type" {
        /// The program is the service: running once it was exec'd.
        #[default]
        Exec = "exec",
        /// The program daemonizes itself: the service runs once the launched process exited 0
        /// and the daemon's pid is known (from `pid_file`, or the one process left).
        Forking = "forking",
        /// The program says when it is ready: READY=1 on `$NOTIFY_SOCKET` (sd_notify), the
        /// svckit API, or a newline on `$SVCKIT_READY_FD`.
        Notify = "notify",
        /// The program runs to completion (a setup step): done once it exited 0.
        Oneshot = "oneshot",
    }
}

named_enum! {
    /// Which processes of a service a stop signals (the `kill_mode` key, systemd's words).
    pub enum KillMode for "kill_mode" {
        /// Every process of the service (its cgroup, or what the supervisor finds of it) gets
        /// the stop signal, then SIGKILL.
        #[default]
        ControlGroup = "control-group",
        /// The main process gets the stop signal; every process gets SIGKILL after the timeout.
        Mixed = "mixed",
        /// Only the main process is signalled; what it leaves behind is left.
        Process = "process",
    }
}

named_enum! {
    /// Which processes may speak sd_notify for a service (`notify_access`, systemd's words).
    pub enum NotifyAccess for "notify_access" {
        /// Only the main process.
        #[default]
        Main = "main",
        /// Any process of the service.
        All = "all",
    }
}

/// Which service manager a service is installed into (`--backend`, the `backend` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// Chosen at install time: the SCM on Windows; systemd when it runs as init; SysV init
    /// for root where `/etc/init.d` exists; else the builtin supervisor.
    #[default]
    Auto,
    /// svckit's own supervisor.
    Builtin,
    /// systemd units.
    Systemd,
    /// SysV (LSB) init scripts.
    Sysv,
    /// The Windows Service Control Manager.
    Windows,
}

impl BackendKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [BackendKind; 5] = [
        BackendKind::Auto,
        BackendKind::Builtin,
        BackendKind::Systemd,
        BackendKind::Sysv,
        BackendKind::Windows,
    ];

    /// The name the CLI and definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Builtin => "builtin",
            BackendKind::Systemd => "systemd",
            BackendKind::Sysv => "sysv",
            BackendKind::Windows => "windows",
        }
    }

    /// Whether svckit's supervisor runs the service (`auto` counts as builtin until an install
    /// resolves it).
    pub const fn is_builtin(self) -> bool {
        matches!(self, BackendKind::Auto | BackendKind::Builtin)
    }
}

impl FromStr for BackendKind {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<BackendKind, ModelError> {
        BackendKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                ModelError::invalid(
                    "backend",
                    format!("{text:?} is not auto, builtin, systemd, sysv or windows"),
                )
            })
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When the service manager restarts a service that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Restart {
    /// Never.
    #[default]
    Never,
    /// When it failed: a crash, or an exit code other than success.
    OnFailure,
    /// Whenever it ended without being asked to stop.
    Always,
    /// When it ended well: exit code 0 (or one of `success_exit_status`), or killed by
    /// SIGHUP, SIGINT, SIGTERM or SIGPIPE.
    OnSuccess,
    /// When it was killed by a signal other than those four, went unready past its ready
    /// timeout, or its watchdog went unfed: an end no exit code explains.
    OnAbnormal,
    /// When it was killed by a signal other than SIGHUP, SIGINT, SIGTERM and SIGPIPE.
    OnAbort,
    /// When its watchdog went unfed.
    OnWatchdog,
}

impl Restart {
    /// Every policy, in the order the documentation lists them.
    pub const ALL: [Restart; 7] = [
        Restart::Never,
        Restart::OnFailure,
        Restart::Always,
        Restart::OnSuccess,
        Restart::OnAbnormal,
        Restart::OnAbort,
        Restart::OnWatchdog,
    ];

    /// The name the CLI and definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            Restart::Never => "never",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
            Restart::OnSuccess => "on-success",
            Restart::OnAbnormal => "on-abnormal",
            Restart::OnAbort => "on-abort",
            Restart::OnWatchdog => "on-watchdog",
        }
    }
}

impl FromStr for Restart {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<Restart, ModelError> {
        Restart::ALL
            .into_iter()
            .find(|restart| restart.name() == text)
            .ok_or_else(|| {
                ModelError::invalid(
                    "restart",
                    format!(
                        "{text:?} is not never, on-failure, always, on-success, on-abnormal, \
                         on-abort or on-watchdog"
                    ),
                )
            })
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a service's runtime directories outlive it (systemd's `RuntimeDirectoryPreserve=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preserve {
    /// Removed when it stops or ends.
    #[default]
    No,
    /// Kept.
    Yes,
    /// Kept across a restart (automatic or asked), removed when it stops for good.
    Restart,
}

impl Preserve {
    /// Every value, in the order the documentation lists them.
    pub const ALL: [Preserve; 3] = [Preserve::No, Preserve::Yes, Preserve::Restart];

    /// The name definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            Preserve::No => "no",
            Preserve::Yes => "yes",
            Preserve::Restart => "restart",
        }
    }
}

impl FromStr for Preserve {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<Preserve, ModelError> {
        Preserve::ALL
            .into_iter()
            .find(|preserve| preserve.name() == text)
            .ok_or_else(|| {
                ModelError::invalid(
                    "runtime_directory_preserve",
                    format!("{text:?} is not no, yes or restart"),
                )
            })
    }
}

impl fmt::Display for Preserve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of directories made for a service at each start and kept when it stops, as
/// systemd makes them (`StateDirectory=`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryKind {
    /// `state_directory`: under /var/lib (root) or `$XDG_STATE_HOME`.
    State,
    /// `cache_directory`: under /var/cache or `$XDG_CACHE_HOME`.
    Cache,
    /// `logs_directory`: under /var/log or `$XDG_STATE_HOME/log`.
    Logs,
    /// `configuration_directory`: under /etc or `$XDG_CONFIG_HOME`, owned by root (its
    /// program reads it, never writes it).
    Configuration,
}

impl DirectoryKind {
    /// Every kind, in the order definitions list them.
    pub const ALL: [DirectoryKind; 4] = [
        DirectoryKind::State,
        DirectoryKind::Cache,
        DirectoryKind::Logs,
        DirectoryKind::Configuration,
    ];

    /// Its key in definitions (`state_directory`).
    pub const fn key(self) -> &'static str {
        match self {
            DirectoryKind::State => "state_directory",
            DirectoryKind::Cache => "cache_directory",
            DirectoryKind::Logs => "logs_directory",
            DirectoryKind::Configuration => "configuration_directory",
        }
    }

    /// The key of its mode (`state_directory_mode`).
    pub const fn mode_key(self) -> &'static str {
        match self {
            DirectoryKind::State => "state_directory_mode",
            DirectoryKind::Cache => "cache_directory_mode",
            DirectoryKind::Logs => "logs_directory_mode",
            DirectoryKind::Configuration => "configuration_directory_mode",
        }
    }

    /// systemd's directive for them (`StateDirectory`; its mode's is this with `Mode`).
    pub const fn unit_key(self) -> &'static str {
        match self {
            DirectoryKind::State => "StateDirectory",
            DirectoryKind::Cache => "CacheDirectory",
            DirectoryKind::Logs => "LogsDirectory",
            DirectoryKind::Configuration => "ConfigurationDirectory",
        }
    }

    /// The variable that tells the program where they are (`STATE_DIRECTORY`), as systemd
    /// sets it.
    pub const fn variable(self) -> &'static str {
        match self {
            DirectoryKind::State => "STATE_DIRECTORY",
            DirectoryKind::Cache => "CACHE_DIRECTORY",
            DirectoryKind::Logs => "LOGS_DIRECTORY",
            DirectoryKind::Configuration => "CONFIGURATION_DIRECTORY",
        }
    }

    /// Where a system service's are (root's supervisor): /var/lib, /var/cache, /var/log, /etc.
    pub const fn system_base(self) -> &'static str {
        match self {
            DirectoryKind::State => "/var/lib",
            DirectoryKind::Cache => "/var/cache",
            DirectoryKind::Logs => "/var/log",
            DirectoryKind::Configuration => "/etc",
        }
    }
}

/// A service's directories beyond its runtime directories' names (see
/// [`ServiceSpec::directories`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Directories {
    /// The mode of its runtime directories (0755 when `None`).
    pub runtime_mode: Option<u32>,
    /// Whether they outlive it.
    pub runtime_preserve: Preserve,
    /// Its state, cache, logs and configuration directories (names below the kind's base),
    /// in [`DirectoryKind::ALL`]'s order, each with its mode (0755 when `None`).
    pub kept: [(Vec<String>, Option<u32>); 4],
}

impl Directories {
    /// The names of `kind`'s directories and their mode.
    pub fn of(&self, kind: DirectoryKind) -> (&[String], Option<u32>) {
        let (names, mode) = &self.kept[kind as usize];
        (names, *mode)
    }

    /// The names of `kind`'s directories and their mode, to change.
    pub fn of_mut(&mut self, kind: DirectoryKind) -> (&mut Vec<String>, &mut Option<u32>) {
        let (names, mode) = &mut self.kept[kind as usize];
        (names, mode)
    }
}

/// The restart policy: when, after how long, and when to give up.
///
/// The wait before the n-th restart in a row is `delay × 2^(n-1)`, capped at `max_delay`; the
/// count starts again once the service has stayed up for `reset_after`. More than `limit`
/// starts within `window` puts the service in the failed state instead (a crash loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartPolicy {
    /// When to restart.
    pub policy: Restart,
    /// How long to wait before the first restart (0: at once).
    pub delay: Duration,
    /// The longest wait the backoff grows to.
    pub max_delay: Duration,
    /// How long a run must last for the backoff to start again from `delay`.
    pub reset_after: Duration,
    /// How many starts `window` may hold before the service is declared failed (0: no limit).
    pub limit: u32,
    /// The window of `limit`.
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> RestartPolicy {
        RestartPolicy {
            policy: Restart::Never,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            reset_after: Duration::from_secs(60),
            limit: 5,
            window: Duration::from_secs(10),
        }
    }
}

impl RestartPolicy {
    /// Restarted when it fails (a non-zero exit, a signal), with the default backoff:
    /// `spec.restart = RestartPolicy::on_failure()`.
    pub fn on_failure() -> RestartPolicy {
        RestartPolicy {
            policy: Restart::OnFailure,
            ..RestartPolicy::default()
        }
    }

    /// Restarted whenever it ends, with the default backoff.
    pub fn always() -> RestartPolicy {
        RestartPolicy {
            policy: Restart::Always,
            ..RestartPolicy::default()
        }
    }

    /// The wait before restart number `attempt` in a row (1 for the first): `delay ×
    /// 2^(attempt-1)`, capped at `max_delay` (and never below `delay`).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.delay
            .saturating_mul(factor)
            .min(self.max_delay.max(self.delay))
    }
}

/// How a service is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StopPolicy {
    /// The signal sent first to the service's process group.
    pub signal: Signal,
    /// How long to wait before SIGKILL to the whole group.
    pub timeout: Duration,
}

impl Default for StopPolicy {
    fn default() -> StopPolicy {
        StopPolicy {
            signal: Signal::Term,
            timeout: Duration::from_secs(10),
        }
    }
}

/// How a service reloads its configuration (`svckit reload`): a signal to its main process, or
/// a command. Neither: a notify program (sd_notify, or svckit's service API) gets SIGHUP, as
/// they expect; any other has no reload, and `svckit reload` is refused rather than kill it
/// with a SIGHUP it does not handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReloadPolicy {
    /// This signal to the main process (`USR2` for haproxy).
    pub signal: Option<Signal>,
    /// This command, program then arguments (`["/usr/sbin/nginx", "-s", "reload"]`), run as
    /// the service's user; the reload succeeded when it exits 0.
    pub command: Vec<String>,
}

/// What `svckit reload` does to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadAction<'a> {
    /// Send this signal to its main process.
    Signal(Signal),
    /// Run this command (program, then arguments).
    Command(&'a [String]),
}

/// An exit a service's settings name (`success_exit_status`, `restart_prevent_exit_status`):
/// an exit code, or a signal that ended it, as systemd's `SuccessExitStatus=` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitMatch {
    /// This exit code.
    Code(u8),
    /// Ended by this signal.
    Signal(Signal),
}

impl ExitMatch {
    /// Whether `exit` is this one.
    pub fn matches(self, exit: crate::LastExit) -> bool {
        match (self, exit) {
            (ExitMatch::Code(code), crate::LastExit::Code(exit)) => i32::from(code) == exit,
            (ExitMatch::Signal(signal), crate::LastExit::Signal(number)) => {
                signal.number() == number
            }
            _ => false,
        }
    }
}

impl fmt::Display for ExitMatch {
    /// `143`, `TERM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitMatch::Code(code) => write!(f, "{code}"),
            ExitMatch::Signal(signal) => f.write_str(signal.name()),
        }
    }
}

impl FromStr for ExitMatch {
    type Err = ModelError;

    /// An exit code (0-255) or a signal name (`TERM`, `SIGTERM`).
    fn from_str(text: &str) -> Result<ExitMatch, ModelError> {
        if let Ok(code) = text.parse::<u8>() {
            return Ok(ExitMatch::Code(code));
        }
        text.parse::<Signal>().map(ExitMatch::Signal).map_err(|_| {
            ModelError::invalid(
                "exit status",
                format!("{text:?} is neither an exit code (0-255) nor a signal name"),
            )
        })
    }
}

/// One resource limit (setrlimit(2)): the soft value a process starts with, and the hard one
/// it may raise it to; [`Limit::INFINITY`] for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    /// The soft limit.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

impl Limit {
    /// No limit (`infinity`).
    pub const INFINITY: u64 = u64::MAX;

    /// One value of a limit as systemd writes it: `1024`, or `infinity`.
    pub fn value_name(value: u64) -> String {
        match value {
            Limit::INFINITY => "infinity".to_owned(),
            value => value.to_string(),
        }
    }
}

impl fmt::Display for Limit {
    /// As systemd writes it: `1024`, `1024:65536`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = Limit::value_name;
        match self.soft == self.hard {
            true => f.write_str(&one(self.soft)),
            false => write!(f, "{}:{}", one(self.soft), one(self.hard)),
        }
    }
}

impl FromStr for Limit {
    type Err = ModelError;

    /// `N`, `SOFT:HARD` or `infinity` (either side), as systemd's `LimitNOFILE=` takes them.
    fn from_str(text: &str) -> Result<Limit, ModelError> {
        let one = |part: &str| match part.trim() {
            "infinity" => Ok(Limit::INFINITY),
            number => number.parse::<u64>().map_err(|_| {
                ModelError::invalid(
                    "limits",
                    format!("{text:?} is not a limit (N, SOFT:HARD or infinity)"),
                )
            }),
        };
        let (soft, hard) = match text.split_once(':') {
            Some((soft, hard)) => (one(soft)?, one(hard)?),
            None => (one(text)?, one(text)?),
        };
        if soft > hard {
            return Err(ModelError::invalid(
                "limits",
                format!("{text:?}: the soft limit is above the hard one"),
            ));
        }
        Ok(Limit { soft, hard })
    }
}

/// The resource limits a service starts with (unset: the supervisor's own, as it was
/// started), by systemd's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Limits {
    /// Open files (`RLIMIT_NOFILE`, `LimitNOFILE=`).
    pub nofile: Option<Limit>,
    /// Processes of its user (`RLIMIT_NPROC`).
    pub nproc: Option<Limit>,
    /// Core dump size, bytes (`RLIMIT_CORE`).
    pub core: Option<Limit>,
    /// Locked memory, bytes (`RLIMIT_MEMLOCK`).
    pub memlock: Option<Limit>,
    /// Address space, bytes (`RLIMIT_AS`).
    pub address_space: Option<Limit>,
    /// CPU time, seconds (`RLIMIT_CPU`).
    pub cpu: Option<Limit>,
}

impl Limits {
    /// The limit whose key is `name` (`nofile`, `nproc`, `core`, `memlock`, `as`, `cpu`);
    /// `None` for another name.
    pub fn by_name_mut(&mut self, name: &str) -> Option<&mut Option<Limit>> {
        Some(match name {
            "nofile" => &mut self.nofile,
            "nproc" => &mut self.nproc,
            "core" => &mut self.core,
            "memlock" => &mut self.memlock,
            "as" => &mut self.address_space,
            "cpu" => &mut self.cpu,
            _ => return None,
        })
    }

    /// Each limit set, by its key (`nofile`, `nproc`, `core`, `memlock`, `as`, `cpu`).
    pub fn each(&self) -> impl Iterator<Item = (&'static str, Limit)> + '_ {
        [
            ("nofile", self.nofile),
            ("nproc", self.nproc),
            ("core", self.core),
            ("memlock", self.memlock),
            ("as", self.address_space),
            ("cpu", self.cpu),
        ]
        .into_iter()
        .filter_map(|(key, limit)| Some((key, limit?)))
    }
}

/// How the service's stdout and stderr are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogPolicy {
    /// The size at which a log file is rotated, in bytes (0: never).
    pub max_size: u64,
    /// How many rotated files are kept besides the current one.
    pub keep: u32,
}

impl Default for LogPolicy {
    fn default() -> LogPolicy {
        LogPolicy {
            max_size: 10 << 20,
            keep: 5,
        }
    }
}

/// Everything a service manager needs to install a service: what to run and how to manage it.
/// The text a definition was read from, kept so that writing it again keeps its comments and
/// key order; every two are equal (it says nothing of the service).
#[derive(Debug, Clone, Default)]
pub struct SourceText(pub Option<std::sync::Arc<str>>);

impl PartialEq for SourceText {
    fn eq(&self, _: &SourceText) -> bool {
        true
    }
}

impl Eq for SourceText {}

/// Every backend renders or applies this one definition; [`ServiceSpec::validate`] checks it
/// first, and its errors name the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSpec {
    /// The text it was read from (`ServiceSpec::from_toml`): its comments and key order are
    /// kept when it is written again. Not part of what the service is: two specs that differ
    /// only here are equal.
    pub source: SourceText,
    /// The service's name (the key in the service manager).
    pub name: ServiceName,
    /// A friendlier name for listings; the name when absent.
    pub display_name: Option<String>,
    /// A sentence saying what the service does.
    pub description: Option<String>,
    /// The program to run, best given as an absolute path.
    pub program: PathBuf,
    /// The prefixes written before `program` in its definition (`program = "-/usr/bin/x"`,
    /// [`crate::command::Prefix`]).
    pub program_prefix: crate::command::Prefix,
    /// Whether `$VAR` and `${VAR}` in its arguments and commands are replaced at each start
    /// by the values of its environment (`env`, `environment_file`), by systemd's rules
    /// ([`crate::command::expand`]); a command prefixed `:` is left as it is.
    pub expand_env: bool,
    /// Its arguments, passed exactly (each backend quotes them by its own rules).
    pub args: Vec<OsString>,
    /// When it starts.
    pub start: StartType,
    /// The account it runs as (Windows: `DOMAIN\user`, `.\user`, `NT AUTHORITY\LocalService`);
    /// the service manager's default (LocalSystem, root) when absent.
    pub account: Option<String>,
    /// The account's password (Windows only; never stored by svckit).
    pub password: Option<String>,
    /// Services started before this one and waited for (systemd's `Wants=` and `After=`):
    /// one that fails does not stop this start.
    pub dependencies: Vec<ServiceName>,
    /// Services started before this one that must run (systemd's `Requires=` and `After=`):
    /// one that fails fails this start, and this one stops when one of them stops.
    pub requires: Vec<ServiceName>,
    /// Services started with this one, not waited for (systemd's `Wants=` alone).
    pub wants: Vec<ServiceName>,
    /// Services this one starts after if they are starting too, without starting them
    /// (systemd's `After=` alone).
    pub after: Vec<ServiceName>,
    /// Services that start after this one if it is starting too, without it starting them
    /// (systemd's `Before=`: their `after`, said by this one).
    pub before: Vec<ServiceName>,
    /// What it waits for in some of the services it starts after (`[conditions]`), each at
    /// most once, sorted by name; the others are waited for until ready.
    pub conditions: Vec<(ServiceName, crate::condition::Condition)>,
    /// When and how soon to restart it.
    pub restart: RestartPolicy,
    /// The directory it runs in (the service manager's default when absent).
    pub working_dir: Option<PathBuf>,
    /// Variables added to its environment.
    pub env: Vec<(String, String)>,
    /// The group it runs as (Unix), the account's primary group when absent.
    pub group: Option<String>,
    /// Its file mode creation mask (022 when absent).
    pub umask: Option<u32>,
    /// How its program behaves: `notify` programs say when they are ready (sd_notify, the svckit
    /// API or `$SVCKIT_READY_FD`) and take Pause, Continue and ParamChange as controls rather
    /// than having their processes stopped; `forking` ones daemonize themselves.
    pub service_type: ServiceType,
    /// For `forking`: where the daemon writes its pid (an absolute path); without it, the main
    /// pid is the one process left in the service.
    pub pid_file: Option<PathBuf>,
    /// With `notify` or `forking`: how long it may take to become ready.
    pub ready_timeout: Duration,
    /// How long a whole start may take, of any type: its pre-start commands, the program's
    /// readiness and its post-start commands (systemd's `TimeoutStartSec=`); past it the start
    /// fails as a timeout. It takes the place of `ready_timeout` when given.
    pub timeout_start: Option<Duration>,
    /// With `notify`: who may send it messages.
    pub notify_access: NotifyAccess,
    /// With `notify`: the longest time between two WATCHDOG=1 before the service counts as hung
    /// and is restarted by its policy (zero: no watchdog).
    pub watchdog: Duration,
    /// Which of its processes a stop signals.
    pub kill_mode: KillMode,
    /// How it is stopped.
    pub stop: StopPolicy,
    /// How it reloads its configuration.
    pub reload: ReloadPolicy,
    /// Commands run in order before the program, as its user (`nginx -t`: a broken
    /// configuration fails the start, with the command's output in the logs).
    pub exec_start_pre: Vec<Vec<String>>,
    /// Commands run in order once the program runs (is ready); the service counts as started
    /// when they succeeded, and one that fails stops it as a failed start.
    pub exec_start_post: Vec<Vec<String>>,
    /// Commands run in order to stop it, before the stop signal reaches what is left (nginx's
    /// `-s quit`); the stop timeout covers both.
    pub exec_stop: Vec<Vec<String>>,
    /// Commands run in order once nothing of it is left, however it ended (a stop, an exit,
    /// a failed start): cleaning up after it. Their status does not matter.
    pub exec_stop_post: Vec<Vec<String>>,
    /// Whether what is left of it at the stop timeout is killed with SIGKILL (systemd's
    /// `SendSIGKILL=`); without, the stop waits for it as long as it takes.
    pub send_sigkill: bool,
    /// Files of `NAME=value` lines (systemd's `EnvironmentFile=` format) read at each start,
    /// after `env`; a path starting with `-` may be missing.
    pub environment_file: Vec<String>,
    /// Directories made for it at each start under /run (root) or `$XDG_RUNTIME_DIR`, owned
    /// by its user, and removed when it stops (`sshd` for /run/sshd).
    pub runtime_directory: Vec<String>,
    /// The mode of its runtime directories, when not 0755, and whether they outlive a stop;
    /// its state, cache, logs and configuration directories. Boxed: most services have none.
    pub directories: Option<Box<Directories>>,
    /// Its resource limits.
    pub limits: Limits,
    /// Its scheduling priority, -20 (first) to 19 (last).
    pub nice: Option<i32>,
    /// Its OOM killer adjustment, -1000 (never killed) to 1000 (first killed).
    pub oom_score_adjust: Option<i32>,
    /// Exits that count as success besides exit code 0 (143 or TERM for Java), for the
    /// restart policy and the state it ends in.
    pub success_exit_status: Vec<ExitMatch>,
    /// Exits after which it is never restarted, whatever the policy (sshd's 255: a broken
    /// configuration).
    pub restart_prevent_exit_status: Vec<ExitMatch>,
    /// How its output is kept.
    pub logs: LogPolicy,
    /// The service manager it is installed into.
    pub backend: BackendKind,
    /// The sockets bound for it before it runs and handed to it as systemd hands them
    /// (`LISTEN_FDS`): the first connection starts it, and none is refused while it restarts.
    pub listen: Vec<crate::listen::Listener>,
    /// Whether its program accepts its connections, or svckit does and runs an instance per
    /// connection.
    pub accept: crate::listen::AcceptMode,
    /// Per connection: how many instances run at once; a connection beyond is closed at once.
    pub max_connections: u32,
    /// Per connection: how many instances one remote address may have at once.
    pub max_connections_per_source: Option<u32>,
    /// Listening mode: stop it once it has had no connection this long (it listens again,
    /// and the next connection starts it).
    pub idle_stop: Option<Duration>,
    /// Its readiness probe: a start counts as done (it returns, dependents start) only once
    /// this passes. Boxed, as the liveness probe: 216 bytes each inline, in every service a
    /// supervisor keeps, most of which have none.
    pub readiness: Option<Box<crate::health::Probe>>,
    /// Its liveness probe: failing it `failure_threshold` times in a row makes it unhealthy.
    pub liveness: Option<Box<crate::health::Probe>>,
    /// What follows a verdict of unhealthy.
    pub on_unhealthy: crate::health::OnUnhealthy,
}

impl ServiceSpec {
    /// Gives back the spare room parsing left in its lists and strings (a list read grows to
    /// four entries for its first): for a definition held as long as the service is, by a
    /// supervisor that may hold thousands.
    pub fn shrink_to_fit(&mut self) {
        fn strings(list: &mut Vec<String>) {
            list.iter_mut().for_each(String::shrink_to_fit);
            list.shrink_to_fit();
        }
        fn commands(list: &mut Vec<Vec<String>>) {
            list.iter_mut().for_each(strings);
            list.shrink_to_fit();
        }
        self.program.shrink_to_fit();
        self.args.iter_mut().for_each(OsString::shrink_to_fit);
        self.args.shrink_to_fit();
        self.env.iter_mut().for_each(|(key, value)| {
            key.shrink_to_fit();
            value.shrink_to_fit();
        });
        self.env.shrink_to_fit();
        self.dependencies.shrink_to_fit();
        self.requires.shrink_to_fit();
        self.wants.shrink_to_fit();
        self.after.shrink_to_fit();
        self.conditions.shrink_to_fit();
        commands(&mut self.exec_start_pre);
        commands(&mut self.exec_start_post);
        commands(&mut self.exec_stop);
        commands(&mut self.exec_stop_post);
        self.before.shrink_to_fit();
        strings(&mut self.environment_file);
        strings(&mut self.runtime_directory);
        self.success_exit_status.shrink_to_fit();
        self.restart_prevent_exit_status.shrink_to_fit();
        self.listen.shrink_to_fit();
    }

    /// A spec that runs `program` with no arguments, started on demand, never restarted.
    pub fn new(name: ServiceName, program: impl Into<PathBuf>) -> ServiceSpec {
        ServiceSpec {
            name,
            display_name: None,
            description: None,
            program: program.into(),
            program_prefix: crate::command::Prefix::default(),
            expand_env: false,
            args: Vec::new(),
            start: StartType::default(),
            account: None,
            password: None,
            dependencies: Vec::new(),
            requires: Vec::new(),
            wants: Vec::new(),
            after: Vec::new(),
            before: Vec::new(),
            conditions: Vec::new(),
            restart: RestartPolicy::default(),
            working_dir: None,
            env: Vec::new(),
            group: None,
            umask: None,
            service_type: ServiceType::Exec,
            pid_file: None,
            ready_timeout: Duration::from_secs(90),
            timeout_start: None,
            notify_access: NotifyAccess::Main,
            watchdog: Duration::ZERO,
            kill_mode: KillMode::ControlGroup,
            stop: StopPolicy::default(),
            reload: ReloadPolicy::default(),
            exec_start_pre: Vec::new(),
            exec_start_post: Vec::new(),
            exec_stop: Vec::new(),
            exec_stop_post: Vec::new(),
            send_sigkill: true,
            environment_file: Vec::new(),
            runtime_directory: Vec::new(),
            directories: None,
            limits: Limits::default(),
            nice: None,
            oom_score_adjust: None,
            success_exit_status: Vec::new(),
            restart_prevent_exit_status: Vec::new(),
            logs: LogPolicy::default(),
            backend: BackendKind::Auto,
            listen: Vec::new(),
            accept: crate::listen::AcceptMode::No,
            max_connections: crate::listen::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: None,
            idle_stop: None,
            readiness: None,
            liveness: None,
            on_unhealthy: crate::health::OnUnhealthy::Restart,
            source: SourceText::default(),
        }
    }

    /// What `svckit reload` does: the reload policy's signal or command, else SIGHUP for a
    /// notify program, else nothing (reload is refused).
    pub fn reload_action(&self) -> Option<ReloadAction<'_>> {
        match (&self.reload.signal, self.reload.command.as_slice()) {
            (Some(signal), _) => Some(ReloadAction::Signal(*signal)),
            (None, [_, ..]) => Some(ReloadAction::Command(&self.reload.command)),
            (None, []) if self.says_ready() => Some(ReloadAction::Signal(Signal::Hup)),
            (None, []) => None,
        }
    }

    /// The program's `argv[0]` when its `@` prefix gives one (its first argument), and its
    /// arguments after it.
    pub fn program_argv(&self) -> (Option<&std::ffi::OsStr>, &[OsString]) {
        match (self.program_prefix.argv0, self.args.split_first()) {
            (true, Some((argv0, args))) => (Some(argv0.as_os_str()), args),
            _ => (None, self.args.as_slice()),
        }
    }

    /// The words of its control command `command` (prefixes in the first), when it has it.
    pub fn control_command(&self, command: crate::machine::ControlCommand) -> Option<&[String]> {
        use crate::machine::ControlCommand;
        let list = match command {
            ControlCommand::StartPre(index) => self.exec_start_pre.get(index),
            ControlCommand::StartPost(index) => self.exec_start_post.get(index),
            ControlCommand::Stop(index) => self.exec_stop.get(index),
            ControlCommand::StopPost(index) => self.exec_stop_post.get(index),
            ControlCommand::Reload => {
                return match self.reload_action() {
                    Some(ReloadAction::Command(argv)) => Some(argv),
                    _ => None,
                };
            }
        };
        list.map(Vec::as_slice)
    }

    /// Its control commands whose failure is ignored (prefixed `-`), for the machine's
    /// [`crate::machine::Policy::failure_ignored`].
    pub fn failure_ignored(&self) -> Vec<crate::machine::ControlCommand> {
        use crate::machine::ControlCommand;
        let ignored = |command: &Vec<String>| {
            command.first().is_some_and(|first| {
                crate::command::Prefix::split(first).is_ok_and(|(prefix, _)| prefix.ignore_failure)
            })
        };
        let each = |list: &[Vec<String>], make: fn(usize) -> ControlCommand| {
            list.iter()
                .enumerate()
                .filter(|(_, command)| ignored(command))
                .map(move |(index, _)| make(index))
                .collect::<Vec<_>>()
        };
        let mut all = each(&self.exec_start_pre, ControlCommand::StartPre);
        all.extend(each(&self.exec_start_post, ControlCommand::StartPost));
        all.extend(each(&self.exec_stop, ControlCommand::Stop));
        all.extend(each(&self.exec_stop_post, ControlCommand::StopPost));
        if ignored(&self.reload.command) {
            all.push(ControlCommand::Reload);
        }
        all
    }

    /// The services a start of this one starts first: `dependencies`, `requires`, `wants`.
    pub fn started_with(&self) -> impl Iterator<Item = &ServiceName> {
        self.dependencies
            .iter()
            .chain(&self.requires)
            .chain(&self.wants)
    }

    /// What it waits for in `dependency`: its condition, `ready` by default.
    pub fn condition(&self, dependency: &ServiceName) -> Option<&crate::condition::Condition> {
        self.conditions
            .iter()
            .find_map(|(name, condition)| (name == dependency).then_some(condition))
    }

    /// The services this one starts after (and stops before): `dependencies`, `requires`,
    /// `after` — every one a cycle could go through.
    pub fn ordered_after(&self) -> impl Iterator<Item = &ServiceName> {
        self.dependencies
            .iter()
            .chain(&self.requires)
            .chain(&self.after)
    }

    /// Whether the program says when it is ready (`type = "notify"`).
    pub fn says_ready(&self) -> bool {
        self.service_type == ServiceType::Notify
    }

    /// Checks the per-connection keys: an instance per connection needs stream sockets and a
    /// plain program (the instances are its processes), and bounded counts.
    fn check_accept(&self) -> Result<(), ModelError> {
        if !(1..=65_536).contains(&self.max_connections) {
            return Err(ModelError::invalid(
                "max_connections",
                format!("{} is not between 1 and 65536", self.max_connections),
            ));
        }
        if let Some(per_source) = self.max_connections_per_source
            && !(1..=self.max_connections).contains(&per_source)
        {
            return Err(ModelError::invalid(
                "max_connections_per_source",
                format!(
                    "{per_source} is not between 1 and max_connections ({})",
                    self.max_connections
                ),
            ));
        }
        if let Some(idle) = self.idle_stop {
            if self.listen.is_empty() || self.accept.per_connection() {
                return Err(ModelError::invalid(
                    "idle_stop",
                    "is for a service started by its first connection (listen, accept = no)",
                ));
            }
            if idle.is_zero() {
                return Err(ModelError::invalid("idle_stop", "is zero"));
            }
            if let Some(datagram) = self.listen.iter().find(|l| !l.address.is_stream()) {
                return Err(ModelError::invalid(
                    "idle_stop",
                    format!(
                        "counts connections, and {} is a datagram socket, which has none",
                        datagram.address
                    ),
                ));
            }
        }
        if !self.accept.per_connection() {
            return Ok(());
        }
        if self.listen.is_empty() {
            return Err(ModelError::invalid(
                "accept",
                "an instance per connection needs a socket to accept on (listen)",
            ));
        }
        if let Some(datagram) = self.listen.iter().find(|l| !l.address.is_stream()) {
            return Err(ModelError::invalid(
                "accept",
                format!(
                    "{} is a datagram socket: only connections can be accepted",
                    datagram.address
                ),
            ));
        }
        if self.service_type != ServiceType::Exec {
            return Err(ModelError::invalid(
                "accept",
                format!(
                    "an instance per connection is a plain program (type exec), not {}",
                    self.service_type.name()
                ),
            ));
        }
        Ok(())
    }

    /// Checks the probes: their values, and that a service with one has a program to probe.
    fn check_probes(&self) -> Result<(), ModelError> {
        use crate::health::Role;
        for (role, probe) in [
            (Role::Readiness, &self.readiness),
            (Role::Liveness, &self.liveness),
        ] {
            let Some(probe) = probe else {
                continue;
            };
            if let Err((key, reason)) = probe.validate(role) {
                return Err(ModelError::invalid(probe_key(role, key), reason));
            }
            if self.accept.per_connection() || self.service_type == ServiceType::Oneshot {
                return Err(ModelError::invalid(
                    role.name(),
                    format!(
                        "a {} has no program that runs on to probe",
                        match self.service_type {
                            ServiceType::Oneshot => "oneshot",
                            _ => "service with an instance per connection",
                        }
                    ),
                ));
            }
        }
        if self.liveness.is_none() && self.on_unhealthy != crate::health::OnUnhealthy::Restart {
            return Err(ModelError::invalid(
                "liveness.on_unhealthy",
                "is for a service with a liveness probe",
            ));
        }
        Ok(())
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.program.as_os_str().is_empty() {
            return Err(ModelError::invalid("program", "is empty"));
        }
        check_text("program", &self.program.to_string_lossy())?;
        for (index, arg) in self.args.iter().enumerate() {
            if arg.to_string_lossy().contains('\0') {
                return Err(ModelError::invalid(
                    "args",
                    format!("argument {} contains a NUL byte", index + 1),
                ));
            }
        }
        if self.reload.signal.is_some() && !self.reload.command.is_empty() {
            return Err(ModelError::invalid(
                "reload.command",
                "is given with reload.signal: a reload is one or the other",
            ));
        }
        if !self.reload.command.is_empty() {
            check_command("reload.command", &self.reload.command)?;
        }
        for (key, commands) in [
            ("exec_start_pre", &self.exec_start_pre),
            ("exec_start_post", &self.exec_start_post),
            ("exec_stop", &self.exec_stop),
            ("exec_stop_post", &self.exec_stop_post),
        ] {
            for command in commands {
                check_command(key, command)?;
            }
        }
        for file in &self.environment_file {
            if !file.trim_start_matches('-').starts_with('/') {
                return Err(ModelError::invalid(
                    "environment_file",
                    format!("{file:?} is not an absolute path"),
                ));
            }
            check_text("environment_file", file)?;
        }
        let directories = self.directories.as_deref().cloned().unwrap_or_default();
        let kept = crate::DirectoryKind::ALL
            .into_iter()
            .map(|kind| (kind.key(), kind.system_base(), directories.of(kind).0));
        for (key, base, names) in std::iter::once((
            "runtime_directory",
            "/run",
            self.runtime_directory.as_slice(),
        ))
        .chain(kept)
        {
            for dir in names {
                // A name under its base, never a way out of it.
                let path = std::path::Path::new(dir);
                if dir.is_empty()
                    || path.is_absolute()
                    || path
                        .components()
                        .any(|part| !matches!(part, std::path::Component::Normal(_)))
                {
                    return Err(ModelError::invalid(
                        key,
                        format!("{dir:?} is not a relative path below {base} (like \"sshd\")"),
                    ));
                }
                check_text(key, dir)?;
            }
        }
        if self.timeout_start.is_some_and(|limit| limit.is_zero()) {
            return Err(ModelError::invalid(
                "timeout_start",
                "is zero: give a time, or leave it out for none",
            ));
        }
        if self.program_prefix.argv0 && self.args.is_empty() {
            return Err(ModelError::invalid(
                "program",
                "`@` needs args, the first its argv[0]",
            ));
        }
        crate::listen::check_all(&self.listen)?;
        self.check_accept()?;
        self.check_probes()?;
        if let Some(nice) = self.nice
            && !(-20..=19).contains(&nice)
        {
            return Err(ModelError::invalid(
                "nice",
                format!("{nice} is not between -20 and 19"),
            ));
        }
        if let Some(adjust) = self.oom_score_adjust
            && !(-1000..=1000).contains(&adjust)
        {
            return Err(ModelError::invalid(
                "oom_score_adjust",
                format!("{adjust} is not between -1000 and 1000"),
            ));
        }
        if let Some(display_name) = &self.display_name {
            check_text("display_name", display_name)?;
            if display_name.chars().count() > 256 {
                return Err(ModelError::invalid(
                    "display_name",
                    "is longer than 256 characters",
                ));
            }
        }
        if let Some(description) = &self.description
            && description.contains('\0')
        {
            return Err(ModelError::invalid("description", "contains a NUL byte"));
        }
        if let Some(account) = &self.account {
            if account.is_empty() {
                return Err(ModelError::invalid("account", "is empty"));
            }
            check_text("account", account)?;
        }
        if self.password.is_some() && self.account.is_none() {
            return Err(ModelError::invalid(
                "password",
                "is given without an account",
            ));
        }
        if let Some(group) = &self.group {
            if group.is_empty() {
                return Err(ModelError::invalid("group", "is empty"));
            }
            check_text("group", group)?;
        }
        if let Some(dir) = &self.working_dir {
            check_text("working_dir", &dir.to_string_lossy())?;
            if !dir.is_absolute() && !dir.has_root() {
                return Err(ModelError::invalid(
                    "working_dir",
                    format!("{} is not an absolute path", dir.display()),
                ));
            }
        }
        for (name, value) in &self.env {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(ModelError::invalid(
                    "env",
                    format!("{name:?} is not a variable name"),
                ));
            }
            if value.contains('\0') {
                return Err(ModelError::invalid(
                    "env",
                    format!("the value of {name} contains a NUL byte"),
                ));
            }
        }
        if let Some(umask) = self.umask
            && umask > 0o777
        {
            return Err(ModelError::invalid(
                "umask",
                format!("{umask:o} is not between 000 and 777"),
            ));
        }
        if let Some(pid_file) = &self.pid_file {
            check_text("pid_file", &pid_file.to_string_lossy())?;
            if self.service_type != ServiceType::Forking {
                return Err(ModelError::invalid(
                    "pid_file",
                    "is for type = \"forking\" (the pid file of a program that daemonizes itself)",
                ));
            }
            if !pid_file.is_absolute() && !pid_file.has_root() {
                return Err(ModelError::invalid(
                    "pid_file",
                    format!("{} is not an absolute path", pid_file.display()),
                ));
            }
        }
        if !self.watchdog.is_zero() && self.service_type != ServiceType::Notify {
            return Err(ModelError::invalid(
                "watchdog",
                "is for type = \"notify\" (WATCHDOG=1 is an sd_notify message)",
            ));
        }
        if self.notify_access != NotifyAccess::Main && self.service_type != ServiceType::Notify {
            return Err(ModelError::invalid(
                "notify_access",
                "is for type = \"notify\"",
            ));
        }
        for (field, value) in [
            ("stop.timeout", self.stop.timeout),
            ("ready_timeout", self.ready_timeout),
            ("watchdog", self.watchdog),
            ("restart.delay", self.restart.delay),
            ("restart.max_delay", self.restart.max_delay),
            ("restart.reset_after", self.restart.reset_after),
            ("restart.window", self.restart.window),
        ] {
            if value > crate::parse::MAX_DURATION {
                return Err(ModelError::invalid(
                    field,
                    format!("{} is longer than a year (365d)", value.as_secs()),
                ));
            }
        }
        if self.logs.keep > crate::parse::MAX_LOG_KEEP {
            return Err(ModelError::invalid(
                "logs.keep",
                format!(
                    "{} is more than {} files",
                    self.logs.keep,
                    crate::parse::MAX_LOG_KEEP
                ),
            ));
        }
        if self.restart.limit > crate::parse::MAX_START_LIMIT {
            return Err(ModelError::invalid(
                "restart.limit",
                format!(
                    "{} is more than {} starts",
                    self.restart.limit,
                    crate::parse::MAX_START_LIMIT
                ),
            ));
        }
        if self.restart.limit > 0 && self.restart.window.is_zero() {
            return Err(ModelError::invalid(
                "restart.window",
                "is zero while restart.limit is set",
            ));
        }
        for (key, list) in [
            ("dependencies", &self.dependencies),
            ("requires", &self.requires),
            ("wants", &self.wants),
            ("after", &self.after),
            ("before", &self.before),
        ] {
            if let Some(dependency) = list.iter().find(|dep| **dep == self.name) {
                return Err(ModelError::invalid(
                    key,
                    format!("the service depends on itself ({dependency})"),
                ));
            }
        }
        for (index, (dependency, _)) in self.conditions.iter().enumerate() {
            if self.conditions[..index]
                .iter()
                .any(|(n, _)| n == dependency)
            {
                return Err(ModelError::invalid(
                    "conditions",
                    format!("{dependency} has two conditions"),
                ));
            }
            if !self.ordered_after().any(|d| d == dependency) {
                return Err(ModelError::invalid(
                    "conditions",
                    format!(
                        "{dependency} is not a service it waits for: list it in requires, \
                         dependencies or after"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether `path` is absolute as Unix or Windows reads it, whatever the platform checking:
/// `/usr/sbin/nginx`, `C:\Windows\System32\cmd.exe` (or with `/`), `\\server\share\x.exe`.
fn absolute_on_some_platform(path: &str) -> bool {
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/');
    path.starts_with('/') || path.starts_with(r"\\") || drive
}

/// A command of the service (its reload or pre-start command): a program given by its
/// absolute path (it runs without a shell or PATH), arguments without NUL bytes.
fn check_command(field: &'static str, command: &[String]) -> Result<(), ModelError> {
    let parts = crate::command::parts(command).map_err(|why| ModelError::invalid(field, why))?;
    let program = parts.program;
    if !absolute_on_some_platform(program) {
        return Err(ModelError::invalid(
            field,
            format!("{program:?} is not an absolute path"),
        ));
    }
    if command.iter().any(|arg| arg.contains('\0')) {
        return Err(ModelError::invalid(field, "contains a NUL byte"));
    }
    Ok(())
}

fn check_text(field: &'static str, text: &str) -> Result<(), ModelError> {
    if text.chars().any(char::is_control) {
        return Err(ModelError::invalid(field, "contains a control character"));
    }
    Ok(())
}

/// The definition's name of a probe's key: `readiness.period`; the table's own name for a key
/// it does not have.
pub(crate) fn probe_key(role: crate::health::Role, key: &str) -> &'static str {
    use crate::health::Role;
    macro_rules! keys {
        ($($key:literal),*) => {
            match (role, key) {
                $(
                    (Role::Readiness, $key) => concat!("readiness.", $key),
                    (Role::Liveness, $key) => concat!("liveness.", $key),
                )*
                (role, _) => role.name(),
            }
        };
    }
    keys!(
        "period",
        "timeout",
        "initial_delay",
        "failure_threshold",
        "success_threshold",
        "exec",
        "header",
        "http",
        "tcp",
        "expect_status"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_absolute_as_unix_or_windows_reads_them() {
        for path in [
            "/bin/kill",
            r"C:\Windows\System32\cmd.exe",
            "c:/x.exe",
            r"\\srv\share\x.exe",
        ] {
            assert!(absolute_on_some_platform(path), "{path}");
        }
        for path in ["kill", "bin/kill", "C:x.exe", r"cmd.exe", "", "C:"] {
            assert!(!absolute_on_some_platform(path), "{path}");
        }
    }

    fn spec() -> ServiceSpec {
        ServiceSpec::new(ServiceName::new("web").unwrap(), "/usr/bin/true")
    }

    /// Regression: `--log-keep 4294967295` made every rotation 4e9 renames, and a stop timeout
    /// of 1e19 s overflowed the supervisor's clock arithmetic: bounded, naming the key.
    #[test]
    fn regression_huge_counts_and_durations_are_refused_naming_the_key() {
        let mut bad = spec();
        bad.logs.keep = u32::MAX;
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "invalid logs.keep: 4294967295 is more than 1000 files"
        );
        let mut bad = spec();
        bad.stop.timeout = Duration::from_secs(10_000_000_000_000_000_000);
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid stop.timeout")
        );
        let mut bad = spec();
        bad.restart.limit = u32::MAX;
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid restart.limit")
        );
        let mut bad = spec();
        bad.ready_timeout = Duration::MAX;
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid ready_timeout")
        );
    }

    #[test]
    fn errors_name_the_field() {
        let mut bad = spec();
        bad.password = Some("secret".into());
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "invalid password: is given without an account"
        );
        let mut bad = spec();
        bad.display_name = Some("two\nlines".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid display_name")
        );
        let mut bad = spec();
        bad.program = PathBuf::new();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid program")
        );
        let mut bad = spec();
        bad.dependencies = vec![ServiceName::new("web").unwrap()];
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("depends on itself")
        );
        assert_eq!(spec().validate(), Ok(()));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RestartPolicy {
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RestartPolicy::default()
        };
        let waits: Vec<u128> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        let at_once = RestartPolicy {
            delay: Duration::ZERO,
            ..policy
        };
        assert_eq!(at_once.backoff(7), Duration::ZERO);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
    }

    #[test]
    fn env_is_checked() {
        // (The stop signal is a `Signal`: a bad name cannot reach validate().)
        let mut bad = spec();
        bad.env = vec![("A=B".into(), "c".into())];
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid env")
        );
        let mut bad = spec();
        bad.working_dir = Some("relative/dir".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid working_dir")
        );
    }

    #[test]
    fn policies_parse_their_names_only() {
        assert_eq!("on-failure".parse(), Ok(Restart::OnFailure));
        assert_eq!("delayed".parse(), Ok(StartType::Delayed));
        assert!(
            "sometimes"
                .parse::<Restart>()
                .unwrap_err()
                .to_string()
                .contains("restart")
        );
        assert!(
            "boot"
                .parse::<StartType>()
                .unwrap_err()
                .to_string()
                .contains("start")
        );
    }

    #[test]
    fn probes_are_checked_naming_the_key_and_need_a_program_that_runs_on() {
        use crate::health::{Check, OnUnhealthy, Probe};
        let mut spec = ServiceSpec::new(ServiceName::new("web").unwrap(), "/bin/web");
        let probe = Probe::new(Check::tcp("127.0.0.1:8080").unwrap());
        spec.readiness = Some(Box::new(probe.clone()));
        spec.liveness = Some(Box::new(probe.clone()));
        assert!(spec.validate().is_ok());
        let said = |spec: &ServiceSpec| spec.validate().unwrap_err().to_string();
        spec.liveness.as_mut().unwrap().period = Duration::from_millis(1);
        assert!(said(&spec).contains("liveness.period"), "{}", said(&spec));
        spec.liveness = Some(Box::new(probe.clone()));
        spec.readiness.as_mut().unwrap().failure_threshold = 0;
        assert!(
            said(&spec).contains("readiness.failure_threshold"),
            "{}",
            said(&spec)
        );
        spec.readiness = Some(Box::new(probe));
        spec.service_type = ServiceType::Oneshot;
        assert!(
            said(&spec).contains("a oneshot has no program"),
            "{}",
            said(&spec)
        );
        spec.service_type = ServiceType::Exec;
        spec.liveness = None;
        spec.on_unhealthy = OnUnhealthy::Stop;
        assert!(
            said(&spec).contains("liveness.on_unhealthy"),
            "{}",
            said(&spec)
        );
    }
}
