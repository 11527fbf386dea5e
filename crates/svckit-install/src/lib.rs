//! svckit's init backends behind one trait, [`Backend`]: install, uninstall, start, stop,
//! pause, continue and query a service described by a [`ServiceSpec`], through whatever
//! service manager the host has.
//!
//! One file per init system: [`systemd`] (units), [`sysv`] (LSB init scripts) and `windows`
//! (the SCM); the builtin supervisor is `svckit-supervise`. Rendering a unit or a script is a
//! pure function of the spec; applying it is an atomic write plus the manager's reload.
//! [`detect`] picks a backend in a fixed order, builtin last, and [`honour`] refuses a setting
//! a backend cannot honour, naming it.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, SystemTime},
};

pub use svckit_core::LastExit;
use svckit_core::logfiles::Stream;
use svckit_core::{
    Accept, BackendKind, Control, ExitCode, ModelError, ServiceName, ServiceSpec, StartType, State,
};

#[cfg(unix)]
pub mod boot;
pub mod builtin;
mod detect;
pub mod engines;
pub mod honour;
#[cfg(unix)]
mod manage;
#[cfg(windows)]
#[path = "manage_windows.rs"]
mod manage;
#[cfg(unix)]
pub mod registry;
#[cfg(unix)]
mod run;
pub mod systemd;
pub mod sysv;
pub mod windows;
pub mod xinetd;

pub use detect::{Host, detect_kind, sysvinit_runs};
pub use manage::Manager;
#[cfg(unix)]
pub use manage::image_state_dir;
#[cfg(windows)]
pub use manage::{data_dir, definition_path, hosted_definition, status_path, stored_definition};
/// The supervisor's state directory, as a [`Manager`] is given it: `StateDir::new(PATH)`, or
/// `StateDir::default_location()` (what the CLI uses without --state-dir).
#[cfg(unix)]
pub use svckit_supervise::StateDir;

/// One line of `Manager::statuses`: an installed service and its status (or why its manager
/// could not tell).
#[derive(Debug)]
pub struct Listed {
    /// The service.
    pub name: ServiceName,
    /// Its backend.
    pub backend: BackendKind,
    /// Its status.
    pub status: Result<Status, Error>,
}

/// A service manager svckit can install services into.
pub trait Backend {
    /// The backend's name, as `--backend` spells it.
    fn name(&self) -> &'static str;

    /// Installs `spec`. Over an existing service of the same name it is idempotent: the old one
    /// is stopped, deleted and created anew from `spec`. A failure leaves no half-installed
    /// service behind.
    fn install(&self, spec: &ServiceSpec) -> Result<Installed, Error>;

    /// Stops the service (waiting up to `timeout`) and removes it.
    fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error>;

    /// Starts the service; with `wait`, returns once it is running (or fails when it stops or
    /// the time runs out).
    fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error>;

    /// Sends `control` (Stop, Pause or Continue) and waits up to `timeout` for the state it
    /// leads to. Stopping a stopped service succeeds at once.
    fn control(
        &self,
        name: &ServiceName,
        control: Control,
        timeout: Duration,
    ) -> Result<Status, Error>;

    /// Stops the service (waiting up to `timeout`), then starts it again; returns once it
    /// runs. Managers that restart in one step (the supervisor) do so.
    fn restart(&self, name: &ServiceName, timeout: Duration) -> Result<Status, Error> {
        self.control(name, Control::Stop, timeout)?;
        self.start(name, Some(timeout))
    }

    /// The service's current status.
    fn status(&self, name: &ServiceName) -> Result<Status, Error>;

    /// Carries `action` out on each of `names`, as [`Manager::perform`] does on one: by
    /// default one after the other, in the order given (a stop's caller gives the stop
    /// order). A manager that takes several in one request (the supervisor) orders them
    /// itself and carries them out side by side. One result per name, in order; `timeout`
    /// bounds each service's wait. `Err` when the request as a whole failed.
    fn perform_many(
        &self,
        action: Action,
        names: &[ServiceName],
        timeout: Duration,
        wait: bool,
    ) -> Result<Vec<Result<Status, Error>>, Error> {
        Ok(one_by_one(self, action, names, timeout, wait))
    }

    /// Where the service's output goes; a manager that keeps none (the SCM) says so.
    fn logs(&self, name: &ServiceName) -> Result<Logs, Error> {
        let _ = name;
        Err(Error::Unsupported {
            backend: self.name(),
            setting: "logs",
            reason: "this manager keeps no output of its services".into(),
        })
    }

