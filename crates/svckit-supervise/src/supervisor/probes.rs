//! The health probes the machine asks for ([`Action::Probe`](crate::machine::Action::Probe)):
//! each check runs off the loop and is bounded by its timeout. A command is a child of ours
//! (in a cgroup of its own below the service's, one per check, where there are cgroups, so
//! that nothing it starts outlives the check), reaped as any child; a TCP or HTTP check is a non-blocking socket in
//! the loop's poll. Results are counted by [`Tracker`]; a changed verdict is the machine's
//! [`Event::Verdict`] to decide on.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    os::fd::OwnedFd,
};

use mio::{Interest, net::TcpStream};
use svckit_core::health::{Check, Health, Probe, Role, Tracker};

use super::{
    Cgroup, ChildSetup, Credentials, Event, Instant, LastExit, Pid, ServiceName, Supervisor, Token,
    fs, io, process,
};

/// How much of a check's output or an HTTP answer is read.
const READ_AT_MOST: usize = svckit_core::health::ANSWER_AT_MOST;

/// One probe of one service, while the machine says it runs.
pub(super) struct Prober {
    probe: Probe,
    tracker: Tracker,
    /// When the next check starts (none while one runs).
    next: Option<Instant>,
    /// The check under way.
    running: Option<Running>,
    /// What the last check came to (`GET http://… answered 502`).
    last: Option<String>,
    /// When the last check began: the next begins a period after it (at once when it took
    /// longer), as Kubernetes paces its probes.
    began: Instant,
    /// Whether a check passed since probing began.
    passed: bool,
    /// When its verdict last changed (or probing began).
    since: std::time::SystemTime,
}

/// A check under way.
enum Running {
    /// A command: its pid, its output's read end, its cgroup.
    Command {
        pid: Pid,
        deadline: Instant,
        output: OwnedFd,
        cgroup: Option<Cgroup>,
    },
    /// A TCP connect, or an HTTP GET over it.
    Socket {
        stream: TcpStream,
        token: Token,
        deadline: Instant,
        /// What is left to send (HTTP).
        request: Vec<u8>,
        /// What came back.
        answer: Vec<u8>,
        connected: bool,
    },
}

impl Running {
    fn deadline(&self) -> Instant {
        match self {
            Running::Command { deadline, .. } | Running::Socket { deadline, .. } => *deadline,
        }
    }
}

/// Every probe that runs, by service and role.
#[derive(Default)]
pub(super) struct Probes {
    probers: BTreeMap<(ServiceName, Role), Prober>,
    /// Numbers the checks' cgroups: each check has a fresh one (a cgroup killed with
    /// `cgroup.kill` kills what is later born into it: [`Cgroup::kill_all`]).
    checks: u64,
    /// Cgroups of ended checks, removed once their last process is gone.
    ended: Vec<Cgroup>,
}

impl Probes {
    /// When the loop must wake for them: a check due, or one's timeout.
    pub(super) fn deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        self.probers.values().filter_map(|prober| {
            prober
                .running
                .as_ref()
                .map(Running::deadline)
                .or(prober.next)
        })
    }

    /// The probe whose socket `token` is.
    pub(super) fn owner(&self, token: Token) -> Option<(ServiceName, Role)> {
        self.probers
            .iter()
            .find_map(|(key, prober)| match &prober.running {
                Some(Running::Socket { token: t, .. }) if *t == token => Some(key.clone()),
                _ => None,
            })
    }

    /// What `name`'s `role` probe's last check came to.
    pub(super) fn last(&self, name: &ServiceName, role: Role) -> Option<&str> {
        self.probers
            .get(&(name.clone(), role))
            .and_then(|prober| prober.last.as_deref())
    }

    /// Whether `name` counts as healthy, as a dependent's `healthy` condition asks: without a
    /// liveness probe, yes; with one, once a check passed since it began and while it does
    /// not find it unhealthy (not while it is not probed: paused).
    pub(super) fn healthy(&self, name: &ServiceName, has_liveness: bool) -> bool {
        match self.probers.get(&(name.clone(), Role::Liveness)) {
            Some(prober) => prober.passed && prober.tracker.health != Health::Unhealthy,
            None => !has_liveness,
        }
    }

    /// What status shows of `name`'s probes: each one's verdict, failures in a row and last
    /// result.
    pub(super) fn report(&self, name: &ServiceName) -> Vec<svckit_core::health::Report> {
        self.probers
            .iter()
            .filter(|((service, _), _)| service == name)
            .map(|((_, role), prober)| svckit_core::health::Report {
                role: role.name().to_owned(),
                check: prober.probe.check.to_string(),
                health: prober.tracker.health.name().to_owned(),
                failures: prober.tracker.failures,
                last: prober.last.clone(),
                since_ms: Some(svckit_core::logfiles::unix_ms(prober.since)),
            })
            .collect()
    }
}

