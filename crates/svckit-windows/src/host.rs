//! The service host: svckit.exe registered as the service of a program that knows nothing of
//! the SCM (`svckit.exe host NAME`). The host answers the SCM and runs the program as its
//! child, in a Job object, with the definition's arguments, environment and working
//! directory, its stdout and stderr appended to log files; the program's end is the service's
//! (its exit code, other than 0, the service-specific one). Restarts follow the definition's
//! policy, decided by the supervisor's own table. A stop asks the program to end as a person
//! would, Ctrl-C to the console the host gives it (and WM_CLOSE to its windows, if it has
//! any), then ends the whole job after `stop.timeout`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use svckit_core::{
    Accept, Context, Control, ExitCode, HostedStatus, LastExit, Pid, Service, ServiceSpec,
    ServiceType,
    health::{Check, Health, Probe, Role, Tracker},
    journal::Journal,
    logfiles::LogFile,
    machine::{self, Action, ControlCommand, Event, History, Lifecycle, Policy, UnitState, Words},
};

use crate::{
    capture,
    job::{self, Job},
};

/// How often the host looks at its program between controls.
const POLL: Duration = Duration::from_millis(100);
/// How often the record says what the program's job uses while it runs.
const USAGE_EVERY: Duration = Duration::from_secs(1);

/// The service hosting `spec`'s program, its output appended to `NAME.stdout.log` and
/// `NAME.stderr.log` in `DATA\logs`, its state written to `DATA\run\NAME.status` (a
/// [`HostedStatus`]) at every change.
pub fn service(spec: ServiceSpec, data: &Path) -> Service {
    let data = data.to_owned();
    let stop_hint = spec.stop.timeout + Duration::from_secs(5);
    // Pause and Continue suspend and resume the job's processes; ParamChange runs the
    // definition's reload command, when it has one.
    let mut accept = Accept::STOP | Accept::SHUTDOWN | Accept::PAUSE_CONTINUE;
    if !spec.reload.command.is_empty() {
        accept |= Accept::PARAMCHANGE;
    }
    Service::new(spec.name.clone(), move |ctx| host(&ctx, &spec, &data))
        .accept(accept)
        .stop_wait_hint(stop_hint)
}