    /// Whether a service of that name is installed.
    fn is_installed(&self, name: &ServiceName) -> Result<bool, Error> {
        match self.status(name) {
            Ok(_) => Ok(true),
            Err(Error::NotInstalled(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }
}

/// What [`Manager::install`] is to do besides installing the spec.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Replace an installed service of that name (with any backend), or an existing unit
    /// file or init script.
    pub force: bool,
    /// Install into this alternate root (an image being built): write the unit or script
    /// under it and start nothing (systemd and sysv only).
    pub root: Option<PathBuf>,
}

/// What [`Manager::install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// Created, or replaced in place.
    pub installed: Installed,
    /// The backend that runs it now (never `auto`).
    pub backend: BackendKind,
    /// Where its definition, unit or script is.
    pub location: PathBuf,
    /// A service of that name with another backend that was uninstalled first.
    pub replaced: Option<BackendKind>,
    /// Replacing a definition: the keys that changed (`args`, `restart.delay`, …).
    pub changed: Vec<String>,
    /// Replacing the definition of a running service: it was restarted, as a key that
    /// shapes its process changed (see [`changed`](InstallReport::changed)).
    pub restarted: bool,
}

/// The keys whose values differ between two definitions, as their TOML names (`args`,
/// `restart.delay`, `env`), in the definition's order.
pub fn changed_keys(old: &ServiceSpec, new: &ServiceSpec) -> Vec<String> {
    let table = |spec: &ServiceSpec| spec.to_toml().parse::<toml::Table>().unwrap_or_default();
    let (old, new) = (table(old), table(new));
    let mut keys: Vec<&String> = new.keys().collect();
    keys.extend(old.keys().filter(|key| !new.contains_key(*key)));
    let mut changed = Vec::new();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
                let mut inner: Vec<&String> = b.keys().collect();
                inner.extend(a.keys().filter(|k| !b.contains_key(*k)));
                for k in inner {
                    if a.get(k) != b.get(k) {
                        changed.push(format!("{key}.{k}"));
                    }
                }
            }
            (a, b) if a != b => changed.push(key.clone()),
            _ => {}
        }
    }
    changed
}

/// Whether a change of `key` reaches the service's running process (its program, arguments,
/// environment, user, limits, …): only a restart applies it. The others (its restart and stop
/// policy, logs, description, dependencies, commands run around it) apply without one.
pub fn shapes_the_process(key: &str) -> bool {
    let head = key.split('.').next().unwrap_or(key);
    // A key, its table's first key (a whole `[restart]` added), or one beyond the keys the
    // backends are told of (program, args: the process itself; backend: who runs it).
    let known = svckit_core::Key::named(key)
        .or_else(|| svckit_core::Key::named(head))
        .or_else(|| {
            svckit_core::Key::ALL
                .iter()
                .copied()
                .find(|known| known.name().split('.').next() == Some(head))
        });
    match known {
        Some(known) => known.shapes_the_process(),
        None => head != "backend",
    }
}

/// What a management command asks of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
    /// `pause`.
    Pause,
    /// `continue`.
    Continue,
    /// `reload`.
    Reload,
}

impl Action {
    /// What is said once it is done: `started`, `stopped`, …
    pub fn done(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Stop => "stopped",
            Action::Restart => "restarted",
            Action::Pause => "paused",
            Action::Continue => "continued",
            Action::Reload => "asked to reload",
        }
    }
}

/// What came of one service of [`Manager::perform_many`].
pub type Each = (ServiceName, Result<Status, Error>);

/// `action` on `name` through `backend`, waiting up to `timeout` for the state it leads to (a
/// start only with `wait`).
fn perform_on<B: Backend + ?Sized>(
    backend: &B,
    action: Action,
    name: &ServiceName,
    timeout: Duration,
    wait: bool,
) -> Result<Status, Error> {
    match action {
        Action::Start => backend.start(name, wait.then_some(timeout)),
        Action::Stop => backend.control(name, Control::Stop, timeout),
        Action::Restart => backend.restart(name, timeout),
        Action::Pause => backend.control(name, Control::Pause, timeout),
        Action::Continue => backend.control(name, Control::Continue, timeout),
        Action::Reload => backend.control(name, Control::ParamChange, timeout),
    }
}

