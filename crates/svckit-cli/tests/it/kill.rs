//! `svckit kill`: signal, wait until gone, SIGKILL after the timeout.

use std::{
    fs,
    time::{Duration, Instant},
};

use crate::support::{
    TempDir, code, eventually, is_gone, processes_with, run, start_daemon, stderr,
};

#[test]
fn kill_escalates_to_sigkill_after_the_timeout() {
    let dir = TempDir::new("killstubborn");
    let daemon = start_daemon(&dir, &["--", "sh", "-c", "trap '' TERM; exec sleep 66.5"]);
    // The shell's command line holds the marker before its `trap` has run: wait until it has
    // exec'd `sleep`, which it only does after the trap.
    assert!(eventually(Duration::from_secs(5), || daemon
        .status()
        .get("Name")
        .is_some_and(|name| name == "sleep")));
    assert_eq!(
        daemon.status()["SigIgn"],
        "0000000000004000",
        "SIGTERM ignored by the program"
    );
    let started = Instant::now();
    let out = run(&["kill", "--pidfile", &dir.str("d.pid"), "--timeout", "300ms"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited for the timeout first"
    );
    assert!(is_gone(daemon.pid));
    assert!(!dir.join("d.pid").exists());
}

#[test]
fn kill_stops_the_whole_process_group() {
    let dir = TempDir::new("killgroup");
    let _daemon = start_daemon(&dir, &["--", "sh", "-c", "sleep 67.5 & sleep 67.5 & wait"]);
    // The shell and its two background sleeps all carry the marker.
    assert!(eventually(Duration::from_secs(5), || processes_with(
        "67.5"
    )
    .len()
        == 3));
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        processes_with("67.5").is_empty(),
        "no worker outlives the daemon"
    );
}

#[test]
fn kill_of_nothing_is_exit_3() {
    let dir = TempDir::new("killnothing");
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3);
    assert_eq!(
        stderr(&out),
        format!(
            "svckit: error: not running (no pid file {})\n",
            dir.join("d.pid").display()
        )
    );
    fs::write(dir.join("d.pid"), "12345\n").unwrap();
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("removed stale pid file"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("d.pid").exists());
}

/// The daemon's main process exited, but a worker it forked kept the PID file's lock and the
/// process group: `kill` must still stop it. (Where init reaps the main process at once this
/// used to fail with ESRCH; this sandbox's PID 1 reaps lazily, so the regression itself is
/// pinned in svckit-unix's `signal_reaches_the_group_after_its_leader_was_reaped`.)
#[test]
fn kill_reaches_workers_after_the_main_process_exited() {
    let dir = TempDir::new("killorphans");
    let daemon = start_daemon(&dir, &["--", "sh", "-c", "sleep 69.5 & exit 0"]);
    assert!(eventually(Duration::from_secs(5), || is_gone(daemon.pid)));
    assert_eq!(
        processes_with("69.5").len(),
        1,
        "the worker outlives the main process"
    );
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        processes_with("69.5").is_empty(),
        "the worker was stopped too"
    );
    assert!(!dir.join("d.pid").exists());
}

#[test]
fn no_wait_sends_a_reload_signal_to_the_main_process_and_returns() {
    let dir = TempDir::new("killnowait");
    let marker = dir.join("hups");
    let script = format!(
        "trap 'echo hup >> {}' HUP; while :; do sleep 0.02; done",
        marker.display()
    );
    let daemon = start_daemon(&dir, &["--", "sh", "-c", &script]);
    // Signalled only once the shell catches SIGHUP (its trap set): before, HUP would end it.
    assert!(eventually(Duration::from_secs(5), || {
        daemon
            .status()
            .get("SigCgt")
            .and_then(|mask| u64::from_str_radix(mask, 16).ok())
            .is_some_and(|mask| mask & 1 == 1)
    }));
    let out = run(&[
        "kill",
        "--pidfile",
        &dir.str("d.pid"),
        "--signal",
        "HUP",
        "--no-wait",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(eventually(Duration::from_secs(5), || {
        fs::read_to_string(&marker).is_ok_and(|text| text == "hup\n")
    }));
    assert!(!is_gone(daemon.pid), "a reload signal ended the daemon");
    assert!(dir.join("d.pid").exists(), "the PID file stays");
}

/// Regression: the main thread of a multi-threaded daemon shows as a zombie while its other
/// threads still exit, holding its files and so the PID file's lock: `kill` took it for gone,
/// could not remove the still-locked file, and `probe` then said "dead, pid file remains"
/// (memcached, once, under load). Here a thread lingers 700 ms after the main one ended.
#[test]
fn regression_kill_waits_for_every_thread_of_a_daemon() {
    let dir = TempDir::new("killthreads");
    let source = dir.join("linger.c");
    fs::write(
        &source,
        "#include <pthread.h>\n#include <signal.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
         static volatile sig_atomic_t term;\n\
         static void on_term(int s) { (void)s; term = 1; }\n\
         static void *linger(void *a) { (void)a; while (!term) usleep(10000); \
         usleep(700000); exit(0); }\n\
         int main(void) { pthread_t t; signal(SIGTERM, on_term); \
         pthread_create(&t, 0, linger, 0); while (!term) usleep(10000); pthread_exit(0); }\n",
    )
    .unwrap();
    let program = dir.join("linger");
    let built = std::process::Command::new("cc")
        .arg("-pthread")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .output()
        .expect("cc (gcc) builds the test program");
    assert!(built.status.success(), "{built:?}");
    let daemon = start_daemon(&dir, &["--", &program.display().to_string()]);
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(daemon.pid));
    assert!(
        !dir.join("d.pid").exists(),
        "the PID file was left, its lock still held by a thread"
    );
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}
