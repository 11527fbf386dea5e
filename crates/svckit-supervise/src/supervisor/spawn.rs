//! Spawning a service's program (a new session and group, stdout and stderr into pipes, the
//! readiness pipe at fd 3) and learning that it ended: SIGCHLD and waitpid for our children,
//! a pidfd for an adopted process, the readiness pipe for programs that say when they are
//! ready.

use super::{
    Cgroup, ChildSetup, ControlCommand, Credentials, Duration, Errno, Event, Instant, LastExit,
    OsString, OwnedFd, PID_FILES, Phase, Pid, ServiceName, ServiceSpec, ServiceType, Set, Stream,
    Supervisor, SystemTime, Token, Unit, UnitState, environment, fs, io, log, logs, process,
    unwatch, watch,
};
use std::os::unix::fs::MetadataExt;
use svckit_core::condition::{Condition, Dependency, Verdict};

/// One process of a service to start: the service's program, or one of its commands.
pub(super) struct Process<'a> {
    /// The program.
    pub(super) program: &'a std::ffi::OsStr,
    /// Its `argv[0]`, when not its name (the `@` prefix).
    pub(super) argv0: Option<&'a std::ffi::OsStr>,
    /// Its arguments.
    pub(super) args: &'a [OsString],
    /// Its prefixes: run with the supervisor's privileges (`+`), its words as they are (`:`).
    pub(super) prefix: svckit_core::command::Prefix,
    /// Variables beside the service's environment.
    pub(super) extra: Vec<(OsString, OsString)>,
    /// The readiness pipe's write end, for a program that says when it is ready.
    pub(super) ready: Option<OwnedFd>,
    /// The cgroup it starts in.
    pub(super) cgroup: Option<&'a Cgroup>,
    /// Its stdin and stdout: this connection (an inetd-style instance), else /dev/null and
    /// a captured pipe.
    pub(super) stdio: Option<OwnedFd>,
    /// The sockets handed to it (the service's program, on demand), from fd 3.
    pub(super) sockets: Vec<std::os::fd::RawFd>,
    /// It is the service's program: its start is told in the event log before a byte of its
    /// output is read, so the log shows it in its run.
    pub(super) main: bool,
}

/// The inodes of a process's stdout and stderr pipes (how a new supervisor knows them again).
type PipeInodes = Option<(u64, u64)>;

/// The descriptors a start opens for a moment beyond the output pipes it keeps: the pipes'
/// write ends, /dev/null, the exec report pipe, a readiness pipe, /proc/self/task.
const SPAWN_TRANSIENT: u64 = 8;

impl Supervisor {
    /// Starts the program: a new session and group, stdout and stderr into pipes we drain,
    /// the readiness pipe at fd 3 for programs that signal readiness.
    pub(super) fn spawn(&mut self, name: &ServiceName) -> Result<(), (i32, String)> {
        let Some(spec) = self.unit(name).map(|unit| unit.spec.clone()) else {
            return Err((0, format!("service {name} is no longer known")));
        };
        let failed = |err: io::Error, what: &str| {
            (
                err.raw_os_error().unwrap_or(nix::libc::EIO),
                format!("cannot start {}: {what}: {err}", spec.program.display()),
            )
        };
        let ready = if spec.says_ready() {
            let (read, write) =
                nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                    .map_err(|e| failed(e.into(), "pipe"))?;
            Some((read, write))
        } else {
            None
        };
        // Its sockets, bound when it was loaded (or now, if they could not be then).
        if !spec.listen.is_empty() {
            self.bind_sockets(name)
                .map_err(|reason| (nix::libc::EADDRINUSE, reason))?;
        }
        let sockets = self.sockets.fds(name);
        let mut set: Vec<(OsString, OsString)> = Vec::new();
        if !sockets.is_empty() {
            set.push(("LISTEN_FDS".into(), sockets.len().to_string().into()));
            set.push((
                "LISTEN_FDNAMES".into(),
                svckit_unix::sockets::fd_names(&spec.listen, name.as_str()),
            ));
        }
        if spec.says_ready() {
            let fd = svckit_unix::spawn::ready_fd(sockets.len());
            set.push(("SVCKIT_READY_FD".into(), fd.to_string().into()));
            // sd_notify, as systemd speaks it: the same `type = notify` on every backend.
            if let Some(listener) = &self.notify {
                set.push(("NOTIFY_SOCKET".into(), listener.address().into()));
            }
            if !spec.watchdog.is_zero() {
                let usec = spec.watchdog.as_micros().to_string();
                set.push(("WATCHDOG_USEC".into(), usec.into()));
            }
        }
        let (ready_read, ready_write) = match ready {
            Some((read, write)) => (Some(read), Some(write)),
            None => (None, None),
        };
        let cgroup = self.service_cgroup(name);
        let (argv0, args) = spec.program_argv();
        let (pid, pipes) = self.spawn_process(
            name,
            &spec,
            Process {
                program: spec.program.as_os_str(),
                argv0,
                args,
                prefix: spec.program_prefix,
                extra: set,
                ready: ready_write,
                cgroup: cgroup.as_ref(),
                sockets,
                stdio: None,
                main: true,
            },
        )?;
        let now = Instant::now();
        let ready_token = ready_read.map(|fd| {
            let token = self.token();
            let _ = watch(&self.poll, &fd, token);
            (token, fd)
        });
        let Some(unit) = self.units.get_mut(name) else {
            return Err((0, format!("service {name} is no longer known")));
        };
        unit.process.pid = Some(pid);
        unit.process.pgid = Some(pid);
        unit.process.sid = Some(pid);
        unit.process.cgroup = cgroup;
        unit.process.start_ticks = process::start_time(pid).ok();
        unit.process.started = Some((now, SystemTime::now()));
        unit.pipes = pipes;
        self.index.owns(pid, name);
        // Its usage is this run's.
        unit.usage.set(None);
        unit.note(|n| &mut n.reason, None);
        let notice = pipes.filter(|(out, err)| out == err).map(|_| {
            "its stderr goes to its stdout log: the supervisor was near its open-file limit \
             when it started (RLIMIT_NOFILE; 2 descriptors a service)"
                .to_owned()
        });
        unit.note(|n| &mut n.notice, notice);
        unit.process.ready = ready_token;
        let exec = unit.spec.service_type == ServiceType::Exec;
        // Its record names it at once: a supervisor killed from here on leaves a process
        // its successor adopts, never one it starts again beside.
        self.persist(name);
        if exec {
            // exec succeeded (the spawn reports exec failures): it runs. (A notify program
            // says so itself; a forking one once its daemon is known; a oneshot never runs,
            // it is done.)
            self.queue(name, Event::Ready);
        }
        Ok(())
    }