/// The host's life, as the supervisor's table decides it (`svckit_core::machine`, the same
/// cells as on Unix): start the program in a job, report running, restart it by its policy
/// with backoff and start limit, stop it on the SCM's Stop.
fn host(ctx: &Context, spec: &ServiceSpec, data: &Path) -> ExitCode {
    let logs = &data.join("logs");
    if let Err(err) = std::fs::create_dir_all(logs) {
        // Nowhere to say it but the event log and the exit code: ERROR_OPEN_FAILED.
        let _ = crate::report_error_event(
            spec.name.as_str(),
            &format!("svckit host: cannot make {}: {err}", logs.display()),
        );
        return ExitCode::Win32(110);
    }
    // One writer per stream, shared by the program's and its commands' capture threads and
    // the host's own lines: the rotator is the only one to move the files.
    let output = ["stdout", "stderr"].map(|stream| {
        Arc::new(Mutex::new(LogFile::new(
            logs.join(format!("{}.{stream}.log", spec.name)),
            spec.logs.max_size,
            spec.logs.keep,
        )))
    });
    let mut host = Host {
        spec,
        output,
        job: None,
        child: None,
        started: Instant::now(),
        started_at: SystemTime::now(),
        timer: None,
        last_exit: None,
        stop_asked: false,
        interrupted: false,
        console: true,
        starts: 0,
        restarts: 0,
        record: data.join("run").join(format!("{}.status", spec.name)),
        journal: Journal::new(logs.join(format!("{}.events.log", spec.name))),
        recorded: Instant::now(),
        probes: Probes::default(),
    };
    if let Err(err) = job::own_console() {
        host.console = false;
        host.say(format_args!(
            "no console for the program ({err}): a stop ends its processes at once"
        ));
    }
    let policy = Policy {
        restart: spec.restart,
        stop_timeout: spec.stop.timeout,
        // A readiness probe's wait is bounded as the supervisor bounds it.
        ready_timeout: spec
            .timeout_start
            .or(spec.readiness.is_some().then_some(spec.ready_timeout)),
        service_type: ServiceType::Exec,
        reload_by_command: !spec.reload.command.is_empty(),
        success_exit: spec.success_exit_status.clone(),
        restart_prevent: spec.restart_prevent_exit_status.clone(),
        // The SCM starts its dependencies; there are no runtime directories to make.
        prepare: false,
        start_pre: spec.exec_start_pre.len(),
        start_post: spec.exec_start_post.len(),
        stop_commands: spec.exec_stop.len(),
        stop_post: spec.exec_stop_post.len(),
        failure_ignored: spec.failure_ignored(),
        program_failure_ignored: spec.program_prefix.ignore_failure,
        send_sigkill: spec.send_sigkill,
        // Refused on Windows at install (the SCM starts nothing on a connection).
        on_demand: false,
        accept: false,
        // Run by the host's probe threads (Host::start_probing), judged in its loop.
        readiness_probe: spec.readiness.is_some(),
        liveness_probe: spec.liveness.is_some(),
        on_unhealthy: spec.on_unhealthy,
    };
    let mut history = History::default();
    let mut life = Lifecycle::STOPPED;
    let mut events = std::collections::VecDeque::from([Event::Start]);
    loop {
        let changed = !events.is_empty();
        while let Some(event) = events.pop_front() {
            let Ok(transition) =
                machine::transition(life, event, &policy, &mut history, Instant::now())
            else {
                // Refused (a Pause while it waits to restart): the SCM hears it did not happen.
                if matches!(event, Event::Pause | Event::Continue) {
                    ctx.cancel_pending();
                }
                continue;
            };
            life = transition.next;
            for action in transition.actions {
                host.act(action, &mut events);
            }
            // RUNNING once started, continued or reloaded; PAUSED once suspended.
            match life.state {
                UnitState::Running => ctx.ready(),
                UnitState::Paused => ctx.paused(),
                _ => {}
            }
        }
        // At every change, and every second while it runs: what its job uses is in it.
        if changed || life.state.has_process() && host.recorded.elapsed() >= USAGE_EVERY {
            host.record(life.state);
        }
        match life.state {
            UnitState::Stopped | UnitState::Exited | UnitState::Failed => {
                return host.exit_code(life.state, &policy);
            }
            _ => {}
        }
        if let Some(child) = &mut host.child
            && let Ok(Some(status)) = child.try_wait()
        {
            let uptime = host.started.elapsed();
            host.child = None;
            let exit = last_exit(status);
            events.push_back(Event::Exited { exit, uptime });
            continue;
        }
        // Stopping, the program reaped: the stop is done once nothing of its job is left.
        if life.state == UnitState::Stopping && host.child.is_none() && host.job_is_empty() {
            events.push_back(Event::GroupGone);
            continue;
        }
        if host.timer.is_some_and(|at| at <= Instant::now()) {
            host.timer = None;
            events.push_back(Event::Timer);
            continue;
        }
        // The probes' results: a changed verdict is the machine's to decide on.
        if host.take_results(&mut events) {
            continue;
        }
        match ctx.recv_timeout(POLL) {
            Some(Control::Stop | Control::Shutdown) => {
                host.stop_asked = true;
                ctx.checkpoint(spec.stop.timeout);
                events.push_back(Event::Stop);
            }
            Some(Control::Pause) => events.push_back(Event::Pause),
            Some(Control::Continue) => events.push_back(Event::Continue),
            Some(Control::ParamChange) => events.push_back(Event::Reload),
            _ => {}
        }
    }
}