/// `name`'s own point in a `period` (FNV-1a of its name): the same for a service at every
/// start, different across services.
fn spread(name: &ServiceName, period: std::time::Duration) -> std::time::Duration {
    let hash = svckit_core::hash::fnv1a(name.as_str().as_bytes());
    let nanos = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1);
    std::time::Duration::from_nanos(hash % nanos)
}

impl Supervisor {
    /// Begins `name`'s `role` probe: its first check after the probe's initial delay.
    pub(super) fn start_probing(&mut self, name: &ServiceName, role: Role) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        let probe = match role {
            Role::Readiness => &unit.spec.readiness,
            Role::Liveness => &unit.spec.liveness,
        };
        let Some(probe) = probe.as_deref().cloned() else {
            return;
        };
        // Liveness checks of services started together are spread over their period, each
        // service at its own point of it (as kubelet spreads its probes after a restart):
        // 500 services started in one request probing one port at the same instant
        // overflowed its accept queue, and connects timed out. A readiness check is not
        // delayed: a start waits for it.
        let spread = match role {
            Role::Readiness => std::time::Duration::ZERO,
            Role::Liveness => spread(name, probe.period),
        };
        let prober = Prober {
            tracker: Tracker::for_role(&probe, role),
            next: Some(Instant::now() + probe.initial_delay + spread),
            running: None,
            last: None,
            began: Instant::now(),
            passed: false,
            since: std::time::SystemTime::now(),
            probe,
        };
        if let Some(old) = self.probes.probers.insert((name.clone(), role), prober) {
            self.end_check(old.running);
        }
    }

    /// Ends `name`'s `role` probe, and the check under way.
    pub(super) fn stop_probing(&mut self, name: &ServiceName, role: Role) {
        if let Some(prober) = self.probes.probers.remove(&(name.clone(), role)) {
            self.end_check(prober.running);
        }
    }

    /// Ends a check: a command and all it started killed (its exit is reaped as any child's),
    /// a socket closed.
    fn end_check(&mut self, running: Option<Running>) {
        match running {
            Some(Running::Command { pid, cgroup, .. }) => match cgroup {
                Some(cgroup) => self.retire(cgroup),
                None => process::send_group(pid, svckit_core::Signal::Kill),
            },
            Some(Running::Socket { mut stream, .. }) => {
                let _ = self.poll.registry().deregister(&mut stream);
            }
            None => {}
        }
    }

    /// Kills what is left of a check's cgroup, and removes it once empty (now, or at a later
    /// check).
    fn retire(&mut self, cgroup: Cgroup) {
        cgroup.kill_all();
        self.probes.ended.push(cgroup);
        self.probes.ended.retain(|cgroup| {
            cgroup.remove();
            cgroup.dir().exists()
        });
    }

    /// Checks that are due begin; checks past their timeout fail.
    pub(super) fn run_probes(&mut self, now: Instant) {
        // Only those due (the loop wakes for each socket of each check: most are not).
        let keys: Vec<(ServiceName, Role)> = self
            .probes
            .probers
            .iter()
            .filter(|(_, prober)| {
                prober
                    .running
                    .as_ref()
                    .map(Running::deadline)
                    .or(prober.next)
                    .is_some_and(|at| at <= now)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            let Some(prober) = self.probes.probers.get_mut(&key) else {
                continue;
            };
            match &prober.running {
                Some(running) if running.deadline() <= now => {
                    let running = prober.running.take();
                    let what = prober.probe.check.timed_out(prober.probe.timeout);
                    self.end_check(running);
                    self.checked(&key.0, key.1, false, what);
                }
                None if prober.next.is_some_and(|next| next <= now) => {
                    prober.next = None;
                    prober.began = now;
                    self.begin_check(&key.0, key.1);
                }
                _ => {}
            }
        }
    }

    /// Begins one check of `name`'s `role` probe.
    fn begin_check(&mut self, name: &ServiceName, role: Role) {
        let Some(prober) = self.probes.probers.get(&(name.clone(), role)) else {
            return;
        };
        let check = prober.probe.check.clone();
        let deadline = Instant::now() + prober.probe.timeout;
        let running = match &check {
            Check::Exec(argv) => self.spawn_check(name, role, argv, deadline),
            Check::Tcp(target) => self.connect_check(target.0, Vec::new(), deadline),
            Check::Http(http) => {
                self.connect_check(http.target.0, http.request().into_bytes(), deadline)
            }
        };
        match running {
            Ok(running) => {
                if let Some(prober) = self.probes.probers.get_mut(&(name.clone(), role)) {
                    prober.running = Some(running);
                }
            }
            Err(err) => self.checked(name, role, false, format!("{check}: {err}")),
        }
    }

    /// A check's command, as the service's user in its environment and directory, in a
    /// cgroup of its own below the service's; its output into a pipe read when it ends.
    fn spawn_check(
        &mut self,
        name: &ServiceName,
        role: Role,
        argv: &[String],
        deadline: Instant,
    ) -> io::Result<Running> {
        let spec = self
            .units
            .get(name)
            .map(|unit| unit.spec.clone())
            .ok_or_else(|| io::Error::other("gone"))?;
        let credentials = Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())
            .map_err(|err| io::Error::other(err.to_string()))?;
        let env = super::spawn::service_environment(&spec, credentials.as_ref(), Vec::new())
            .map_err(|(err, what)| io::Error::new(err.kind(), format!("{what}: {err}")))?;
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        let null = OwnedFd::from(fs::File::open("/dev/null")?);
        self.probes.checks += 1;
        let check = format!("probe-{role}-{}", self.probes.checks);
        let cgroup = self
            .service_cgroup(name)
            .and_then(|cgroup| cgroup.child(&check).ok());
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::other("an empty command"))?;
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        let (pid, _) = ChildSetup {
            credentials,
            umask: spec.umask,
            ready: None,
            open_files: self.open_files,
            cgroup: None,
            limits: spec.limits,
            nice: spec.nice,
            oom_score_adjust: None,
            handover: None,
        }
        .spawn_through(
            svckit_unix::spawn::Run {
                program: program.as_ref(),
                argv0: None,
                args: &args,
                env: &env,
                dir: spec.working_dir.as_deref().unwrap_or("/".as_ref()),
                stdio: [null, write.try_clone()?, write],
                cgroup: cgroup.as_ref(),
            },
            self.forker.as_ref(),
        )?;
        Ok(Running::Command {
            pid,
            deadline,
            output: read,
            cgroup,
        })
    }

    /// A non-blocking connect to `to`, in the loop's poll; `request` is sent once connected.
    fn connect_check(
        &mut self,
        to: std::net::SocketAddr,
        request: Vec<u8>,
        deadline: Instant,
    ) -> io::Result<Running> {
        let mut stream = TcpStream::connect(to)?;
        let token = self.token();
        self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(Running::Socket {
            stream,
            token,
            deadline,
            request,
            answer: Vec::new(),
            connected: false,
        })
    }

    /// A probe's socket is ready: connected (a TCP check passes), the request sent, the
    /// answer read until its headers are whole (an HTTP check is decided). False when
    /// `token` is no probe's.
    pub(super) fn on_probe_socket(&mut self, token: Token) -> bool {
        let Some(key) = self.probes.owner(token) else {
            return false;
        };
        let Some(prober) = self.probes.probers.get_mut(&key) else {
            return false;
        };
        let check = prober.probe.check.clone();
        let Some(Running::Socket {
            stream,
            request,
            answer,
            connected,
            ..
        }) = prober.running.as_mut()
        else {
            return false;
        };
        let outcome = advance(stream, request, answer, connected, &check);
        if let Some((passed, what)) = outcome {
            let running = prober.running.take();
            self.end_check(running);
            self.checked(&key.0, key.1, passed, what);
        }
        true
    }

    /// A child ended: a probe's command, told as its check's result (what it left running
    /// killed). False when it was no probe's.
    pub(super) fn probe_ended(&mut self, pid: Pid, exit: LastExit) -> bool {
        let Some(key) = self.probes.probers.iter().find_map(|(key, prober)| {
            matches!(&prober.running, Some(Running::Command { pid: p, .. }) if *p == pid)
                .then(|| key.clone())
        }) else {
            return false;
        };
        let Some(prober) = self.probes.probers.get_mut(&key) else {
            return false;
        };
        let check = prober.probe.check.to_string();
        let Some(Running::Command { output, cgroup, .. }) = prober.running.take() else {
            return false;
        };
        if let Some(cgroup) = cgroup {
            self.retire(cgroup);
        }
        let mut said = Vec::new();
        let _ = fs::File::from(output)
            .take(READ_AT_MOST as u64)
            .read_to_end(&mut said);
        let line = String::from_utf8_lossy(&said)
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .map(|line| line.trim().chars().take(200).collect::<String>());
        let passed = exit == LastExit::Code(0);
        let mut what = format!("{check} {}", ended_words(exit));
        if let Some(line) = line {
            what.push_str(": ");
            what.push_str(&line);
        }
        self.checked(&key.0, key.1, passed, what);
        true
    }

    /// One check's result: counted, the next check scheduled, a changed verdict told to the
    /// machine, a failure short of the threshold written in the service's events.
    fn checked(&mut self, name: &ServiceName, role: Role, passed: bool, what: String) {
        let uptime = self
            .units
            .get(name)
            .and_then(|unit| unit.process.started.map(|(at, _)| at.elapsed()))
            .unwrap_or_default();
        let Some(prober) = self.probes.probers.get_mut(&(name.clone(), role)) else {
            return;
        };
        prober.next = Some((prober.began + prober.probe.period).max(Instant::now()));
        prober.last = Some(what.clone());
        let verdict = prober.tracker.record(passed);
        if verdict.is_some() {
            prober.since = std::time::SystemTime::now();
        }
        // A first pass of liveness may be what a dependent waits for (`healthy`).
        let first_pass = passed && !prober.passed;
        prober.passed |= passed;
        let (failures, threshold) = (prober.tracker.failures, prober.probe.failure_threshold);
        // Liveness failures short of the verdict are written (the verdict says the last);
        // readiness's first failure says why the start waits.
        match role {
            Role::Liveness if !passed && failures < threshold => self.journal.record(
                name,
                format_args!("liveness check failed: {what} ({failures} of {threshold})"),
            ),
            Role::Readiness if !passed && failures == 1 => self
                .journal
                .record(name, format_args!("not ready yet: {what}")),
            _ => {}
        }
        if let Some(health) = verdict {
            self.queue(
                name,
                Event::Verdict {
                    role,
                    healthy: health == Health::Healthy,
                    uptime,
                },
            );
        }
        if first_pass && role == Role::Liveness {
            self.check_dependents();
        }
    }
}

