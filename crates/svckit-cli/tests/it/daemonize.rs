//! `svckit daemonize`: every step of daemon(7), checked on the daemon through /proc.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    time::{Duration, Instant},
};

use crate::support::{
    Daemon, Hostile, TempDir, code, eventually, is_gone, is_locked, proc_environ, proc_fds,
    proc_stat, processes_with, require_root, run, start_daemon, stderr, svckit,
};

#[test]
fn daemonize_from_hostile_parent_passes_every_check() {
    let dir = TempDir::new("hostile");
    let pidfile = dir.join("d.pid");
    let hostile = Hostile::new(&dir.join("extra"));
    let mut command = svckit();
    command.args([
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "sleep",
        "60",
    ]);
    hostile.apply(&mut command);
    let mut launcher = command.spawn().expect("spawn the launcher");
    let launcher_pid = launcher.id() as i32;
    let status = launcher.wait().unwrap();
    // Hang the terminal up the instant the launcher returns.
    let mut hostile = hostile;
    drop(hostile.master.take());
    assert!(status.success(), "launcher failed: {status}");

    let daemon = Daemon::from_pidfile(&pidfile);
    let stat = proc_stat(daemon.pid);
    let (ppid, pgrp, session, tty) = (&stat[1], &stat[2], &stat[3], &stat[4]);
    // Reparented: the launcher and the intermediate session leader are both gone.
    assert_ne!(
        ppid,
        &launcher_pid.to_string(),
        "still the launcher's child"
    );
    assert_ne!(ppid, session, "still the intermediate child's child");
    assert!(is_gone(launcher_pid));
    assert!(
        is_gone(session.parse().unwrap()),
        "the session leader exited"
    );
    // Own session, not its leader (so it can never acquire a terminal), own process group.
    assert_ne!(
        session,
        &launcher_pid.to_string(),
        "left the launcher's session"
    );
    assert_ne!(session, &daemon.pid.to_string(), "is not a session leader");
    assert_eq!(pgrp, &daemon.pid.to_string(), "leads its own process group");
    assert_eq!(tty, "0", "has no controlling terminal");

    let expected: Vec<(i32, String)> = vec![
        (0, "/dev/null".into()),
        (1, "/dev/null".into()),
        (2, "/dev/null".into()),
        (3, pidfile.display().to_string()),
    ];
    // sleep opens its locale files for a moment after the exec: wait until it has settled.
    // One snapshot is judged: a second read could land in that moment again (a flake).
    let mut fds = Vec::new();
    eventually(Duration::from_secs(5), || {
        fds = proc_fds(daemon.pid).into_iter().collect::<Vec<_>>();
        fds == expected
    });
    assert_eq!(
        fds,
        expected,
        "stdio on /dev/null, the locked pid file, and nothing else (the extra fd {} was closed)",
        hostile.extra_fd()
    );

    let status = daemon.status();
    assert_eq!(status["SigBlk"], "0000000000000000", "signal mask reset");
    assert_eq!(
        status["SigIgn"], "0000000000000000",
        "ignored signals reset"
    );
    assert_eq!(status["Umask"], "0022");
    assert_eq!(
        fs::read_link(format!("/proc/{}/cwd", daemon.pid)).unwrap(),
        std::path::Path::new("/")
    );
    // The launcher returns when the exec closed the report pipe, which the kernel does
    // before it lays out the new image's environment: until then /proc/PID/environ is empty.
    let mut environ = Default::default();
    eventually(Duration::from_secs(5), || {
        environ = proc_environ(daemon.pid);
        !environ.is_empty()
    });
    assert!(!environ.contains_key("STRAY_VARIABLE"), "{environ:?}");
    assert!(!environ.contains_key("LD_LIBRARY_PATH"), "{environ:?}");
    assert!(environ.contains_key("PATH"));

    assert_eq!(
        fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", daemon.pid)
    );
    assert!(is_locked(&pidfile), "the pid file is locked");

    std::thread::sleep(Duration::from_millis(200));
    assert!(!is_gone(daemon.pid), "survived the hangup");

    let again = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "sleep",
        "60",
    ]);
    assert_eq!(code(&again), 4, "{}", stderr(&again));
    assert_eq!(
        stderr(&again),
        format!(
            "svckit: error: already running as PID {} (pid file {} is locked)\n",
            daemon.pid,
            pidfile.display()
        )
    );
    assert_eq!(
        fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", daemon.pid)
    );

    let kill = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&kill), 0, "{}", stderr(&kill));
    assert!(is_gone(daemon.pid));
    assert!(!pidfile.exists(), "kill removes the pid file");
}

