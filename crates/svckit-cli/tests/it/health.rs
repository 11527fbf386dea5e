//! Health probes under svckit's supervisor, with real programs: nginx whose readiness is an
//! HTTP 200 (and whose broken upstream makes its start fail naming the 502), a Python HTTP
//! server frozen with SIGSTOP that its liveness probe has restarted, probe commands that hang
//! or leave children behind.

use std::{
    fs,
    time::{Duration, Instant},
};

use crate::supervise::Sup;
use crate::support::{
    code, eventually, free_port, is_gone, processes_with, require_program, require_root, stderr,
};

/// nginx in the foreground on `port`, its `location /` as `location` says.
fn nginx_command(sup: &Sup, port: u16, location: &str) -> Vec<String> {
    let (conf, _) = crate::daemons::nginx_config(&sup.dir.join("nginx"), port);
    let text = fs::read_to_string(&conf)
        .unwrap()
        .replace("location / { return 200 \"hi\\n\"; }", location);
    fs::write(&conf, text).unwrap();
    [
        "/usr/sbin/nginx",
        "-c",
        conf.to_str().unwrap(),
        "-g",
        "daemon off;",
    ]
    .map(String::from)
    .to_vec()
}

/// `start` returns once GET answers 200, so the first request after it is served; an
/// upstream nginx cannot reach answers 502, and the start fails at its ready timeout naming
/// the status, nothing of nginx left.
#[test]
fn nginx_with_an_http_readiness_probe_is_started_once_it_answers_200() {
    let test = "nginx_with_an_http_readiness_probe_is_started_once_it_answers_200";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let sup = Sup::new("health-nginx");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let command = nginx_command(&sup, port, "location / { return 200 \"hi\\n\"; }");
    let mut install = vec![
        "install",
        "web",
        "--ready-http",
        &url,
        "--ready-interval",
        "100ms",
        "--",
    ];
    install.extend(command.iter().map(String::as_str));
    sup.ok(&install);
    sup.ok(&["start", "web"]);
    // Ready means it serves: the very next request gets its 200.
    let answer = crate::support::http_get(port, "/");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let events = sup.ok(&["events", "web"]);
    assert!(
        events.contains(&format!("ready: GET {url} answered 200")),
        "{events}"
    );
    sup.ok(&["uninstall", "web"]);

    // Its upstream is a port nothing listens on: 502, never ready.
    let sup = Sup::new("health-nginx-502");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let dead = free_port();
    let location = format!("location / {{ proxy_pass http://127.0.0.1:{dead}; }}");
    let command = nginx_command(&sup, port, &location);
    let mut install = vec![
        "install",
        "web",
        "--ready-http",
        &url,
        "--ready-interval",
        "100ms",
        "--ready-timeout",
        "2s",
        "--",
    ];
    install.extend(command.iter().map(String::as_str));
    sup.ok(&install);
    let said = sup.start_fails("web", "not ready within 2s");
    assert!(said.contains(&format!("GET {url} answered 502")), "{said}");
    let conf = sup.dir.join("nginx/nginx.conf");
    assert!(
        eventually(Duration::from_secs(10), || processes_with(
            conf.to_str().unwrap()
        )
        .is_empty()),
        "nothing of nginx is left"
    );
}

/// Seconds since boot, now (/proc/uptime).
fn uptime() -> Duration {
    let text = fs::read_to_string("/proc/uptime").unwrap();
    let seconds: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_secs_f64(seconds)
}

/// When process `pid` started, in time since boot (/proc/PID/stat's starttime, in the
/// kernel's 100 ticks a second).
fn started_at(pid: i64) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let ticks: u64 = after.split(' ').nth(19).unwrap().parse().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Installs `web`: python's http.server on a free port of 127.0.0.1, ready once GET / answers
/// (checked every 100 ms), with a liveness GET of the same URL as `liveness` flags say,
/// restarted on failure; the URL.
fn install_probed_http_server(sup: &Sup, liveness: &[&str]) -> String {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let (port, dir) = (port.to_string(), sup.dir.str(""));
    let mut args = vec![
        "install",
        "web",
        "--ready-http",
        &url,
        "--ready-interval",
        "100ms",
        "--health-http",
        &url,
        "--restart",
        "on-failure",
    ];
    args.extend_from_slice(liveness);
    args.extend([
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        &port,
        "--bind",
        "127.0.0.1",
        "--directory",
        &dir,
    ]);
    sup.ok(&args);
    url
}