/// `action` on each of `names` through `backend`, one after the other.
pub(crate) fn one_by_one<B: Backend + ?Sized>(
    backend: &B,
    action: Action,
    names: &[ServiceName],
    timeout: Duration,
    wait: bool,
) -> Vec<Result<Status, Error>> {
    names
        .iter()
        .map(|name| perform_on(backend, action, name, timeout, wait))
        .collect()
}

impl Manager {
    /// Carries `action` out on `name` through its backend, waiting up to `timeout` for the
    /// state it leads to (a start only with `wait`); the status it left.
    pub fn perform(
        &self,
        action: Action,
        name: &ServiceName,
        timeout: Duration,
        wait: bool,
    ) -> Result<Status, Error> {
        perform_on(self.backend_of(name)?.as_ref(), action, name, timeout, wait)
    }

    /// Carries `action` out on each of `names` (in stop order for a stop), in that order: each
    /// run of names of one backend in one [`Backend::perform_many`]. What came of each, in
    /// the order given; `Err` when a backend's request failed as a whole (what the runs
    /// before it did stays done).
    pub fn perform_many(
        &self,
        action: Action,
        names: &[ServiceName],
        timeout: Duration,
        wait: bool,
    ) -> Result<Vec<Each>, Error> {
        let mut owners = names
            .iter()
            .map(|name| (name, self.backend_of(name)))
            .peekable();
        let mut done: Vec<Each> = Vec::with_capacity(names.len());
        while let Some((name, owner)) = owners.next() {
            let backend = match owner {
                Ok(backend) => backend,
                Err(err) => {
                    done.push((name.clone(), Err(err)));
                    continue;
                }
            };
            let mut run = vec![name.clone()];
            while let Some((next, _)) = owners.next_if(|(_, owner)| {
                owner
                    .as_ref()
                    .is_ok_and(|other| other.name() == backend.name())
            }) {
                run.push(next.clone());
            }
            let each = backend.perform_many(action, &run, timeout, wait)?;
            done.extend(run.into_iter().zip(each));
        }
        Ok(done)
    }

    /// Every installed service in stop order: a service before what it depends on
    /// ([`svckit_core::order::stop_order`]).
    pub fn in_stop_order(&self) -> Result<Vec<ServiceName>, Error> {
        let specs: Vec<(ServiceName, Option<ServiceSpec>)> = self
            .list()?
            .into_iter()
            .map(|(name, _)| {
                let spec = self.definition(&name).ok();
                (name, spec)
            })
            .collect();
        // Those that say they start before a service (`before`), by that service.
        let mut befores: std::collections::HashMap<&ServiceName, Vec<ServiceName>> =
            std::collections::HashMap::new();
        for (name, spec) in &specs {
            for target in spec.iter().flat_map(|spec| &spec.before) {
                befores.entry(target).or_default().push(name.clone());
            }
        }
        let services = specs
            .iter()
            .map(|(name, spec)| {
                let mut after: Vec<ServiceName> = spec
                    .iter()
                    .flat_map(|spec| spec.ordered_after().cloned())
                    .collect();
                after.extend(befores.get(name).into_iter().flatten().cloned());
                (name.clone(), after)
            })
            .collect();
        Ok(svckit_core::order::stop_order(services))
    }

    /// Starts `name`; with `wait`, returns once it runs.
    pub fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error> {
        self.backend_of(name)?.start(name, wait)
    }

    /// Sends `control` to `name` and waits up to `timeout` for the state it leads to.
    pub fn control(
        &self,
        name: &ServiceName,
        control: Control,
        timeout: Duration,
    ) -> Result<Status, Error> {
        self.backend_of(name)?.control(name, control, timeout)
    }

    /// Stops `name`; returns once every process of it is gone (or `timeout` passed).
    pub fn stop(&self, name: &ServiceName, timeout: Duration) -> Result<Status, Error> {
        self.backend_of(name)?.control(name, Control::Stop, timeout)
    }

    /// Stops `name` and starts it again.
    pub fn restart(&self, name: &ServiceName, timeout: Duration) -> Result<Status, Error> {
        self.backend_of(name)?.restart(name, timeout)
    }

    /// `name`'s status, with when it starts (`start`, as its definition says where the
    /// backend does not).
    pub fn status(&self, name: &ServiceName) -> Result<Status, Error> {
        let mut status = self.backend_of(name)?.status(name)?;
        self.with_start(&mut status);
        Ok(status)
    }