#[test]
fn single_fork_daemon_is_a_session_leader() {
    let dir = TempDir::new("single");
    let out = run(&[
        "daemonize",
        "--single-fork",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "sleep",
        "60",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    let stat = proc_stat(daemon.pid);
    assert_eq!(
        stat[3],
        daemon.pid.to_string(),
        "the textbook daemon leads its session"
    );
    assert_eq!(stat[4], "0");
}

#[test]
fn stdio_goes_to_the_given_files_and_settings_apply() {
    let dir = TempDir::new("stdio");
    let work = dir.join("work");
    fs::create_dir(&work).unwrap();
    let daemon = start_daemon(
        &dir,
        &[
            "--stdout",
            &dir.str("out.log"),
            "--stderr",
            &dir.str("err.log"),
            "--chdir",
            &dir.str("work"),
            "--umask",
            "027",
            "--env",
            "GREETING=hello world",
            "--keep-env",
            "KEPT_ONE",
            "--",
            "sh",
            "-c",
            "echo \"out $GREETING $KEPT_ONE\"; echo err >&2; touch created; exec sleep 60",
        ],
    );
    assert!(eventually(Duration::from_secs(5), || work
        .join("created")
        .exists()));
    assert!(eventually(Duration::from_secs(5), || {
        fs::read_to_string(dir.join("out.log")).unwrap_or_default() == "out hello world \n"
    }));
    assert_eq!(fs::read_to_string(dir.join("err.log")).unwrap(), "err\n");
    let fds = proc_fds(daemon.pid);
    assert_eq!(fds[&1], dir.join("out.log").display().to_string());
    assert_eq!(fds[&2], dir.join("err.log").display().to_string());
    assert_eq!(daemon.status()["Umask"], "0027");
    let mode = fs::metadata(work.join("created"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o640,
        "files are created under the daemon's umask"
    );
    assert_eq!(
        fs::read_link(format!("/proc/{}/cwd", daemon.pid)).unwrap(),
        work
    );
}

#[test]
fn keep_env_passes_a_named_variable() {
    let dir = TempDir::new("keepenv");
    let out = svckit()
        .env("KEPT_ONE", "kept")
        .env("DROPPED_ONE", "dropped")
        .args([
            "daemonize",
            "--pidfile",
            &dir.str("d.pid"),
            "--keep-env",
            "KEPT_ONE",
            "--",
            "sleep",
            "60",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    let environ = proc_environ(daemon.pid);
    assert_eq!(environ.get("KEPT_ONE").map(String::as_str), Some("kept"));
    assert!(!environ.contains_key("DROPPED_ONE"));
}

#[test]
fn missing_program_fails_with_nothing_left_behind() {
    let dir = TempDir::new("missing");
    for (program, message) in [
        (
            "/nonexistent/svckit-prog",
            "program \"/nonexistent/svckit-prog\" does not exist",
        ),
        (
            "svckit-no-such-program",
            "program \"svckit-no-such-program\" not found in PATH",
        ),
    ] {
        let out = run(&["daemonize", "--pidfile", &dir.str("d.pid"), "--", program]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert_eq!(stderr(&out), format!("svckit: error: {message}\n"));
        assert!(!dir.join("d.pid").exists());
    }
}

#[test]
fn exec_failure_in_the_daemon_is_reported_and_cleaned_up() {
    let dir = TempDir::new("execfail");
    // Executable, so the launcher's check passes; its interpreter does not exist, so execve
    // fails in the daemon, after the pid file was written.
    let script = dir.join("bad-interpreter.sh");
    fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        script.to_str().unwrap(),
        "svckit-marker-execfail",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "svckit: error: step 15 (exec): exec {}: No such file or directory (os error 2)\n",
            script.display()
        )
    );
    assert!(!dir.join("d.pid").exists(), "no pid file left behind");
    assert!(processes_with("svckit-marker-execfail").is_empty());
}

#[test]
fn wait_ready_returns_after_the_programs_newline() {
    let dir = TempDir::new("ready");
    let started = Instant::now();
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--wait-ready",
        "--ready-timeout",
        "10s",
        "--",
        "sh",
        "-c",
        "sleep 0.4; touch \"$0\"; echo >&$SVCKIT_READY_FD; exec sleep 60",
        &dir.str("ready-marker"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "returned before the program was ready"
    );
    assert!(
        dir.join("ready-marker").exists(),
        "ready only after the program said so"
    );
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    assert!(!is_gone(daemon.pid));
}

#[test]
fn wait_ready_fails_when_the_program_exits_unready() {
    let dir = TempDir::new("unready");
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--wait-ready",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ended before it said it was ready: exit code 3"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("d.pid").exists());
}

#[test]
fn wait_ready_times_out_and_stops_the_daemon() {
    let dir = TempDir::new("readytimeout");
    let started = Instant::now();
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--wait-ready",
        "--ready-timeout",
        "300ms",
        "--",
        "sleep",
        "61.5",
    ]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "svckit: error: the daemon did not report ready within 300ms; it was stopped\n"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        processes_with("61.5").is_empty(),
        "the unready daemon was stopped"
    );
    assert!(!dir.join("d.pid").exists());
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let dir = TempDir::new("badinput");
    let pid = dir.str("d.pid");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--user", "svckit-no-such-user"],
            "unknown user \"svckit-no-such-user\"",
        ),
        (
            &["--group", "svckit-no-such-group"],
            "unknown group \"svckit-no-such-group\"",
        ),
        (&["--umask", "0999"], "--umask"),
        (&["--env", "NOEQUALS"], "--env"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["daemonize", "--pidfile", &pid];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--", "sleep", "62.5"]);
        let out = run(&args);
        assert_eq!(code(&out), 2, "{flags:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("svckit: error: ") && err.contains(needle),
            "{flags:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!dir.join("d.pid").exists());
    }
    assert!(processes_with("62.5").is_empty());
}

#[test]
fn pidfile_symlink_is_refused_and_its_target_untouched() {
    let dir = TempDir::new("symlink");
    let target = dir.join("victim");
    std::os::unix::fs::symlink(&target, dir.join("d.pid")).unwrap();
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "sleep",
        "63.5",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "svckit: error: pid file {} is a symbolic link; refusing to follow it\n",
            dir.join("d.pid").display()
        )
    );
    assert!(!target.exists(), "the link's target was not created");
    assert!(
        fs::symlink_metadata(dir.join("d.pid"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(processes_with("63.5").is_empty());
}

#[test]
fn pidfile_in_missing_directory_fails_naming_the_path() {
    let dir = TempDir::new("nodir");
    let pid = dir.str("no/such/dir/d.pid");
    let out = run(&["daemonize", "--pidfile", &pid, "--", "sleep", "64.5"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "svckit: error: step 12 (pid file): open {pid}: No such file or directory (os error 2)\n"
        )
    );
    assert!(processes_with("64.5").is_empty());
}

#[test]
fn pidfile_in_unwritable_directory_is_permission_denied() {
    if !require_root("pidfile_in_unwritable_directory_is_permission_denied") {
        return;
    }
    // Root writes anywhere, so the launcher runs as nobody against a root-owned 0755 directory.
    let dir = TempDir::new("unwritable");
    let locked = dir.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(dir.join(""), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    let pid = locked.join("d.pid").display().to_string();
    let out = crate::support::svckit_as_nobody()
        .args(["daemonize", "--pidfile", &pid, "--", "sleep", "65.5"])
        .output()
        .expect("run setpriv");
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("svckit: error: step 12 (pid file): open {pid}: Permission denied (os error 13)\n")
    );
    assert!(!locked.join("d.pid").exists());
    assert!(processes_with("65.5").is_empty());
}

/// Asserts that the real, effective, saved and filesystem ids are all `uid` and `gid`.
fn assert_ids(status: &std::collections::BTreeMap<String, String>, uid: &str, gid: &str) {
    let ids = |key: &str| {
        status[key]
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("Uid"), [uid; 4], "real, effective, saved, fs uid");
    assert_eq!(ids("Gid"), [gid; 4], "real, effective, saved, fs gid");
}

#[test]
fn user_nobody_drops_every_id_and_cannot_regain_root() {
    if !require_root("user_nobody_drops_every_id_and_cannot_regain_root") {
        return;
    }
    let dir = TempDir::new("nobody");
    let daemon = start_daemon(&dir, &["--user", "nobody", "--", "sleep", "60"]);
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let name = std::ffi::CString::new("nobody").unwrap();
    let mut groups: Vec<String> = nix::unistd::getgrouplist(&name, nobody.gid)
        .unwrap()
        .iter()
        .map(|gid| gid.to_string())
        .collect();
    groups.sort();
    groups.dedup();
    let status = daemon.status();
    assert_ids(&status, &nobody.uid.to_string(), &nobody.gid.to_string());
    let mut seen: Vec<String> = status["Groups"]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    seen.sort();
    assert_eq!(seen, groups, "supplementary groups are nobody's only");
    assert_eq!(
        status["CapPrm"], "0000000000000000",
        "no capability to regain root"
    );
    assert_eq!(status["CapEff"], "0000000000000000");
    let environ = proc_environ(daemon.pid);
    assert_eq!(environ["USER"], "nobody");
    assert_eq!(environ["HOME"], nobody.dir.display().to_string());
}

#[test]
fn stale_pidfile_is_taken_over() {
    let dir = TempDir::new("stale");
    fs::write(dir.join("d.pid"), "999999\n").unwrap();
    let daemon = start_daemon(&dir, &["--", "sleep", "60"]);
    assert_ne!(daemon.pid, 999999);
    assert!(is_locked(&dir.join("d.pid")));
}

#[test]
fn unopenable_stdout_file_fails_naming_it() {
    let dir = TempDir::new("badstdout");
    let log = dir.str("no/such/dir/out.log");
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--stdout",
        &log,
        "--",
        "sleep",
        "68.5",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "svckit: error: step 9 (stdio): open {log}: No such file or directory (os error 2)\n"
        )
    );
    assert!(!dir.join("d.pid").exists());
    assert!(processes_with("68.5").is_empty());
}