/// How a check's command ended, in words.
fn ended_words(exit: LastExit) -> String {
    match exit {
        LastExit::Code(code) => format!("exited {code}"),
        LastExit::Signal(number) => format!("was killed by signal {number}"),
        LastExit::SpawnFailed(errno) => {
            format!("could not start: {}", io::Error::from_raw_os_error(errno))
        }
        LastExit::Unknown => "ended".to_owned(),
    }
}

/// Moves a socket check on as far as it can go now: `Some((passed, what))` once decided.
fn advance(
    stream: &mut TcpStream,
    request: &mut Vec<u8>,
    answer: &mut Vec<u8>,
    connected: &mut bool,
    check: &Check,
) -> Option<(bool, String)> {
    if !*connected {
        if let Ok(Some(err)) | Err(err) = stream.take_error() {
            return Some((false, format!("{check}: {err}")));
        }
        match stream.peer_addr() {
            Ok(_) => *connected = true,
            Err(err) if err.kind() == io::ErrorKind::NotConnected => return None,
            Err(err) => return Some((false, format!("{check}: {err}"))),
        }
    }
    let Check::Http(http) = check else {
        return Some((true, format!("{check}: connected")));
    };
    while !request.is_empty() {
        match stream.write(request) {
            Ok(n) => {
                request.drain(..n);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Some((false, format!("{check}: {err}"))),
        }
    }
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(http.judge(answer, true)),
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") || answer.len() >= READ_AT_MOST {
                    return Some(http.judge(answer, false));
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Some((false, format!("GET {}: {err}", http.url))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_s_end_is_said_as_an_operator_reads_it() {
        assert_eq!(ended_words(LastExit::Code(0)), "exited 0");
        assert_eq!(ended_words(LastExit::Signal(9)), "was killed by signal 9");
        assert!(ended_words(LastExit::SpawnFailed(2)).starts_with("could not start: No such file"));
    }

    /// Regression: the liveness checks of 500 services started in one request all ran at the
    /// same instant, every period, and overflowed the accept queue of the port they probed.
    /// Each service has its own point in the period, the same at every start.
    #[test]
    fn regression_liveness_checks_of_services_started_together_are_spread_over_their_period() {
        use std::time::Duration;
        let period = Duration::from_millis(100);
        let points: Vec<Duration> = (0..500)
            .map(|i| spread(&ServiceName::new(format!("probed-{i}")).unwrap(), period))
            .collect();
        assert!(points.iter().all(|point| *point < period));
        // In each tenth of the period, about a tenth of them (none empty, none with a third).
        let mut tenths = [0usize; 10];
        for point in &points {
            tenths[(point.as_nanos() * 10 / period.as_nanos()) as usize] += 1;
        }
        assert!(tenths.iter().all(|n| (10..150).contains(n)), "{tenths:?}");
        let web = ServiceName::new("web").unwrap();
        assert_eq!(spread(&web, period), spread(&web, period));
        assert_eq!(spread(&web, Duration::ZERO), Duration::ZERO);
    }
}