    /// Fills in `status.start` from the service's definition, where its backend did not say.
    pub(crate) fn with_start(&self, status: &mut Status) {
        if status.start.is_none() {
            status.start = self.definition(&status.name).ok().map(|spec| spec.start);
        }
    }

    /// Where `name`'s output goes.
    pub fn logs(&self, name: &ServiceName) -> Result<Logs, Error> {
        self.backend_of(name)?.logs(name)
    }
}

/// Which file an open log is, for following it across rotations: its inode on Unix, its file
/// index on Windows (see [`svckit_core::logfiles::timeline::follow`]).
pub fn file_identity(file: &std::fs::File) -> std::io::Result<u64> {
    #[cfg(unix)]
    {
        Ok(std::os::unix::fs::MetadataExt::ino(&file.metadata()?))
    }
    #[cfg(windows)]
    {
        svckit_windows::file_index(file)
    }
}

/// Where a service's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logs {
    /// The supervisor's captured streams, rotated, with `keep` older files of each.
    Captured {
        /// `logs/NAME.stdout`.
        stdout: PathBuf,
        /// `logs/NAME.stderr`.
        stderr: PathBuf,
        /// Rotated files kept.
        keep: u32,
    },
    /// One file both streams are appended to (an init script's), never rotated by svckit.
    File(PathBuf),
    /// The systemd journal, under this unit.
    Journal(String),
}

impl Logs {
    /// Where to look, for people.
    pub fn describe(&self) -> String {
        match self {
            Logs::Captured { stdout, stderr, .. } => {
                format!("{} and {}", stdout.display(), stderr.display())
            }
            Logs::File(path) => path.display().to_string(),
            Logs::Journal(unit) => format!("the journal (journalctl -u {unit})"),
        }
    }

    /// The last `lines` lines of each stream svckit stores, with the stream's name (`stdout`,
    /// `stderr`, `output`); the journal's are not read here.
    pub fn recent(&self, lines: usize) -> Vec<(&'static str, Vec<String>)> {
        let tail = |path: &Path, keep: u32| {
            svckit_core::logfiles::tail(path, lines, keep).unwrap_or_default()
        };
        match self {
            Logs::Captured {
                stdout,
                stderr,
                keep,
            } => vec![
                (Stream::Stdout.name(), tail(stdout, *keep)),
                (Stream::Stderr.name(), tail(stderr, *keep)),
            ],
            Logs::File(path) => vec![("output", tail(path, 0))],
            Logs::Journal(_) => Vec::new(),
        }
    }

    /// Writes the last `lines` lines of `stream` (both, for a file or the journal) to `out`;
    /// with `follow`, then whatever is appended, across rotations, until the reader goes away.
    pub fn print(
        &self,
        stream: Stream,
        lines: usize,
        follow: bool,
        out: &mut impl Write,
    ) -> Result<(), Error> {
        let (path, keep) = match self {
            Logs::Captured {
                stdout,
                stderr,
                keep,
            } => match stream {
                Stream::Stdout => (stdout, *keep),
                Stream::Stderr => (stderr, *keep),
            },
            Logs::File(path) => (path, 0),
            Logs::Journal(unit) => return journal(unit, lines, follow, out),
        };
        let io = |err: io::Error| Error::os(format!("read {}", path.display()), err);
        for line in svckit_core::logfiles::tail(path, lines, keep).map_err(io)? {
            writeln!(out, "{line}").map_err(io)?;
        }
        if follow {
            svckit_core::follow::rotated(path, None, out, file_identity).map_err(io)?;
        }
        Ok(())
    }
}