#[test]
fn group_alone_changes_only_the_group() {
    if !require_root("group_alone_changes_only_the_group") {
        return;
    }
    let dir = TempDir::new("grouponly");
    let daemon = start_daemon(&dir, &["--group", "nogroup", "--", "sleep", "60"]);
    let gid = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .unwrap()
        .gid
        .to_string();
    let status = daemon.status();
    assert_ids(&status, "0", &gid);
    assert_eq!(
        status["Groups"], gid,
        "supplementary groups reduced to the group"
    );
}

// --- Programs that say they are ready with sd_notify, and programs that fork themselves. ---

/// `svckit daemonize --pidfile DIR/d.pid ARGS…`, asserted to succeed.
fn daemonize_ok(dir: &TempDir, args: &[&str]) {
    let pidfile = dir.str("d.pid");
    let mut argv = vec!["daemonize", "--pidfile", &pidfile];
    argv.extend_from_slice(args);
    let out = run(&argv);
    assert_eq!(code(&out), 0, "{argv:?}: {}", stderr(&out));
}

/// `svckit kill --pidfile DIR/d.pid` stops the daemon, and `probe` then says it is gone.
fn killed_with_nothing_left(dir: &TempDir, processes: &[i32]) {
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        eventually(Duration::from_secs(5), || processes
            .iter()
            .all(|pid| is_gone(*pid))),
        "kill left processes of the daemon: {processes:?}"
    );
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[test]
fn wait_ready_hears_ready_1_on_notify_socket() {
    let test = "wait_ready_hears_ready_1_on_notify_socket";
    if !crate::support::require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let dir = TempDir::new("notify-ready");
    let started = Instant::now();
    daemonize_ok(
        &dir,
        &[
            "--type",
            "notify",
            "--ready-timeout",
            "10s",
            "--",
            "sh",
            "-c",
            "sleep 0.4; printf %s \"$NOTIFY_SOCKET\" > \"$0\"; systemd-notify --ready; \
             exec sleep 61.7",
            &dir.str("ready-marker"),
        ],
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    // Written before READY=1: there once the launcher returned.
    let socket = fs::read_to_string(dir.join("ready-marker")).expect("returned before READY=1");
    assert!(socket.starts_with("@svckit-daemonize-"), "{socket}");
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    killed_with_nothing_left(&dir, &[daemon.pid]);
}

#[test]
fn redis_supervised_systemd_is_daemonized_once_it_serves() {
    let test = "redis_supervised_systemd_is_daemonized_once_it_serves";
    if !crate::support::require_program(test, "/usr/bin/redis-server") {
        return;
    }
    let dir = TempDir::new("redis-notify");
    let port = crate::support::free_port();
    let redis = crate::support::redis_command(port, &dir.join(""), &["--supervised", "systemd"]);
    let mut args = vec!["--type", "notify", "--ready-timeout", "20s", "--"];
    args.extend(redis.iter().map(String::as_str));
    daemonize_ok(&dir, &args);
    // Ready means serving: the first connection gets an answer, without a retry.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("redis serves");
    use std::io::{Read, Write};
    stream.write_all(b"PING\r\n").unwrap();
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+PONG\r\n");
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    killed_with_nothing_left(&dir, &[daemon.pid]);
    assert!(!crate::support::listening(port));
}

#[test]
fn nginx_that_forks_itself_is_followed_through_its_pid_file() {
    let test = "nginx_that_forks_itself_is_followed_through_its_pid_file";
    if !crate::support::require_program(test, "/usr/sbin/nginx") || !require_root(test) {
        return;
    }
    let dir = TempDir::new("nginx-forking");
    let port = crate::support::free_port();
    let (conf, nginx_pid) = crate::daemons::nginx_config(&dir.join("nginx"), port);
    daemonize_ok(
        &dir,
        &[
            "--type",
            "forking",
            "--program-pidfile",
            &nginx_pid.display().to_string(),
            "--",
            "/usr/sbin/nginx",
            "-c",
            &conf.display().to_string(),
        ],
    );
    assert!(
        crate::support::listening(port),
        "serving once daemonize returns"
    );
    // svckit's PID file names nginx's master, as nginx's own does, with a record of it.
    let master: i32 = fs::read_to_string(&nginx_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    assert_eq!(daemon.pid, master);
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let nginx = crate::daemons::nginx_processes(master);
    assert_eq!(nginx.len(), 3, "a master and two workers: {nginx:?}");
    killed_with_nothing_left(&dir, &nginx);
    assert!(!crate::support::listening(port));
}

#[test]
fn memcached_that_forks_itself_is_the_one_process_it_leaves() {
    let test = "memcached_that_forks_itself_is_the_one_process_it_leaves";
    if !crate::support::require_program(test, "/usr/bin/memcached") || !require_root(test) {
        return;
    }
    let dir = TempDir::new("memcached-forking");
    let port = crate::support::free_port();
    let memcached = crate::support::memcached_command(port);
    let mut args = vec!["--type", "forking", "--"];
    args.extend(memcached.iter().map(String::as_str));
    daemonize_ok(&dir, &args);
    let daemon = Daemon::from_pidfile(&dir.join("d.pid"));
    assert!(!is_gone(daemon.pid));
    assert!(
        fs::read_to_string(format!("/proc/{}/cmdline", daemon.pid))
            .unwrap()
            .starts_with("/usr/bin/memcached"),
        "the PID file names memcached's daemon, not its exited launcher"
    );
    assert!(eventually(Duration::from_secs(5), || {
        crate::support::listening(port)
    }));
    killed_with_nothing_left(&dir, &[daemon.pid]);
}

/// `svckit daemonize --pidfile DIR/d.pid --type forking ARGS…`, asserted to fail with exit 1
/// and to leave no PID file and no process whose command line holds `marker`: its stderr.
fn failed_fork_leaves_nothing(dir: &TempDir, args: &[&str], marker: &str) -> String {
    let pidfile = dir.str("d.pid");
    let mut argv = vec!["daemonize", "--pidfile", &pidfile, "--type", "forking"];
    argv.extend_from_slice(args);
    let out = run(&argv);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!dir.join("d.pid").exists(), "a PID file was left");
    assert!(
        eventually(Duration::from_secs(5), || processes_with(marker).is_empty()),
        "what the failed program started was left running"
    );
    stderr(&out)
}

#[test]
fn a_forking_program_that_fails_leaves_nothing() {
    let dir = TempDir::new("forking-fails");
    let said = failed_fork_leaves_nothing(&dir, &["--", "sh", "-c", "sleep 61.8 & exit 4"], "61.8");
    assert_eq!(
        said,
        "svckit: error: the program ended with exit code 4 instead of exit code 0: it did not \
         daemonize\n"
    );
}

#[test]
fn regression_a_program_pidfile_naming_another_process_is_never_followed() {
    // The program's PID file is the program's: a user who can write it could name any
    // process (PID 1, sshd) for svckit's PID file, and so for `svckit kill`. Only a process
    // the program left counts.
    let dir = TempDir::new("forking-planted");
    let planted = dir.str("program.pid");
    let said = failed_fork_leaves_nothing(
        &dir,
        &[
            "--program-pidfile",
            &planted,
            "--ready-timeout",
            "500ms",
            "--",
            "sh",
            "-c",
            "echo 1 > \"$0\"; sleep 61.9 & exit 0",
            &planted,
        ],
        "61.9",
    );
    assert!(said.contains("names no process it left"), "{said}");
}

#[test]
fn daemonize_types_that_cannot_work_are_refused_by_name() {
    let dir = TempDir::new("daemonize-types");
    for (args, message) in [
        (
            &["--type", "oneshot"][..],
            "invalid type: oneshot is a service type",
        ),
        (
            &["--program-pidfile", "/tmp/x.pid"][..],
            "invalid program-pidfile: it is for --type forking",
        ),
        (
            &["--type", "forking", "--wait-ready"][..],
            "invalid wait-ready: a forking program is ready when its first process exits 0",
        ),
        (
            &["--ready-timeout", "1s"][..],
            "invalid ready-timeout: it is for --wait-ready or --type forking|notify",
        ),
    ] {
        let pidfile = dir.str("d.pid");
        let mut argv = vec!["daemonize", "--pidfile", &pidfile];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--", "sleep", "62.1"]);
        let out = run(&argv);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(processes_with("62.1").is_empty());
        assert!(!dir.join("d.pid").exists());
    }
}
