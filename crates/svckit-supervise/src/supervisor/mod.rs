//! The supervisor process: one event loop (mio over epoll, one thread) that owns every service
//! of one state directory. It turns what the OS reports (SIGCHLD, readable pipes, pidfds,
//! timers, requests on the control socket) into events of each service's lifecycle machine
//! ([`crate::machine`]) and carries out its actions. It never blocks, except for writing a
//! reply (bounded by a send timeout).
//!
//! It must stay single-threaded: services are spawned with fork + exec, and switching a
//! service's credentials in the child allocates.
//!
//! One file per concern, all `impl Supervisor`:
//! - this file: the loop, the units, and the glue to the machine (`apply`, `act`);
//! - `spawn`: starting a program, and learning that it ended (SIGCHLD, pidfd, readiness);
//! - `capture`: draining output pipes into rotated logs;
//! - `recovery`: records, and adopting or resuming services after a supervisor restart;
//! - `server`: the control socket, requests turned into the machine's events, replies;
//! - `shutdown`: signals, the main service, and the end.
//!
//! Restart backoff itself is a cell of the machine (`crate::machine::after_exit`) computed from
//! the policy (`svckit_core::RestartPolicy::backoff`).

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    ffi::OsString,
    fs, io,
    os::fd::{AsFd, AsRawFd, OwnedFd},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mio::{
    Events, Interest, Poll, Token,
    net::{UnixListener, UnixStream},
    unix::SourceFd,
};
use nix::{
    errno::Errno,
    sys::socket::{getsockopt, sockopt},
    unistd::Uid,
};
use svckit_core::{
    KillMode, NotifyAccess, Pid, ServiceName, ServiceSpec, ServiceType, Signal, logfiles::unix_ms,
};
use svckit_unix::{
    cgroup::{Cgroup, Hierarchy},
    environment,
    fdholder::FdHolder,
    pidfile::Pidfile,
    privileges::Credentials,
    process,
    signals::SignalWaiter,
    spawn::ChildSetup,
};

use crate::{
    Error,
    logs::{self, Drained, LogFile},
    machine::{
        self, Action, ControlCommand, Event, History, LastExit, Lifecycle, Phase, Policy, Refused,
        UnitState,
    },
    paths::{StateDir, Stream},
    protocol::{ErrorKind, Op, Outcome, Request, Response, ServiceStatus, VERSION},
    store::{self, Record},
};

mod batch;
mod capture;
mod control;
mod index;
mod instances;
mod main_process;
mod notifications;
mod pid_files;
mod probes;
mod recovery;
mod server;
mod shutdown;
mod sockets;
mod spawn;
mod timers;

use index::Set;
use main_process::MainProcess;
use server::{Wait, refusal};

const SIGNALS: Token = Token(0);
const LISTENER: Token = Token(1);
const NOTIFY: Token = Token(2);
/// The inotify fd that tells when a forking daemon's pid file is written.
const PID_FILES: Token = Token(usize::MAX);
/// How often a stopping service's group is checked while its main process is gone but other
/// members live (they are reaped as the subreaper's children, but not every death reaches us).
const GROUP_POLL: Duration = Duration::from_millis(10);
/// The most processes status lists for a service (their count is shown beside them).
const STATUS_PROCESSES: usize = 64;