/// `journalctl --unit UNIT --lines N [--follow]`, its output copied to `out`.
fn journal(unit: &str, lines: usize, follow: bool, out: &mut impl Write) -> Result<(), Error> {
    let mut journalctl = Command::new("journalctl");
    journalctl
        .args(["--unit", unit, "--lines", &lines.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if follow {
        journalctl.arg("--follow");
    }
    let mut child = journalctl
        .spawn()
        .map_err(|err| Error::os("run journalctl", err))?;
    let copied = io::copy(child.stdout.as_mut().expect("piped"), out);
    let _ = child.kill();
    let status = child
        .wait()
        .map_err(|err| Error::os("run journalctl", err))?;
    copied.map_err(|err| Error::os("copy journalctl's output", err))?;
    if !status.success() && !follow {
        return Err(Error::os(
            format!("journalctl --unit {unit}"),
            format!("exited with {status}"),
        ));
    }
    Ok(())
}

/// What [`Backend::install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// There was no such service; it was created.
    Created,
    /// A service of that name existed; it was stopped, deleted and created anew.
    Replaced,
}

/// A service's status as its manager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The service.
    pub name: ServiceName,
    /// The backend that manages it.
    pub backend: BackendKind,
    /// Its state.
    pub state: State,
    /// Its main process, while it runs.
    pub pid: Option<svckit_core::Pid>,
    /// The controls it accepts right now.
    pub accept: Accept,
    /// How it last ended.
    pub exit_code: ExitCode,
    /// Progress of a pending state.
    pub checkpoint: u32,
    /// How long the pending step may take.
    pub wait_hint: Duration,
    /// When it starts, if the backend knows.
    pub start: Option<StartType>,
    /// Its display name, if the backend has one.
    pub display_name: Option<String>,
    /// The command line it runs, as the backend stores it.
    pub command: Option<String>,
    /// How long its main process has run, if the backend can tell.
    pub uptime: Option<Duration>,
    /// How often its manager restarted it, where the manager counts (systemd's NRestarts).
    pub restarts: Option<u32>,
    /// How its main process last ended, where the manager records it.
    pub last_exit: Option<LastExit>,
    /// Why the manager sent the signal that ended it, where it did and says so ("sent by
    /// svckit after the 10s stop timeout").
    pub last_exit_why: Option<String>,
    /// The manager's own word for the state, where it has more than the SCM's (the
    /// supervisor's `backoff`, `failed`, `exited`).
    pub detail: Option<String>,
    /// Why it failed or what went wrong last, where the manager says.
    pub reason: Option<String>,
    /// When it entered its state, where the manager records it.
    pub since: Option<SystemTime>,
    /// Whether its manager means it to run, where the manager keeps a desired state.
    pub wanted: Option<bool>,
    /// Why its output cannot be stored right now (a full disk), with the bytes lost so far,
    /// where the manager captures output.
    pub capture_error: Option<String>,
    /// What the service itself last said of its state (sd_notify's STATUS=), where the
    /// manager hears it.
    pub notice: Option<String>,
    /// Its cgroup, where the manager keeps one per service.
    pub cgroup: Option<String>,
    /// How many processes it has, where the manager can tell (its cgroup's).
    pub tasks: Option<usize>,
    /// The memory it uses, bytes, where the manager can tell.
    pub memory: Option<u64>,
    /// The CPU time it used, where the manager can tell.
    pub cpu: Option<Duration>,
    /// When its CPU time and memory were read, where the manager says (the supervisor's
    /// status of all may give a reading up to two seconds old): a rate is the difference
    /// between two readings over this time's.
    pub usage_read: Option<SystemTime>,
    /// Waiting to restart (backoff): when it is started again.
    pub next_try: Option<SystemTime>,
    /// Its processes, the main one first (at most 64), where the manager can tell.
    pub processes: Vec<svckit_core::ServiceProcess>,
    /// Its sockets, where the manager binds them (a service started on demand).
    pub sockets: Option<svckit_core::listen::Activity>,
    /// Its health probes that run now, where the manager runs them.
    pub probes: Vec<svckit_core::health::Report>,
}

impl Status {
    /// `name` in `state` as `backend` reports it, with nothing else known: no pid, no
    /// accepted controls, exit code 0, no pending progress.
    pub fn new(name: ServiceName, backend: BackendKind, state: State) -> Status {
        Status {
            name,
            backend,
            state,
            pid: None,
            accept: Accept::NONE,
            exit_code: ExitCode::SUCCESS,
            checkpoint: 0,
            wait_hint: Duration::ZERO,
            start: None,
            display_name: None,
            command: None,
            uptime: None,
            restarts: None,
            last_exit: None,
            last_exit_why: None,
            detail: None,
            reason: None,
            since: None,
            wanted: None,
            capture_error: None,
            notice: None,
            cgroup: None,
            tasks: None,
            memory: None,
            cpu: None,
            usage_read: None,
            next_try: None,
            processes: Vec::new(),
            sockets: None,
            probes: Vec::new(),
        }
    }

    /// The state as a person reads it: the manager's own word, else the SCM state in lower
    /// case (`running`, `stop pending`).
    pub fn state_name(&self) -> String {
        match &self.detail {
            Some(detail) => detail.clone(),
            None => self.state.to_string().to_lowercase().replace('_', " "),
        }
    }
}

