//! `svckit demo memory-status` on Unix: the same service as under the SCM, with signals as
//! controls and systemd's notify protocol read from a real datagram socket.

use std::{
    fs,
    os::unix::net::UnixDatagram,
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::support::{
    Daemon, TempDir, code, eventually, is_gone, memory_lines, run, stderr, svckit,
};

fn log_has(log: &Path, text: &str) -> bool {
    fs::read_to_string(log).unwrap_or_default().contains(text)
}

fn signal(pid: i32, signal: Signal) {
    kill(Pid::from_raw(pid), signal).unwrap();
}

/// Waits `wait` and asserts that no memory line was written meanwhile.
fn assert_no_new_lines(log: &Path, wait: Duration) {
    let before = memory_lines(log);
    std::thread::sleep(wait);
    assert_eq!(memory_lines(log), before, "lines were written while paused");
}

#[test]
fn daemon_pauses_on_sigtstp_resumes_on_sigcont_reloads_on_sighup_stops_on_sigterm() {
    let dir = TempDir::new("memstat-daemon");
    let log = dir.join("memory.log");
    let config = dir.join("memory.toml");
    fs::write(&config, "interval = \"100ms\"\n").unwrap();
    let out = run(&[
        "demo",
        "memory-status",
        "--daemon",
        "--log",
        &dir.str("memory.log"),
        "--config",
        &dir.str("memory.toml"),
        "--pidfile",
        &dir.str("memory.pid"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let daemon = Daemon::from_pidfile(&dir.join("memory.pid"));
    assert!(log_has(&log, "MemoryStatus started, every 100ms"));
    assert!(eventually(Duration::from_secs(5), || memory_lines(&log) >= 3));
    // Every field of GlobalMemoryStatusEx is on the line.
    let text = fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("memory load"))
        .unwrap();
    for field in ["memory load ", "% physical ", " page file ", " virtual "] {
        assert!(
            line.replace(',', "").contains(field),
            "{field:?} missing: {line}"
        );
    }

    signal(daemon.pid, Signal::SIGTSTP);
    assert!(eventually(Duration::from_secs(5), || log_has(
        &log, "paused"
    )));
    let state = daemon.status()["State"].clone();
    assert!(
        state.starts_with('S'),
        "SIGTSTP must not stop the process: {state}"
    );
    assert_no_new_lines(&log, Duration::from_millis(500));

    signal(daemon.pid, Signal::SIGCONT);
    let resumed = memory_lines(&log);
    assert!(eventually(Duration::from_secs(5), || memory_lines(&log) >= resumed + 3));

    fs::write(&config, "interval = \"250ms\"\n").unwrap();
    signal(daemon.pid, Signal::SIGHUP);
    assert!(eventually(Duration::from_secs(5), || log_has(
        &log,
        "reloaded: every 250ms"
    )));
    // A bad config is reported and the old interval kept.
    fs::write(&config, "interval = \"soon\"\n").unwrap();
    signal(daemon.pid, Signal::SIGHUP);
    assert!(eventually(Duration::from_secs(5), || log_has(
        &log,
        "reload failed, keeping every 250ms"
    )));

    signal(daemon.pid, Signal::SIGTERM);
    assert!(eventually(Duration::from_secs(5), || is_gone(daemon.pid)));
    assert!(log_has(&log, "MemoryStatus stopping (stop)"));
    assert!(
        !dir.join("memory.pid").exists(),
        "pid file removed on a clean stop"
    );
}

/// Reads notify datagrams until one contains `wanted`; returns everything read.
fn read_until(socket: &UnixDatagram, wanted: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(len) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..len]).into_owned();
            seen.push(message.clone());
            if message.contains(wanted) {
                return;
            }
        }
    }
    panic!("no {wanted:?} from the service; got {seen:?}");
}

