//! svckit's supervisor side by side with the peers from Debian's packages (supervisord, runit,
//! s6), in one run, reported as ratios. It asserts nothing about speed.
//!
//! - restart interval after a crash (delay 0): median gap between starts of a service that exits 1;
//! - memory: PSS summed over the supervisor's processes, with N `sleep` services running;
//! - stop: time for the stop command to return with the service gone (median of 10);
//! - status: time for the status command over N services (median of 40 interleaved rounds,
//!   every peer's services running; svckit's static build too);
//! - shutdown: from the supervisor's stop signal until every service is gone;
//! - capture: MB/s of stdout from `yes | head -c BYTES` (100-byte lines) into rotated logs,
//!   checked byte for byte for svckit.
//!
//! - scale (svckit alone): install, start, status and stop of 1,000 services (and more:
//!   SVCKIT_BENCH_SCALE=1000,10000), with the supervisor's PSS and descriptors.
//!
//! `cargo bench -p svckit-cli --bench supervise`; SVCKIT_BENCH_SERVICES (default 100) and
//! SVCKIT_BENCH_BYTES (default 212000000) size it. Peers that are not installed are skipped.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");
const LINE: &str = "svckit benchmark line: 100 bytes with the newline, written by yes as fast as it can, repeated!!!!!!";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn installed(program: &str) -> bool {
    Path::new("/usr/bin").join(program).exists() || Path::new("/bin").join(program).exists()
}

fn wait_until(timeout: Duration, done: impl FnMut() -> bool) -> bool {
    wait_every(Duration::from_millis(1), timeout, done)
}

/// Until `done`, looked at every `interval`, within `timeout`; whether it is.
fn wait_every(interval: Duration, timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        thread::sleep(interval);
    }
    done()
}

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn timed(program: &str, args: &[&str]) -> Duration {
    let started = Instant::now();
    let ok = run(program, args);
    let took = started.elapsed();
    assert!(ok, "{program} {args:?} failed");
    took
}

/// Now, in Unix milliseconds (the clock of svckit's time indexes).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next())
        })
        .flatten()
        .is_some_and(|state| state != 'Z' && state != 'X')
}

fn with_marker(marker: &str) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|pid| alive(*pid) && cmdline(*pid).contains(marker))
        .collect()
}

fn children(parent: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<i32>()
                        .ok()
                })
                == Some(parent)
        })
        .collect()
}