    /// How many more descriptors the supervisor may open before its limit: the limit, less
    /// those it had once it ran, the output pipes it holds and its open logs (two each: the
    /// log and its time index).
    /// Also the reserve kept below that ([`super::FD_RESERVE`], an eighth of a small limit),
    /// and whether a quarter of the limit (above the reserve) is all that is left.
    pub(super) fn descriptors_left(&self) -> (u64, u64, bool) {
        let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(u64::MAX, |(soft, _)| soft);
        let held = self.fd_base + self.captures.len() + 2 * self.open_logs.len();
        let left = limit.saturating_sub(held as u64);
        let reserve = super::FD_RESERVE.min(limit / 8);
        (left, reserve, left < limit / 4 + SPAWN_TRANSIENT + reserve)
    }

    /// Closes the least recently written logs until `wanted` descriptors are left above the
    /// reserve (or no log is open).
    pub(super) fn make_room(&mut self, wanted: u64) {
        loop {
            let (left, reserve, _) = self.descriptors_left();
            if left >= wanted + reserve {
                return;
            }
            let Some((name, index)) = self.open_logs.oldest() else {
                return;
            };
            if let Some(unit) = self.units.get_mut(&name) {
                unit.logs[index].close();
            }
        }
    }

    /// What an EMFILE at a start means: the supervisor's open-file limit, how many services
    /// hold its descriptors, and what to raise.
    fn out_of_files(&self) -> String {
        let running = self
            .units
            .values()
            .filter(|unit| unit.process.pid.is_some() || unit.process.pgid.is_some())
            .count();
        let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or_else(|_| "?".to_owned(), |(soft, _)| soft.to_string());
        format!(
            "the supervisor is at its open-file limit (RLIMIT_NOFILE {limit}, {running} services \
             running, 2 descriptors each): raise its hard limit (ulimit -Hn, LimitNOFILE=) or \
             run it as root (it raises its own to fs.nr_open)"
        )
    }

    /// Where the service's processes go: its cgroup, where the supervisor makes them.
    pub(super) fn service_cgroup(&self, name: &ServiceName) -> Option<Cgroup> {
        match self.cgroups.as_ref()?.service(name.as_str()) {
            Ok(cgroup) => Some(cgroup),
            Err(err) => {
                log(format_args!(
                    "{name}: no cgroup ({err}); its process group contains it"
                ));
                None
            }
        }
    }