fn spawn_under_notify(dir: &TempDir, notify_socket: &str, extra_env: &[(&str, &str)]) -> Child {
    let mut command = svckit();
    command
        .args(["demo", "memory-status", "--interval", "100ms", "--log"])
        .arg(dir.join("memory.log"))
        .arg("--config")
        .arg(dir.join("memory.toml"))
        .env("NOTIFY_SOCKET", notify_socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

#[test]
fn foreground_service_speaks_systemd_notify_and_exits_0_on_sigterm() {
    let dir = TempDir::new("memstat-notify");
    fs::write(dir.join("memory.toml"), "interval = \"100ms\"\n").unwrap();
    let socket = UnixDatagram::bind(dir.join("notify.sock")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut child = spawn_under_notify(
        &dir,
        &dir.str("notify.sock"),
        &[("WATCHDOG_USEC", "200000")],
    );
    let pid = child.id() as i32;
    let mut seen = Vec::new();

    read_until(&socket, "READY=1", &mut seen);
    let ready = seen.last().unwrap().clone();
    assert!(ready.contains(&format!("MAINPID={pid}")), "{ready}");
    assert!(
        memory_lines(&dir.join("memory.log")) <= 1,
        "READY=1 comes before the work"
    );
    read_until(&socket, "WATCHDOG=1", &mut seen);

    signal(pid, Signal::SIGTSTP);
    read_until(&socket, "STATUS=paused", &mut seen);
    signal(pid, Signal::SIGCONT);
    read_until(&socket, "STATUS=running", &mut seen);

    signal(pid, Signal::SIGHUP);
    read_until(&socket, "RELOADING=1", &mut seen);
    assert!(seen.last().unwrap().contains("MONOTONIC_USEC="), "{seen:?}");
    read_until(&socket, "READY=1", &mut seen);

    signal(pid, Signal::SIGTERM);
    read_until(&socket, "STOPPING=1", &mut seen);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:?}");
}

#[test]
fn notify_socket_in_the_abstract_namespace_works_too() {
    let dir = TempDir::new("memstat-abstract");
    fs::write(dir.join("memory.toml"), "interval = \"100ms\"\n").unwrap();
    let name = format!("svckit-test-{}", std::process::id());
    let socket = {
        use std::os::linux::net::SocketAddrExt;
        let address = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        UnixDatagram::bind_addr(&address).unwrap()
    };
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut child = spawn_under_notify(&dir, &format!("@{name}"), &[]);
    let mut seen = Vec::new();
    read_until(&socket, "READY=1", &mut seen);
    signal(child.id() as i32, Signal::SIGINT);
    read_until(&socket, "STOPPING=1", &mut seen);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn daemonize_wait_ready_returns_once_the_service_api_reports_ready() {
    let dir = TempDir::new("memstat-ready");
    let out = run(&[
        "daemonize",
        "--wait-ready",
        "--ready-timeout",
        "10s",
        "--pidfile",
        &dir.str("memory.pid"),
        "--",
        env!("CARGO_BIN_EXE_svckit"),
        "demo",
        "memory-status",
        "--interval",
        "10s",
        "--log",
        &dir.str("memory.log"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // ready() comes after the "started" line: the launcher returned after it was written.
    assert!(log_has(&dir.join("memory.log"), "MemoryStatus started"));
    let daemon = Daemon::from_pidfile(&dir.join("memory.pid"));
    let out = run(&["kill", "--pidfile", &dir.str("memory.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(daemon.pid));
    assert!(log_has(&dir.join("memory.log"), "stopping (stop)"));
}

#[test]
fn bad_config_and_unwritable_log_fail_before_starting() {
    let dir = TempDir::new("memstat-bad");
    fs::write(dir.join("bad.toml"), "interval = 5\n").unwrap();
    let out = run(&[
        "demo",
        "memory-status",
        "--config",
        &dir.str("bad.toml"),
        "--log",
        &dir.str("memory.log"),
    ]);
    assert_eq!(code(&out), 2, "bad input");
    let err = stderr(&out);
    assert!(err.starts_with("svckit: error: config "), "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let out = run(&[
        "demo",
        "memory-status",
        "--daemon",
        "--log",
        "/nonexistent/dir/m.log",
    ]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("/nonexistent/dir/m.log"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_signal_for_a_control_not_accepted_is_refused_with_a_message() {
    let dir = TempDir::new("memstat-refuse");
    let log = dir.join("memory.log");
    let child = svckit()
        .args([
            "demo",
            "memory-status",
            "--interval",
            "100ms",
            "--accept",
            "STOP",
        ])
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    assert!(eventually(Duration::from_secs(5), || memory_lines(&log) >= 1));
    signal(pid, Signal::SIGTSTP);
    signal(pid, Signal::SIGHUP);
    let before = memory_lines(&log);
    assert!(
        eventually(Duration::from_secs(5), || memory_lines(&log) >= before + 3),
        "a refused pause must not pause"
    );
    assert!(!log_has(&log, "paused") && !log_has(&log, "reload"));
    signal(pid, Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MemoryStatus: SIGTSTP ignored: the service does not accept pause"),
        "{err}"
    );
    assert!(
        err.contains("MemoryStatus: SIGHUP ignored: the service does not accept paramchange"),
        "{err}"
    );
}