/// The instant `after` from now, or, for a wait too long for the clock (bounded at parse time,
/// but a definition may predate the bounds), a day from now: timers are re-armed, never a
/// panic of the loop.
fn later(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// How the supervisor runs.
#[derive(Debug)]
pub struct Config {
    /// Its state directory.
    pub dir: StateDir,
    /// The service whose end ends the supervisor, which then exits with its status (the
    /// default as PID 1: the one `start = auto` service, if there is exactly one).
    pub main: Option<ServiceName>,
    /// Whether the caller already holds the lock on `supervisor.pid` (daemonizing with that
    /// PID file takes it); otherwise [`run`] takes it.
    pub locked: bool,
}

/// Starts the supervisor of `dir` as a daemon (every step of daemon(7), its output appended to
/// `supervisor.log`) and returns its pid once its control socket accepts requests. The daemon
/// runs the supervisor and exits with it: this function does not return there. The calling
/// process must be single-threaded (a fork copies only the calling thread); a supervisor that
/// holds the directory already is [`Error::Daemonize`] with
/// [`svckit_unix::Error::AlreadyRunning`].
pub fn daemonize(dir: StateDir, main: Option<ServiceName>) -> Result<svckit_core::Pid, Error> {
    daemonize_as(dir, main, false)
}

/// [`daemonize`] from a program that is not svckit (a library user's, [`Launch::Fork`]): the
/// daemon renames itself `svckit-supervise DIR` in `ps` (cut to the length of the
/// program's command line), rather than showing as
/// the command line of the program it was forked from.
///
/// [`Launch::Fork`]: crate::client::Launch::Fork
pub(crate) fn daemonize_forked(dir: StateDir) -> Result<svckit_core::Pid, Error> {
    daemonize_as(dir, None, true)
}

fn daemonize_as(
    dir: StateDir,
    main: Option<ServiceName>,
    retitle: bool,
) -> Result<svckit_core::Pid, Error> {
    dir.create().map_err(Error::state_dir)?;
    let log_file = dir.supervisor_log();
    let forked = svckit_unix::Daemonize::new()
        .pidfile(dir.pidfile())
        .stdout(&log_file)
        .stderr(&log_file)
        .start()?;
    match forked {
        svckit_unix::Forked::Launcher(launched) => Ok(launched.pid),
        svckit_unix::Forked::Daemon(mut daemon) => {
            if retitle {
                let root = dir.root().display().to_string();
                if let Err(err) = svckit_unix::process::set_title(&["svckit-supervise", &root]) {
                    log(format_args!("cannot rename the process: {err}"));
                }
            }
            let config = Config {
                dir,
                main,
                locked: true,
            };
            let code = run(config, || daemon.ready()).unwrap_or_else(|err| {
                // The launcher reads the reason from the readiness pipe's end; the log keeps it.
                log(format_args!("{err}"));
                1
            });
            std::process::exit(code)
        }
    }
}

/// Runs the supervisor until SIGTERM, SIGINT, a shutdown request, or the end of the main
/// service. `ready` is called once the control socket accepts requests. Returns the exit
/// status: 0, or the main service's.
pub fn run(config: Config, ready: impl FnOnce() -> io::Result<()>) -> Result<i32, Error> {
    let dir = config.dir;
    dir.create().map_err(Error::state_dir)?;
    let _lock = match config.locked {
        true => None,
        false => {
            let mut lock = Pidfile::acquire(dir.pidfile()).map_err(|err| match err {
                svckit_unix::pidfile::PidfileError::Locked { pid, .. } => {
                    Error::SupervisorRunning {
                        dir: dir.root().to_owned(),
                        pid,
                    }
                }
                other => Error::io("lock the state directory", io::Error::other(other)),
            })?;
            lock.write_pid(svckit_core::Pid::this_process())
                .map_err(|err| Error::io("write supervisor.pid", io::Error::other(err)))?;
            Some(lock)
        }
    };
    let pid1 = std::process::id() == 1;
    if !pid1 {
        process::become_subreaper().map_err(|err| Error::io("become a subreaper", err))?;
    }
    // Thousands of services need fds (at 10,000 services only 4,997 ran under a soft limit
    // of 20,000); the services get the limit the supervisor was started with.
    let open_files = match process::raise_open_file_limit() {
        Ok(limits) => Some(limits),
        Err(err) => {
            log(format_args!("cannot raise the open-file limit: {err}"));
            None
        }
    };
    let mut supervisor = Supervisor::new(dir, config.main, pid1)?;
    supervisor.open_files = open_files;
    // (Less the one that reads the directory.)
    supervisor.fd_base = fs::read_dir("/proc/self/fd").map_or(16, |fds| fds.count() - 1);
    ready().map_err(|err| Error::io("report readiness", err))?;
    supervisor.serve()
}

/// The descriptors kept free for what is not counted: clients, probes, readiness pipes,
/// pidfds, the fd holder's transfers, files read (at most an eighth of the limit). Below it,
/// a service's stderr shares its stdout pipe; below one more, a start fails saying which
/// limit to raise.
const FD_RESERVE: u64 = 64;

/// How old a service's usage may be in a status of all services (a status of one reads it
/// afresh).
const USAGE_MAX_AGE: Duration = Duration::from_secs(2);

/// One supervised service.
struct Unit {
    name: ServiceName,
    spec: ServiceSpec,
    /// Shared with the services whose policy is the same (most have the default's):
    /// [`Supervisor::shared_policy`].
    policy: std::rc::Rc<Policy>,
    history: History,
    /// Its row of the machine: state and step, desired state, what follows the stop under way.
    life: Lifecycle,
    since: SystemTime,
    process: MainProcess,
    restarts: u32,
    last_exit: Option<LastExit>,
    /// What is said of it beyond its state, when anything is (see [`Notes`]).
    notes: Option<Box<Notes>>,
    /// When its state last changed under this supervisor (none for a unit just loaded, or
    /// adopted: its state is older than any wait for it).
    changed: Option<SystemTime>,
    /// When it is hung unless it says WATCHDOG=1 (with a watchdog, while it runs).
    watchdog_due: Option<Instant>,
    /// Its control command, and how the last reload command ended.
    control: control::Control,
    logs: [LogFile; 2],
    /// The tokens of its captured streams (its stdout and stderr; those of an earlier run
    /// until they are drained).
    streams: Vec<Token>,
    pipes: Option<(u64, u64)>,
    /// What it used when last read, and when (a status of all reads it at most every
    /// [`USAGE_MAX_AGE`]).
    usage: std::cell::Cell<Option<Reading>>,
    /// The runtime directories made for it (removed when nothing of it is left).
    runtime: svckit_unix::dirs::Made,
    waiters: Vec<(Token, Wait)>,
    /// Which version of its definition `spec` is: a start reads the file only when it changed.
    read: Option<store::Stamp>,
    /// Per connection: its instances, and the connections accepted and refused.
    instances: instances::Instances,
    /// With idle_stop: since when it has had no connection (while it runs).
    idle_since: Option<Instant>,
    /// The digest (FNV-1a) of its record as last written: one that says nothing new is not
    /// written again.
    recorded: Option<u64>,
}

/// What is said of a unit beyond its state: why it failed, why its last process ended, what
/// it waits for or said. A service that runs well has none of it, so a unit holds it boxed,
/// and only while there is some (120 bytes a unit, and a unit is a third of the supervisor's
/// memory at 10,000 services).
#[derive(Debug, Default)]
struct Notes {
    /// Why svckit sent the signal that ended its last process, when it did.
    last_exit_why: Option<String>,
    /// The last signal svckit sent this run's main process, and why.
    sent: Option<(Signal, String)>,
    /// Why it is in its state (a failed start, a lost watchdog).
    reason: Option<String>,
    /// While its start waits on a dependency's condition: what for ("redis to be healthy"),
    /// said if the wait outlasts the ready timeout.
    awaiting: Option<String>,
    /// What it last said in STATUS= (sd_notify).
    notice: Option<String>,
}

/// The notes of a unit that has none.
static NO_NOTES: Notes = Notes {
    last_exit_why: None,
    sent: None,
    reason: None,
    awaiting: None,
    notice: None,
};

impl Notes {
    fn is_empty(&self) -> bool {
        self.last_exit_why.is_none()
            && self.sent.is_none()
            && self.reason.is_none()
            && self.awaiting.is_none()
            && self.notice.is_none()
    }
}

impl Unit {
    /// What is said of it (nothing, for most).
    fn notes(&self) -> &Notes {
        self.notes.as_deref().unwrap_or(&NO_NOTES)
    }

    /// Sets one of its notes (`field` picks which); setting none allocates nothing, and the
    /// last one cleared lets the box go.
    fn note<T>(&mut self, field: fn(&mut Notes) -> &mut Option<T>, value: Option<T>) {
        match (value, self.notes.as_deref_mut()) {
            (None, None) => {}
            (None, Some(notes)) => {
                *field(notes) = None;
                if notes.is_empty() {
                    self.notes = None;
                }
            }
            (Some(value), _) => *field(self.notes.get_or_insert_default()) = Some(value),
        }
    }

    /// Takes one of its notes away.
    fn take_note<T>(&mut self, field: fn(&mut Notes) -> &mut Option<T>) -> Option<T> {
        let taken = field(self.notes.as_deref_mut()?).take();
        self.note(field, None);
        taken
    }
}

/// A unit's usage as last read, and when: [`crate::protocol::Usage`] packed (48 bytes, not
/// 72, in every unit), a counter not read kept as `u64::MAX`.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    read_ms: u64,
    cpu_usec: u64,
    memory_bytes: u64,
    tasks: u32,
}

impl Reading {
    fn new(at: Instant, usage: crate::protocol::Usage) -> Reading {
        Reading {
            at,
            read_ms: usage.read_ms.unwrap_or(u64::MAX),
            cpu_usec: usage.cpu_usec.unwrap_or(u64::MAX),
            memory_bytes: usage.memory_bytes.unwrap_or(u64::MAX),
            tasks: u32::try_from(usage.tasks).unwrap_or(u32::MAX),
        }
    }

    fn usage(self) -> crate::protocol::Usage {
        let known = |value: u64| (value != u64::MAX).then_some(value);
        crate::protocol::Usage {
            tasks: self.tasks as usize,
            cpu_usec: known(self.cpu_usec),
            memory_bytes: known(self.memory_bytes),
            read_ms: known(self.read_ms),
        }
    }
}

/// An event of the machine for one service, and the client that asked for it.
struct Queued {
    name: ServiceName,
    event: Event,
    client: Option<(Token, Wait)>,
}