/// What the host carries out of the machine's actions.
struct Host<'a> {
    spec: &'a ServiceSpec,
    /// The program's stdout and stderr logs; the host's own lines (why a start failed, a
    /// give-up) go to its stderr log.
    output: [Arc<Mutex<LogFile>>; 2],
    job: Option<Job>,
    child: Option<Child>,
    started: Instant,
    /// The same, by the clock, for the record.
    started_at: SystemTime,
    timer: Option<Instant>,
    last_exit: Option<LastExit>,
    stop_asked: bool,
    /// The job's processes were asked to end since the last start.
    interrupted: bool,
    /// The host has a console to send Ctrl-C to.
    console: bool,
    /// Starts of the program since the host started.
    starts: u32,
    /// Automatic restarts, counted from 0 again by a start (as the supervisor counts them).
    restarts: u32,
    /// The service's event log (`NAME.events.log`): its story in the machine's words, as
    /// the Unix supervisor tells it.
    journal: Journal,
    /// When the record was last written.
    recorded: Instant,
    /// Where the host's [`HostedStatus`] record goes.
    record: PathBuf,
    /// The probes that run.
    probes: Probes,
}

/// The host's probes: a thread each paces and runs its checks (they block); the host's loop
/// counts their results ([`Tracker`], as the supervisor does) and tells the machine a
/// changed verdict.
struct Probes {
    running: std::collections::BTreeMap<Role, Prober>,
    /// Numbers the probers: a result of one stopped since is not counted.
    started: u64,
    results: (
        std::sync::mpsc::Sender<Checked>,
        std::sync::mpsc::Receiver<Checked>,
    ),
}

impl Default for Probes {
    fn default() -> Probes {
        Probes {
            running: std::collections::BTreeMap::new(),
            started: 0,
            results: std::sync::mpsc::channel(),
        }
    }
}

