//! Health probes, in Kubernetes' words and defaults: a **readiness** probe says when a started
//! service counts as ready (a start returns, its dependents start), a **liveness** probe whether
//! a running one still works (after `failure_threshold` failures in a row it is unhealthy, and
//! by default restarted through its restart policy). Each probe is one [`Check`]: a command
//! (exit 0 passes), an HTTP GET (a status in 200–399, or the one expected, passes) or a TCP
//! connect.
//!
//! This module is the definition and the pure part: checking a probe's values, and the
//! [`Tracker`] that turns results into the verdicts the lifecycle machine decides on. The
//! executors (svckit's supervisor, the Windows host) run the checks, never on their event loop,
//! each bounded by its timeout.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    str::FromStr,
    time::Duration,
};

/// Which of a service's probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// When a started service counts as ready.
    Readiness,
    /// Whether a running service still works.
    Liveness,
}

impl Role {
    /// Its name in definitions (`readiness`, `liveness`).
    pub const fn name(self) -> &'static str {
        match self {
            Role::Readiness => "readiness",
            Role::Liveness => "liveness",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a TCP or HTTP check connects: an address and a port. A host name is refused, but for
/// `localhost`: resolving one would wait on DNS, which a probe's timeout cannot bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target(pub SocketAddr);

impl Target {
    /// Reads `host:port` (`127.0.0.1:5432`, `[::1]:80`, `localhost:6379`).
    fn parse(text: &str, default_port: Option<u16>) -> Result<Target, String> {
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("{text:?}: {port:?} is not a port"))?;
                (host, port)
            }
            _ => match default_port {
                Some(port) => (text, port),
                None => return Err(format!("{text:?} is not HOST:PORT")),
            },
        };
        if port == 0 {
            return Err(format!("{text:?}: port 0 is not a port to connect to"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            host => host.parse::<IpAddr>().map_err(|_| {
                format!(
                    "{text:?}: {host:?} is not an IP address (or localhost): a name would need \
                     a DNS lookup no probe timeout bounds"
                )
            })?,
        };
        Ok(Target(SocketAddr::new(ip, port)))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An HTTP GET: where, and what passes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpCheck {
    /// The URL as given (`http://127.0.0.1:8080/health`).
    pub url: String,
    /// Where it connects.
    pub target: Target,
    /// The `Host` header's value (the URL's host and port).
    pub host: String,
    /// The path and query, from `/`.
    pub path: String,
    /// The one status that passes; any in 200–399 when absent.
    pub status: Option<u16>,
    /// A header the answer must have (the name matched without case, the value exactly).
    pub header: Option<(String, String)>,
}

impl HttpCheck {
    /// Reads `url`: `http://HOST[:PORT][/PATH]`, HOST an IP address or `localhost`.
    pub fn parse(url: &str) -> Result<HttpCheck, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("{url:?} is not an http:// URL (a probe speaks plain HTTP, no TLS)")
        })?;
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{url:?} contains white space or a control character"
            ));
        }
        let (host, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if host.is_empty() || host.contains('@') {
            return Err(format!("{url:?} has no host (or has a user in it)"));
        }
        let target = Target::parse(host, Some(80))?;
        Ok(HttpCheck {
            url: url.to_owned(),
            target,
            host: host.to_owned(),
            path: path.to_owned(),
            status: None,
            header: None,
        })
    }

    /// Whether an answer with `status` and `headers` passes.
    pub fn passes(&self, status: u16, headers: &[(String, String)]) -> bool {
        let status_ok = match self.status {
            Some(wanted) => status == wanted,
            None => (200..400).contains(&status),
        };
        let header_ok = match &self.header {
            Some((name, value)) => headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value),
            None => true,
        };
        status_ok && header_ok
    }

    /// An answer's status line and headers (`answer`, what came back; `closed`, whether
    /// the server closed the connection after it), judged: whether it passes, and in words.
    pub fn judge(&self, answer: &[u8], closed: bool) -> (bool, String) {
        let text = String::from_utf8_lossy(answer);
        let mut lines = text.split("\r\n");
        let status = lines.next().and_then(|line| {
            let mut words = line.split_whitespace();
            let version = words.next()?;
            version.starts_with("HTTP/").then_some(())?;
            words.next()?.parse::<u16>().ok()
        });
        let Some(status) = status else {
            let why = match closed && answer.is_empty() {
                true => "closed without an answer".to_owned(),
                false => "answered no HTTP".to_owned(),
            };
            return (false, format!("GET {}: {why}", self.url));
        };
        let headers: Vec<(String, String)> = lines
            .take_while(|line| !line.is_empty())
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((name.trim().to_owned(), value.trim().to_owned()))
            })
            .collect();
        let passed = self.passes(status, &headers);
        let mut what = format!("GET {} answered {status}", self.url);
        if !passed && let Some((name, value)) = &self.header {
            what.push_str(&format!(" (wanted {name}: {value})"));
        }
        (passed, what)
    }

    /// The request it sends.
    pub fn request(&self) -> String {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: svckit-probe\r\nConnection: close\r\n\r\n",
            self.path, self.host
        )
    }
}

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Check {
    /// A command, run as the service's user in its environment: exit 0 passes.
    Exec(Vec<String>),
    /// An HTTP GET.
    Http(HttpCheck),
    /// A TCP connect.
    Tcp(Target),
}