struct Supervisor {
    dir: StateDir,
    poll: Poll,
    signals: SignalWaiter,
    /// The control socket: taking clients, and those connected.
    clients: server::Clients,
    /// Each service's timer.
    timers: timers::Timers,
    /// Each boxed: a B-tree node holds eleven entries and is about half full when they come
    /// in order, and a unit is kilobytes (a third of the supervisor's memory at 10,000).
    units: BTreeMap<ServiceName, Box<Unit>>,
    captures: capture::Captures,
    /// The logs held open, the least recently used closed beyond a bound.
    open_logs: capture::OpenLogs,
    /// The descriptors it had open once it ran (its sockets, signalfd, epoll, logs): the
    /// base of its count of those left ([`Supervisor::descriptors_left`]).
    fd_base: usize,
    /// Whether some log looks for a text a dependent waits for (`log_ready`).
    logs_look: bool,
    /// The open-file limits the supervisor was started with, given back to its services.
    open_files: Option<(u64, u64)>,
    events: VecDeque<Queued>,
    next_token: usize,
    boot_id: String,
    main: Option<ServiceName>,
    pid1: bool,
    /// A shutdown of every service, when one is under way.
    shutdown: shutdown::Shutdown,
    /// Holds a copy of every output pipe's read end, so services never see SIGPIPE while no
    /// supervisor runs (see `svckit_unix::fdholder`).
    holder: Option<FdHolder>,
    /// Forks the services' processes (forking the supervisor itself costs what it holds:
    /// see `svckit_unix::forker`); none where it could not be started, or stopped answering.
    forker: Option<svckit_unix::forker::Forker>,
    /// Where the services' cgroups are made; none where the supervisor may not make them (it
    /// then contains a service by its process group).
    cgroups: Option<Hierarchy>,
    /// The sd_notify socket (its address is `$NOTIFY_SOCKET`).
    notify: Option<svckit_unix::notify::Listener>,
    /// What happens to each service, for `svckit events` and `status`.
    journal: crate::events::EventLog,
    /// Watches the directories of the pid files forking daemons are awaited to write (their
    /// main pid is known the moment one is, not at a poll); each watch with its service.
    pid_files: pid_files::PidFiles,
    /// The sockets of services started on demand.
    sockets: sockets::Sockets,
    /// The health probes that run.
    probes: probes::Probes,
    /// Which services each check of the loop is about, and whose each process is.
    index: index::Index,
    /// Requests for several services, answered once each one's part is done.
    batches: batch::Batches,
    /// When to give the heap's free memory back to the kernel: a second after the last
    /// client was served ([`svckit_unix::memory::trim_heap`]). A start of 10,000 services
    /// or a status of all of them leaves megabytes free in the heap, which count in the
    /// supervisor's memory until given back. Its executable's pages go then too
    /// ([`svckit_unix::memory::release_executable_pages`]): 2 MiB of a static build's code
    /// that a wait does not run.
    trim_at: Option<Instant>,
    /// The policies units share ([`Supervisor::shared_policy`]).
    policies: Vec<std::rc::Rc<Policy>>,
    /// For each service some others say `before` of: those others (what it starts after,
    /// if they start too). Kept as units load, change and go: most services say none.
    befores: HashMap<ServiceName, Vec<ServiceName>>,
}

/// How many distinct policies are kept to be shared (a linear search, at each load).
const SHARED_POLICIES: usize = 64;

/// One line of the supervisor's own log (its stderr: `supervisor.log` when daemonized). A
/// failed write (a full disk, a closed stderr) is dropped: eprintln! would panic, and the
/// supervisor must outlive its log.
fn log(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(
        io::stderr().lock(),
        "{} svckit-supervise[{}]: {message}",
        crate::events::now(),
        std::process::id()
    );
}

fn policy_of(spec: &ServiceSpec) -> Policy {
    Policy {
        restart: spec.restart,
        stop_timeout: spec.stop.timeout,
        // It bounds a wait for a dependency's condition too; timeout_start, any whole start.
        ready_timeout: spec.timeout_start.or((matches!(
            spec.service_type,
            ServiceType::Notify | ServiceType::Forking
        ) || spec.readiness.is_some()
            || !spec.conditions.is_empty())
        .then_some(spec.ready_timeout)),
        service_type: spec.service_type,
        reload_by_command: matches!(
            spec.reload_action(),
            Some(svckit_core::ReloadAction::Command(_))
        ),
        success_exit: spec.success_exit_status.clone(),
        restart_prevent: spec.restart_prevent_exit_status.clone(),
        // Its runtime directories and dependencies.
        prepare: true,
        start_pre: spec.exec_start_pre.len(),
        start_post: spec.exec_start_post.len(),
        stop_commands: spec.exec_stop.len(),
        stop_post: spec.exec_stop_post.len(),
        failure_ignored: spec.failure_ignored(),
        program_failure_ignored: spec.program_prefix.ignore_failure,
        send_sigkill: spec.send_sigkill,
        on_demand: !spec.listen.is_empty(),
        accept: spec.accept.per_connection(),
        readiness_probe: spec.readiness.is_some(),
        liveness_probe: spec.liveness.is_some(),
        on_unhealthy: spec.on_unhealthy,
    }
}

/// Adds `fd` to the event loop, readable.
fn watch(poll: &Poll, fd: &OwnedFd, token: Token) -> io::Result<()> {
    poll.registry()
        .register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)
}

/// Takes `fd` out of the event loop before it is closed. Closing alone is not enough: the fd
/// holder has a copy of the same open file, which keeps an epoll registration alive.
fn unwatch(poll: &Poll, fd: &OwnedFd) {
    let _ = poll.registry().deregister(&mut SourceFd(&fd.as_raw_fd()));
}