/// One probe that runs.
struct Prober {
    number: u64,
    tracker: Tracker,
    failure_threshold: u32,
    /// What it checks, in words.
    check: String,
    /// What its last check came to.
    last: Option<String>,
    /// When its verdict last changed (or it began).
    since: SystemTime,
    /// Set to end its thread.
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// One check's result, from a probe's thread.
struct Checked {
    role: Role,
    number: u64,
    passed: bool,
    what: String,
}

impl Host<'_> {
    fn act(&mut self, action: Action, events: &mut std::collections::VecDeque<Event>) {
        match action {
            Action::SpawnProgram => self.start_program(events),
            // A command of the service, to its end (the host has nothing else to do then).
            Action::RunCommand(command) => {
                let spec = self.spec;
                let (argv, timeout) = match command {
                    ControlCommand::StartPre(index) => {
                        (spec.exec_start_pre.get(index), spec.ready_timeout)
                    }
                    ControlCommand::StartPost(index) => {
                        (spec.exec_start_post.get(index), spec.ready_timeout)
                    }
                    ControlCommand::Stop(index) => (spec.exec_stop.get(index), spec.stop.timeout),
                    ControlCommand::StopPost(index) => {
                        (spec.exec_stop_post.get(index), spec.stop.timeout)
                    }
                    ControlCommand::Reload => (Some(&spec.reload.command), spec.stop.timeout),
                };
                let exit = match argv {
                    Some(argv) => {
                        match self.run_commands(command.key(), std::slice::from_ref(argv), timeout)
                        {
                            Ok(()) => LastExit::Code(0),
                            Err(exit) => exit,
                        }
                    }
                    None => LastExit::Code(0),
                };
                events.push_back(Event::CommandEnded { command, exit });
            }
            // How it last ended, as the machine decided (a failed pre-start command's is the
            // start's).
            Action::RecordExit(exit) => self.last_exit = Some(exit),
            // Ctrl-C (and WM_CLOSE) to what is left of the job: the program, or what it
            // left behind when it ended; without a console, the job ends at once.
            Action::SignalStop => {
                if self.job_is_empty() {
                    return;
                }
                let asked = match (&self.job, self.console) {
                    (Some(job), true) => job.interrupt().map(|_| ()),
                    _ => Err(std::io::Error::other("no console")),
                };
                match asked {
                    Ok(()) => self.interrupted = true,
                    Err(err) => {
                        self.say(format_args!("cannot interrupt the program ({err})"));
                        self.end_job(events);
                    }
                }
            }
            Action::KillGroup => {
                if self.interrupted && !self.job_is_empty() {
                    self.say(format_args!(
                        "{} still running {} after Ctrl-C: its processes are ended",
                        self.spec.program.display(),
                        svckit_core::parse::format_duration(self.spec.stop.timeout)
                    ));
                }
                self.end_job(events);
            }
            Action::Suspend => {
                if let Some(Err(err)) = self.job.as_ref().map(Job::suspend) {
                    self.say(format_args!("cannot suspend the program: {err}"));
                }
            }
            Action::Resume => {
                if let Some(Err(err)) = self.job.as_ref().map(Job::resume) {
                    self.say(format_args!("cannot resume the program: {err}"));
                }
            }
            // No signal to send on Windows: a reload is its command (RunCommand).
            Action::ArmTimer(after) => self.timer = Some(Instant::now() + after),
            Action::CancelTimer => self.timer = None,
            // Told in the event log by the machine ("gave up"); said where Windows looks too.
            Action::CrashLoop => {
                let what = format!(
                    "started {} times within {}, the start limit; not restarted again",
                    self.spec.restart.limit,
                    svckit_core::parse::format_duration(self.spec.restart.window)
                );
                self.say(format_args!("{what}"));
                let name = self.spec.name.as_str();
                let _ = crate::report_error_event(name, &format!("svckit host: {what}"));
            }
            Action::CountRestart => self.restarts += 1,
            Action::ResetRestarts => self.restarts = 0,
            Action::Tell(told) => {
                let words = Words {
                    spec: self.spec,
                    restarts: self.restarts,
                    main_pid: self.child.as_ref().and_then(|child| Pid::new(child.id())),
                    reason: None,
                    stop: if self.console {
                        "Ctrl-C"
                    } else {
                        "the end of its job"
                    },
                    kill: "its processes ended",
                };
                let line = told.words(&words);
                self.journal.record(&self.spec.name, format_args!("{line}"));
            }
            // A new job for the next start.
            Action::ClearGroup => self.job = None,
            Action::Probe(role) => self.start_probing(role),
            Action::Unprobe(role) => self.stop_probing(role),
            Action::NotReady { .. } => {
                let within = svckit_core::parse::format_duration(self.spec.ready_timeout);
                self.alarm(format_args!("not ready within {within}"));
            }
            _ => {}
        }
    }

    /// Starts the program: it is ready once it runs (its post-start commands, if any, run
    /// then, as the machine says).
    fn start_program(&mut self, events: &mut std::collections::VecDeque<Event>) {
        let spec = self.spec;
        match self.spawn() {
            Ok(()) => events.push_back(Event::Ready),
            Err(err) => {
                self.alarm(format_args!(
                    "cannot start {}: {err}",
                    spec.program.display()
                ));
                let errno = err.raw_os_error().unwrap_or(2);
                let exit = LastExit::SpawnFailed(errno);
                events.push_back(Event::Exited {
                    exit,
                    uptime: Duration::ZERO,
                });
            }
        }
    }