impl Check {
    /// Its kind's name (`exec`, `http`, `tcp`).
    pub const fn kind(&self) -> &'static str {
        match self {
            Check::Exec(_) => "exec",
            Check::Http(_) => "http",
            Check::Tcp(_) => "tcp",
        }
    }

    /// What a check that took longer than `timeout` came to, in words.
    pub fn timed_out(&self, timeout: std::time::Duration) -> String {
        format!(
            "{self} timed out after {}",
            crate::parse::format_duration(timeout)
        )
    }

    /// A TCP connect to `text` (`HOST:PORT`).
    pub fn tcp(text: &str) -> Result<Check, String> {
        Ok(Check::Tcp(Target::parse(text, None)?))
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Exec(argv) => write!(f, "`{}`", argv.join(" ")),
            Check::Http(http) => write!(f, "GET {}", http.url),
            Check::Tcp(target) => write!(f, "connect to {target}"),
        }
    }
}

/// What follows a liveness probe's verdict of unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnUnhealthy {
    /// Stopped, then restarted as the restart policy says of a failure (its backoff too).
    #[default]
    Restart,
    /// Stopped, and not restarted.
    Stop,
    /// Noted (status and events), nothing done.
    None,
}

impl OnUnhealthy {
    /// Its name in definitions.
    pub const fn name(self) -> &'static str {
        match self {
            OnUnhealthy::Restart => "restart",
            OnUnhealthy::Stop => "stop",
            OnUnhealthy::None => "none",
        }
    }
}

impl fmt::Display for OnUnhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OnUnhealthy {
    type Err = String;

    fn from_str(text: &str) -> Result<OnUnhealthy, String> {
        match text {
            "restart" => Ok(OnUnhealthy::Restart),
            "stop" => Ok(OnUnhealthy::Stop),
            "none" => Ok(OnUnhealthy::None),
            _ => Err(format!("{text:?} is not restart, stop or none")),
        }
    }
}

/// The shortest period a probe may have: 500 services probed this often keep a supervisor
/// busy enough.
pub const MIN_PERIOD: Duration = Duration::from_millis(100);

/// The longest period, timeout or initial delay.
pub const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);

/// The most failures or successes a threshold counts.
pub const MAX_THRESHOLD: u32 = 1000;

/// One probe: what it checks, and how often and how long (Kubernetes' names and defaults).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Probe {
    /// What it checks.
    pub check: Check,
    /// How often (10 s).
    pub period: Duration,
    /// How long one check may take before it counts as failed (its command killed) (1 s).
    pub timeout: Duration,
    /// How long after the start (or, for liveness, readiness) the first check waits (0).
    pub initial_delay: Duration,
    /// Failures in a row that make it unhealthy (3).
    pub failure_threshold: u32,
    /// Successes in a row that make it healthy again, or ready (1; always 1 for liveness).
    pub success_threshold: u32,
}

impl Probe {
    /// A probe of `check` with Kubernetes' defaults.
    pub fn new(check: Check) -> Probe {
        Probe {
            check,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            initial_delay: Duration::ZERO,
            failure_threshold: 3,
            success_threshold: 1,
        }
    }