impl Supervisor {
    fn new(dir: StateDir, main: Option<ServiceName>, pid1: bool) -> Result<Supervisor, Error> {
        let poll = Poll::new().map_err(|err| Error::io("create the event loop", err))?;
        let signals = SignalWaiter::new(&[
            Signal::Chld,
            Signal::Term,
            Signal::Int,
            Signal::Hup,
            Signal::Usr1,
            Signal::Usr2,
            Signal::Quit,
        ])
        .map_err(|err| Error::io("block signals", err.into()))?;
        poll.registry()
            .register(
                &mut SourceFd(&signals.as_fd().as_raw_fd()),
                SIGNALS,
                Interest::READABLE,
            )
            .map_err(|err| Error::io("watch signals", err))?;
        // We hold the lock, so a socket file left behind is stale.
        let socket = dir.socket();
        let _ = fs::remove_file(&socket);
        let old_mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let listener = UnixListener::bind(&socket);
        nix::sys::stat::umask(old_mask);
        let mut listener =
            listener.map_err(|err| Error::io(format!("listen on {}", socket.display()), err))?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|err| Error::io("watch the control socket", err))?;
        let journal_dir = dir.clone();
        let mut supervisor = Supervisor {
            dir,
            poll,
            signals,
            clients: server::Clients::new(listener),
            timers: timers::Timers::default(),
            units: BTreeMap::new(),
            captures: capture::Captures::default(),
            open_logs: capture::OpenLogs::default(),
            fd_base: 0,
            logs_look: false,
            open_files: None,
            events: VecDeque::new(),
            next_token: 2,
            boot_id: store::boot_id(),
            main,
            pid1,
            shutdown: shutdown::Shutdown::default(),
            holder: FdHolder::spawn()
                .map_err(|err| log(format_args!("no fd holder: {err}")))
                .ok(),
            forker: svckit_unix::forker::Forker::spawn()
                .map_err(|err| log(format_args!("no forker: {err}")))
                .ok(),
            cgroups: None,
            notify: None,
            journal: crate::events::log(&journal_dir),
            pid_files: pid_files::PidFiles::default(),
            sockets: sockets::Sockets::default(),
            probes: probes::Probes::default(),
            index: index::Index::default(),
            batches: batch::Batches::default(),
            trim_at: None,
            policies: Vec::new(),
            befores: HashMap::new(),
        };
        match Supervisor::bind_notify(&supervisor.dir).and_then(|listener| {
            supervisor
                .poll
                .registry()
                .register(
                    &mut SourceFd(&listener.as_raw_fd()),
                    NOTIFY,
                    Interest::READABLE,
                )
                .map(|()| listener)
        }) {
            Ok(listener) => supervisor.notify = Some(listener),
            Err(err) => log(format_args!("no sd_notify socket: {err}")),
        }
        supervisor.cgroups = Hierarchy::for_supervisor(&supervisor.dir.id())
            .map_err(|err| {
                log(format_args!(
                    "no cgroups ({err}): a service is contained by its process group"
                ))
            })
            .ok();
        let previous_holder = store::read_holder(&supervisor.dir);
        supervisor.recover();
        // What a killed supervisor left: the cgroups of services that have no process now.
        if let Some(cgroups) = &supervisor.cgroups {
            cgroups.prune();
        }
        // The pipes of every adopted service are ours now, and held by our holder: the
        // previous supervisor's holder has nothing left to keep (one was left behind per
        // SIGKILL of a supervisor).
        if let Some(holder) = previous_holder {
            store::end_holder(&holder);
        }
        if let Some(holder) = &supervisor.holder {
            store::write_holder(&supervisor.dir, holder.pid());
        }
        Ok(supervisor)
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// `spec`'s policy, shared with the units that have the same one: a unit holds a pointer,
    /// not 184 bytes of its own. The few kept to share are those still in use.
    fn shared_policy(&mut self, spec: &ServiceSpec) -> std::rc::Rc<Policy> {
        let policy = policy_of(spec);
        if let Some(found) = self.policies.iter().find(|shared| ***shared == policy) {
            return found.clone();
        }
        self.policies
            .retain(|shared| std::rc::Rc::strong_count(shared) > 1);
        let shared = std::rc::Rc::new(policy);
        if self.policies.len() < SHARED_POLICIES {
            self.policies.push(shared.clone());
        }
        shared
    }

    fn new_unit(&mut self, spec: ServiceSpec) -> Box<Unit> {
        let policy = self.shared_policy(&spec);
        let log_file = |stream| {
            LogFile::new(
                self.dir.log(&spec.name, stream),
                spec.logs.max_size,
                spec.logs.keep,
            )
        };
        Box::new(Unit {
            name: spec.name.clone(),
            policy,
            logs: [log_file(Stream::Stdout), log_file(Stream::Stderr)],
            streams: Vec::new(),
            spec,
            history: History::default(),
            life: Lifecycle::STOPPED,
            since: SystemTime::now(),
            process: MainProcess::default(),
            restarts: 0,
            last_exit: None,
            notes: None,
            changed: None,
            watchdog_due: None,
            control: control::Control::default(),
            pipes: None,
            usage: std::cell::Cell::new(None),
            runtime: Default::default(),
            waiters: Vec::new(),
            read: None,
            instances: instances::Instances::default(),
            idle_since: None,
            recorded: None,
        })
    }

    /// The unit called `name`, if it is still known: an event queued for a unit that a
    /// forget (or an uninstall) removed in the same batch finds none, and must do nothing.
    fn unit(&mut self, name: &ServiceName) -> Option<&mut Unit> {
        self.units.get_mut(name).map(|unit| &mut **unit)
    }

    /// The unit a request just loaded.
    fn loaded(&mut self, name: &ServiceName) -> Result<&mut Unit, (ErrorKind, String)> {
        self.units
            .get_mut(name)
            .map(|unit| &mut **unit)
            .ok_or_else(|| {
                (
                    ErrorKind::NotFound,
                    format!("service {name} is not installed"),
                )
            })
    }

    /// The unit called `name`, loading its definition if it is new.
    fn load(&mut self, name: &str) -> Result<ServiceName, (ErrorKind, String)> {
        let name =
            ServiceName::new(name).map_err(|err| (ErrorKind::BadRequest, err.to_string()))?;
        if !self.units.contains_key(&name) {
            // Stamped before it is read: a definition replaced meanwhile is read again.
            let stamp = store::stamp(&self.dir, &name);
            let spec = store::load_supervised(&self.dir, &name).map_err(refusal)?;
            let mut unit = self.new_unit(spec);
            unit.read = stamp;
            self.index.update(&unit);
            self.index_before(&name, &[], &unit.spec.before);
            self.units.insert(name.clone(), unit);
        }
        Ok(name)
    }

    /// Re-reads the definition before a start when it changed since it was read, so a
    /// reinstall takes effect and a start reads it at most once.
    pub(super) fn refresh(&mut self, name: &ServiceName) -> Result<(), (ErrorKind, String)> {
        let stamp = store::stamp(&self.dir, name);
        if stamp.is_some() && self.loaded(name)?.read == stamp {
            return Ok(());
        }
        let spec = store::load_supervised(&self.dir, name).map_err(refusal)?;
        let policy = self.shared_policy(&spec);
        let unit = self.loaded(name)?;
        unit.read = stamp;
        if unit.spec != spec {
            unit.policy = policy;
            for log in &mut unit.logs {
                log.set_policy(spec.logs.max_size, spec.logs.keep);
            }
            let old = std::mem::replace(&mut unit.spec, spec);
            let new = unit.spec.before.clone();
            self.index_before(name, &old.before, &new);
        }
        self.reindex(name);
        Ok(())
    }

