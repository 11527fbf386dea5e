//! The supervisor process: one event loop (mio over epoll, one thread) that owns every service
//! of one state directory. It turns what the OS reports (SIGCHLD, readable pipes, pidfds,
//! timers, requests on the control socket) into events of the state table in [`crate::state`]
//! and carries out the table's actions. It never blocks, except for writing a reply (bounded
//! by a send timeout).
//!
//! It must stay single-threaded: services are spawned with fork + exec, and switching a
//! service's credentials in the child allocates.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    ffi::OsString,
    fs,
    io::{self, Read, Write},
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::fs::{MetadataExt, OpenOptionsExt},
    },
    process::{Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mio::{
    Events, Interest, Poll, Token,
    net::{UnixListener, UnixStream},
    unix::SourceFd,
};
use nix::{
    errno::Errno,
    sys::{
        signal::{Signal, kill, killpg},
        socket::{getsockopt, sockopt},
        wait::{WaitPidFlag, WaitStatus, waitpid},
    },
    unistd::{Pid, Uid},
};
use svckit_core::{ServiceName, ServiceSpec};
use svckit_unix::{
    environment,
    fdholder::FdHolder,
    pidfile::Pidfile,
    privileges::Credentials,
    process,
    signals::SignalWaiter,
    spawn::{ChildSetup, READY_FD},
};

use crate::{
    Error,
    logs::{self, Drained, LogFile},
    paths::{StateDir, Stream},
    protocol::{ErrorKind, Op, Outcome, Request, Response, ServiceStatus, VERSION},
    state::{self, Action, Event, History, LastExit, Lifecycle, Policy, Refused, Then, UnitState},
    store::{self, Record},
};

const SIGNALS: Token = Token(0);
const LISTENER: Token = Token(1);
/// How often a stopping service's group is checked while its main process is gone but other
/// members live (they are reaped as the subreaper's children, but not every death reaches us).
const GROUP_POLL: Duration = Duration::from_millis(10);

/// The instant `after` from now, or, for a wait too long for the clock (bounded at parse time,
/// but a definition may predate the bounds), a day from now: timers are re-armed, never a
/// panic of the loop.
fn later(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// A response as the protocol sends it: one JSON line.
fn response_line(result: Outcome) -> Vec<u8> {
    let response = Response {
        version: VERSION,
        result,
    };
    let mut line = serde_json::to_vec(&response).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The one line a client turned away for want of fds reads.
fn busy_reply(err: &io::Error) -> Vec<u8> {
    response_line(Outcome::Error {
        kind: ErrorKind::Busy,
        message: format!("the supervisor is out of file descriptors ({err}); try again"),
    })
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
pub fn daemonize(dir: StateDir, main: Option<ServiceName>) -> Result<u32, Error> {
    dir.create().map_err(Error::state_dir)?;
    let log_file = dir.supervisor_log();
    let forked = svckit_unix::Daemonize::new()
        .pidfile(dir.pidfile())
        .stdout(&log_file)
        .stderr(&log_file)
        .start()?;
    match forked {
        svckit_unix::Forked::Launcher(launched) => Ok(launched.pid.as_raw().unsigned_abs()),
        svckit_unix::Forked::Daemon(mut daemon) => {
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
            lock.write_pid(std::process::id() as i32)
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
    ready().map_err(|err| Error::io("report readiness", err))?;
    supervisor.serve()
}

struct Unit {
    name: ServiceName,
    spec: ServiceSpec,
    policy: Policy,
    history: History,
    /// Its row of the table: state, desired state, what follows the stop under way.
    life: Lifecycle,
    since: SystemTime,
    pid: Option<Pid>,
    pgid: Option<Pid>,
    start_ticks: Option<u64>,
    started: Option<(Instant, SystemTime)>,
    pidfd: Option<(Token, OwnedFd)>,
    ready: Option<(Token, OwnedFd)>,
    timer: Option<Instant>,
    restarts: u32,
    last_exit: Option<LastExit>,
    reason: Option<String>,
    logs: [LogFile; 2],
    pipes: Option<(u64, u64)>,
    waiters: Vec<(Token, Wait)>,
}

/// What a client waits for before its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Its request's event to be applied: then the status.
    Applied,
    /// The service to run (or to fail to).
    Running,
    /// The service to be stopped.
    Stopped,
    /// The service to be forgotten.
    Forgotten,
}

/// An event of the table for one service, and the client that asked for it.
struct Queued {
    name: ServiceName,
    event: Event,
    client: Option<(Token, Wait)>,
}

struct Capture {
    unit: ServiceName,
    stream: Stream,
    pipe: OwnedFd,
}

struct Client {
    stream: UnixStream,
    buffer: Vec<u8>,
    /// The reply being written and how much of it is out: written as the socket takes it,
    /// never with the loop blocked on a client that does not read.
    reply: Option<(Vec<u8>, usize)>,
    /// When the client is dropped: its request not sent in full, or its reply not read, by
    /// then. None while it waits for the supervisor (a start that waits for readiness).
    deadline: Option<Instant>,
}

/// How long a client may take to send its request, or to read its reply.
const CLIENT_IDLE: Duration = Duration::from_secs(10);

struct Supervisor {
    dir: StateDir,
    poll: Poll,
    signals: SignalWaiter,
    listener: UnixListener,
    units: BTreeMap<ServiceName, Unit>,
    captures: HashMap<Token, Capture>,
    clients: HashMap<Token, Client>,
    /// An fd kept in reserve: when accept(2) fails with EMFILE, it is closed to accept (and
    /// turn away) the queued client, which would otherwise wait forever on an edge-triggered
    /// listener.
    reserve: Option<fs::File>,
    /// The open-file limits the supervisor was started with, given back to its services.
    open_files: Option<(u64, u64)>,
    events: VecDeque<Queued>,
    next_token: usize,
    scratch: Vec<u8>,
    boot_id: String,
    euid: Uid,
    main: Option<ServiceName>,
    pid1: bool,
    shutdown: Option<Vec<Token>>,
    /// Holds a copy of every output pipe's read end, so services never see SIGPIPE while no
    /// supervisor runs (see `svckit_unix::fdholder`).
    holder: Option<FdHolder>,
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One line of the supervisor's own log (its stderr: `supervisor.log` when daemonized). A
/// failed write (a full disk, a closed stderr) is dropped: eprintln! would panic, and the
/// supervisor must outlive its log.
fn log(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(
        io::stderr().lock(),
        "{} svckit-supervise[{}]: {message}",
        unix_ms(SystemTime::now()),
        std::process::id()
    );
}

fn policy_of(spec: &ServiceSpec) -> Policy {
    Policy {
        restart: spec.restart,
        stop_timeout: spec.stop.timeout,
        ready_timeout: spec.notify.then_some(spec.ready_timeout),
    }
}

/// A definition that cannot be loaded, as the client is told.
fn refusal(err: Error) -> (ErrorKind, String) {
    let kind = match err {
        Error::NotInstalled(_) => ErrorKind::NotFound,
        Error::OtherBackend { .. } => ErrorKind::BadRequest,
        _ => ErrorKind::BadDefinition,
    };
    (kind, err.to_string())
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
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGQUIT,
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
        let mut supervisor = Supervisor {
            dir,
            poll,
            signals,
            listener,
            units: BTreeMap::new(),
            captures: HashMap::new(),
            clients: HashMap::new(),
            reserve: fs::File::open("/dev/null").ok(),
            open_files: None,
            events: VecDeque::new(),
            next_token: 2,
            scratch: Vec::new(),
            boot_id: store::boot_id(),
            euid: nix::unistd::geteuid(),
            main,
            pid1,
            shutdown: None,
            holder: FdHolder::spawn()
                .map_err(|err| log(format_args!("no fd holder: {err}")))
                .ok(),
        };
        let previous_holder = store::read_holder(&supervisor.dir);
        supervisor.recover();
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

    /// Loads every definition, finds the processes a previous supervisor left running (same
    /// pid *and* start time, this boot), and starts what should run: services wanted up, and
    /// `start = auto` services without a record of this boot.
    fn recover(&mut self) {
        let names = store::names(&self.dir).unwrap_or_default();
        let mut autos = Vec::new();
        for name in names {
            let spec = match store::load_supervised(&self.dir, &name) {
                Ok(spec) => spec,
                Err(Error::OtherBackend { .. }) => continue,
                Err(err) => {
                    log(format_args!("skipping {name}: {err}"));
                    continue;
                }
            };
            if spec.start == svckit_core::StartType::Auto {
                autos.push(name.clone());
            }
            let record = store::read_record(&self.dir, &name).filter(|r| r.boot_id == self.boot_id);
            self.units.insert(name.clone(), self.new_unit(spec));
            match record {
                Some(record) => self.adopt(&name, record),
                None if autos.contains(&name) => self.queue(&name, Event::Recover),
                None => {}
            }
        }
        if self.main.is_none() && self.pid1 && autos.len() == 1 {
            self.main = autos.pop();
        }
    }

    fn adopt(&mut self, name: &ServiceName, record: Record) {
        let alive = record.pid.map(Pid::from_raw).filter(|pid| {
            record.state.has_process()
                && process::start_time(*pid).ok() == record.start_ticks
                && !process::is_gone(*pid)
        });
        let unit = self.units.get_mut(name).expect("inserted");
        unit.restarts = record.restarts;
        unit.last_exit = record.last_exit;
        unit.life.wanted = record.wanted;
        let Some(pid) = alive else {
            if record.state.has_process() {
                unit.last_exit = Some(LastExit::Unknown);
            }
            unit.life.state = match record.state {
                UnitState::Failed => UnitState::Failed,
                UnitState::Exited => UnitState::Exited,
                _ => UnitState::Stopped,
            };
            if record.wanted {
                self.queue(name, Event::Recover);
            }
            return;
        };
        log(format_args!("{name}: adopting PID {pid}"));
        unit.pid = Some(pid);
        unit.pgid = Some(pid);
        unit.start_ticks = record.start_ticks;
        let started_at = UNIX_EPOCH + Duration::from_millis(record.started_ms.unwrap_or(0));
        let age = SystemTime::now()
            .duration_since(started_at)
            .unwrap_or_default();
        unit.started = Some((
            Instant::now() - age.min(Duration::from_secs(1 << 30)),
            started_at,
        ));
        unit.since = UNIX_EPOCH + Duration::from_millis(record.since_ms);
        unit.life.state = match record.state {
            UnitState::Paused => UnitState::Paused,
            _ => UnitState::Running,
        };
        let token = self.token();
        match process::pidfd(pid) {
            Ok(fd) => {
                let _ = watch(&self.poll, &fd, token);
                if let Some(unit) = self.unit(name) {
                    unit.pidfd = Some((token, fd));
                }
            }
            Err(err) => log(format_args!("{name}: cannot watch PID {pid}: {err}")),
        }
        // Its output pipes: the same pipes, opened again through /proc.
        if let Some((out_ino, err_ino)) = record.pipes {
            for (fd, ino, stream) in [(1, out_ino, Stream::Stdout), (2, err_ino, Stream::Stderr)] {
                let path = format!("/proc/{pid}/fd/{fd}");
                if fs::metadata(&path).map(|m| m.ino()).ok() != Some(ino) {
                    continue;
                }
                let opened = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_NONBLOCK)
                    .open(&path);
                if let Ok(file) = opened {
                    self.capture(name, stream, OwnedFd::from(file));
                }
            }
            if let Some(unit) = self.unit(name) {
                unit.pipes = record.pipes;
            }
        }
        if record.state == UnitState::Stopping {
            // A stop was under way: it goes on, and the service stays wanted as it was.
            self.queue(name, Event::Shutdown);
        }
        self.persist(name);
    }

    fn new_unit(&self, spec: ServiceSpec) -> Unit {
        let log_file = |stream| {
            LogFile::new(
                self.dir.log(&spec.name, stream),
                spec.logs.max_size,
                spec.logs.keep,
            )
        };
        Unit {
            name: spec.name.clone(),
            policy: policy_of(&spec),
            logs: [log_file(Stream::Stdout), log_file(Stream::Stderr)],
            spec,
            history: History::default(),
            life: Lifecycle::STOPPED,
            since: SystemTime::now(),
            pid: None,
            pgid: None,
            start_ticks: None,
            started: None,
            pidfd: None,
            ready: None,
            timer: None,
            restarts: 0,
            last_exit: None,
            reason: None,
            pipes: None,
            waiters: Vec::new(),
        }
    }

    /// The unit called `name`, if it is still known: an event queued for a unit that a
    /// forget (or an uninstall) removed in the same batch finds none, and must do nothing.
    fn unit(&mut self, name: &ServiceName) -> Option<&mut Unit> {
        self.units.get_mut(name)
    }

    /// The unit a request just loaded.
    fn loaded(&mut self, name: &ServiceName) -> Result<&mut Unit, (ErrorKind, String)> {
        self.units.get_mut(name).ok_or_else(|| {
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
            let spec = store::load_supervised(&self.dir, &name).map_err(refusal)?;
            let unit = self.new_unit(spec);
            self.units.insert(name.clone(), unit);
        }
        Ok(name)
    }

    /// Re-reads the definition before a start, so a reinstall takes effect.
    fn refresh(&mut self, name: &ServiceName) -> Result<(), (ErrorKind, String)> {
        let spec = store::load_supervised(&self.dir, name).map_err(refusal)?;
        let unit = self.loaded(name)?;
        if unit.spec != spec {
            unit.policy = policy_of(&spec);
            for log in &mut unit.logs {
                log.set_policy(spec.logs.max_size, spec.logs.keep);
            }
            unit.spec = spec;
        }
        Ok(())
    }

    fn serve(&mut self) -> Result<i32, Error> {
        let mut events = Events::with_capacity(256);
        loop {
            self.process_events();
            if let Some(code) = self.finished() {
                return Ok(code);
            }
            let timeout = self
                .next_deadline()
                .map(|deadline| deadline.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("wait for events", err)),
            }
            for event in events.iter() {
                match event.token() {
                    SIGNALS => self.on_signals(),
                    LISTENER => self.accept(),
                    token if self.clients.contains_key(&token) => self.on_client(token),
                    token if self.captures.contains_key(&token) => self.on_output(token),
                    token => self.on_unit_fd(token),
                }
            }
            self.fire_timers();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let timers = self.units.values().filter_map(|unit| unit.timer);
        let group_polls = self
            .units
            .values()
            .filter(|unit| unit.life.state == UnitState::Stopping && unit.pid.is_none())
            .map(|_| Instant::now() + GROUP_POLL);
        let clients = self.clients.values().filter_map(|client| client.deadline);
        timers.chain(group_polls).chain(clients).min()
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<ServiceName> = self
            .units
            .values_mut()
            .filter(|unit| unit.timer.is_some_and(|at| at <= now))
            .map(|unit| {
                unit.timer = None;
                unit.name.clone()
            })
            .collect();
        for name in due {
            self.queue(&name, Event::Timer);
        }
        let idle: Vec<Token> = self
            .clients
            .iter()
            .filter(|(_, client)| client.deadline.is_some_and(|at| at <= now))
            .map(|(token, _)| *token)
            .collect();
        for token in idle {
            self.drop_client(token);
        }
        self.check_groups();
    }

    /// Stopping services whose main process is gone: done once the group is empty.
    fn check_groups(&mut self) {
        let gone: Vec<ServiceName> = self
            .units
            .values()
            .filter(|unit| unit.life.state == UnitState::Stopping && unit.pid.is_none())
            .filter(|unit| !unit.pgid.is_some_and(process::group_exists))
            .map(|unit| unit.name.clone())
            .collect();
        for name in gone {
            self.queue(&name, Event::GroupGone);
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

    /// Applies the queued events in order, answering the clients that asked for them.
    fn process_events(&mut self) {
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

    /// Feeds one event to the table and carries out its actions; a request the state cannot
    /// take changes nothing and is returned as refused.
    fn apply(&mut self, name: &ServiceName, event: Event) -> Result<(), Refused> {
        let now = Instant::now();
        let Some(unit) = self.units.get_mut(name) else {
            return Ok(());
        };
        let transition = state::transition(unit.life, event, &unit.policy, &mut unit.history, now)?;
        if unit.life.state != transition.next.state {
            unit.since = SystemTime::now();
        }
        unit.life = transition.next;
        for action in transition.actions {
            self.act(name, action);
        }
        if self.unit(name).is_none() {
            return Ok(());
        }
        self.persist(name);
        self.answer_waiters(name);
        self.check_main(name);
        Ok(())
    }

    fn act(&mut self, name: &ServiceName, action: Action) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        let pgid = unit.pgid;
        match action {
            Action::Spawn => {
                if let Err((errno, reason)) = self.spawn(name) {
                    log(format_args!("{name}: {reason}"));
                    if let Some(unit) = self.unit(name) {
                        unit.reason = Some(reason);
                        // Its last exit is the failed start: as PID 1, the supervisor exits
                        // 127 for a main program that cannot be run, as tini does (it was 0).
                        unit.last_exit = Some(LastExit::SpawnFailed(errno));
                    }
                    let exit = LastExit::SpawnFailed(errno);
                    let uptime = Duration::ZERO;
                    self.queue(name, Event::Exited { exit, uptime });
                }
            }
            Action::SignalStop => {
                let signal = svckit_unix::signals::os_signal(unit.spec.stop.signal);
                if let Some(pgid) = pgid {
                    let _ = killpg(pgid, signal);
                }
            }
            Action::KillGroup => {
                if let Some(pgid) = pgid {
                    let _ = killpg(pgid, Signal::SIGKILL);
                }
            }
            Action::Suspend => match (unit.spec.notify, unit.pid, pgid) {
                (true, Some(pid), _) => drop(kill(pid, Signal::SIGTSTP)),
                (false, _, Some(pgid)) => drop(killpg(pgid, Signal::SIGSTOP)),
                _ => {}
            },
            Action::Resume => match (unit.spec.notify, unit.pid, pgid) {
                (true, Some(pid), _) => drop(kill(pid, Signal::SIGCONT)),
                (false, _, Some(pgid)) => drop(killpg(pgid, Signal::SIGCONT)),
                _ => {}
            },
            Action::SendReload => {
                if let Some(pid) = unit.pid {
                    let _ = kill(pid, Signal::SIGHUP);
                }
            }
            Action::ArmTimer(after) => unit.timer = Some(later(after)),
            Action::CancelTimer => unit.timer = None,
            Action::CountRestart => unit.restarts += 1,
            Action::ResetRestarts => unit.restarts = 0,
            Action::ClearGroup => unit.pgid = None,
            Action::CrashLoop => {
                unit.reason = Some(format!(
                    "restarted {} times within {}; not restarted again",
                    unit.spec.restart.limit,
                    svckit_core::parse::format_duration(unit.spec.restart.window)
                ));
            }
            Action::Forget => self.forget(name),
        }
    }

    /// Starts the program: a new session and group, stdout and stderr into pipes we drain,
    /// the readiness pipe at fd 3 for programs that signal readiness.
    fn spawn(&mut self, name: &ServiceName) -> Result<(), (i32, String)> {
        let Some(spec) = self.unit(name).map(|unit| unit.spec.clone()) else {
            return Err((0, format!("service {name} is no longer known")));
        };
        let failed = |err: io::Error, what: &str| {
            (
                err.raw_os_error().unwrap_or(nix::libc::EIO),
                format!("cannot start {}: {what}: {err}", spec.program.display()),
            )
        };
        let credentials = Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())
            .map_err(|err| (nix::libc::EINVAL, format!("cannot start: {err}")))?;
        let (out_read, out_write) = logs::output_pipe().map_err(|e| failed(e, "pipe"))?;
        let (err_read, err_write) = logs::output_pipe().map_err(|e| failed(e, "pipe"))?;
        let ready = if spec.notify {
            let (read, write) =
                nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                    .map_err(|e| failed(e.into(), "pipe"))?;
            Some((read, write))
        } else {
            None
        };
        let mut set: Vec<(OsString, OsString)> =
            spec.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        if spec.notify {
            set.push(("SVCKIT_READY_FD".into(), READY_FD.to_string().into()));
        }
        let env = environment::sanitized(std::env::vars_os(), &[], &set, credentials.as_ref());
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .env_clear()
            .envs(env)
            .current_dir(spec.working_dir.as_deref().unwrap_or("/".as_ref()))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out_write))
            .stderr(Stdio::from(err_write));
        let (ready_read, ready_write) = match ready {
            Some((read, write)) => (Some(read), Some(write)),
            None => (None, None),
        };
        let ready_write = ChildSetup {
            credentials,
            umask: spec.umask,
            ready: ready_write,
            open_files: self.open_files,
        }
        .apply(&mut command)
        .map_err(|e| failed(e, "prepare"))?;
        let child = command.spawn().map_err(|e| failed(e, "spawn"))?;
        // Our copies of the write ends close with `command` and `ready_write`: the pipes then
        // report EOF exactly when the service's processes are done with them.
        drop(command);
        drop(ready_write);
        let pid = Pid::from_raw(child.id() as i32);
        drop(child);
        let now = Instant::now();
        let inode = |fd: &OwnedFd| {
            fs::File::from(fd.try_clone().ok()?)
                .metadata()
                .ok()
                .map(|m| m.ino())
        };
        let pipes = inode(&out_read).zip(inode(&err_read));
        self.capture(name, Stream::Stdout, out_read);
        self.capture(name, Stream::Stderr, err_read);
        let ready_token = ready_read.map(|fd| {
            let token = self.token();
            let _ = watch(&self.poll, &fd, token);
            (token, fd)
        });
        let Some(unit) = self.unit(name) else {
            return Err((0, format!("service {name} is no longer known")));
        };
        let window = unit.spec.restart.window;
        unit.history.started(now, window);
        unit.pid = Some(pid);
        unit.pgid = Some(pid);
        unit.start_ticks = process::start_time(pid).ok();
        unit.started = Some((now, SystemTime::now()));
        unit.pipes = pipes;
        unit.reason = None;
        unit.ready = ready_token;
        if !unit.spec.notify {
            // exec succeeded (Command::spawn reports exec failures): it runs.
            self.queue(name, Event::Ready);
        }
        Ok(())
    }

    fn capture(&mut self, name: &ServiceName, stream: Stream, pipe: OwnedFd) {
        let token = self.token();
        if let Err(err) = watch(&self.poll, &pipe, token) {
            log(format_args!(
                "{name}: cannot watch its {}: {err}",
                stream.name()
            ));
            return;
        }
        if let Some(holder) = &self.holder
            && let Err(err) = holder.hold(pipe.as_fd())
        {
            log(format_args!(
                "{name}: the fd holder did not take its {}: {err}",
                stream.name()
            ));
        }
        self.captures.insert(
            token,
            Capture {
                unit: name.clone(),
                stream,
                pipe,
            },
        );
        // Anything already in the pipe (an adopted service's output) is drained at once:
        // epoll reports only new readiness for edge-triggered sources registered late.
        self.on_output(token);
    }

    fn on_output(&mut self, token: Token) {
        let Some(capture) = self.captures.get(&token) else {
            return;
        };
        let index = match capture.stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        };
        let Some(unit) = self.units.get_mut(&capture.unit) else {
            self.captures.remove(&token);
            return;
        };
        let had_error = unit.logs[index].error().is_some();
        let drained = unit.logs[index].drain(&capture.pipe, &mut self.scratch);
        match (had_error, unit.logs[index].error()) {
            (false, Some(error)) => log(format_args!(
                "{}: cannot store its {}: {error}; draining it meanwhile",
                capture.unit,
                capture.stream.name()
            )),
            (true, None) => log(format_args!(
                "{}: storing its {} again",
                capture.unit,
                capture.stream.name()
            )),
            _ => {}
        }
        if drained == Drained::Eof {
            self.close_capture(token);
        }
    }

    fn close_capture(&mut self, token: Token) {
        if let Some(capture) = self.captures.remove(&token) {
            unwatch(&self.poll, &capture.pipe);
        }
    }

    /// A readiness pipe or a pidfd.
    fn on_unit_fd(&mut self, token: Token) {
        let Some(name) = self
            .units
            .values()
            .find(|unit| {
                unit.ready.as_ref().is_some_and(|(t, _)| *t == token)
                    || unit.pidfd.as_ref().is_some_and(|(t, _)| *t == token)
            })
            .map(|unit| unit.name.clone())
        else {
            return;
        };
        let Some(unit) = self.unit(&name) else {
            return;
        };
        if let Some((_, fd)) = unit.ready.as_ref().filter(|(t, _)| *t == token) {
            let mut bytes = [0u8; 64];
            let mut said_ready = false;
            let mut closed = false;
            loop {
                match nix::unistd::read(fd, &mut bytes) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => said_ready |= bytes[..n].contains(&b'\n'),
                    Err(Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
            if (said_ready || closed)
                && let Some((_, fd)) = unit.ready.take()
            {
                unwatch(&self.poll, &fd);
            }
            if said_ready {
                self.queue(&name, Event::Ready);
            }
            return;
        }
        // The pidfd of an adopted process: it ended. Not our child, so no status to read.
        if let Some((_, fd)) = unit.pidfd.take() {
            unwatch(&self.poll, &fd);
            self.main_ended(&name, LastExit::Unknown);
        }
    }

    fn main_ended(&mut self, name: &ServiceName, exit: LastExit) {
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        unit.pid = None;
        unit.last_exit = Some(exit);
        for (_, fd) in [unit.ready.take(), unit.pidfd.take()].into_iter().flatten() {
            unwatch(&self.poll, &fd);
        }
        let uptime = unit
            .started
            .take()
            .map(|(at, _)| at.elapsed())
            .unwrap_or_default();
        self.queue(name, Event::Exited { exit, uptime });
    }

    fn on_signals(&mut self) {
        while let Ok(Some(signal)) = self.signals.try_read() {
            match signal {
                Signal::SIGCHLD => self.reap(),
                Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT => {
                    log(format_args!("{signal}: stopping every service"));
                    self.begin_shutdown(None);
                }
                other if self.pid1 || self.main.is_some() => self.forward(other),
                other => log(format_args!("ignoring {other}")),
            }
        }
    }

    /// As PID 1 (or with a main service), HUP, USR1 and USR2 go to the services' groups.
    fn forward(&mut self, signal: Signal) {
        for unit in self.units.values() {
            if let (Some(target), true) = (unit.pgid, unit.life.state.has_process())
                && self.main.as_ref().is_none_or(|main| *main == unit.name)
            {
                let _ = killpg(target, signal);
            }
        }
    }

    /// Reaps every child that has ended: main processes become Exited events; anything else
    /// (orphans reparented to us as subreaper or PID 1) is just reaped.
    fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.reaped(pid, LastExit::Code(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    self.reaped(pid, LastExit::Signal(signal as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        self.check_groups();
    }

    fn reaped(&mut self, pid: Pid, exit: LastExit) {
        let owner = self
            .units
            .values()
            .find(|unit| unit.pid == Some(pid))
            .map(|unit| unit.name.clone());
        if let Some(name) = owner {
            self.main_ended(&name, exit);
        }
    }

    fn persist(&mut self, name: &ServiceName) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        let record = Record {
            boot_id: self.boot_id.clone(),
            wanted: unit.life.wanted,
            state: unit.life.state,
            pid: unit.pid.map(Pid::as_raw),
            start_ticks: unit.start_ticks,
            started_ms: unit.started.map(|(_, at)| unix_ms(at)),
            since_ms: unix_ms(unit.since),
            restarts: unit.restarts,
            last_exit: unit.last_exit,
            pipes: unit.pipes,
        };
        if let Err(err) = store::write_record(&self.dir, name, &record) {
            log(format_args!("{name}: cannot save its state: {err}"));
        }
    }

    fn status_of(&self, unit: &Unit) -> ServiceStatus {
        let command = std::iter::once(unit.spec.program.as_os_str())
            .chain(unit.spec.args.iter().map(|arg| arg.as_os_str()))
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        ServiceStatus {
            name: unit.name.to_string(),
            state: unit.life.state,
            pid: unit.pid.map(Pid::as_raw),
            since_ms: unix_ms(unit.since),
            started_ms: unit.started.map(|(_, at)| unix_ms(at)),
            restarts: unit.restarts,
            last_exit: unit.last_exit,
            wanted: unit.life.wanted,
            reason: unit.reason.clone(),
            command,
            capture_error: {
                let errors: Vec<String> = unit.logs.iter().filter_map(LogFile::error).collect();
                (!errors.is_empty()).then(|| errors.join("; "))
            },
        }
    }

    fn answer_waiters(&mut self, name: &ServiceName) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        let Lifecycle {
            state,
            wanted,
            then,
        } = unit.life;
        let waiters = std::mem::take(&mut unit.waiters);
        let mut kept = Vec::new();
        for (token, wait) in waiters {
            let unit = &self.units[name];
            let outcome = match wait {
                Wait::Running => match state {
                    UnitState::Running | UnitState::Paused => Some(Ok(())),
                    UnitState::Exited | UnitState::Failed | UnitState::Backoff => {
                        Some(Err(self.start_failure(unit)))
                    }
                    // Stopped while a start is still wanted (a restart between its stop and
                    // its start) is on the way; stopped by request is not.
                    UnitState::Stopped if then != Then::Start && !wanted => {
                        Some(Err(self.start_failure(unit)))
                    }
                    _ => None,
                },
                Wait::Stopped => matches!(
                    state,
                    UnitState::Stopped | UnitState::Exited | UnitState::Failed
                )
                .then_some(Ok(())),
                Wait::Forgotten | Wait::Applied => None,
            };
            match outcome {
                Some(Ok(())) => {
                    let status = self.status_of(unit);
                    self.reply(
                        token,
                        Outcome::Done {
                            services: vec![status],
                        },
                    );
                }
                Some(Err(message)) => self.reply(
                    token,
                    Outcome::Error {
                        kind: ErrorKind::StartFailed,
                        message,
                    },
                ),
                None => kept.push((token, wait)),
            }
        }
        if let Some(unit) = self.unit(name) {
            unit.waiters.extend(kept);
        }
    }

    fn start_failure(&self, unit: &Unit) -> String {
        let how = match (&unit.reason, unit.last_exit) {
            (Some(reason), _) if unit.life.state != UnitState::Failed => reason.clone(),
            (_, Some(exit)) => exit.to_string(),
            (Some(reason), None) => reason.clone(),
            (None, None) => "stopped".into(),
        };
        format!(
            "service {} failed to start: {how} (now {})",
            unit.name, unit.life.state
        )
    }

    fn forget(&mut self, name: &ServiceName) {
        if let Some(unit) = self.units.remove(name) {
            let _ = store::remove(&self.dir, name);
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

    /// With a main service: once it has ended for good, everything stops and the supervisor
    /// exits with its status.
    fn check_main(&mut self, name: &ServiceName) {
        if self.main.as_ref() != Some(name) || self.shutdown.is_some() {
            return;
        }
        if self.units.get(name).is_some_and(|unit| {
            matches!(
                unit.life.state,
                UnitState::Exited | UnitState::Failed | UnitState::Stopped
            )
        }) {
            log(format_args!(
                "main service {name} ended: stopping the others"
            ));
            self.begin_shutdown(None);
        }
    }

    fn begin_shutdown(&mut self, requester: Option<Token>) {
        let waiting = self.shutdown.get_or_insert_with(Vec::new);
        waiting.extend(requester);
        let names: Vec<ServiceName> = self.units.keys().cloned().collect();
        for name in names {
            // The desired state stays as it is on disk: the next supervisor resumes it.
            self.queue(&name, Event::Shutdown);
        }
    }

    /// During a shutdown, once no service has a process left: the exit status.
    fn finished(&mut self) -> Option<i32> {
        self.shutdown.as_ref()?;
        if self
            .units
            .values()
            .any(|unit| unit.life.state.has_process())
        {
            return None;
        }
        // Whatever the services wrote last is still in their pipes: keep it.
        let tokens: Vec<Token> = self.captures.keys().copied().collect();
        for token in tokens {
            self.on_output(token);
        }
        for token in self.shutdown.take().unwrap_or_default() {
            self.reply(
                token,
                Outcome::Done {
                    services: Vec::new(),
                },
            );
        }
        let _ = fs::remove_file(self.dir.socket());
        let code = self
            .main
            .as_ref()
            .and_then(|main| self.units.get(main))
            .and_then(|unit| unit.last_exit)
            .map_or(0, LastExit::shell_status);
        Some(code)
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err)
                    if matches!(
                        err.raw_os_error(),
                        Some(nix::libc::EMFILE | nix::libc::ENFILE)
                    ) && self.reserve.is_some() =>
                {
                    // Out of fds (accept(2) says so before it looks at the queue): free the
                    // reserve, turn a queued client away with a reply it can read, take the
                    // reserve back, and go on with the queue until it is empty.
                    self.reserve = None;
                    let turned_away = match self.listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.write(&busy_reply(&err));
                            true
                        }
                        Err(_) => false,
                    };
                    self.reserve = fs::File::open("/dev/null").ok();
                    if !turned_away {
                        return;
                    }
                    log(format_args!("accept: {err}; a client was turned away"));
                    continue;
                }
                Err(err) => {
                    log(format_args!("accept: {err}"));
                    return;
                }
            };
            let token = self.token();
            let peer =
                getsockopt(&stream, sockopt::PeerCredentials).map(|c| Uid::from_raw(c.uid()));
            let allowed = peer.is_ok_and(|uid| uid == self.euid || uid.is_root());
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            self.clients.insert(
                token,
                Client {
                    stream,
                    buffer: Vec::new(),
                    reply: None,
                    deadline: Some(Instant::now() + CLIENT_IDLE),
                },
            );
            if !allowed {
                let uid = peer.map_or("unknown".into(), |uid| uid.to_string());
                self.reply(
                    token,
                    Outcome::Error {
                        kind: ErrorKind::PermissionDenied,
                        message: format!(
                            "permission denied: uid {uid} does not own this supervisor"
                        ),
                    },
                );
            }
        }
    }

    fn on_client(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.reply.is_some() {
            self.flush_reply(token);
            return;
        }
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        loop {
            match client.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => client.buffer.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if let Some(end) = client.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = client.buffer.drain(..=end).collect();
            client.deadline = None;
            self.request(token, &line);
        } else if closed || client.buffer.len() > 1 << 16 {
            self.drop_client(token);
        }
    }

    fn drop_client(&mut self, token: Token) {
        if let Some(mut client) = self.clients.remove(&token) {
            let _ = self.poll.registry().deregister(&mut client.stream);
        }
        for unit in self.units.values_mut() {
            unit.waiters.retain(|(t, _)| *t != token);
        }
    }

    fn request(&mut self, token: Token, line: &[u8]) {
        let request: Request = match serde_json::from_slice(line) {
            Ok(request) => request,
            Err(err) => {
                let version = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("version")?.as_u64());
                let (kind, message) = match version {
                    Some(v) if v != u64::from(VERSION) => (
                        ErrorKind::Version,
                        format!(
                            "protocol version {v} is not supported (this supervisor speaks {VERSION})"
                        ),
                    ),
                    _ => (ErrorKind::BadRequest, format!("bad request: {err}")),
                };
                return self.reply(token, Outcome::Error { kind, message });
            }
        };
        if request.version != VERSION {
            return self.reply(
                token,
                Outcome::Error {
                    kind: ErrorKind::Version,
                    message: format!(
                        "protocol version {} is not supported (this supervisor speaks {VERSION})",
                        request.version
                    ),
                },
            );
        }
        if self.shutdown.is_some() && request.op != Op::Shutdown {
            return self.reply(
                token,
                Outcome::Error {
                    kind: ErrorKind::ShuttingDown,
                    message: "the supervisor is shutting down".into(),
                },
            );
        }
        if let Err((kind, message)) = self.dispatch(token, request.op) {
            self.reply(token, Outcome::Error { kind, message });
        }
    }

    /// Turns a request into an event of the table (a status is answered at once). A start
    /// or restart of a service without a process re-reads its definition first, so a
    /// reinstall takes effect.
    fn dispatch(&mut self, token: Token, op: Op) -> Result<(), (ErrorKind, String)> {
        let (name, event, wait) = match op {
            Op::Status { name } => return self.reply_statuses(token, name),
            Op::Shutdown => {
                self.begin_shutdown(Some(token));
                return Ok(());
            }
            Op::Start { name, wait } => {
                let wait = if wait { Wait::Running } else { Wait::Applied };
                (name, Event::Start, wait)
            }
            Op::Stop { name } => (name, Event::Stop, Wait::Stopped),
            Op::Restart { name } => (name, Event::Restart, Wait::Running),
            Op::Pause { name } => (name, Event::Pause, Wait::Applied),
            Op::Continue { name } => (name, Event::Continue, Wait::Applied),
            Op::Reload { name } => (name, Event::Reload, Wait::Applied),
            Op::Forget { name } => (name, Event::Forget, Wait::Forgotten),
        };
        let name = self.load(&name)?;
        if matches!(event, Event::Start | Event::Restart)
            && !self.units[&name].life.state.has_process()
        {
            self.refresh(&name)?;
        }
        self.queue_request(&name, event, token, wait);
        Ok(())
    }

    /// Answers with the status of `name`, or of every installed service.
    fn reply_statuses(
        &mut self,
        token: Token,
        name: Option<String>,
    ) -> Result<(), (ErrorKind, String)> {
        let names = match name {
            Some(name) => vec![self.load(&name)?],
            None => {
                let mut names = Vec::new();
                for name in store::names(&self.dir).unwrap_or_default() {
                    if let Ok(name) = self.load(name.as_str()) {
                        names.push(name);
                    }
                }
                names
            }
        };
        let services = names
            .iter()
            .map(|name| self.status_of(&self.units[name]))
            .collect();
        self.reply(token, Outcome::Done { services });
        Ok(())
    }

    /// Answers a client with `name`'s status (none, when the unit is gone: forgotten in the
    /// same batch).
    fn reply_status(&mut self, token: Token, name: &ServiceName) {
        let services = self
            .units
            .get(name)
            .map(|unit| self.status_of(unit))
            .into_iter()
            .collect();
        self.reply(token, Outcome::Done { services });
    }

    /// Answers a client: the reply is written as far as the socket takes it now, the rest
    /// when it is writable again; a client that does not read it within [`CLIENT_IDLE`] is
    /// dropped. A client has one reply.
    fn reply(&mut self, token: Token, result: Outcome) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.reply.is_some() {
            return;
        }
        client.reply = Some((response_line(result), 0));
        client.deadline = Some(Instant::now() + CLIENT_IDLE);
        let _ = self.poll.registry().reregister(
            &mut client.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        );
        self.flush_reply(token);
    }

    fn flush_reply(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let Some((line, written)) = &mut client.reply else {
            return;
        };
        loop {
            match client.stream.write(&line[*written..]) {
                Ok(n) => {
                    *written += n;
                    if *written == line.len() || n == 0 {
                        break;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.drop_client(token);
    }
}