/// A server that hangs while its process lives (SIGSTOP): its liveness probe finds it
/// unhealthy after failure_threshold checks, and it is restarted through its restart policy,
/// the frozen process gone. Twenty times in a row, each within initial_delay +
/// failure_threshold × period + timeout, plus one period and the restart delay.
#[test]
fn a_frozen_http_server_is_restarted_by_its_liveness_probe_twenty_times_in_a_row() {
    let sup = Sup::new("health-frozen");
    let (period, timeout, failures, delay) = (
        Duration::from_millis(300),
        Duration::from_millis(200),
        3u32,
        Duration::from_millis(100),
    );
    let bound = period * failures + timeout + period + delay;
    let url = install_probed_http_server(
        &sup,
        &[
            "--health-interval",
            "300ms",
            "--health-timeout",
            "200ms",
            "--health-retries",
            "3",
            "--restart-delay",
            "100ms",
            "--restart-max-delay",
            "100ms",
            "--start-limit",
            "0",
        ],
    );
    sup.ok(&["start", "web"]);
    let mut took = Vec::new();
    for trial in 0..20 {
        let pid = sup.status("web")["pid"].as_i64().unwrap();
        let frozen = uptime();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .unwrap();
        let mut new = None;
        assert!(
            eventually(Duration::from_secs(30), || {
                let status = sup.status("web");
                new = status["pid"].as_i64().filter(|now| *now != pid);
                new.is_some() && status["state"] == "running"
            }),
            "trial {trial}: not restarted: {}",
            sup.ok(&["events", "web", "-n", "20"])
        );
        assert!(
            is_gone(pid as i32),
            "trial {trial}: the frozen process is left"
        );
        took.push(started_at(new.unwrap()).saturating_sub(frozen));
    }
    let slowest = took.iter().max().copied().unwrap_or_default();
    eprintln!(
        "hung server restarted after (ms): {:?}",
        took.iter().map(Duration::as_millis).collect::<Vec<_>>()
    );
    assert!(
        slowest <= bound,
        "slowest restart {slowest:?}, bound {bound:?}: {took:?}"
    );
    let events = sup.ok(&["events", "web", "-n", "400"]);
    assert!(
        events.contains(&format!(
            "unhealthy: GET {url} timed out after 200ms (3 failures in a row)"
        )),
        "{events}"
    );
    sup.ok(&["uninstall", "web"]);
}