    /// Runs `commands` (the definition's `key`) in order, each as [`Host::run_command`]
    /// does, up to `timeout` each; the first that fails ends the run, said in the logs and
    /// the event log, with how it ended.
    fn run_commands(
        &mut self,
        key: &str,
        commands: &[Vec<String>],
        timeout: Duration,
    ) -> Result<(), LastExit> {
        for argv in commands {
            // Its prefixes: `-` is the machine's (Policy::failure_ignored); `+`, `!` and `@`
            // are refused at install, `:` asks nothing of a host that expands nothing.
            let Ok(svckit_core::command::Parts { program, args, .. }) =
                svckit_core::command::parts(argv)
            else {
                continue;
            };
            let line = argv.join(" ");
            match self.run_command(program, args, timeout) {
                Ok(Some(exit)) if exit.success() => {}
                Ok(Some(exit)) => {
                    self.alarm(format_args!("{key} `{line}` ended with {exit}"));
                    return Err(exit);
                }
                Ok(None) => {
                    self.alarm(format_args!(
                        "{key} `{line}` did not end within {}; its processes are ended",
                        svckit_core::parse::format_duration(timeout)
                    ));
                    return Err(LastExit::Unknown);
                }
                Err(err) => {
                    self.alarm(format_args!("{key} `{line}` could not run: {err}"));
                    return Err(LastExit::SpawnFailed(err.raw_os_error().unwrap_or(2)));
                }
            }
        }
        Ok(())
    }

    /// Runs one command of the service beside its program: in a job of its own (what it
    /// leaves is ended with it), with the program's environment and directory and $MAINPID
    /// (the program's pid, while it runs), its output in the program's logs. How it ended,
    /// or None when it outlasted `timeout`.
    fn run_command(
        &mut self,
        program: &str,
        args: &[String],
        timeout: Duration,
    ) -> std::io::Result<Option<LastExit>> {
        let job = Job::new()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(child) = &self.child {
            command.env("MAINPID", child.id().to_string());
        }
        if let Some(dir) = &self.spec.working_dir {
            command.current_dir(dir);
        }
        let mut child = job.spawn(&mut command)?;
        let readers = self.capture(&mut child)?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // What it left, and it, if it outlasted its time: the pipes close with them.
        let _ = job.terminate(1);
        let _ = child.wait();
        for reader in readers {
            let _ = reader.join();
        }
        Ok(status.map(last_exit))
    }

    /// Ends every process of the job and reaps the program; the loop then sees the job empty
    /// and tells the machine the group is gone.
    fn end_job(&mut self, events: &mut std::collections::VecDeque<Event>) {
        if let Some(job) = &self.job {
            let _ = job.terminate(1);
        }
        if let Some(mut child) = self.child.take() {
            let status = child.wait();
            let uptime = self.started.elapsed();
            if let Ok(status) = status {
                let exit = last_exit(status);
                events.push_back(Event::Exited { exit, uptime });
            }
        }
    }