    /// The arguments of `svckit probe-wait` that wait for it to pass (what a systemd unit's
    /// `ExecStartPost=` runs for a readiness probe): its timings, then its check (`--http URL`,
    /// `--tcp ADDR:PORT`, or `-- COMMAND...`).
    pub fn wait_args(&self) -> Vec<String> {
        let span = crate::parse::format_duration;
        let mut args = vec![
            "--period".to_owned(),
            span(self.period),
            "--timeout".to_owned(),
            span(self.timeout),
            "--initial-delay".to_owned(),
            span(self.initial_delay),
            "--success-threshold".to_owned(),
            self.success_threshold.to_string(),
        ];
        match &self.check {
            Check::Http(http) => {
                args.extend(["--http".to_owned(), http.url.clone()]);
                if let Some(status) = http.status {
                    args.extend(["--expect-status".to_owned(), status.to_string()]);
                }
                if let Some((name, value)) = &http.header {
                    args.extend(["--header".to_owned(), format!("{name}: {value}")]);
                }
            }
            Check::Tcp(target) => args.extend(["--tcp".to_owned(), target.to_string()]),
            Check::Exec(argv) => {
                args.push("--".to_owned());
                args.extend(argv.iter().cloned());
            }
        }
        args
    }

    /// Checks its values; the error names the key (`period`) and says what is wrong.
    pub fn validate(&self, role: Role) -> Result<(), (&'static str, String)> {
        let span = |key: &'static str, value: Duration, least: Duration| {
            if value < least || value > MAX_SPAN {
                Err((
                    key,
                    format!(
                        "{} is not between {} and {}",
                        crate::parse::format_duration(value),
                        crate::parse::format_duration(least),
                        crate::parse::format_duration(MAX_SPAN)
                    ),
                ))
            } else {
                Ok(())
            }
        };
        span("period", self.period, MIN_PERIOD)?;
        span("timeout", self.timeout, Duration::from_millis(1))?;
        span("initial_delay", self.initial_delay, Duration::ZERO)?;
        for (key, value) in [
            ("failure_threshold", self.failure_threshold),
            ("success_threshold", self.success_threshold),
        ] {
            if !(1..=MAX_THRESHOLD).contains(&value) {
                return Err((key, format!("{value} is not between 1 and {MAX_THRESHOLD}")));
            }
        }
        if role == Role::Liveness && self.success_threshold != 1 {
            return Err((
                "success_threshold",
                "is 1 for a liveness probe (one success ends a failure streak)".into(),
            ));
        }
        match &self.check {
            Check::Exec(argv) if argv.is_empty() || argv[0].is_empty() => {
                Err(("exec", "the command is empty".into()))
            }
            Check::Exec(argv) if argv.iter().any(|word| word.contains('\0')) => {
                Err(("exec", "the command contains a NUL byte".into()))
            }
            Check::Http(http) => match &http.header {
                Some((name, value))
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_graphic() && c != ':')
                        || value.chars().any(char::is_control) =>
                {
                    Err(("header", format!("{name:?}: {value:?} is not a header")))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// What a run of check results amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Health {
    /// Not yet decided: fewer results than a threshold.
    #[default]
    Unknown,
    /// `success_threshold` passes in a row (since the last verdict of unhealthy).
    Healthy,
    /// `failure_threshold` failures in a row.
    Unhealthy,
}

impl Health {
    /// Its name, as status shows it.
    pub const fn name(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// What status shows of a probe that runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// `readiness` or `liveness`.
    pub role: String,
    /// What it checks, in words (`GET http://127.0.0.1:8080/health`).
    pub check: String,
    /// `unknown`, `healthy` or `unhealthy`.
    pub health: String,
    /// Failures in a row.
    pub failures: u32,
    /// What its last check came to.
    pub last: Option<String>,
    /// When its verdict last changed (or it began), in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
}

/// Counts one probe's results in a row and says when they change its verdict: the part of
/// probing that decides, the same for every executor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracker {
    success_threshold: u32,
    failure_threshold: u32,
    /// Passes in a row.
    pub successes: u32,
    /// Failures in a row.
    pub failures: u32,
    /// The verdict so far.
    pub health: Health,
}

impl Tracker {
    /// A tracker of `probe`'s results, undecided.
    pub fn new(probe: &Probe) -> Tracker {
        Tracker {
            success_threshold: probe.success_threshold,
            failure_threshold: probe.failure_threshold,
            ..Tracker::default()
        }
    }

    /// A tracker of `probe`'s results as `role`'s: a readiness probe is undecided until it
    /// passes; a liveness probe starts healthy (as Kubernetes': the service was ready), so
    /// its first verdict is unhealthy.
    pub fn for_role(probe: &Probe, role: Role) -> Tracker {
        let health = match role {
            Role::Readiness => Health::Unknown,
            Role::Liveness => Health::Healthy,
        };
        Tracker {
            health,
            ..Tracker::new(probe)
        }
    }

    /// Counts one result; the new verdict when it changes (healthy after `success_threshold`
    /// passes in a row, unhealthy after `failure_threshold` failures in a row).
    pub fn record(&mut self, passed: bool) -> Option<Health> {
        let next = if passed {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            (self.successes >= self.success_threshold).then_some(Health::Healthy)
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            (self.failures >= self.failure_threshold).then_some(Health::Unhealthy)
        };
        match next {
            Some(health) if health != self.health => {
                self.health = health;
                Some(health)
            }
            _ => None,
        }
    }
}

/// The most of an HTTP answer read (its status line and headers come first).
pub const ANSWER_AT_MOST: usize = 16 * 1024;

/// Runs a TCP or HTTP check to its end, blocking for at most `timeout`: whether it passed,
/// and in words. For an executor without an event loop (`svckit probe-wait` under systemd);
/// svckit's supervisor runs the same checks without blocking.
pub fn run_socket_check(check: &Check, timeout: std::time::Duration) -> (bool, String) {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + timeout;
    let left = || {
        deadline
            .saturating_duration_since(std::time::Instant::now())
            .max(std::time::Duration::from_millis(1))
    };
    let (target, http) = match check {
        Check::Tcp(target) => (target, None),
        Check::Http(http) => (&http.target, Some(http)),
        Check::Exec(_) => return (false, format!("{check}: not a socket check")),
    };
    let failed = |err: std::io::Error| match err.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            (false, check.timed_out(timeout))
        }
        _ => (false, format!("{check}: {err}")),
    };
    let mut stream = match std::net::TcpStream::connect_timeout(&target.0, left()) {
        Ok(stream) => stream,
        Err(err) => return failed(err),
    };
    let Some(http) = http else {
        return (true, format!("{check}: connected"));
    };
    let sent = stream
        .set_write_timeout(Some(left()))
        .and_then(|()| stream.write_all(http.request().as_bytes()));
    if let Err(err) = sent {
        return failed(err);
    }
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Err(err) = stream.set_read_timeout(Some(left())) {
            return failed(err);
        }
        match stream.read(&mut buffer) {
            Ok(0) => return http.judge(&answer, true),
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") || answer.len() >= ANSWER_AT_MOST {
                    return http.judge(&answer, false);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return failed(err),
        }
    }
}