/// A probe command that hangs is killed at its timeout, and one that leaves a child that
/// never exits leaves nothing: each check's processes end with it.
#[test]
fn probe_commands_that_hang_or_leave_children_leave_nothing_behind() {
    let sup = Sup::new("health-commands");
    // Sleepers this test alone starts: `sleep 600.PID1` and `sleep 600.PID2`.
    let marker = format!("600.{}1", std::process::id());
    let hang = format!("600.{}2", std::process::id());
    // Passes at once, but leaves a sleeper that would outlive it.
    let leaves = format!("sleep {marker} & exit 0");
    sup.ok(&[
        "install",
        "leaves",
        "--health-cmd",
        &leaves,
        "--health-interval",
        "100ms",
        "--",
        "sleep",
        "600",
    ]);
    sup.ok(&["start", "leaves"]);
    assert!(
        eventually(Duration::from_secs(10), || sup.status("leaves")["probes"]
            [0]["last"]
            .as_str()
            .is_some_and(|last| last.contains("exited 0"))),
        "{}",
        sup.status("leaves")
    );
    assert!(
        eventually(Duration::from_secs(5), || processes_with(&marker)
            .is_empty()),
        "a probe's child outlived it: {:?}",
        processes_with(&marker)
    );
    sup.ok(&["uninstall", "leaves"]);
    // Never ends: killed at its timeout, counted as a failure, and it is unhealthy.
    let hangs = format!("exec sleep {hang}");
    sup.ok(&[
        "install",
        "hangs",
        "--health-cmd",
        &hangs,
        "--health-interval",
        "100ms",
        "--health-timeout",
        "100ms",
        "--health-retries",
        "2",
        "--restart",
        "never",
        "--",
        "sleep",
        "600",
    ]);
    let began = Instant::now();
    sup.ok(&["start", "hangs"]);
    assert!(
        eventually(Duration::from_secs(10), || sup.status("hangs")["state"]
            != "running"),
        "{}",
        sup.status("hangs")
    );
    assert!(began.elapsed() < Duration::from_secs(10));
    let events = sup.ok(&["events", "hangs"]);
    assert!(events.contains("timed out after 100ms"), "{events}");
    assert!(
        eventually(Duration::from_secs(5), || processes_with(&hang).is_empty()),
        "a hung probe outlived its timeout: {:?}",
        processes_with(&hang)
    );
    // Refused before anything runs: a period of 1 ms or 1e19 s, a URL that names a host.
    for (flag, value, says) in [
        ("--health-interval", "1ms", "liveness.period"),
        ("--health-interval", "1e19", "longer than a year"),
        ("--health-http", "http://example.com/", "not an IP address"),
    ] {
        let mut args = vec!["install", "bad", "--health-tcp", "127.0.0.1:1", flag, value];
        args.extend(["--", "sleep", "1"]);
        if flag == "--health-http" {
            args.drain(2..4);
        }
        let out = sup.run(&args);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}

/// Regression: a stop of a service whose process someone froze (SIGSTOP) sent SIGTERM, which a
/// stopped process holds unread, and it ended only by SIGKILL at the stop timeout (the hung
/// server's liveness restart took 10 s more than its probe). SIGCONT now follows the stop
/// signal, as systemd sends it: the frozen process ends of the SIGTERM.
#[test]
fn regression_a_stop_reaches_a_process_frozen_by_sigstop_at_once() {
    let sup = Sup::new("frozen-stop");
    sup.ok(&[
        "install",
        "frozen",
        "--stop-timeout",
        "3s",
        "--",
        "sleep",
        "600",
    ]);
    sup.ok(&["start", "frozen"]);
    let pid = sup.status("frozen")["pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    sup.ok(&["stop", "frozen"]);
    assert!(is_gone(pid));
    let status = sup.status("frozen");
    assert_eq!(
        status["last_exit"]["signal"], 15,
        "ended by its SIGTERM: {status}"
    );
    let events = sup.ok(&["events", "frozen"]);
    assert!(!events.contains("SIGKILL"), "{events}");
}

/// Milliseconds since midnight of an event line's time (`2026-12-06 15:11:24.324 web: …`).
pub(crate) fn event_ms(line: &str) -> Option<u64> {
    let time = line.split_whitespace().nth(1)?;
    let (hms, ms) = time.split_once('.')?;
    let mut parts = hms.split(':').map(|part| part.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
}

/// Readiness gates dependents: redis is ready once `redis-cli ping` says PONG, and a client
/// that requires it (and asks it for a PONG first thing) is started only then. Fifty cold
/// starts of both: the client never sees a redis that is not ready, and starts within one
/// probe period of redis's readiness.
#[test]
fn a_dependent_starts_only_once_redis_is_ready_fifty_cold_starts_in_a_row() {
    let test = "a_dependent_starts_only_once_redis_is_ready_fifty_cold_starts_in_a_row";
    let sup = Sup::new("health-redis");
    let readiness = |port: u16| {
        format!(
            "[readiness]\nexec = [\"/bin/sh\", \"-c\", \"redis-cli -p {port} ping | grep -q PONG\"]\n\
             period = \"100ms\"\n"
        )
    };
    let Some(port) = crate::conditions::install_redis(&sup, test, readiness) else {
        return;
    };
    let pings = sup.dir.join("pings");
    crate::conditions::install_redis_client(&sup, "client", port, &pings, "");
    // From redis's readiness to the client's start.
    let gaps = crate::conditions::cold_starts(&sup, 50, &pings, " redis: ready: ");
    let said = fs::read_to_string(&pings).unwrap();
    let premature: Vec<&str> = said.lines().filter(|line| *line != "PONG").collect();
    assert!(premature.is_empty(), "premature starts: {premature:?}");
    assert_eq!(gaps.len(), 50, "{gaps:?}");
    eprintln!("readiness to the dependent's start (ms): {gaps:?}");
    assert!(
        gaps.iter().all(|gap| *gap <= 100),
        "a dependent started later than one probe period after readiness: {gaps:?}"
    );
}

/// Regression: every readiness check after a failed one was SIGKILLed at birth, so a service
/// not ready at its first check never became ready. A failed check's cgroup was killed with
/// `cgroup.kill`, and this kernel kills every child later born into such a cgroup with
/// CLONE_INTO_CGROUP. Each check now has a cgroup of its own.
#[test]
fn regression_a_readiness_check_after_a_failed_one_is_not_killed_at_birth() {
    let sup = Sup::new("health-after-failure");
    let flag = sup.dir.join("ready-flag");
    let check = format!("test -e {}", flag.display());
    sup.ok(&[
        "install",
        "late",
        "--ready-cmd",
        &check,
        "--ready-interval",
        "100ms",
        "--ready-timeout",
        "60s",
        "--",
        "sleep",
        "600",
    ]);
    let mut start = sup.command(&["start", "late"]);
    let mut starting = start.spawn().unwrap();
    // Two checks have failed, each on its own: `test` said 1, nothing killed it.
    assert!(
        eventually(Duration::from_secs(20), || {
            let status = sup.status("late");
            status["probes"][0]["failures"].as_u64() >= Some(2)
                && status["probes"][0]["last"]
                    .as_str()
                    .is_some_and(|last| last.ends_with("exited 1"))
        }),
        "{}",
        sup.status("late")
    );
    fs::write(&flag, "").unwrap();
    let started = starting.wait().unwrap();
    assert!(
        started.success(),
        "start failed: {}",
        sup.ok(&["events", "late"])
    );
    assert_eq!(sup.status("late")["state"], "running");
    sup.ok(&["uninstall", "late"]);
}

/// A service SIGKILLed at its stop timeout (its cgroup killed with `cgroup.kill`) starts again
/// and runs: its cgroup is removed once empty and made anew, never started in again after a
/// kill (which would SIGKILL the new process at birth).
#[test]
fn regression_a_service_sigkilled_at_its_stop_timeout_runs_again_in_a_new_cgroup() {
    let sup = Sup::new("killed-restart");
    let stubborn = "trap '' TERM; while :; do sleep 1; done";
    sup.ok(&[
        "install",
        "stubborn",
        "--stop-timeout",
        "1s",
        "--",
        "/bin/sh",
        "-c",
        stubborn,
    ]);
    for round in 0..2 {
        sup.ok(&["start", "stubborn"]);
        sup.ok(&["stop", "stubborn"]);
        let status = sup.status("stubborn");
        assert_eq!(
            status["last_exit_why"], "sent by svckit after the 1s stop timeout",
            "round {round}: it ran until its stop's SIGKILL: {status}"
        );
    }
}

/// The supervisor's CPU time so far (user + system), from /proc/PID/stat, in the kernel's 100
/// ticks a second.
fn cpu_of(pid: i32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// 500 services, each with a liveness probe every 100 ms (a TCP connect to a port the test
/// accepts on: 5,000 checks a second): none is found unhealthy for the supervisor's own
/// slowness, `status` answers all along, and the supervisor's CPU is reported (not asserted:
/// a measurement, not a timing test).
#[test]
fn five_hundred_services_probed_every_100ms_keep_the_supervisor_answering() {
    const SERVICES: usize = 500;
    let sup = Sup::new("health-500");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let target = format!("127.0.0.1:{port}");
    let names: Vec<String> = (0..SERVICES).map(|i| format!("probed-{i}")).collect();
    for name in &names {
        sup.ok(&[
            "install",
            name,
            "--health-tcp",
            &target,
            "--health-interval",
            "100ms",
            "--",
            "sleep",
            "600",
        ]);
    }
    let mut start = vec!["start"];
    start.extend(names.iter().map(String::as_str));
    sup.ok(&start);
    let supervisor = sup.supervisor_pid().expect("the supervisor runs");
    let (cpu_before, before, checks_before) = (
        cpu_of(supervisor),
        Instant::now(),
        accepted.load(std::sync::atomic::Ordering::Relaxed),
    );
    // Three seconds of probing, the status of one service asked all along.
    let mut answers = Vec::new();
    while before.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        let status = sup.status("probed-250");
        answers.push(asked.elapsed());
        assert_eq!(status["state"], "running", "{status}");
    }
    let (cpu, wall) = (cpu_of(supervisor) - cpu_before, before.elapsed());
    let checks = accepted.load(std::sync::atomic::Ordering::Relaxed) - checks_before;
    answers.sort();
    eprintln!(
        "{SERVICES} services probed every 100ms: {checks} checks in {wall:?} ({:.0}/s), \
         supervisor CPU {:.0}% of one core, status p50 {:?} max {:?}",
        checks as f64 / wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        answers[answers.len() / 2],
        answers.last().unwrap()
    );
    assert!(checks > 0, "no check reached the port");
    // None was found unhealthy: every one still runs, none restarted.
    let all = sup.run(&["status", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let services = all.as_array().expect("an array of statuses");
    let running = services
        .iter()
        .filter(|service| service["state"] == "running" && service["restarts"] == 0)
        .count();
    assert_eq!(running, SERVICES, "{all}");
    let events = sup.ok(&["events", "-n", "2000"]);
    assert!(!events.contains("unhealthy"), "{events}");
    let mut stop = vec!["stop"];
    stop.extend(names.iter().map(String::as_str));
    sup.ok(&stop);
}

/// A oneshot a service requires (a migration before the server) counts once it completed
/// successfully: the service starts after it, not beside it; one that fails fails the start,
/// naming it. (A required oneshot that had exited 0 failed its dependents: "it requires
/// migrate, which did not start (now exited)".)
#[test]
fn regression_a_required_oneshot_counts_once_it_completed_successfully() {
    let sup = Sup::new("oneshot-dependency");
    let marker = sup.dir.join("migrated");
    let sleeper = format!("600.{}", std::process::id());
    let write = |name: &str, text: String| {
        let path = sup.dir.join(&format!("{name}.toml"));
        fs::write(&path, text).unwrap();
        sup.ok(&["install", name, "--file", path.to_str().unwrap()]);
    };
    write(
        "migrate",
        format!(
            "program = \"/bin/sh\"\nargs = [\"-c\", \"sleep 0.2; echo done > {}\"]\ntype = \"oneshot\"\n",
            marker.display()
        ),
    );
    write(
        "app",
        format!(
            "program = \"/bin/sh\"\nargs = [\"-c\", \"test -e {} && exec sleep {sleeper}\"]\n\
             requires = [\"migrate\"]\n",
            marker.display()
        ),
    );
    sup.ok(&["start", "app"]);
    // It found the migration done: it went on to sleep.
    assert!(
        eventually(Duration::from_secs(10), || !processes_with(&sleeper)
            .is_empty()),
        "{}",
        sup.ok(&["events", "-n", "20"])
    );
    sup.ok(&["stop", "app"]);
    write(
        "broken",
        "program = \"/bin/sh\"\nargs = [\"-c\", \"exit 3\"]\ntype = \"oneshot\"\n".to_owned(),
    );
    write(
        "app2",
        "program = \"/bin/sleep\"\nargs = [\"600\"]\nrequires = [\"broken\"]\n".to_owned(),
    );
    sup.start_fails("app2", "it requires broken, which did not start");
}

/// A paused service cannot answer its probe, and is not judged by it: its liveness probe stops
/// while it is paused (status shows none) and resumes with it, the same process answering.
#[test]
fn a_paused_service_is_not_probed_until_it_continues() {
    let sup = Sup::new("health-paused");
    install_probed_http_server(
        &sup,
        &[
            "--health-interval",
            "100ms",
            "--health-timeout",
            "100ms",
            "--health-retries",
            "1",
        ],
    );
    sup.ok(&["start", "web"]);
    let pid = sup.status("web")["pid"].as_i64().unwrap();
    sup.ok(&["pause", "web"]);
    let paused = sup.status("web");
    assert_eq!(paused["state"], "paused", "{paused}");
    assert_eq!(
        paused["probes"],
        serde_json::json!([]),
        "probed while paused: {paused}"
    );
    sup.ok(&["continue", "web"]);
    // Probed again, the same process answering: nothing was found unhealthy.
    assert!(
        eventually(Duration::from_secs(10), || {
            sup.status("web")["probes"][0]["last"]
                .as_str()
                .is_some_and(|last| last.ends_with("answered 200"))
        }),
        "{}",
        sup.status("web")
    );
    let status = sup.status("web");
    assert_eq!(
        (status["pid"].as_i64(), status["restarts"].as_u64()),
        (Some(pid), Some(0))
    );
    let events = sup.ok(&["events", "web"]);
    assert!(!events.contains("unhealthy"), "{events}");
    sup.ok(&["uninstall", "web"]);
}

/// `svckit probe-wait` (a systemd unit's readiness wait, or any script's): a check that hangs
/// is killed at its timeout with the child it started, it gives up at --within with exit 1
/// naming the last check, and it returns 0 once a Python HTTP server answers.
#[test]
fn probe_wait_bounds_each_check_and_returns_once_the_server_answers() {
    let test = "probe_wait_bounds_each_check_and_returns_once_the_server_answers";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let marker = format!("100.{}", std::process::id());
    let hung = crate::support::run(&[
        "probe-wait",
        "--timeout",
        "300ms",
        "--period",
        "200ms",
        "--within",
        "1s",
        "--",
        "/bin/sh",
        "-c",
        &format!("sleep {marker} & sleep {marker}"),
    ]);
    assert_eq!(code(&hung), 1, "{}", stderr(&hung));
    assert!(
        stderr(&hung).contains("not ready within 1s")
            && stderr(&hung).contains("timed out after 300ms"),
        "{}",
        stderr(&hung)
    );
    assert!(
        eventually(Duration::from_secs(5), || processes_with(&marker)
            .is_empty()),
        "a check's command or its child outlived it"
    );
    let port = free_port();
    let dir = crate::support::TempDir::new("probe-wait");
    let mut server = std::process::Command::new("/bin/sh")
        .args([
            "-c",
            &format!("sleep 0.5; exec /usr/bin/python3 -m http.server {port} --bind 127.0.0.1"),
        ])
        .current_dir(dir.join(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let ready = crate::support::run(&[
        "probe-wait",
        "--http",
        &url,
        "--period",
        "100ms",
        "--within",
        "30s",
    ]);
    assert_eq!(code(&ready), 0, "{}", stderr(&ready));
    assert!(
        String::from_utf8_lossy(&ready.stdout).contains("answered 200"),
        "{ready:?}"
    );
    assert!(crate::support::listening(port));
    let _ = server.kill();
    let _ = server.wait();
}

/// `on_unhealthy = "none"`: a Python HTTP server whose liveness check connects where nothing
/// listens is told unhealthy and left running; status says since when, how many failures in a
/// row and what the last check saw (JSON: `since_ms`).
#[test]
fn an_unhealthy_service_left_running_says_since_when() {
    if !require_program(
        "an_unhealthy_service_left_running_says_since_when",
        "/usr/bin/python3",
    ) {
        return;
    }
    let sup = Sup::new("health-since");
    let port = free_port();
    let closed = free_port();
    let definition = sup.dir.join("web.toml");
    fs::write(
        &definition,
        format!(
            "program = \"/usr/bin/python3\"\n\
             args = [\"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n\
             working_dir = {:?}\n\
             [liveness]\ntcp = \"127.0.0.1:{closed}\"\nperiod = \"100ms\"\nfailure_threshold = 2\n\
             on_unhealthy = \"none\"\n",
            sup.dir.str("")
        ),
    )
    .unwrap();
    sup.ok(&["install", "web", "--file", definition.to_str().unwrap()]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    sup.ok(&["start", "web"]);
    assert!(
        eventually(
            Duration::from_secs(10),
            || sup.status("web")["probes"][0]["health"] == "unhealthy"
        ),
        "{}",
        sup.status("web")
    );
    let status = sup.status("web");
    assert_eq!(status["state"], "running", "{status}");
    let since = status["probes"][0]["since_ms"].as_u64().unwrap();
    assert!(since >= before, "{status}");
    let told = sup.ok(&["status", "web"]);
    let line = told
        .lines()
        .find(|line| line.trim_start().starts_with("liveness: unhealthy since "))
        .unwrap_or_else(|| panic!("{told}"));
    assert!(
        line.contains("failures in a row")
            && line.contains(&format!("connect to 127.0.0.1:{closed}")),
        "{line}"
    );
    assert!(crate::support::listening(port), "left running");
    sup.ok(&["stop", "web"]);
}