    /// Starts one process of the service (see [`Process`]) as its user, in its directory,
    /// with its environment, in a new session; stdin on /dev/null, stdout and stderr into
    /// pipes captured to its logs. Returns its pid and the pipes' inodes, or the errno and
    /// what failed.
    pub(super) fn spawn_process(
        &mut self,
        name: &ServiceName,
        spec: &ServiceSpec,
        process: Process<'_>,
    ) -> Result<(Pid, PipeInodes), (i32, String)> {
        let Process {
            program,
            argv0,
            args,
            prefix,
            extra,
            ready,
            cgroup,
            sockets,
            stdio,
            main,
        } = process;
        // Logs held open give way to a start's pipes (and what it opens while it starts).
        self.make_room(2 + SPAWN_TRANSIENT);
        let failed = |err: io::Error, what: &str| {
            let errno = err.raw_os_error().unwrap_or(nix::libc::EIO);
            let program = std::path::Path::new(program).display();
            let said = match errno {
                nix::libc::EMFILE => self.out_of_files(),
                _ => err.to_string(),
            };
            (errno, format!("cannot start {program}: {what}: {said}"))
        };
        // `+`/`!`: as the supervisor's user, not the service's.
        let credentials = match prefix.privileged {
            true => None,
            false => Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())
                .map_err(|err| (nix::libc::EINVAL, format!("cannot start: {err}")))?,
        };
        // Its stdout: the connection it serves, or a pipe captured to its log.
        let (out_read, stdin, stdout) = match stdio {
            Some(connection) => {
                let input = connection.try_clone().map_err(|e| failed(e, "dup"))?;
                (None, input, connection)
            }
            None => {
                let (read, write) = logs::output_pipe().map_err(|e| failed(e, "pipe"))?;
                let null = fs::File::open("/dev/null").map_err(|e| failed(e, "/dev/null"))?;
                (Some(read), OwnedFd::from(null), write)
            }
        };
        // Once a quarter of the open-file limit is all that is left, a service's stderr shares
        // its stdout pipe (one descriptor rather than two): more services run (at a limit of
        // 20,000: 7,500 with two pipes, then about 4,900 with one), and the status of each
        // says where its stderr went.
        let (left, reserve, scarce) = self.descriptors_left();
        let merged = out_read.is_some() && (scarce || left < 2 + SPAWN_TRANSIENT + reserve);
        if left < 1 + SPAWN_TRANSIENT + reserve {
            return Err((
                nix::libc::EMFILE,
                format!(
                    "cannot start {}: {}",
                    std::path::Path::new(program).display(),
                    self.out_of_files()
                ),
            ));
        }
        let (err_read, err_write) = match merged {
            true => (None, stdout.try_clone().map_err(|e| failed(e, "dup"))?),
            false => {
                let (read, write) = logs::output_pipe().map_err(|e| failed(e, "pipe"))?;
                (Some(read), write)
            }
        };
        let env = service_environment(spec, credentials.as_ref(), extra)
            .map_err(|(err, what)| failed(err, &what))?;
        // `$VAR`s, from the environment it gets, at each start.
        let expanded: Vec<OsString>;
        let args = match spec.expand_env && !prefix.verbatim {
            true => {
                expanded = expand_args(args, &env);
                expanded.as_slice()
            }
            false => args,
        };
        let handover = match sockets.is_empty() {
            true => None,
            false => Some(
                svckit_unix::spawn::Handover::new(program, argv0, args, &env, sockets)
                    .map_err(|e| failed(e, "exec"))?,
            ),
        };
        let ready_write;
        let pid;
        (pid, ready_write) = ChildSetup {
            credentials,
            umask: spec.umask,
            ready,
            open_files: self.open_files,
            cgroup: None,
            limits: spec.limits,
            nice: spec.nice,
            oom_score_adjust: spec.oom_score_adjust,
            handover,
        }
        .spawn_through(
            svckit_unix::spawn::Run {
                program,
                argv0,
                args,
                env: &env,
                dir: spec.working_dir.as_deref().unwrap_or("/".as_ref()),
                stdio: [stdin, stdout, err_write],
                cgroup,
            },
            self.forker.as_ref(),
        )
        .map_err(|e| failed(e, "spawn"))?;
        // Our copies of the write ends are closed: the pipes report EOF exactly when the
        // service's processes are done with them.
        drop(ready_write);
        let inode = |fd: &OwnedFd| {
            fs::File::from(fd.try_clone().ok()?)
                .metadata()
                .ok()
                .map(|m| m.ino())
        };
        let pipes = match &err_read {
            Some(err_read) => out_read.as_ref().and_then(inode).zip(inode(err_read)),
            // One pipe for both: the same inode twice.
            None => out_read.as_ref().and_then(inode).map(|ino| (ino, ino)),
        };
        if main {
            self.journal.record(
                name,
                format_args!("started {}: PID {pid}", spec.program.display()),
            );
            // What a dependent's log_ready looks for is this run's output.
            if let Some(unit) = self.units.get_mut(name) {
                for log in &mut unit.logs {
                    log.new_run();
                }
            }
            self.log_used(name, 0);
            self.log_used(name, 1);
        }
        if let Some(out_read) = out_read {
            self.capture_adopted(name, Stream::Stdout, out_read);
        }
        if let Some(err_read) = err_read {
            self.capture_adopted(name, Stream::Stderr, err_read);
        }
        Ok((pid, pipes))
    }

    /// Prepares a start (the machine's Prepare), as the definition on disk says now (a
    /// reinstall's restart runs the new one): its runtime directories, and its dependencies
    /// started; says DependenciesSettled at once unless it waits for some of them (then
    /// [`Supervisor::check_dependents`] says it).
    pub(super) fn prepare(&mut self, name: &ServiceName) {
        let _ = self.refresh(name);
        let Some(unit) = self.unit(name) else {
            return;
        };
        let made = directory_owner(&unit.spec).and_then(|owner| {
            let made = make_runtime_directories(&unit.spec, owner)?;
            unit.runtime.created.extend(made.created);
            make_kept_directories(&unit.spec, owner)
        });
        if let Err(reason) = made {
            log(format_args!("{name}: {reason}"));
            self.journal.record(name, format_args!("{reason}"));
            if let Some(unit) = self.unit(name) {
                unit.note(|n| &mut n.reason, Some(reason));
            }
            let exit = LastExit::SpawnFailed(nix::libc::EACCES);
            self.queue(
                name,
                Event::Exited {
                    exit,
                    uptime: Duration::ZERO,
                },
            );
            return;
        }
        // Its dependencies first: `dependencies`, `requires` and `wants` are started if they
        // do not run; it waits for the starts of `dependencies`, `requires` and (if they are
        // starting anyway) `after` to settle.
        let spec = unit.spec.clone();
        let mut wait = false;
        let ordered: Vec<ServiceName> = self.ordered_after(name, &spec).cloned().collect();
        // Those that say they start before it: ordered's tail, after its own.
        let before = ordered.iter().skip(spec.ordered_after().count());
        for dependency in spec.started_with().chain(&spec.after).chain(before) {
            if self.load(dependency.as_str()).is_err() {
                // Not one of this supervisor's (network.target on a host without systemd).
                continue;
            }
            let state = self.units[dependency].life.state;
            let running = matches!(
                state,
                UnitState::Running | UnitState::Reloading | UnitState::Paused
            );
            let starts = spec.started_with().any(|d| d == dependency);
            if starts && !running && state != UnitState::Starting {
                // As a start by request does: a reinstalled definition takes effect.
                if !state.has_process() {
                    let _ = self.refresh(dependency);
                }
                self.queue(dependency, Event::Start);
            }
            let waited = ordered.contains(dependency);
            if waited && !running && (starts || state == UnitState::Starting) {
                wait = true;
            }
        }
        // A condition may not hold yet of one that runs (healthy, a log line, an exit).
        if wait || !spec.conditions.is_empty() {
            let names: Vec<&str> = ordered.iter().map(ServiceName::as_str).collect();
            let names = names.join(", ");
            self.journal.record(
                name,
                format_args!("waiting for its dependencies to start: {names}"),
            );
            return;
        }
        self.queue(name, Event::DependenciesSettled);
    }

    /// Spawns the program; a program that cannot be started has ended, with the errno.
    pub(super) fn spawn_main(&mut self, name: &ServiceName) {
        if let Err((errno, reason)) = self.spawn(name) {
            log(format_args!("{name}: {reason}"));
            self.journal.record(name, format_args!("{reason}"));
            // Its last exit is the failed start (recorded by the machine): as PID 1, the
            // supervisor exits 127 for a main program that cannot be run, as tini does.
            if let Some(unit) = self.unit(name) {
                unit.note(|n| &mut n.reason, Some(reason));
            }
            let exit = LastExit::SpawnFailed(errno);
            let uptime = Duration::ZERO;
            self.queue(name, Event::Exited { exit, uptime });
        }
    }

    /// Services waiting for their dependencies: told DependenciesSettled once each one's
    /// condition holds (by default ready: running, or a oneshot that exited successfully; or
    /// ended since the wait began, for one that is not required: a failed dependency does not
    /// stop a start, as with systemd's Wants=), StartFailed when one required, or given a
    /// condition, can no longer meet it. A `log_ready` condition has its dependency's logs
    /// look for its text.
    pub(super) fn check_dependents(&mut self) {
        // Nothing waits, and no log looks for a text: nothing to do (the look through the
        // queue below, at each event, was quadratic while thousands of starts were queued).
        if self.index.members(Set::Dependencies).is_empty() && !self.logs_look {
            return;
        }
        // Told already, the event not yet applied. (One pass over the queue, and only those
        // not told are copied: a pass per waiting service, and a copy of every waiting one's
        // definition at every event, made `start --all` of 3,000 services take 27 s.)
        let told: std::collections::HashSet<&ServiceName> = self
            .events
            .iter()
            .filter(|queued| {
                matches!(
                    queued.event,
                    Event::DependenciesSettled | Event::StartFailed | Event::Exited { .. }
                )
            })
            .map(|queued| &queued.name)
            .collect();
        let waiting: Vec<(ServiceName, SystemTime, ServiceSpec)> = self
            .index
            .members(Set::Dependencies)
            .iter()
            .filter(|name| !told.contains(name))
            .filter_map(|name| self.units.get(name))
            // The wait began with the start (its state's since).
            .map(|unit| (unit.name.clone(), unit.since, unit.spec.clone()))
            .collect();
        self.look_for_log_lines(&waiting);
        for (name, since, spec) in waiting {
            let mut awaiting = None;
            let mut failed = None;
            for dependency in self.ordered_after(&name, &spec) {
                let Some(unit) = self.units.get(dependency) else {
                    continue;
                };
                let given = spec.condition(dependency);
                let condition = given.cloned().unwrap_or_default();
                let view = Dependency {
                    state: unit.life.state,
                    // A unit loaded by this very start has a since of now, and no change.
                    ended_since_wait: unit.changed.is_some_and(|at| at >= since),
                    started_with: spec.started_with().any(|d| d == dependency),
                    has_process: unit.process.pid.is_some(),
                    succeeded: unit
                        .last_exit
                        .is_some_and(|exit| unit.policy.succeeded(exit)),
                    healthy: self
                        .probes
                        .healthy(dependency, unit.spec.liveness.is_some()),
                    log_seen: match &condition {
                        Condition::LogReady(text) => unit.logs.iter().any(|log| log.seen(text)),
                        _ => false,
                    },
                };
                match condition.verdict(&view) {
                    Verdict::Met => {}
                    Verdict::Waiting => {
                        awaiting.get_or_insert_with(|| condition.waiting_for(dependency.as_str()));
                    }
                    // One not required and given no condition has settled all the same.
                    Verdict::Failed(why)
                        if given.is_some() || spec.requires.contains(dependency) =>
                    {
                        failed.get_or_insert(match given {
                            Some(condition) => format!(
                                "it waits for {}, which {why}",
                                condition.waiting_for(dependency.as_str())
                            ),
                            None => format!("it requires {dependency}, which {why}"),
                        });
                    }
                    Verdict::Failed(_) => {}
                }
            }
            let settled = awaiting.is_none();
            if let Some(unit) = self.units.get_mut(&name) {
                unit.note(|n| &mut n.awaiting, awaiting);
            }
            if let Some(reason) = failed {
                log(format_args!("{name}: {reason}"));
                self.journal.record(&name, format_args!("{reason}"));
                if let Some(unit) = self.unit(&name) {
                    unit.note(|n| &mut n.reason, Some(reason));
                }
                self.queue(&name, Event::StartFailed);
            } else if settled {
                log(format_args!("{name}: its dependencies have started"));
                self.queue(&name, Event::DependenciesSettled);
            }
        }
    }

    /// Has the logs of each dependency a `log_ready` condition waits on look for its text,
    /// and the others look for nothing.
    fn look_for_log_lines(&mut self, waiting: &[(ServiceName, SystemTime, ServiceSpec)]) {
        let wanted: Vec<(&ServiceName, &str)> = waiting
            .iter()
            .flat_map(|(_, _, spec)| &spec.conditions)
            .filter_map(|(dependency, condition)| match condition {
                Condition::LogReady(text) => Some((dependency, text.as_str())),
                _ => None,
            })
            .collect();
        // (Only while some log looks for a text: a pass over every log per event was a
        // quadratic cost at thousands of services.)
        if wanted.is_empty() && !self.logs_look {
            return;
        }
        self.logs_look = !wanted.is_empty();
        for unit in self.units.values_mut() {
            for log in &mut unit.logs {
                log.look_only_for(|text| wanted.contains(&(&unit.name, text)));
            }
        }
        for (dependency, text) in wanted {
            if let Some(unit) = self.units.get_mut(dependency) {
                for log in &mut unit.logs {
                    log.look_for(text);
                }
            }
        }
    }

    /// Services that require `name`, which stops (by request) or ended for good: they stop
    /// too, as with systemd's Requires=.
    pub(super) fn stop_what_requires(&mut self, name: &ServiceName) {
        let dependents: Vec<ServiceName> = self
            .index
            .required_by(name)
            .iter()
            .filter_map(|dependent| self.units.get(dependent))
            .filter(|unit| unit.spec.requires.contains(name))
            .filter(|unit| {
                matches!(
                    unit.life.state,
                    UnitState::Starting
                        | UnitState::Running
                        | UnitState::Reloading
                        | UnitState::Paused
                        | UnitState::Backoff
                )
            })
            .map(|unit| unit.name.clone())
            .collect();
        for dependent in dependents {
            self.journal.record(
                &dependent,
                format_args!("stopping: it requires {name}, which stops"),
            );
            self.queue(&dependent, Event::Stop);
        }
    }

    /// Runs a command of the service beside (or before) its main process: as its user, in
    /// its cgroup, its output in its logs. Its end is handled by its purpose.
    pub(super) fn spawn_control(
        &mut self,
        name: &ServiceName,
        argv: &[String],
        command: ControlCommand,
    ) {
        let Some(spec) = self.unit(name).map(|unit| unit.spec.clone()) else {
            return;
        };
        if argv.is_empty() {
            // Not in the definition (changed since the machine was told): done at once.
            self.control_ended(name, command, LastExit::Code(0), None);
            return;
        }
        let parts = match svckit_core::command::parts(argv) {
            Ok(parts) => parts,
            // Checked when the definition was read: a definition older than the check.
            Err(reason) => {
                let reason = format!("{}: {reason}", command.key());
                log(format_args!("{name}: {reason}"));
                let exit = LastExit::SpawnFailed(nix::libc::EINVAL);
                self.control_ended(name, command, exit, Some(reason));
                return;
            }
        };
        let args: Vec<OsString> = parts.args.iter().map(OsString::from).collect();
        // $MAINPID, as systemd gives its control processes (`kill -HUP $MAINPID`).
        let extra: Vec<(OsString, OsString)> = self
            .unit(name)
            .and_then(|unit| unit.process.pid)
            .map(|pid| ("MAINPID".into(), pid.to_string().into()))
            .into_iter()
            .collect();
        // Its cgroup: the main process's, or (before it) the service's.
        let cgroup = match self.unit(name).and_then(|unit| unit.process.cgroup.clone()) {
            Some(cgroup) => Some(cgroup),
            None => self.service_cgroup(name),
        };
        let spawned = self.spawn_process(
            name,
            &spec,
            Process {
                program: parts.program.as_ref(),
                argv0: parts.argv0.map(AsRef::as_ref),
                args: &args,
                prefix: parts.prefix,
                extra,
                ready: None,
                cgroup: cgroup.as_ref(),
                sockets: Vec::new(),
                stdio: None,
                main: false,
            },
        );
        match spawned {
            Ok((pid, _)) => {
                if let Some(unit) = self.unit(name) {
                    unit.control.started(pid, command);
                    if unit.process.cgroup.is_none() {
                        unit.process.cgroup = cgroup;
                    }
                    self.index.owns(pid, name);
                }
            }
            Err((errno, reason)) => {
                log(format_args!("{name}: {reason}"));
                self.control_ended(name, command, LastExit::SpawnFailed(errno), Some(reason));
            }
        }
    }

    /// A control command ended (or could not start, `failed` saying why): the machine is
    /// told; a reload's failure is kept for who waits for it.
    fn control_ended(
        &mut self,
        name: &ServiceName,
        command: ControlCommand,
        exit: LastExit,
        failed: Option<String>,
    ) {
        if command == ControlCommand::Reload
            && let Some(unit) = self.unit(name)
        {
            unit.control.reload_ended(exit, failed);
        }
        self.queue(name, Event::CommandEnded { command, exit });
    }

    /// A readiness pipe or a pidfd.
    pub(super) fn on_unit_fd(&mut self, token: Token) {
        let Some(name) = self
            .units
            .values()
            .find(|unit| {
                unit.process
                    .ready
                    .as_ref()
                    .is_some_and(|(t, _)| *t == token)
                    || unit
                        .process
                        .pidfd
                        .as_ref()
                        .is_some_and(|(t, _)| *t == token)
            })
            .map(|unit| unit.name.clone())
        else {
            return;
        };
        let Some(unit) = self.unit(&name) else {
            return;
        };
        if let Some((_, fd)) = unit.process.ready.as_ref().filter(|(t, _)| *t == token) {
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
                && let Some((_, fd)) = unit.process.ready.take()
            {
                unwatch(&self.poll, &fd);
            }
            if said_ready {
                self.queue(&name, Event::Ready);
            }
            return;
        }
        // The pidfd of an adopted process: it ended. Not our child, so no status to read.
        if let Some((_, fd)) = unit.process.pidfd.take() {
            unwatch(&self.poll, &fd);
            self.main_ended(&name, LastExit::Unknown);
        }
    }

    /// A forking program's daemon, once its launcher exited 0: the pid its pid file names, if
    /// that process is the service's (in its cgroup; without one, orphaned to the supervisor,
    /// as a daemon that left its launcher is); else, with a cgroup, the one process at the root
    /// of what is left (a master with its workers). Polled until found or the ready timeout;
    /// found, the service runs.
    pub(super) fn find_main(&mut self, name: &ServiceName) {
        let supervisor = Pid::this_process();
        let Some(unit) = self.unit(name) else {
            return;
        };
        if unit.life.phase != Phase::FindingMain {
            return;
        }
        let cgroup_pids = unit.process.cgroup.as_ref().map(Cgroup::pids);
        let of_service = |pid: Pid| match &cgroup_pids {
            Some(pids) => pids.contains(&pid),
            None => process::parent(pid) == Some(supervisor),
        };
        let found = match &unit.spec.pid_file {
            Some(path) => svckit_unix::pidfile::read_program_pid(path)
                .filter(|pid| !process::is_gone(*pid) && of_service(*pid)),
            None => cgroup_pids.as_deref().and_then(root_of),
        };
        let Some(pid) = found else {
            return;
        };
        self.pid_files.unwatch(name);
        let Some(unit) = self.unit(name) else {
            return;
        };
        unit.process.pid = Some(pid);
        unit.process.pgid = process::group(pid);
        unit.process.sid = process::session(pid);
        unit.process.start_ticks = process::start_time(pid).ok();
        unit.process.started = Some((Instant::now(), SystemTime::now()));
        self.index.owns(pid, name);
        log(format_args!("{name}: its daemon is PID {pid}"));
        self.queue(name, Event::Ready);
    }

    /// Watches the directory of `name`'s pid file (a forking daemon awaited): its writing is
    /// an event of the loop ([`PidFiles`](super::pid_files::PidFiles)).
    pub(super) fn watch_pid_file(&mut self, name: &ServiceName) {
        let Some(dir) = self
            .unit(name)
            .and_then(|unit| unit.spec.pid_file.as_ref()?.parent().map(ToOwned::to_owned))
        else {
            return;
        };
        self.pid_files.watch(&self.poll, PID_FILES, &dir, name);
    }

    /// Whether `unit` awaits its daemon's pid file and no watch tells when it is written:
    /// then the loop looks for it every 10 ms.
    pub(super) fn pid_file_polled(&self, unit: &Unit) -> bool {
        unit.life.phase == Phase::FindingMain
            && unit.spec.pid_file.is_some()
            && !self.pid_files.watched(&unit.name)
    }

    /// Something was written in a watched directory: the services awaiting a pid file there
    /// look for their daemon.
    pub(super) fn on_pid_files(&mut self) {
        for name in self.pid_files.written() {
            self.find_main(&name);
        }
    }

    /// Makes `pid` (a process of the service) its main process: MAINPID=, or a forking
    /// daemon's successor. Its end comes by SIGCHLD if it is our child, else by a pidfd.
    pub(super) fn make_main(&mut self, name: &ServiceName, pid: Pid) {
        let ours = process::parent(pid) == Some(Pid::this_process());
        let watched = match ours {
            true => None,
            false => process::pidfd(pid).ok().and_then(|fd| {
                let token = self.token();
                watch(&self.poll, &fd, token).ok().map(|()| (token, fd))
            }),
        };
        let Some(unit) = self.unit(name) else {
            return;
        };
        unit.process.pid = Some(pid);
        unit.process.start_ticks = process::start_time(pid).ok();
        if let Some((_, old)) = std::mem::replace(&mut unit.process.pidfd, watched) {
            unwatch(&self.poll, &old);
        }
        self.index.owns(pid, name);
    }

    pub(super) fn main_ended(&mut self, name: &ServiceName, exit: LastExit) {
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        // A running forking service's daemon may hand over to another (nginx's binary
        // upgrade: USR2 starts a new master, which writes the pid file, then the old one
        // quits). As systemd does with PIDFile=, the pid file is read again when the main
        // process ends: a live process of the service it names is the main process now.
        let handed_over = match (&unit.spec.pid_file, unit.spec.service_type, unit.life.state) {
            (Some(path), ServiceType::Forking, UnitState::Running | UnitState::Reloading) => {
                svckit_unix::pidfile::read_program_pid(path).filter(|pid| {
                    unit.process.pid != Some(*pid)
                        && !process::is_gone(*pid)
                        && unit.process.contains(*pid)
                })
            }
            _ => None,
        };
        if let Some(next) = handed_over {
            log(format_args!(
                "{name}: main process {} ended ({exit}); its pid file names PID {next}, the \
                 main process now",
                unit.process.pid.map_or(0, Pid::get)
            ));
            self.make_main(name, next);
            self.persist(name);
            return;
        }
        if let Some(pid) = unit.process.pid.take() {
            self.index.take_owner(pid);
        }
        for (_, fd) in [unit.process.ready.take(), unit.process.pidfd.take()]
            .into_iter()
            .flatten()
        {
            unwatch(&self.poll, &fd);
        }
        let uptime = unit
            .process
            .started
            .take()
            .map(|(at, _)| at.elapsed())
            .unwrap_or_default();
        self.queue(name, Event::Exited { exit, uptime });
    }

    /// Reaps every child that has ended: main processes become Exited events; anything else
    /// (orphans reparented to us as subreaper or PID 1) is just reaped.
    pub(super) fn reap(&mut self) {
        process::reap_children(|pid, exit| self.reaped(pid, exit));
        // A process of ours left: a forking daemon may stand alone now.
        for name in self.index.list(Set::FindingMain) {
            self.find_main(&name);
        }
        self.check_groups();
    }

    pub(super) fn reaped(&mut self, pid: Pid, exit: LastExit) {
        // A main process or a control command: its service is noted in the index (a look
        // through every service for each child reaped made a stop of all quadratic).
        if let Some(name) = self.index.take_owner(pid) {
            let Some(unit) = self.units.get_mut(&name) else {
                return self.reaped_other(pid, exit);
            };
            if let Some(command) = unit.control.ended(pid) {
                self.reindex(&name);
                self.control_ended(&name, command, exit, None);
                return;
            }
            if unit.process.pid == Some(pid) {
                self.drain_unit(&name);
                self.main_ended(&name, exit);
                return;
            }
        }
        self.reaped_other(pid, exit);
    }

    /// A child that is no service's main process or control command: an instance, a probe's
    /// command, or another process of a service (reaped as the subreaper's orphan).
    fn reaped_other(&mut self, pid: Pid, exit: LastExit) {
        let _ = self.instance_ended(pid, exit) || self.probe_ended(pid, exit);
    }
}