/// The state a control leads to, and the states it may pass through on the way.
pub fn target_state(control: Control) -> Option<State> {
    match control {
        Control::Stop => Some(State::Stopped),
        Control::Pause => Some(State::Paused),
        Control::Continue => Some(State::Running),
        _ => None,
    }
}

/// An error from a backend; the message names the service or setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec (or a value given for it) is not valid.
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// The program to run does not exist.
    #[error("program not found: {0}")]
    ProgramNotFound(String),
    /// No service of that name is installed.
    #[error("service {0} is not installed")]
    NotInstalled(ServiceName),
    /// A service (or a file) of that name exists and replacing it was not asked for
    /// (`InstallOptions::force` replaces it).
    #[error("{what} is already installed")]
    AlreadyInstalled {
        /// The service, unit file or script.
        what: String,
    },
    /// The service is already running (start), or runs and cannot be replaced.
    #[error("service {0} is already running")]
    AlreadyRunning(ServiceName),
    /// The service is not running (pause or continue of a stopped service).
    #[error("service {0} is not running")]
    NotRunning(ServiceName),
    /// The service does not accept the control (`ERROR_INVALID_SERVICE_CONTROL`).
    #[error("service {name} does not accept {control}")]
    NotAccepted {
        /// The service.
        name: ServiceName,
        /// The control it refused.
        control: Control,
    },
    /// The service cannot take the control in its current state
    /// (`ERROR_SERVICE_CANNOT_ACCEPT_CTRL`).
    #[error("service {name} cannot accept {control} now (it is {state})")]
    CannotAcceptNow {
        /// The service.
        name: ServiceName,
        /// The control.
        control: Control,
        /// Its state when the control was refused.
        state: State,
    },
    /// The service stopped while it was being started.
    #[error("service {name} stopped while starting (exit code: {exit_code})")]
    StartFailed {
        /// The service.
        name: ServiceName,
        /// How it ended.
        exit_code: ExitCode,
    },
    /// The wanted state was not reached in time.
    #[error("service {name} is still {state} after {}, not {wanted}", svckit_core::parse::format_duration(*waited))]
    Timeout {
        /// The service.
        name: ServiceName,
        /// The state it was to reach.
        wanted: State,
        /// The state it was in at the end.
        state: State,
        /// How long it was given.
        waited: Duration,
    },
    /// The service manager refused access.
    #[error("permission denied: {operation}")]
    PermissionDenied {
        /// What was refused, e.g. "open the service control manager".
        operation: String,
    },
    /// A setting this backend cannot honour.
    #[error("the {backend} backend cannot honour {setting}: {reason}")]
    Unsupported {
        /// The backend.
        backend: &'static str,
        /// The setting, as definitions and flags name it.
        setting: &'static str,
        /// Why.
        reason: String,
    },
    /// No backend can be used on this host.
    #[error("no service manager available: {0}")]
    NoBackend(String),
    /// The builtin supervisor refused or failed (its error says which, and maps to an exit
    /// code of its own).
    #[cfg(unix)]
    #[error(transparent)]
    Supervisor(#[from] svckit_supervise::Error),
    /// A host check failed: an unknown user or group (its error says which, and maps to an
    /// exit code of its own).
    #[cfg(unix)]
    #[error(transparent)]
    Host(#[from] svckit_unix::Error),
    /// Any other failure of the service manager.
    #[error("{operation}")]
    Os {
        /// What was being done.
        operation: String,
        /// The OS's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// An I/O (or command) failure while doing `operation`.
    pub fn os(
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Os {
            operation: operation.into(),
            source: source.into(),
        }
    }
}

/// The backend `auto` stands for on this host (see [`detect_kind`]): the SCM on Windows;
/// systemd or SysV init where they run as PID 1; else the supervisor of the default state
/// directory.
pub fn detect() -> Result<Box<dyn Backend>, Error> {
    Manager::local()?.backend(BackendKind::Auto, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the library told its users to "use --force", a flag of a program they
    /// do not run. Its error names no flag; the command line adds its own.
    #[test]
    fn regression_the_library_error_names_no_flag() {
        let said = Error::AlreadyInstalled {
            what: "service web".into(),
        }
        .to_string();
        assert_eq!(said, "service web is already installed");
    }
}