/// How an executor keeps a check's command together with everything it starts, and ends
/// them all: its own process group on Unix (killed while its leader is a zombie not yet
/// reaped, so the group's id cannot be anyone else's), a job object on Windows.
pub trait Contain {
    /// Spawns `command`, contained.
    fn spawn(
        &mut self,
        command: &mut std::process::Command,
    ) -> std::io::Result<std::process::Child>;
    /// Whether it ended (on Unix without reaping it: see [`Contain`]).
    fn ended(&mut self, child: &mut std::process::Child) -> bool {
        !matches!(child.try_wait(), Ok(None))
    }
    /// Ends what is left of it and of what it started.
    fn end(&mut self, child: &mut std::process::Child);
}

/// How often a running check's command is looked at.
const COMMAND_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Runs `command`, an exec `check`'s (its environment and directory set by the caller), to
/// its end or for at most `timeout`, its stdout and stderr into one pipe: whether it exited 0,
/// and in words with the last line it printed. It and what it started are ended either way.
/// For an executor without an event loop (`svckit probe-wait`, the Windows service host);
/// svckit's supervisor runs the same checks without blocking.
pub fn run_command_check(
    check: &Check,
    mut command: std::process::Command,
    timeout: std::time::Duration,
    contain: &mut impl Contain,
) -> (bool, String) {
    use std::io::Read;
    let failed = |err: std::io::Error| (false, format!("{check} could not start: {err}"));
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(err) => return failed(err),
    };
    match writer.try_clone() {
        Ok(copy) => command
            .stdin(std::process::Stdio::null())
            .stdout(copy)
            .stderr(writer),
        Err(err) => return failed(err),
    };
    let spawned = contain.spawn(&mut command);
    // Our copies of the write ends go with the Command: the pipe ends when the check's
    // processes are done with it.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return failed(err),
    };
    let (sender, said) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut text = Vec::new();
        let _ = (&mut reader)
            .take(ANSWER_AT_MOST as u64)
            .read_to_end(&mut text);
        let _ = sender.send(text);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let deadline = std::time::Instant::now() + timeout;
    let ended = loop {
        if contain.ended(&mut child) {
            break true;
        }
        if std::time::Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(COMMAND_POLL);
    };
    contain.end(&mut child);
    let status = child.wait().ok().filter(|_| ended);
    let Some(status) = status else {
        return (false, check.timed_out(timeout));
    };
    // Whatever escaped the group still holds the pipe: its output is not waited for long.
    let text = said
        .recv_timeout(std::time::Duration::from_millis(200))
        .unwrap_or_default();
    let last = String::from_utf8_lossy(&text)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().chars().take(200).collect::<String>());
    let mut what = match status.code() {
        Some(code) => format!("{check} exited {code}"),
        None => format!("{check} was killed by a signal"),
    };
    if let Some(last) = last {
        what.push_str(": ");
        what.push_str(&last);
    }
    (status.success(), what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_answer_is_judged_by_its_status_line_and_headers() {
        let mut http = HttpCheck::parse("http://127.0.0.1:8080/health").unwrap();
        let ok = http.judge(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
        assert_eq!(
            ok,
            (true, "GET http://127.0.0.1:8080/health answered 200".into())
        );
        let bad = http.judge(b"HTTP/1.0 502 Bad Gateway\r\n\r\n", false);
        assert!(!bad.0);
        assert!(bad.1.ends_with("answered 502"), "{}", bad.1);
        assert_eq!(
            http.judge(b"", true).1,
            "GET http://127.0.0.1:8080/health: closed without an answer"
        );
        assert!(
            http.judge(b"SSH-2.0-OpenSSH\r\n", true)
                .1
                .ends_with("answered no HTTP")
        );
        http.header = Some(("X-Ready".into(), "yes".into()));
        assert!(
            http.judge(b"HTTP/1.1 200 OK\r\nx-ready: yes\r\n\r\n", false)
                .0
        );
        let wrong = http.judge(b"HTTP/1.1 200 OK\r\nX-Ready: no\r\n\r\n", false);
        assert!(
            !wrong.0 && wrong.1.ends_with("(wanted X-Ready: yes)"),
            "{}",
            wrong.1
        );
    }

    #[test]
    fn targets_are_addresses_or_localhost_never_names() {
        assert_eq!(
            Check::tcp("127.0.0.1:5432").unwrap(),
            Check::Tcp(Target("127.0.0.1:5432".parse().unwrap()))
        );
        assert_eq!(
            Check::tcp("[::1]:80").unwrap().to_string(),
            "connect to [::1]:80"
        );
        assert_eq!(
            Check::tcp("localhost:6379").unwrap().to_string(),
            "connect to 127.0.0.1:6379"
        );
        for (bad, says) in [
            ("db.example:5432", "not an IP address"),
            ("127.0.0.1", "not HOST:PORT"),
            ("127.0.0.1:0", "port 0"),
            ("127.0.0.1:http", "not a port"),
        ] {
            let err = Check::tcp(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn an_http_url_is_read_into_what_the_request_needs() {
        let http = HttpCheck::parse("http://127.0.0.1:8080/health?full=1").unwrap();
        assert_eq!(http.target.0, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (http.host.as_str(), http.path.as_str()),
            ("127.0.0.1:8080", "/health?full=1")
        );
        assert!(
            http.request()
                .starts_with("GET /health?full=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
        );
        let bare = HttpCheck::parse("http://localhost").unwrap();
        assert_eq!((bare.target.0.port(), bare.path.as_str()), (80, "/"));
        for (bad, says) in [
            ("https://127.0.0.1/", "no TLS"),
            ("http://example.com/", "not an IP address"),
            ("http:///x", "no host"),
            ("http://u@127.0.0.1/", "no host"),
            ("http://127.0.0.1/a b", "white space"),
        ] {
            let err = HttpCheck::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn an_http_answer_passes_with_a_good_status_and_the_header_asked_for() {
        let mut http = HttpCheck::parse("http://127.0.0.1/").unwrap();
        assert!(http.passes(200, &[]) && http.passes(302, &[]));
        assert!(!http.passes(404, &[]) && !http.passes(502, &[]) && !http.passes(199, &[]));
        http.status = Some(204);
        assert!(http.passes(204, &[]) && !http.passes(200, &[]));
        http.header = Some(("X-Ready".into(), "yes".into()));
        assert!(!http.passes(204, &[]));
        assert!(http.passes(204, &[("x-ready".into(), "yes".into())]));
        assert!(!http.passes(204, &[("X-Ready".into(), "no".into())]));
    }

    #[test]
    fn probe_values_out_of_bounds_are_refused_naming_the_key() {
        let ok = Probe::new(Check::tcp("127.0.0.1:1").unwrap());
        assert_eq!(ok.validate(Role::Liveness), Ok(()));
        let refused = |change: fn(&mut Probe), role: Role| {
            let mut probe = ok.clone();
            change(&mut probe);
            probe.validate(role).unwrap_err().0
        };
        assert_eq!(
            refused(|p| p.period = Duration::from_millis(1), Role::Liveness),
            "period"
        );
        assert_eq!(
            refused(
                |p| p.period = Duration::from_secs(10_000_000),
                Role::Liveness
            ),
            "period"
        );
        assert_eq!(
            refused(|p| p.timeout = Duration::ZERO, Role::Liveness),
            "timeout"
        );
        assert_eq!(
            refused(|p| p.failure_threshold = 0, Role::Liveness),
            "failure_threshold"
        );
        assert_eq!(
            refused(|p| p.success_threshold = 2, Role::Liveness),
            "success_threshold"
        );
        assert_eq!(
            refused(|p| p.success_threshold = 1001, Role::Readiness),
            "success_threshold"
        );
        assert_eq!(
            refused(|p| p.check = Check::Exec(vec![]), Role::Readiness),
            "exec"
        );
        let mut two = ok.clone();
        two.success_threshold = 2;
        assert_eq!(two.validate(Role::Readiness), Ok(()));
    }

    #[test]
    fn a_tracker_says_each_verdict_once_when_a_streak_reaches_its_threshold() {
        let mut probe = Probe::new(Check::tcp("127.0.0.1:1").unwrap());
        probe.success_threshold = 2;
        let mut tracker = Tracker::new(&probe);
        assert_eq!(tracker.record(true), None);
        assert_eq!(tracker.record(true), Some(Health::Healthy));
        assert_eq!(tracker.record(true), None, "said once");
        assert_eq!((tracker.record(false), tracker.record(false)), (None, None));
        assert_eq!(tracker.record(true), None, "a pass breaks the streak");
        assert_eq!(tracker.failures, 0);
        for _ in 0..2 {
            assert_eq!(tracker.record(false), None);
        }
        assert_eq!(tracker.record(false), Some(Health::Unhealthy));
        assert_eq!(tracker.record(false), None);
        assert_eq!(tracker.failures, 4);
        assert_eq!(tracker.record(true), None);
        assert_eq!(tracker.record(true), Some(Health::Healthy));
        // A liveness probe starts healthy: passing says nothing new.
        let mut liveness = Tracker::for_role(&probe, Role::Liveness);
        assert_eq!((liveness.record(true), liveness.record(true)), (None, None));
    }

    proptest::proptest! {
        /// Whatever the results, a verdict is said exactly when the streak behind it reaches
        /// its threshold and the verdict differs from the last one said.
        #[test]
        fn a_verdict_follows_the_streak_behind_it(
            results in proptest::collection::vec(proptest::bool::ANY, 0..200),
            successes in 1u32..5,
            failures in 1u32..5,
        ) {
            let mut probe = Probe::new(Check::tcp("127.0.0.1:1").unwrap());
            probe.success_threshold = successes;
            probe.failure_threshold = failures;
            let mut tracker = Tracker::new(&probe);
            let mut said = Health::Unknown;
            for (index, passed) in results.iter().enumerate() {
                let streak = results[..=index].iter().rev().take_while(|r| *r == passed).count() as u32;
                let due = match passed {
                    true => (streak >= successes).then_some(Health::Healthy),
                    false => (streak >= failures).then_some(Health::Unhealthy),
                };
                let expected = due.filter(|health| *health != said);
                proptest::prop_assert_eq!(tracker.record(*passed), expected);
                if let Some(health) = expected {
                    said = health;
                }
                proptest::prop_assert_eq!(tracker.health, said);
            }
        }
    }
}