/// The one process of `pids` whose parent is not among them (a master, not its workers).
fn root_of(pids: &[Pid]) -> Option<Pid> {
    let mut roots = pids
        .iter()
        .copied()
        .filter(|pid| !process::parent(*pid).is_some_and(|parent| pids.contains(&parent)));
    let root = roots.next()?;
    roots.next().is_none().then_some(root)
}

/// The environment a process of `spec` runs in as `credentials`' user: its `env`, its
/// environment files (read now: an edit takes effect at the next start or check),
/// `RUNTIME_DIRECTORY`, then `extra`. An error says what could not be read
/// (`environment_file PATH`).
pub(super) fn service_environment(
    spec: &ServiceSpec,
    credentials: Option<&Credentials>,
    extra: Vec<(OsString, OsString)>,
) -> Result<Vec<(OsString, OsString)>, (io::Error, String)> {
    let mut set: Vec<(OsString, OsString)> =
        spec.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    for file in &spec.environment_file {
        let (optional, path) = match file.strip_prefix('-') {
            Some(path) => (true, path),
            None => (false, file.as_str()),
        };
        match environment::read_file(std::path::Path::new(path)) {
            Ok(vars) => set.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into()))),
            Err(err) if optional && err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err((err, format!("environment_file {path}"))),
        }
    }
    let runtime: Vec<String> = runtime_directories(spec)
        .iter()
        .map(|dir| dir.display().to_string())
        .collect();
    if !runtime.is_empty() {
        set.push(("RUNTIME_DIRECTORY".into(), runtime.join(":").into()));
    }
    for (kind, paths) in kept_directories(spec) {
        let paths: Vec<String> = paths.iter().map(|dir| dir.display().to_string()).collect();
        set.push((kind.variable().into(), paths.join(":").into()));
    }
    set.extend(extra);
    Ok(environment::for_service(credentials, &set))
}