    fn serve(&mut self) -> Result<i32, Error> {
        let mut events = Events::with_capacity(256);
        loop {
            self.process_events();
            #[cfg(debug_assertions)]
            self.index.check(self.units.values().map(|unit| &**unit));
            if let Some(code) = self.finished() {
                return Ok(code);
            }
            let now = Instant::now();
            if self.trim_at.is_some_and(|at| at <= now) {
                self.trim_at = None;
                // The queue of events a start of thousands filled is empty now: its room
                // (a megabyte at 10,000) goes back too.
                if self.events.is_empty() {
                    self.events.shrink_to_fit();
                }
                svckit_unix::memory::trim_heap();
                svckit_unix::memory::release_executable_pages();
            }
            let timeout = self
                .next_deadline()
                .into_iter()
                .chain(self.trim_at)
                .min()
                .map(|deadline| deadline.saturating_duration_since(now));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("wait for events", err)),
            }
            for event in events.iter() {
                match event.token() {
                    SIGNALS => self.on_signals(),
                    NOTIFY => self.on_notify(),
                    PID_FILES => self.on_pid_files(),
                    LISTENER => self.accept(),
                    token if self.clients.has(token) => {
                        self.trim_at =
                            Some(Instant::now() + svckit_unix::memory::IDLE_BEFORE_RELEASE);
                        self.on_client(token);
                    }
                    token if self.captures.has(token) => self.on_output(token),
                    token if self.sockets.owner(token).is_some() => self.on_connection(token),
                    // A probe's socket, else a readiness pipe or a pidfd.
                    token => {
                        if !self.on_probe_socket(token) {
                            self.on_unit_fd(token);
                        }
                    }
                }
            }
            self.fire_timers();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        // Only the services each deadline is about (a pass over every service at each
        // wake-up was most of a stop of thousands).
        let units = |set| {
            self.index
                .members(set)
                .iter()
                .filter_map(|name| self.units.get(name))
        };
        // A group to poll until it is empty, or a daemon awaited whose pid file cannot be
        // watched: looked at this pace.
        let polled = !self.index.members(Set::Draining).is_empty()
            || units(Set::FindingMain).any(|unit| self.pid_file_polled(unit));
        let watchdog = units(Set::Watchdog)
            .filter_map(|unit| unit.watchdog_due)
            .min();
        // Running services with idle_stop: their connections counted at this pace.
        let idle = units(Set::IdleStop)
            .filter_map(|unit| unit.spec.idle_stop)
            .map(|after| (after / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)))
            .min();
        self.timers
            .next()
            .into_iter()
            .chain(polled.then(|| now + GROUP_POLL))
            .chain(self.clients.deadlines())
            .chain(watchdog)
            .chain(idle.map(|pace| now + pace))
            .chain(self.probes.deadlines())
            .min()
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        for name in self.timers.take_due(now) {
            self.queue(&name, Event::Timer);
        }
        let unwatched: Vec<ServiceName> = self
            .index
            .members(Set::FindingMain)
            .iter()
            .filter(|name| {
                self.units
                    .get(*name)
                    .is_some_and(|unit| self.pid_file_polled(unit))
            })
            .cloned()
            .collect();
        for name in unwatched {
            self.find_main(&name);
        }
        for token in self.clients.past(now) {
            self.drop_client(token);
        }
        self.check_groups();
        let hung: Vec<ServiceName> = self
            .index
            .members(Set::Watchdog)
            .iter()
            .filter(|name| {
                self.units
                    .get(*name)
                    .is_some_and(|unit| self.watchdog_expired(unit, now))
            })
            .cloned()
            .collect();
        self.hung(hung);
        self.check_idle();
        self.run_probes(now);
    }

    /// Running services with idle_stop that have had no connection for that long are told
    /// so (the machine stops them; they listen again). Connections are counted in the
    /// kernel's socket tables, those waiting to be accepted among them.
    fn check_idle(&mut self) {
        let now = Instant::now();
        let mut idle = Vec::new();
        for name in self.index.members(Set::IdleStop) {
            let Some(unit) = self.units.get_mut(name) else {
                continue;
            };
            let Some(after) = unit.spec.idle_stop else {
                continue;
            };
            if svckit_unix::sockets::established(&unit.spec.listen) > 0 {
                unit.idle_since = None;
                continue;
            }
            let since = *unit.idle_since.get_or_insert(now);
            if now.duration_since(since) >= after {
                unit.idle_since = None;
                idle.push(unit.name.clone());
            }
        }
        for name in idle {
            self.queue(&name, Event::Idle);
        }
    }

    /// Stopping services whose main process is gone: done once the group is empty.
    fn check_groups(&mut self) {
        for name in self.index.list(Set::Draining) {
            self.check_group(&name);
        }
    }

    /// Files `name`'s unit in the index by what it is now (after a change of its state, main
    /// process, control command, watchdog, waiters or definition); a unit that is no longer
    /// running with idle_stop forgets since when it was idle.
    pub(super) fn reindex(&mut self, name: &ServiceName) {
        if let Some(unit) = self.units.get_mut(name) {
            if !(unit.life.state == UnitState::Running && unit.spec.idle_stop.is_some()) {
                unit.idle_since = None;
            }
            self.index.update(unit);
        }
    }

    /// Queues GroupGone for `name` if it is stopping, its main process is gone, and nothing
    /// else of it is left.
    fn check_group(&mut self, name: &ServiceName) {
        if self.units.get(name).is_some_and(|unit| {
            unit.life.state == UnitState::Stopping
                && unit.process.pid.is_none()
                && unit.instances.is_empty()
                && unit.control.running().is_none()
                && unit.process.all_gone(unit.spec.kill_mode)
        }) {
            self.queue(name, Event::GroupGone);
        }
    }

    /// Queues `event` for `name`, from the loop itself (no client waits for it).
    fn queue(&mut self, name: &ServiceName, event: Event) {
        self.events.push_back(Queued {
            name: name.clone(),
            event,
            client: None,
        });
    }

    /// Queues a client's request as `event`; the client is answered per `wait` once it has
    /// been applied (or refused).
    fn queue_request(&mut self, name: &ServiceName, event: Event, token: Token, wait: Wait) {
        self.events.push_back(Queued {
            name: name.clone(),
            event,
            client: Some((token, wait)),
        });
    }

    /// Applies the queued events in order, answering the clients that asked for them; during
    /// a shutdown, once the queue is empty, the services that may stop next are asked to
    /// (once per batch, not per event: each look is a pass over every service).
    fn process_events(&mut self) {
        loop {
            self.apply_queued();
            self.shutdown_next();
            self.stops_next();
            if self.events.is_empty() {
                return;
            }
        }
    }

    fn apply_queued(&mut self) {
        while let Some(Queued {
            name,
            event,
            client,
        }) = self.events.pop_front()
        {
            let applied = self.apply(&name, event);
            let Some((token, wait)) = client else {
                continue;
            };
            match applied {
                Err(Refused(state)) => {
                    let what = match event {
                        Event::Pause => "pause",
                        Event::Continue => "continue",
                        _ => "reload",
                    };
                    let message = format!("cannot {what} service {name}: it is {state}");
                    let kind = ErrorKind::NotRunning;
                    self.reply(token, Outcome::Error { kind, message });
                }
                Ok(()) if wait == Wait::Applied => self.reply_status(token, &name),
                Ok(()) => match self.unit(&name) {
                    Some(unit) => {
                        unit.waiters.push((token, wait));
                        self.reindex(&name);
                        self.answer_waiters(&name);
                    }
                    // Forgotten by this very event.
                    None => self.reply(
                        token,
                        Outcome::Done {
                            services: Vec::new(),
                        },
                    ),
                },
            }
        }
    }

    /// Feeds one event to the machine and carries out its actions; a request the state cannot
    /// take changes nothing and is returned as refused.
    fn apply(&mut self, name: &ServiceName, event: Event) -> Result<(), Refused> {
        let now = Instant::now();
        let Some(unit) = self.units.get_mut(name) else {
            return Ok(());
        };
        let transition =
            machine::transition(unit.life, event, &unit.policy, &mut unit.history, now)?;
        let before = unit.life;
        if unit.life.state != transition.next.state {
            unit.since = SystemTime::now();
            unit.changed = Some(unit.since);
        }
        unit.life = transition.next;
        // The watchdog is fed while it runs: armed when it starts running, off otherwise.
        match unit.life.state {
            UnitState::Running | UnitState::Reloading if !unit.spec.watchdog.is_zero() => {
                if unit.watchdog_due.is_none() {
                    unit.watchdog_due = Some(later(unit.spec.watchdog));
                }
            }
            UnitState::Running | UnitState::Reloading | UnitState::Paused => {}
            _ => unit.watchdog_due = None,
        }
        // No longer awaiting its daemon (a stop, the ready timeout): nothing to watch for.
        if before.phase == Phase::FindingMain && transition.next.phase != Phase::FindingMain {
            self.pid_files.unwatch(name);
        }
        // Services that require it stop with it: a stop by request, or an end for good.
        let stops = matches!(event, Event::Stop | Event::Forget)
            && transition.next.state == UnitState::Stopping
            && before.state != UnitState::Stopping;
        // An end for good that is no success: a oneshot that completed (a migration) is what
        // its dependents waited for, not a reason to stop them.
        let ended = !matches!(before.state, UnitState::Exited | UnitState::Failed)
            && match transition.next.state {
                UnitState::Failed => true,
                UnitState::Exited => !self.units.get(name).is_some_and(|unit| {
                    unit.last_exit
                        .is_some_and(|exit| unit.policy.succeeded(exit))
                }),
                _ => false,
            };
        if stops || ended {
            self.stop_what_requires(name);
        }
        for action in transition.actions.iter().copied() {
            self.act(name, action);
        }
        self.reindex(name);
        if self.unit(name).is_none() {
            self.journal.record(name, format_args!("uninstalled"));
            return Ok(());
        }
        self.persist(name);
        self.answer_waiters(name);
        self.check_main(name);
        // A main process that ended alone (the usual case), or a last stop command, settles at
        // once, not at the next poll of its group.
        if matches!(event, Event::Exited { .. } | Event::CommandEnded { .. }) {
            self.check_group(name);
        }
        self.check_dependents();
        Ok(())
    }

    fn act(&mut self, name: &ServiceName, action: Action) {
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        match action {
            Action::Probe(role) => self.start_probing(name, role),
            Action::Unprobe(role) => self.stop_probing(name, role),
            Action::Prepare => self.prepare(name),
            Action::RunCommand(command) => {
                let argv = unit
                    .spec
                    .control_command(command)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default();
                if command == ControlCommand::Reload {
                    unit.control.reload_starts();
                }
                self.spawn_control(name, &argv, command);
            }
            Action::SpawnProgram => self.spawn_main(name),
            Action::CommandFailed(command, exit) => {
                let line = unit
                    .spec
                    .control_command(command)
                    .map(|argv| argv.join(" "))
                    .unwrap_or_default();
                let reason = format!("{} `{line}` ended with {exit}", command.key());
                unit.note(|n| &mut n.reason, Some(reason.clone()));
                log(format_args!("{name}: {reason}"));
                self.journal.record(name, format_args!("{reason}"));
            }
            Action::SignalStop => self.signal_stop(name),
            Action::KillHung => self.kill_hung(name),
            Action::RecordExit(exit) => {
                unit.last_exit = Some(exit);
                // Why svckit sent the signal that ended it, when it did.
                let why = match (exit, unit.take_note(|n| &mut n.sent)) {
                    (LastExit::Signal(number), Some((sent, why))) if number == sent.number() => {
                        Some(why)
                    }
                    _ => None,
                };
                unit.note(|n| &mut n.last_exit_why, why);
            }
            Action::Tell(told) => {
                let stop = format!("SIG{}", unit.spec.stop.signal);
                // A verdict is told with what its probe's last check came to.
                // An activation, with the client waiting in the queue where it shows.
                let peer = match told {
                    machine::Told::Activated { listener } => unit
                        .spec
                        .listen
                        .get(listener)
                        .and_then(svckit_unix::sockets::waiting_peer)
                        .map(|peer| peer.to_string()),
                    _ => None,
                };
                let reason = match told {
                    machine::Told::Verdict { role, .. } => self.probes.last(name, role),
                    machine::Told::Activated { .. } => peer.as_deref(),
                    _ => unit.notes().reason.as_deref(),
                };
                let words = machine::Words {
                    spec: &unit.spec,
                    restarts: unit.restarts,
                    main_pid: unit.process.pid,
                    reason,
                    stop: &stop,
                    kill: "SIGKILL",
                };
                let line = told.words(&words);
                self.journal.record(name, format_args!("{line}"));
            }
            Action::KillGroup => {
                let why = format!(
                    "sent by svckit after the {} stop timeout",
                    svckit_core::parse::format_duration(unit.spec.stop.timeout)
                );
                unit.note(|n| &mut n.sent, Some((Signal::Kill, why)));
                match unit.spec.kill_mode {
                    KillMode::ControlGroup | KillMode::Mixed => unit.process.kill_all(),
                    KillMode::Process => unit.process.signal_main(Signal::Kill),
                }
                if let Some((pid, _)) = unit.control.running() {
                    process::send(pid, Signal::Kill);
                }
                unit.instances.signal_all(Signal::Kill);
            }
            Action::Suspend => match unit.spec.says_ready() {
                true => unit.process.signal_main(Signal::Tstp),
                false => unit.process.signal_all(Signal::Stop),
            },
            Action::Resume => match unit.spec.says_ready() {
                true => unit.process.signal_main(Signal::Cont),
                false => unit.process.signal_all(Signal::Cont),
            },
            Action::SendReload => match unit.spec.reload_action() {
                Some(svckit_core::ReloadAction::Signal(signal)) => {
                    if let Some(pid) = unit.process.pid {
                        let why = "sent by svckit to reload it".to_owned();
                        unit.note(|n| &mut n.sent, Some((signal, why)));
                        process::send(pid, signal);
                    }
                }
                // A command is RunCommand(Reload); no reload is refused before the machine.
                Some(svckit_core::ReloadAction::Command(_)) | None => {}
            },
            Action::ArmTimer(after) => self.timers.arm(name, later(after)),
            Action::CancelTimer => self.timers.cancel(name),
            Action::CountRestart => unit.restarts += 1,
            Action::ResetRestarts => unit.restarts = 0,
            Action::ClearGroup => {
                unit.process.pgid = None;
                unit.process.sid = None;
                unit.process.signalled.clear();
                // Removed: the next start makes it again.
                if let Some(cgroup) = unit.process.cgroup.take() {
                    cgroup.remove();
                }
                // Kept as runtime_directory_preserve says: always, or while it restarts.
                let restarting =
                    matches!(unit.life.state, UnitState::Starting | UnitState::Backoff);
                let kept = match unit.spec.directories.as_deref().map(|d| d.runtime_preserve) {
                    Some(svckit_core::Preserve::Yes) => true,
                    Some(svckit_core::Preserve::Restart) => restarting,
                    _ => false,
                };
                if kept {
                    return;
                }
                let made = std::mem::take(&mut unit.runtime);
                if let Err(err) = spawn::remove_runtime_directories(&made) {
                    log(format_args!("{name}: runtime_directory: {err}"));
                    self.journal
                        .record(name, format_args!("runtime_directory: {err}"));
                }
            }
            Action::CrashLoop => {
                let reason = format!(
                    "started {} times within {}, the start limit; not restarted again",
                    unit.spec.restart.limit,
                    svckit_core::parse::format_duration(unit.spec.restart.window)
                );
                unit.note(|n| &mut n.reason, Some(reason));
            }
            Action::Forget => self.forget(name),
            Action::AwaitConnection => self.await_connection(name),
            Action::IgnoreConnections => self.sockets.unwatch(&self.poll, name),
            Action::AcceptConnections { listener } => self.accept_connections(name, listener),
            Action::FindMainPid => {
                // Told when its pid file is written, and at every exit of a process of ours
                // (the launcher's children leaving): found at once, never by a poll.
                self.watch_pid_file(name);
                self.find_main(name);
            }
            Action::NotReady { finding_main } => {
                let within = match unit.spec.timeout_start {
                    Some(limit) => {
                        format!(
                            "{} (timeout_start)",
                            svckit_core::parse::format_duration(limit)
                        )
                    }
                    None => svckit_core::parse::format_duration(unit.spec.ready_timeout),
                };
                // A command of the start still running: the step that took too long.
                let command = unit.control.running().map(|(_, command)| {
                    let line = unit
                        .spec
                        .control_command(command)
                        .map(|argv| argv.join(" "))
                        .unwrap_or_default();
                    format!("{} `{line}`", command.key())
                });
                let reason = match (finding_main, &unit.spec.pid_file) {
                    _ if let Some(command) = &command => {
                        format!("{command} not done within {within}")
                    }
                    (true, Some(path)) => format!(
                        "no daemon within {within}: {} names no process of the service",
                        path.display()
                    ),
                    (true, None) if unit.process.cgroup.is_none() => format!(
                        "no daemon within {within}: without cgroups, a forking service needs \
                         pid_file to find its daemon"
                    ),
                    (true, None) => format!(
                        "no daemon within {within}: not one process left at the root of the \
                         service"
                    ),
                    (false, _) if unit.notes().awaiting.is_some() => {
                        let what = unit.take_note(|n| &mut n.awaiting).unwrap_or_default();
                        format!("not started within {within}: it waits for {what}")
                    }
                    (false, _) => {
                        match self.probes.last(name, svckit_core::health::Role::Readiness) {
                            Some(last) => format!("not ready within {within}: {last}"),
                            None => format!("not ready within {within}"),
                        }
                    }
                };
                log(format_args!("{name}: {reason}"));
                unit.note(|n| &mut n.reason, Some(reason));
            }
        }
    }

    /// Sends the stop signal to the service as its kill mode says, and to a command of it
    /// that runs (a pre-start check, a reload: without a cgroup it is in a session of its
    /// own).
    fn signal_stop(&mut self, name: &ServiceName) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        let signal = unit.spec.stop.signal;
        if unit.spec.kill_mode == KillMode::Mixed && unit.process.pid.is_none() {
            // The stop signal is the main process's alone, and it is gone (a forking master
            // killed by SIGKILL): nothing would get it, so what is left is killed now, as
            // systemd's final SIGKILL of the control group (it once waited the whole stop
            // timeout, then said "still running after SIGTERM" of workers no TERM reached).
            unit.process.kill_all();
            let stop_signal = unit.spec.stop.signal;
            self.journal.record(
                name,
                format_args!(
                    "SIGKILL to what is left: its main process is gone, and kill_mode = mixed \
                     sends SIG{stop_signal} to the main process alone"
                ),
            );
            return;
        }
        unit.note(
            |n| &mut n.sent,
            Some((signal, "sent by svckit to stop it".to_owned())),
        );
        // Each signal followed by SIGCONT, as systemd sends it: a process stopped by anyone
        // (SIGSTOP, a debugger, a hung server an operator froze) acts on the stop signal at
        // once instead of holding it until SIGKILL at the stop timeout.
        for signal in [signal, Signal::Cont] {
            match unit.spec.kill_mode {
                KillMode::ControlGroup => unit.process.signal_all(signal),
                KillMode::Mixed | KillMode::Process => unit.process.signal_main(signal),
            }
            if let Some((pid, command)) = unit.control.running()
                && !matches!(command, ControlCommand::Stop(_))
            {
                process::send(pid, signal);
            }
            unit.instances.signal_all(signal);
        }
    }

    /// `unit`'s status; `usage` adds what its cgroup holds (a few files read per service:
    /// asked for one service, not for a listing of all); `brief` leaves out what a table of
    /// all does not show ([`crate::protocol::Op::Status`]).
    fn status_of(&self, unit: &Unit, usage: bool, brief: bool) -> ServiceStatus {
        let command = match brief {
            true => String::new(),
            false => std::iter::once(unit.spec.program.as_os_str())
                .chain(unit.spec.args.iter().map(|arg| arg.as_os_str()))
                .map(|part| part.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
        };
        let sockets = (!unit.spec.listen.is_empty()).then(|| svckit_core::listen::Activity {
            listen: unit
                .spec
                .listen
                .iter()
                .map(|listener| listener.address.to_string())
                .collect(),
            accept: unit.spec.accept.name().to_owned(),
            instances: unit.instances.count() as u32,
            accepted: unit.instances.accepted(),
            refused: unit.instances.refused(),
        });
        ServiceStatus {
            name: unit.name.to_string(),
            state: unit.life.state,
            pid: unit.process.pid,
            since_ms: unix_ms(unit.since),
            started_ms: unit.process.started.map(|(_, at)| unix_ms(at)),
            restarts: unit.restarts,
            last_exit: unit.last_exit,
            last_exit_why: unit.notes().last_exit_why.clone(),
            next_try_ms: match (unit.life.state, self.timers.of(&unit.name)) {
                (UnitState::Backoff, Some(at)) => Some(unix_ms(SystemTime::now()).saturating_add(
                    at.saturating_duration_since(Instant::now()).as_millis() as u64,
                )),
                _ => None,
            },
            wanted: unit.life.wanted,
            start: Some(unit.spec.start.name().to_owned()),
            reason: (!brief).then(|| unit.notes().reason.clone()).flatten(),
            command,
            capture_error: (!brief)
                .then(|| {
                    let errors: Vec<String> = unit.logs.iter().filter_map(LogFile::error).collect();
                    (!errors.is_empty()).then(|| errors.join("; "))
                })
                .flatten(),
            notice: (!brief).then(|| unit.notes().notice.clone()).flatten(),
            cgroup: unit
                .process
                .cgroup
                .as_ref()
                .filter(|_| !brief)
                .map(|cgroup| cgroup.dir().display().to_string()),
            usage: self.usage_of(unit, usage),
            processes: match (usage, unit.life.state.has_process()) {
                (true, true) => {
                    let pids = match &unit.process.cgroup {
                        Some(cgroup) => cgroup.pids(),
                        None => unit
                            .process
                            .pid
                            .into_iter()
                            .chain(unit.process.members())
                            .collect(),
                    };
                    process::service_processes(&pids, unit.process.pid, STATUS_PROCESSES)
                }
                _ => Vec::new(),
            },
            sockets,
            probes: match brief {
                true => Vec::new(),
                false => self.probes.report(&unit.name),
            },
        }
    }

    /// What `unit` uses: its cgroup's counters, else its processes' from /proc (the main one
    /// and its session's). Read afresh when `fresh` (a status of one service) or when the
    /// last reading is older than [`USAGE_MAX_AGE`]: a status of all, asked again and again
    /// (top, --watch, a monitor), reads each service's files once in that time, not each time
    /// (four files a service were most of the time of a status of 1,000).
    fn usage_of(&self, unit: &Unit, fresh: bool) -> Option<crate::protocol::Usage> {
        let now = Instant::now();
        if !fresh
            && unit.life.state.has_process()
            && let Some(reading) = unit.usage.get()
            && now.duration_since(reading.at) < USAGE_MAX_AGE
        {
            return Some(reading.usage());
        }
        let read_ms = Some(unix_ms(SystemTime::now()));
        let usage = match &unit.process.cgroup {
            Some(cgroup) => {
                let usage = cgroup.usage();
                Some(crate::protocol::Usage {
                    tasks: usage.processes,
                    cpu_usec: usage.cpu_usec,
                    memory_bytes: usage.memory,
                    read_ms,
                })
            }
            None if unit.life.state.has_process() => {
                let mut pids: Vec<Pid> = unit
                    .process
                    .pid
                    .into_iter()
                    .chain(unit.process.members())
                    .collect();
                pids.sort_by_key(|pid| pid.get());
                pids.dedup();
                let (cpu, memory) = process::usage_of(&pids);
                Some(crate::protocol::Usage {
                    tasks: pids.len(),
                    cpu_usec: Some(cpu),
                    memory_bytes: Some(memory),
                    read_ms,
                })
            }
            None => None,
        };
        unit.usage.set(usage.map(|usage| Reading::new(now, usage)));
        usage
    }

    /// `name` said `before = old`, and says `new` now: [`Supervisor::befores`] follows.
    pub(super) fn index_before(
        &mut self,
        name: &ServiceName,
        old: &[ServiceName],
        new: &[ServiceName],
    ) {
        for target in old {
            if let Some(list) = self.befores.get_mut(target) {
                list.retain(|other| other != name);
                if list.is_empty() {
                    self.befores.remove(target);
                }
            }
        }
        for target in new {
            self.befores
                .entry(target.clone())
                .or_default()
                .push(name.clone());
        }
    }

    /// What `name` (defined as `spec`) starts after when they start too: its `dependencies`,
    /// `requires` and `after`, then the services that say `before = [name]` and are not among
    /// those. Nothing allocated: the dependents' check walks it at every event.
    pub(super) fn ordered_after<'a>(
        &'a self,
        name: &ServiceName,
        spec: &'a ServiceSpec,
    ) -> impl Iterator<Item = &'a ServiceName> + 'a {
        let before = self
            .befores
            .get(name)
            .into_iter()
            .flatten()
            .filter(move |other| !spec.ordered_after().any(|d| d == *other));
        spec.ordered_after().chain(before)
    }

    fn forget(&mut self, name: &ServiceName) {
        self.timers.cancel(name);
        self.sockets.close(&self.poll, name);
        if let Some(unit) = self.units.remove(name) {
            self.index.remove(&unit);
            self.index_before(name, &unit.spec.before, &[]);
            let _ = store::remove(&self.dir, name);
            if let Some(cgroup) = &unit.process.cgroup {
                cgroup.remove();
            }
            for (token, _) in unit.waiters {
                self.reply(
                    token,
                    Outcome::Done {
                        services: Vec::new(),
                    },
                );
            }
        }
    }

    /// Binds `name`'s sockets if it has any and they are not bound (at its load, its start,
    /// its return to listening); why they cannot be is told in its event log and status.
    fn bind_sockets(&mut self, name: &ServiceName) -> Result<(), String> {
        let Some(unit) = self.units.get(name) else {
            return Ok(());
        };
        let listeners = unit.spec.listen.clone();
        let accepting = unit.spec.accept.per_connection();
        let next = &mut self.next_token;
        let bound = self
            .sockets
            .bind(&self.poll, name, &listeners, accepting, || {
                *next += 1;
                Token(*next)
            });
        if let Err(reason) = &bound {
            log(format_args!("{name}: {reason}"));
            self.journal.record(name, format_args!("{reason}"));
            if let Some(unit) = self.unit(name) {
                unit.note(|n| &mut n.reason, Some(reason.clone()));
            }
        }
        bound
    }

    /// An on-demand service that does not run listens: its sockets bound, the machine told.
    fn listen(&mut self, name: &ServiceName) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        if unit.spec.listen.is_empty()
            || unit.spec.start == svckit_core::StartType::Disabled
            || unit.life.state.has_process()
        {
            return;
        }
        if self.bind_sockets(name).is_ok() {
            self.queue(name, Event::Listen);
        }
    }

    /// The machine's AwaitConnection: its sockets watched (bound again first if they had to
    /// be closed); sockets that cannot be bound fail it.
    fn await_connection(&mut self, name: &ServiceName) {
        let watched = self.bind_sockets(name).and_then(|()| {
            self.sockets
                .watch(&self.poll, name)
                .map_err(|e| e.to_string())
        });
        if let Err(reason) = watched {
            self.journal
                .record(name, format_args!("cannot listen: {reason}"));
            self.queue(name, Event::StartFailed);
        }
    }

    /// A connection (or a datagram) on a socket of a listening service: the loop stops
    /// watching its sockets, and the machine is told (it starts the service).
    fn on_connection(&mut self, token: Token) {
        let Some((name, listener)) = self.sockets.owner(token) else {
            return;
        };
        // Per connection, it accepts on: its sockets stay watched.
        if !self.units.get(&name).is_some_and(|unit| unit.policy.accept) {
            self.sockets.unwatch(&self.poll, &name);
        }
        self.queue(&name, Event::Activated { listener });
    }
}