    /// No process of the job is left (or there is no job). When the job cannot be asked, the
    /// program's end is all there is to go by.
    fn job_is_empty(&self) -> bool {
        match &self.job {
            None => true,
            Some(job) => job
                .processes()
                .map_or(self.child.is_none(), |pids| pids.is_empty()),
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let job = Job::new()?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.spec.working_dir {
            command.current_dir(dir);
        }
        let mut child = job.spawn(&mut command)?;
        self.capture(&mut child)?;
        self.journal.record(
            &self.spec.name,
            format_args!(
                "started {}: PID {}",
                self.spec.program.display(),
                child.id()
            ),
        );
        self.child = Some(child);
        self.job = Some(job);
        self.started = Instant::now();
        self.started_at = SystemTime::now();
        self.interrupted = false;
        self.starts += 1;
        Ok(())
    }

    /// Each of `child`'s streams into its rotated log, by a thread of its own, until the
    /// pipe closes.
    fn capture(&self, child: &mut Child) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
        let [stdout, stderr] = &self.output;
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(capture::capture(out, stdout.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(capture::capture(err, stderr.clone()));
        }
        Ok(readers)
    }

    /// Rewrites the host's record of the program (see [`HostedStatus`]): written aside, then
    /// renamed over the old one, so a reader never sees half of it.
    fn record(&mut self, state: UnitState) {
        self.recorded = Instant::now();
        let usage = self.job.as_ref().and_then(|job| job.usage().ok());
        let child = self.child.as_ref();
        let status = HostedStatus {
            pid: child.map(Child::id),
            started_ms: child.and_then(|_| HostedStatus::millis(self.started_at)),
            restarts: self.starts.saturating_sub(1),
            last_exit: self.last_exit,
            state: state.name().to_owned(),
            host_pid: Some(std::process::id()),
            tasks: usage.map(|(tasks, _, _)| tasks),
            cpu_usec: usage.map(|(_, cpu, _)| cpu.as_micros() as u64),
            memory_bytes: usage.map(|(_, _, memory)| memory),
            probes: self
                .probes
                .running
                .iter()
                .map(|(role, prober)| svckit_core::health::Report {
                    role: role.name().to_owned(),
                    check: prober.check.clone(),
                    health: prober.tracker.health.name().to_owned(),
                    failures: prober.tracker.failures,
                    last: prober.last.clone(),
                    since_ms: HostedStatus::millis(prober.since),
                })
                .collect(),
        };
        let Some(dir) = self.record.parent() else {
            return;
        };
        let aside = self.record.with_extension("status.new");
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&aside, status.to_toml()))
            .and_then(|()| std::fs::rename(&aside, &self.record));
    }

    /// One line of the host's own in the program's stderr log.
    fn say(&mut self, what: std::fmt::Arguments<'_>) {
        let line = format!("svckit host: {what}\n");
        capture::append(&self.output[1], line.as_bytes());
    }

    /// A failure of the service's: in the program's stderr log, in Windows' event log and in
    /// the service's own.
    fn alarm(&mut self, what: std::fmt::Arguments<'_>) {
        self.say(what);
        let _ = crate::report_error_event(self.spec.name.as_str(), &format!("svckit host: {what}"));
        self.journal.record(&self.spec.name, what);
    }

    /// How the service ended: a stop asked for is a clean stop, and so is an end the policy
    /// counts as success (0, or a success_exit_status); otherwise the program's last exit (its
    /// code the service's own).
    fn exit_code(&mut self, state: UnitState, policy: &Policy) -> ExitCode {
        if let Some(job) = &self.job {
            let _ = job.terminate(1);
        }
        if self.stop_asked && state == UnitState::Stopped {
            return ExitCode::SUCCESS;
        }
        if self.last_exit.is_some_and(|exit| policy.succeeded(exit)) {
            return ExitCode::SUCCESS;
        }
        match self.last_exit {
            Some(LastExit::Code(0)) | None => ExitCode::SUCCESS,
            Some(LastExit::Code(code)) => ExitCode::ServiceSpecific(code as u32),
            Some(LastExit::SpawnFailed(errno)) => ExitCode::Win32(errno as u32),
            Some(_) => ExitCode::ServiceSpecific(1),
        }
    }
}