/// `args` with the `$VAR`s of `env` expanded (systemd's rules, [`svckit_core::command::expand`]).
fn expand_args(args: &[OsString], env: &[(OsString, OsString)]) -> Vec<OsString> {
    let words: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(key, _)| key.as_os_str() == name)
            .and_then(|(_, value)| value.to_str())
    };
    svckit_core::command::expand(&words, lookup)
        .into_iter()
        .map(OsString::from)
        .collect()
}

/// Where a service's runtime directories are: under /run for root, else under
/// `$XDG_RUNTIME_DIR` (none without it).
pub(super) fn runtime_directories(spec: &ServiceSpec) -> Vec<std::path::PathBuf> {
    match svckit_unix::dirs::runtime_base() {
        Some(base) => spec
            .runtime_directory
            .iter()
            .map(|dir| base.join(dir))
            .collect(),
        None => Vec::new(),
    }
}

/// Who a service's directories belong to: its user and group (the supervisor's when it names
/// none).
type Owner = Option<(Option<nix::unistd::Uid>, Option<nix::unistd::Gid>)>;

/// The owner of the directories a start makes for the service, its user resolved once for
/// all of them (none when it has no directory to make). An error names the first key that
/// asks for one.
fn directory_owner(spec: &ServiceSpec) -> Result<Owner, String> {
    let kept = spec.directories.as_deref().and_then(|directories| {
        svckit_core::DirectoryKind::ALL
            .into_iter()
            .find(|kind| !directories.of(*kind).0.is_empty())
    });
    let key = match (spec.runtime_directory.is_empty(), kept) {
        (false, _) => "runtime_directory",
        (true, Some(kind)) => kind.key(),
        (true, None) => return Ok(None),
    };
    let credentials = Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())
        .map_err(|err| format!("{key}: {err}"))?;
    Ok(credentials.map(|credentials| {
        let uid = credentials.user.as_ref().map(|user| user.uid);
        (uid, Some(credentials.gid))
    }))
}

