//! `svckit demo timelog`: the original design's demo daemon.

use std::{fs, time::Duration};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{Daemon, TempDir, code, eventually, is_gone, proc_stat, run, stderr};

fn is_asctime(line: &str) -> bool {
    // "Tue Nov 24 16:37:16 2026": day, month, space-padded day of month, time, year.
    let parts: Vec<&str> = line.split_whitespace().collect();
    parts.len() == 5
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&parts[0])
        && parts[1].len() == 3
        && parts[2]
            .parse::<u8>()
            .is_ok_and(|day| (1..=31).contains(&day))
        && parts[3].len() == 8
        && parts[3]
            .split(':')
            .all(|n| n.len() == 2 && n.parse::<u8>().is_ok())
        && parts[4].len() == 4
        && line.len() == 24
}

#[test]
fn timelog_daemon_appends_lines_and_stops_on_sigterm() {
    let dir = TempDir::new("timelog");
    let out = run(&[
        "demo",
        "timelog",
        "--daemon",
        "--interval",
        "100ms",
        "--log",
        &dir.str("daemon.log"),
        "--pidfile",
        &dir.str("timelog.pid"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let daemon = Daemon::from_pidfile(&dir.join("timelog.pid"));
    assert!(
        stdout.contains(&format!("running as PID {}", daemon.pid)),
        "{stdout}"
    );
    assert!(stdout.contains(&dir.str("daemon.log")), "{stdout}");
    assert!(
        stdout.contains(&format!("kill --pidfile {}", dir.str("timelog.pid"))),
        "{stdout}"
    );
    let stat = proc_stat(daemon.pid);
    assert_eq!(stat[4], "0", "no controlling terminal");
    assert_ne!(stat[3], daemon.pid.to_string(), "not a session leader");

    let lines = || fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    assert!(
        eventually(Duration::from_secs(5), || lines().lines().count() >= 4),
        "{}",
        lines()
    );
    // SIGHUP reopens the log; it does not stop the daemon.
    kill(Pid::from_raw(daemon.pid), Signal::SIGHUP).unwrap();
    let before = lines().lines().count();
    assert!(eventually(Duration::from_secs(5), || lines()
        .lines()
        .count()
        > before + 1));
    assert!(!is_gone(daemon.pid));

    kill(Pid::from_raw(daemon.pid), Signal::SIGTERM).unwrap();
    assert!(eventually(Duration::from_secs(5), || is_gone(daemon.pid)));
    assert!(
        !dir.join("timelog.pid").exists(),
        "the daemon removes its pid file on a clean stop"
    );
    let text = lines();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        assert!(is_asctime(line), "not an asctime line: {line:?}");
    }
}

#[test]
fn timelog_with_unwritable_log_fails_before_daemonizing() {
    let dir = TempDir::new("timelogbad");
    let log = dir.str("missing-dir/daemon.log");
    let out = run(&["demo", "timelog", "--daemon", "--log", &log]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("svckit: error: open log {log}: No such file or directory (os error 2)\n")
    );
}