impl Host<'_> {
    /// Begins `role`'s probe: a thread that waits its initial delay, then runs a check each
    /// period (the next a period after the last began), until it is stopped.
    fn start_probing(&mut self, role: Role) {
        let probe = match role {
            Role::Readiness => self.spec.readiness.clone(),
            Role::Liveness => self.spec.liveness.clone(),
        };
        let Some(probe) = probe else {
            return;
        };
        self.stop_probing(role);
        self.probes.started += 1;
        let number = self.probes.started;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.probes.running.insert(
            role,
            Prober {
                number,
                tracker: Tracker::for_role(&probe, role),
                failure_threshold: probe.failure_threshold,
                check: probe.check.to_string(),
                last: None,
                since: SystemTime::now(),
                stop: stop.clone(),
            },
        );
        let results = self.probes.results.0.clone();
        let spec = self.spec.clone();
        std::thread::spawn(move || {
            let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
            let mut next = Instant::now() + probe.initial_delay;
            loop {
                while Instant::now() < next {
                    if stopped() {
                        return;
                    }
                    std::thread::sleep(
                        next.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(50)),
                    );
                }
                if stopped() {
                    return;
                }
                let began = Instant::now();
                let (passed, what) = run_check(&spec, &probe);
                if stopped()
                    || results
                        .send(Checked {
                            role,
                            number,
                            passed,
                            what,
                        })
                        .is_err()
                {
                    return;
                }
                next = began + probe.period;
            }
        });
    }

    /// Ends `role`'s probe: its thread stops after the check under way, whose result is not
    /// counted.
    fn stop_probing(&mut self, role: Role) {
        if let Some(prober) = self.probes.running.remove(&role) {
            prober
                .stop
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Counts the checks that ended: a failure short of the verdict written in the event
    /// log (readiness's first, liveness's each), a changed verdict given to the machine.
    /// Whether there was one.
    fn take_results(&mut self, events: &mut std::collections::VecDeque<Event>) -> bool {
        let mut told = false;
        while let Ok(Checked {
            role,
            number,
            passed,
            what,
        }) = self.probes.results.1.try_recv()
        {
            let Some(prober) = self.probes.running.get_mut(&role) else {
                continue;
            };
            if prober.number != number {
                continue;
            }
            let verdict = prober.tracker.record(passed);
            prober.last = Some(what.clone());
            if verdict.is_some() {
                prober.since = SystemTime::now();
            }
            let (failures, threshold) = (prober.tracker.failures, prober.failure_threshold);
            match role {
                Role::Liveness if !passed && failures < threshold => self.journal.record(
                    &self.spec.name,
                    format_args!("liveness check failed: {what} ({failures} of {threshold})"),
                ),
                Role::Readiness if !passed && failures == 1 => self
                    .journal
                    .record(&self.spec.name, format_args!("not ready yet: {what}")),
                _ => {}
            }
            if let Some(health) = verdict {
                events.push_back(Event::Verdict {
                    role,
                    healthy: health == Health::Healthy,
                    uptime: self.started.elapsed(),
                });
                told = true;
            }
        }
        told
    }
}

/// One check of `probe`, to its end: a command as the program runs (its environment and
/// directory), in a job of its own ended with all it started; a connection or a GET.
fn run_check(spec: &ServiceSpec, probe: &Probe) -> (bool, String) {
    match &probe.check {
        Check::Exec(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return (false, "an empty command".to_owned());
            };
            let mut command = Command::new(program);
            match args {
                // `cmd.exe /S /C CMD` (--health-cmd, as Docker runs it): the command reaches
                // cmd.exe as written, not quoted by CommandLineToArgvW's rules.
                [s, c, line]
                    if s.eq_ignore_ascii_case("/S")
                        && c.eq_ignore_ascii_case("/C")
                        && is_cmd(program) =>
                {
                    use std::os::windows::process::CommandExt;
                    command.args([s, c]).raw_arg(line);
                }
                _ => {
                    command.args(args);
                }
            }
            command.envs(spec.env.iter().map(|(k, v)| (k, v)));
            if let Some(dir) = &spec.working_dir {
                command.current_dir(dir);
            }
            svckit_core::health::run_command_check(
                &probe.check,
                command,
                probe.timeout,
                &mut job::OwnJob::default(),
            )
        }
        socket => svckit_core::health::run_socket_check(socket, probe.timeout),
    }
}

/// Whether `program` is cmd.exe (`cmd`, `cmd.exe`, a path to it).
fn is_cmd(program: &str) -> bool {
    let name = program.rsplit(['\\', '/']).next().unwrap_or(program);
    name.eq_ignore_ascii_case("cmd.exe") || name.eq_ignore_ascii_case("cmd")
}

/// How a program ended, as the machine reads it.
fn last_exit(status: ExitStatus) -> LastExit {
    match status.code() {
        Some(code) => LastExit::Code(code),
        None => LastExit::Unknown,
    }
}