/// Where the service's state, cache, logs and configuration directories are, by kind (those
/// it has; none where there is no place for them).
pub(super) fn kept_directories(
    spec: &ServiceSpec,
) -> Vec<(svckit_core::DirectoryKind, Vec<std::path::PathBuf>)> {
    let Some(directories) = spec.directories.as_deref() else {
        return Vec::new();
    };
    svckit_core::DirectoryKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let (names, _) = directories.of(kind);
            let base = svckit_unix::dirs::kept_base(kind)?;
            (!names.is_empty()).then(|| (kind, names.iter().map(|dir| base.join(dir)).collect()))
        })
        .collect()
}

/// Makes the service's state, cache, logs and configuration directories as systemd does: each
/// component reached without following a symlink, parents made 0755, the directory itself
/// given its mode (0755 unless said) and, but for configuration directories (root's: its
/// program reads them), its user and group. Never removed. A directory already there gets
/// its owner and mode again, not its contents: a chown through a tree its user can write is
/// how a hard link turns root's chown against another file.
fn make_kept_directories(spec: &ServiceSpec, owner: Owner) -> Result<(), String> {
    let Some(directories) = spec.directories.as_deref() else {
        return Ok(());
    };
    for kind in svckit_core::DirectoryKind::ALL {
        let (names, mode) = directories.of(kind);
        if names.is_empty() {
            continue;
        }
        let Some(base) = svckit_unix::dirs::kept_base(kind) else {
            return Err(format!("{}: no $HOME to put it under", kind.key()));
        };
        let owner = match kind {
            svckit_core::DirectoryKind::Configuration => None,
            _ => owner,
        };
        // The base itself, as systemd makes it (~/.local/state for a user).
        if !base.is_dir() {
            fs::create_dir_all(&base)
                .map_err(|err| format!("{} {}: {err}", kind.key(), base.display()))?;
        }
        svckit_unix::dirs::make_all(&base, names, mode.unwrap_or(0o755), owner)
            .map_err(|err| format!("{} {err}", kind.key()))?;
    }
    Ok(())
}