/// PSS in KiB, summed (smaps_rollup).
fn pss(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|pid| {
            let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
            text.lines()
                .find(|l| l.starts_with("Pss:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

struct Row {
    metric: String,
    tool: String,
    value: f64,
    unit: &'static str,
}

fn write_script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut fs::metadata(path).unwrap().permissions(),
        0o755,
    );
    Command::new("chmod").arg("755").arg(path).status().unwrap();
}

fn kill_all(marker: &str) {
    for pid in with_marker(marker) {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    }
}

/// One supervisor under test, with N sleep services (markers `SECS.i`).
trait Peer {
    fn name(&self) -> String;
    fn start_all(&mut self, n: usize);
    fn supervisor_pids(&self) -> Vec<i32>;
    fn status(&self) -> Option<Duration>;
    fn stop_one(&self) -> Option<Duration>;
    fn start_one(&self);
    fn shutdown(&mut self) -> Duration;
    /// The status command run by another build of the tool at `exe` (svckit's static one).
    fn status_by(&self, _exe: &str) -> Option<Duration> {
        None
    }
}

fn sleepers(secs: &str) -> usize {
    with_marker(&format!("sleep {secs}.")).len()
}

struct Svckit {
    dir: PathBuf,
    secs: &'static str,
}

impl Svckit {
    /// `args` with `--state-dir DIR` after the subcommand (before any `--`).
    fn sv(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.insert(1, "--state-dir".into());
        all.insert(2, self.dir.display().to_string());
        all
    }
    fn svckit(&self, args: &[&str]) -> bool {
        let args = self.sv(args);
        run(SVCKIT, &args.iter().map(String::as_str).collect::<Vec<_>>())
    }
    fn supervisor(&self) -> Option<i32> {
        fs::read_to_string(self.dir.join("supervisor.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Peer for Svckit {
    fn name(&self) -> String {
        "svckit".into()
    }
    fn start_all(&mut self, n: usize) {
        for i in 0..n {
            let arg = format!("{}.{i}", self.secs);
            assert!(self.svckit(&[
                "install",
                "--backend",
                "builtin",
                &format!("s{i}"),
                "--",
                "sleep",
                &arg
            ]));
            assert!(self.svckit(&["start", &format!("s{i}")]));
        }
    }
    /// The supervisor, its fd holder and its forker (its services are not counted, as for the
    /// peers).
    fn supervisor_pids(&self) -> Vec<i32> {
        let mut all: Vec<i32> = self.supervisor().into_iter().collect();
        if let Some(&root) = all.first() {
            all.extend(children(root).into_iter().filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| matches!(c.trim(), "svckit-holder" | "svckit-forker"))
            }));
        }
        all
    }
    fn status(&self) -> Option<Duration> {
        self.status_by(SVCKIT)
    }
    fn status_by(&self, exe: &str) -> Option<Duration> {
        let args = self.sv(&["status"]);
        Some(timed(
            exe,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    }
    fn stop_one(&self) -> Option<Duration> {
        let args = self.sv(&["stop", "s0"]);
        Some(timed(
            SVCKIT,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    }
    fn start_one(&self) {
        assert!(self.svckit(&["start", "s0"]));
    }
    fn shutdown(&mut self) -> Duration {
        let pid = self.supervisor().expect("a supervisor");
        let started = Instant::now();
        run("kill", &["-TERM", &pid.to_string()]);
        let secs = self.secs;
        wait_until(Duration::from_secs(120), || {
            !alive(pid) && sleepers(secs) == 0
        });
        started.elapsed()
    }
}

/// A scan directory of N `exec sleep SECS.i` services run by `program` (runsvdir or
/// s6-svscan): writes them, starts the scanner, waits until every service runs.
fn start_scan_dir(program: &str, dir: &Path, secs: &str, n: usize) -> Child {
    for i in 0..n {
        write_script(
            &dir.join(format!("s{i}/run")),
            &format!("exec sleep {secs}.{i}"),
        );
    }
    let child = Command::new(program)
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(60), || sleepers(secs) == n));
    child
}

/// The scanner and the per-service supervisors it started.
fn scanner_and_children(scanner: &Child) -> Vec<i32> {
    let root = scanner.id() as i32;
    let mut all = vec![root];
    all.extend(children(root));
    all
}

struct Runit {
    dir: PathBuf,
    secs: &'static str,
    runsvdir: Option<Child>,
}

impl Peer for Runit {
    fn name(&self) -> String {
        "runit".into()
    }
    fn start_all(&mut self, n: usize) {
        self.runsvdir = Some(start_scan_dir("runsvdir", &self.dir, self.secs, n));
    }
    fn supervisor_pids(&self) -> Vec<i32> {
        scanner_and_children(self.runsvdir.as_ref().unwrap())
    }
    fn status(&self) -> Option<Duration> {
        let dirs: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path().display().to_string()))
            .collect();
        let mut args = vec!["status"];
        args.extend(dirs.iter().map(String::as_str));
        Some(timed("sv", &args))
    }
    fn stop_one(&self) -> Option<Duration> {
        Some(timed(
            "sv",
            &["-v", "down", &self.dir.join("s0").display().to_string()],
        ))
    }
    fn start_one(&self) {
        run(
            "sv",
            &["-v", "up", &self.dir.join("s0").display().to_string()],
        );
    }
    fn shutdown(&mut self) -> Duration {
        let child = self.runsvdir.as_mut().unwrap();
        // Its runsv processes (not any `runsv` of the machine's: another runit may run).
        let runsvs = children(child.id() as i32);
        let started = Instant::now();
        // runsvdir's shutdown: SIGHUP makes it send TERM to every runsv, which stop their services.
        run("kill", &["-HUP", &child.id().to_string()]);
        let secs = self.secs;
        let _ = child.wait();
        wait_until(Duration::from_secs(120), || {
            sleepers(secs) == 0 && runsvs.iter().all(|pid| !alive(*pid))
        });
        started.elapsed()
    }
}

struct S6 {
    dir: PathBuf,
    secs: &'static str,
    svscan: Option<Child>,
}

impl Peer for S6 {
    fn name(&self) -> String {
        "s6".into()
    }
    fn start_all(&mut self, n: usize) {
        self.svscan = Some(start_scan_dir("s6-svscan", &self.dir, self.secs, n));
    }
    fn supervisor_pids(&self) -> Vec<i32> {
        scanner_and_children(self.svscan.as_ref().unwrap())
    }
    fn status(&self) -> Option<Duration> {
        None
    }
    fn stop_one(&self) -> Option<Duration> {
        Some(timed(
            "s6-svc",
            &["-wd", "-d", &self.dir.join("s0").display().to_string()],
        ))
    }
    fn start_one(&self) {
        run(
            "s6-svc",
            &["-wu", "-u", &self.dir.join("s0").display().to_string()],
        );
    }
    fn shutdown(&mut self) -> Duration {
        let started = Instant::now();
        run("s6-svscanctl", &["-t", &self.dir.display().to_string()]);
        let _ = self.svscan.as_mut().unwrap().wait();
        let secs = self.secs;
        wait_until(Duration::from_secs(120), || sleepers(secs) == 0);
        started.elapsed()
    }
}

struct Supervisord {
    dir: PathBuf,
    secs: &'static str,
    daemon: Option<Child>,
}

impl Supervisord {
    fn conf(&self) -> String {
        self.dir.join("supervisord.conf").display().to_string()
    }
    fn write_conf(&self, programs: &str) {
        fs::create_dir_all(&self.dir).unwrap();
        let d = self.dir.display();
        fs::write(
            self.conf(),
            format!(
                "[unix_http_server]\nfile={d}/sock\n[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/pid\n\
                 [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
                 [supervisorctl]\nserverurl=unix://{d}/sock\n{programs}"
            ),
        )
        .unwrap();
    }
    fn spawn(&mut self) {
        self.daemon = Some(
            Command::new("supervisord")
                .args(["-c", &self.conf()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let sock = self.dir.join("sock");
        assert!(wait_until(Duration::from_secs(30), || sock.exists()));
    }
}

impl Peer for Supervisord {
    fn name(&self) -> String {
        "supervisord".into()
    }
    fn start_all(&mut self, n: usize) {
        let programs: String = (0..n)
            .map(|i| format!("[program:s{i}]\ncommand=sleep {}.{i}\nstartsecs=0\nstdout_logfile={}/s{i}.log\n", self.secs, self.dir.display()))
            .collect();
        self.write_conf(&programs);
        self.spawn();
        let secs = self.secs;
        assert!(wait_until(Duration::from_secs(60), || sleepers(secs) == n));
    }
    fn supervisor_pids(&self) -> Vec<i32> {
        vec![self.daemon.as_ref().unwrap().id() as i32]
    }
    fn status(&self) -> Option<Duration> {
        let started = Instant::now();
        // supervisorctl status exits 3 when a program is not running; timing is what matters.
        let _ = Command::new("supervisorctl")
            .args(["-c", &self.conf(), "status"])
            .stdout(Stdio::null())
            .status();
        Some(started.elapsed())
    }
    fn stop_one(&self) -> Option<Duration> {
        Some(timed("supervisorctl", &["-c", &self.conf(), "stop", "s0"]))
    }
    fn start_one(&self) {
        run("supervisorctl", &["-c", &self.conf(), "start", "s0"]);
    }
    fn shutdown(&mut self) -> Duration {
        let child = self.daemon.as_mut().unwrap();
        let started = Instant::now();
        run("kill", &["-TERM", &child.id().to_string()]);
        let _ = child.wait();
        let secs = self.secs;
        wait_until(Duration::from_secs(120), || sleepers(secs) == 0);
        started.elapsed()
    }
}

fn fleet(root: &Path, n: usize, rows: &mut Vec<Row>) {
    let mut peers: Vec<Box<dyn Peer>> = vec![Box::new(Svckit {
        dir: root.join("svckit"),
        secs: "3001",
    })];
    if installed("runsvdir") {
        peers.push(Box::new(Runit {
            dir: root.join("runit"),
            secs: "3002",
            runsvdir: None,
        }));
    }
    if installed("s6-svscan") {
        peers.push(Box::new(S6 {
            dir: root.join("s6"),
            secs: "3003",
            svscan: None,
        }));
    }
    if installed("supervisord") {
        peers.push(Box::new(Supervisord {
            dir: root.join("supervisord"),
            secs: "3004",
            daemon: None,
        }));
    }
    // Every peer runs its services at once, so that the status commands are timed in
    // interleaved rounds (drift hits every tool alike), svckit's static build among them.
    for peer in &mut peers {
        peer.start_all(n);
        thread::sleep(SETTLE);
        rows.push(Row {
            metric: "memory (PSS) for the services".into(),
            tool: peer.name(),
            value: pss(&peer.supervisor_pids()) as f64 / 1024.0,
            unit: "MiB",
        });
    }
    let static_svckit = crate::static_build::svckit_static(SVCKIT);
    let mut status: Vec<(String, Vec<Duration>)> = peers
        .iter()
        .map(|peer| (peer.name(), Vec::new()))
        .chain(
            static_svckit
                .iter()
                .map(|_| ("svckit (static)".into(), Vec::new())),
        )
        .collect();
    // Each round starts with another tool, so that none always follows the same one (a
    // Python supervisorctl leaves the caches cold for whatever runs next).
    let tools = status.len();
    for round in 0..40 {
        for turn in 0..tools {
            let at = (round + turn) % tools;
            let took = match peers.get(at) {
                Some(peer) => peer.status(),
                None => static_svckit
                    .as_ref()
                    .and_then(|exe| peers[0].status_by(exe)),
            };
            status[at].1.extend(took);
        }
    }
    for (tool, samples) in status {
        if !samples.is_empty() {
            rows.push(Row {
                metric: "status of every service".into(),
                tool,
                value: median(samples).as_secs_f64() * 1e3,
                unit: "ms",
            });
        }
    }
    for peer in &mut peers {
        let mut stops = Vec::new();
        for _ in 0..10 {
            if let Some(took) = peer.stop_one() {
                stops.push(took);
            }
            peer.start_one();
        }
        rows.push(Row {
            metric: "stop, returning once gone".into(),
            tool: peer.name(),
            value: median(stops).as_secs_f64() * 1e3,
            unit: "ms",
        });
        let took = peer.shutdown();
        rows.push(Row {
            metric: "shutdown, every service stopped".into(),
            tool: peer.name(),
            value: took.as_secs_f64(),
            unit: "s",
        });
    }
}

/// How long a supervisor is left after its last command before its memory is read: every
/// one alike, settled (svckit's gives memory back a second after its last client).
const SETTLE: Duration = Duration::from_secs(2);

/// The open descriptors of `pid`.
fn fds(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// svckit alone at each size of `sizes` (the peers are measured at 100 in `fleet`), run by
/// `exe` (the static build where there is one, as the README installs it): install N `sleep`
/// services (apply of a directory, start = demand), start them all, the supervisor's PSS and
/// descriptors once it settled, how many run, `status --json` of all (median of 5), stop
/// them all, and the supervisor's shutdown.
fn scale(root: &Path, exe: &str, sizes: &[usize], rows: &mut Vec<Row>) {
    for &n in sizes {
        let secs = "3005";
        let dir = root.join(format!("scale-{n}"));
        let defs = dir.join("defs");
        fs::create_dir_all(&defs).unwrap();
        for i in 0..n {
            fs::write(
                defs.join(format!("s{i}.toml")),
                format!("program = \"/bin/sleep\"\nargs = [\"{secs}.{i}\"]\nstart = \"demand\"\n"),
            )
            .unwrap();
        }
        let svckit = Svckit {
            dir: dir.join("state"),
            secs,
        };
        let sv = |args: &[&str]| -> Vec<String> { svckit.sv(args) };
        let timed_sv = |args: &[&str]| -> Duration {
            let args = sv(args);
            timed(exe, &args.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let mut row = |metric: &str, value: f64, unit: &'static str| {
            rows.push(Row {
                metric: format!("{n} services: {metric}"),
                tool: "svckit".into(),
                value,
                unit,
            })
        };
        let took = timed_sv(&["apply", &defs.display().to_string()]);
        row("install all (apply)", took.as_secs_f64(), "s");
        let started = Instant::now();
        let args = sv(&["start", "--all"]);
        // Exit 1 when any failed: every service is counted running below either way.
        run(exe, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let all_ran = wait_until(Duration::from_secs(120), || sleepers(secs) == n);
        row(
            "start all, each running",
            started.elapsed().as_secs_f64(),
            "s",
        );
        row("services running", sleepers(secs) as f64, "");
        if !all_ran {
            eprintln!("{n} services: only {} ran", sleepers(secs));
        }
        // Settled: a second after its last client the supervisor gives its heap's free
        // memory back and lets go of its code's pages (as it does whenever it goes idle).
        thread::sleep(SETTLE);
        row(
            "supervisor PSS",
            pss(&svckit.supervisor_pids()) as f64 / 1024.0,
            "MiB",
        );
        let supervisor = svckit.supervisor().expect("a supervisor");
        row("supervisor descriptors", fds(supervisor) as f64, "");
        let samples: Vec<Duration> = (0..5).map(|_| timed_sv(&["status", "--json"])).collect();
        row(
            "status --json of all",
            median(samples).as_secs_f64() * 1e3,
            "ms",
        );
        let started = Instant::now();
        timed_sv(&["stop", "--all"]);
        let all_gone = wait_until(Duration::from_secs(600), || sleepers(secs) == 0);
        row(
            "stop all, every one gone",
            started.elapsed().as_secs_f64(),
            "s",
        );
        if !all_gone {
            eprintln!(
                "{n} services: {} still run after stop --all",
                sleepers(secs)
            );
        }
        let mut svckit = svckit;
        let took = svckit.shutdown();
        row("supervisor shutdown", took.as_secs_f64(), "s");
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Median gap between starts of a service that exits 1 at once, restart delay 0.
fn restart_interval(root: &Path, rows: &mut Vec<Row>) {
    let starts_needed = 6;
    let gaps = |file: &Path| -> f64 {
        let times: Vec<u128> = fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        let gaps: Vec<Duration> = times
            .windows(2)
            .map(|w| Duration::from_nanos((w[1] - w[0]) as u64))
            .collect();
        median(gaps).as_secs_f64() * 1e3
    };
    let count = |file: &Path| {
        fs::read_to_string(file)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // svckit
    let dir = root.join("restart-svckit");
    let file = root.join("restart-svckit.times");
    let state = dir.display().to_string();
    let script = format!("date +%s%N >> {}; exit 1", file.display());
    run(
        SVCKIT,
        &[
            "install",
            "--backend",
            "builtin",
            "crash",
            "--restart",
            "always",
            "--restart-delay",
            "0",
            "--start-limit",
            "0",
            "--state-dir",
            &state,
            "--",
            "sh",
            "-c",
            &script,
        ],
    );
    run(SVCKIT, &["start", "crash", "--state-dir", &state]);
    wait_until(Duration::from_secs(30), || {
        count(&file) >= starts_needed * 10
    });
    run(SVCKIT, &["stop", "crash", "--state-dir", &state]);
    rows.push(Row {
        metric: "restart interval after a crash (delay 0)".into(),
        tool: "svckit".into(),
        value: gaps(&file),
        unit: "ms",
    });
    if let Ok(pid) = fs::read_to_string(dir.join("supervisor.pid")) {
        run("kill", &[pid.trim()]);
    }
    for (tool, program, ctl) in [("runit", "runsvdir", "runit"), ("s6", "s6-svscan", "s6")] {
        if !installed(program) {
            continue;
        }
        let dir = root.join(format!("restart-{tool}"));
        let file = root.join(format!("restart-{tool}.times"));
        write_script(
            &dir.join("crash/run"),
            &format!("date +%s%N >> {}; exit 1", file.display()),
        );
        let mut child = Command::new(program)
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until(Duration::from_secs(30), || count(&file) >= starts_needed);
        match ctl {
            "runit" => {
                run("kill", &["-HUP", &child.id().to_string()]);
            }
            _ => {
                run("s6-svscanctl", &["-t", &dir.display().to_string()]);
            }
        }
        let _ = child.wait();
        rows.push(Row {
            metric: "restart interval after a crash (delay 0)".into(),
            tool: tool.into(),
            value: gaps(&file),
            unit: "ms",
        });
    }
}

/// Capture throughput of `yes | head -c BYTES` (100-byte lines) with rotation.
fn capture(root: &Path, bytes: usize, rows: &mut Vec<Row>) {
    assert_eq!(LINE.len(), 99);
    // Rotation on for every tool: at least four rotations, at most 50 MiB files.
    let rotate = (bytes / 5).min(50 << 20);
    let rotate_text = rotate.to_string();
    let producer = format!("yes '{LINE}' | head -c {bytes}");
    let mbps = |took: Duration| bytes as f64 / 1e6 / took.as_secs_f64();
    let total = |dir: &Path, prefix: &str| -> u64 {
        fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    // (A log's time index, `.times`, is not its content.)
                    .filter(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.starts_with(prefix) && !name.ends_with(".times")
                    })
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    // Straight to a file.
    let plain = root.join("capture-plain");
    let started = Instant::now();
    run("sh", &["-c", &format!("{producer} > {}", plain.display())]);
    rows.push(Row {
        metric: "stdout capture, rotated".into(),
        tool: "straight to a file".into(),
        value: mbps(started.elapsed()),
        unit: "MB/s",
    });
    let _ = fs::remove_file(&plain);
    // svckit: rotation at 50 MiB, every byte checked afterwards.
    let state = root.join("capture-svckit");
    let s = state.display().to_string();
    run(
        SVCKIT,
        &[
            "install",
            "--backend",
            "builtin",
            "chatty",
            "--log-max-size",
            &rotate_text,
            "--log-keep",
            "100",
            "--state-dir",
            &s,
            "--",
            "sh",
            "-c",
            &producer,
        ],
    );
    run(SVCKIT, &["status", "--state-dir", &s]);
    let logs = state.join("logs");
    // Timed to the moment the supervisor stored the last byte, as its time index says (16
    // bytes per write: the size stored up to, and when, in Unix milliseconds), waited for
    // by a look every 25 ms. A watcher woken at each of the supervisor's writes (inotify) ran
    // beside it on this 2-core machine, where straight to a file has no watcher: it took
    // between 3% and 30% off svckit's rate, from run to run.
    let started_ms = unix_ms();
    run(SVCKIT, &["start", "chatty", "--state-dir", &s]);
    // Looked at every 25 ms: a watcher at each write competed with svckit for the 2 cores.
    let stored = |dir: &Path, prefix: &str| {
        wait_every(Duration::from_millis(25), Duration::from_secs(600), || {
            total(dir, prefix) >= bytes as u64
        })
    };
    stored(&logs, "chatty.stdout");
    let stored_ms = fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("chatty.stdout") && name.ends_with(".times")
        })
        .filter_map(|e| {
            let index = fs::read(e.path()).ok()?;
            let last = index.len().checked_sub(16).map(|at| &index[at..])?;
            Some(u64::from_le_bytes(last[8..].try_into().ok()?))
        })
        .max()
        .expect("a time index");
    let took = Duration::from_millis(stored_ms.saturating_sub(started_ms));
    let mut exact = total(&logs, "chatty.stdout") == bytes as u64;
    let line = format!("{LINE}\n");
    for entry in fs::read_dir(&logs).unwrap().filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("chatty.stdout") || name.ends_with(".times") {
            continue;
        }
        let mut content = Vec::new();
        fs::File::open(entry.path())
            .unwrap()
            .read_to_end(&mut content)
            .unwrap();
        exact &= content.len() % 100 == 0 && content.chunks(100).all(|c| c == line.as_bytes());
    }
    rows.push(Row {
        metric: "stdout capture, rotated".into(),
        tool: format!(
            "svckit ({})",
            if exact {
                "byte-exact"
            } else {
                "NOT byte-exact"
            }
        ),
        value: mbps(took),
        unit: "MB/s",
    });
    if let Ok(pid) = fs::read_to_string(state.join("supervisor.pid")) {
        run("kill", &[pid.trim()]);
    }
    let _ = fs::remove_dir_all(&logs);
    // supervisord.
    if installed("supervisord") {
        let mut peer = Supervisord {
            dir: root.join("capture-supervisord"),
            secs: "0",
            daemon: None,
        };
        let log = peer.dir.join("chatty.log");
        peer.write_conf(&format!(
            "[program:chatty]\ncommand=sh -c \"{producer}\"\nautostart=false\nautorestart=false\nstartsecs=0\nstdout_logfile={}\nstdout_logfile_maxbytes={rotate}\nstdout_logfile_backups=100\n",
            log.display()
        ));
        peer.spawn();
        // Without a watcher at each write either (as svckit's, above): looked at every 25 ms,
        // timed to its logs' last modification.
        let started = std::time::SystemTime::now();
        run("supervisorctl", &["-c", &peer.conf(), "start", "chatty"]);
        stored(&peer.dir, "chatty.log");
        let written = fs::read_dir(&peer.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("chatty.log"))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()
            .expect("a log");
        rows.push(Row {
            metric: "stdout capture, rotated".into(),
            tool: "supervisord".into(),
            value: mbps(written.duration_since(started).unwrap_or_default()),
            unit: "MB/s",
        });
        peer.shutdown();
        let _ = fs::remove_dir_all(&peer.dir);
    }
    for (tool, program, command) in [
        (
            "s6-log",
            "s6-log",
            format!(
                "{producer} | s6-log -b n100 s{rotate} {}",
                root.join("capture-s6log").display()
            ),
        ),
        (
            "svlogd",
            "svlogd",
            format!(
                "mkdir -p {0} && printf 's{rotate}\\nn100\\n' > {0}/config && {producer} | svlogd {0}",
                root.join("capture-svlogd").display()
            ),
        ),
    ] {
        if !installed(program) {
            continue;
        }
        let started = Instant::now();
        run("sh", &["-c", &command]);
        rows.push(Row {
            metric: "stdout capture, rotated".into(),
            tool: tool.into(),
            value: mbps(started.elapsed()),
            unit: "MB/s",
        });
    }
}

pub fn main() {
    let n = env_number("SVCKIT_BENCH_SERVICES", 100);
    let bytes = env_number("SVCKIT_BENCH_BYTES", 212_000_000);
    let root = std::env::temp_dir().join(format!("svckit-bench-supervise-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let mut rows = Vec::new();
    fleet(&root, n, &mut rows);
    let sizes: Vec<usize> = std::env::var("SVCKIT_BENCH_SCALE")
        .unwrap_or_else(|_| "1000".into())
        .split(',')
        .filter_map(|size| size.trim().parse().ok())
        .collect();
    let scale_exe = crate::static_build::svckit_static(SVCKIT).unwrap_or_else(|| SVCKIT.into());
    scale(&root, &scale_exe, &sizes, &mut rows);
    restart_interval(&root, &mut rows);
    capture(&root, bytes, &mut rows);
    for marker in [
        "sleep 3001.",
        "sleep 3002.",
        "sleep 3003.",
        "sleep 3004.",
        "sleep 3005.",
    ] {
        kill_all(marker);
    }
    let _ = fs::remove_dir_all(&root);

    println!(
        "\nsvckit's supervisor vs its peers ({n} services, {bytes} bytes captured), one run:\n"
    );
    println!("| metric | tool | value | svckit ÷ tool | static svckit ÷ tool |");
    println!("|---|---|---|---|---|");
    for row in &rows {
        let ratio = |ours: Option<f64>| {
            ours.map_or("–".into(), |ours| format!("{:.3}", ours / row.value))
        };
        let ours = rows
            .iter()
            .find(|r| r.metric == row.metric && r.tool.starts_with("svckit"))
            .map(|r| r.value);
        let static_ours = rows
            .iter()
            .find(|r| r.metric == row.metric && r.tool == "svckit (static)")
            .map(|r| r.value);
        println!(
            "| {} | {} | {:.3} {} | {} | {} |",
            row.metric,
            row.tool,
            row.value,
            row.unit,
            ratio(ours),
            ratio(static_ours)
        );
    }
}