/// Makes the service's runtime directories (mode 0755 unless said, its user's), every component reached
/// without following a symlink ([`svckit_unix::dirs::make`]): a directory there already is
/// taken over, a symlink or file at any component refused and left as it is. Returns what it
/// created, the only directories its stop removes.
fn make_runtime_directories(
    spec: &ServiceSpec,
    owner: Owner,
) -> Result<svckit_unix::dirs::Made, String> {
    if spec.runtime_directory.is_empty() {
        return Ok(svckit_unix::dirs::Made::default());
    }
    let Some(base) = svckit_unix::dirs::runtime_base() else {
        return Err(
            "runtime_directory: no $XDG_RUNTIME_DIR for a supervisor that is not root".into(),
        );
    };
    let mode = spec
        .directories
        .as_deref()
        .and_then(|directories| directories.runtime_mode)
        .unwrap_or(0o755);
    svckit_unix::dirs::make_all(&base, &spec.runtime_directory, mode, owner)
        .map_err(|err| format!("runtime_directory {err}"))
}

/// Removes the runtime directories svckit made for the service (`made`) once nothing of it
/// is left: never one that was there before, nor anything swapped in at their paths since.
pub(super) fn remove_runtime_directories(made: &svckit_unix::dirs::Made) -> io::Result<()> {
    if made.created.is_empty() {
        return Ok(());
    }
    match svckit_unix::dirs::runtime_base() {
        Some(base) => svckit_unix::dirs::remove(&base, made),
        None => Ok(()),
    }
}
