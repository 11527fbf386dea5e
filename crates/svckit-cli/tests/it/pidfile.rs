//! PID files that cannot be turned against the machine (`daemonize`, `kill`, `probe`), and
//! liveness that is right for real daemons: ones that close every inherited fd (sshd -D,
//! dnsmasq -k) and ones that fork themselves (nginx).

use std::{fs, os::unix::fs::MetadataExt, process::Command, time::Duration};

use crate::support::{
    TempDir, code, eventually, free_port, is_gone, listening, proc_stat, processes_with,
    require_program, require_root, run, start_daemon, stderr,
};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Regression: `svckit kill --pidfile /etc/passwd` removed /etc/passwd ("removed stale pid
/// file"), and `daemonize --pidfile` overwrote any regular file with a pid.
#[test]
fn regression_kill_and_daemonize_never_touch_a_file_that_is_not_a_pid() {
    let dir = TempDir::new("notapid");
    let victim = dir.join("passwd");
    fs::copy("/etc/passwd", &victim).unwrap();
    let before = fs::read(&victim).unwrap();
    for args in [
        vec!["kill", "--pidfile", &dir.str("passwd")],
        vec![
            "daemonize",
            "--pidfile",
            &dir.str("passwd"),
            "--",
            "sleep",
            "71.25",
        ],
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&dir.str("passwd")), "names the file: {err}");
        assert!(err.contains("does not hold a pid"), "{err}");
    }
    assert_eq!(fs::read(&victim).unwrap(), before, "not a byte changed");
    assert!(processes_with("71.25").is_empty(), "nothing was started");
    let out = run(&["probe", "--pidfile", &dir.str("passwd")]);
    assert_eq!(code(&out), 4, "LSB 'unknown': {}", stdout(&out));
}

/// Regression: a PID file hard-linked to another name (here a stand-in for a system file) was
/// written through the link.
#[test]
fn regression_a_hard_linked_pidfile_is_refused() {
    let dir = TempDir::new("hardlinked");
    fs::write(dir.join("shadow"), "").unwrap();
    fs::hard_link(dir.join("shadow"), dir.join("d.pid")).unwrap();
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "sleep",
        "71.5",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has 2 hard links"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(dir.join("shadow")).unwrap(), b"");
    assert!(processes_with("71.5").is_empty());
}

/// Regression: root used a PID file that another user owns (and can rewrite at will).
#[test]
fn regression_root_refuses_a_pidfile_owned_by_another_user() {
    if !require_root("regression_root_refuses_a_pidfile_owned_by_another_user") {
        return;
    }
    let dir = TempDir::new("foreignpid");
    let mut sleeper = Command::new("sleep").arg("71.75").spawn().unwrap();
    fs::write(dir.join("d.pid"), format!("{}\n", sleeper.id())).unwrap();
    nix::unistd::chown(
        &dir.join("d.pid"),
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
    )
    .unwrap();
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is owned by uid 65534"),
        "{}",
        stderr(&out)
    );
    assert!(!is_gone(sleeper.id() as i32), "nothing was signalled");
    assert!(dir.join("d.pid").exists());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// Regression: with `--user nobody` the daemon inherited a read-write fd to root's PID file,
/// wrote another pid into it, and root's `svckit kill` then signalled that process. Now the
/// daemon holds the lock through a read-only fd, and kill signals only a verified process.
#[test]
fn regression_an_unprivileged_daemon_cannot_rewrite_roots_pidfile() {
    if !require_root("regression_an_unprivileged_daemon_cannot_rewrite_roots_pidfile") {
        return;
    }
    let dir = TempDir::new("rwpidfile");
    let pidfile = dir.str("d.pid");
    // Try every inherited fd that names the PID file: write a foreign pid through it.
    let script = format!(
        "for n in 3 4 5 6 7 8 9; do [ \"$(readlink /proc/$$/fd/$n)\" = '{pidfile}' ] && \
         {{ echo 1 >&$n; echo tried $n >> {dir}/tried; }}; done 2>/dev/null; exec sleep 72.25",
        dir = dir.join("").display()
    );
    fs::set_permissions(
        dir.join(""),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let daemon = start_daemon(&dir, &["--user", "nobody", "--", "sh", "-c", &script]);
    assert!(eventually(Duration::from_secs(5), || {
        fs::read_to_string(format!("/proc/{}/cmdline", daemon.pid))
            .is_ok_and(|cmdline| cmdline.starts_with("sleep"))
    }));
    assert!(
        fs::read_to_string(dir.join("tried")).is_ok_and(|tried| !tried.is_empty()),
        "the daemon holds an fd to its PID file (the lock)"
    );
    assert_eq!(
        fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", daemon.pid),
        "the daemon could not write its PID file"
    );
    let meta = fs::metadata(&pidfile).unwrap();
    assert_eq!(meta.uid(), 0);
    let out = run(&["kill", "--pidfile", &pidfile]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(daemon.pid));
}

/// Regression (the other half): a PID file naming a live process that neither holds the lock
/// nor matches the recorded start time is never signalled, and never removed.
#[test]
fn regression_kill_never_signals_an_unverified_pid() {
    let dir = TempDir::new("unverified");
    let mut bystander = Command::new("sleep").arg("72.5").spawn().unwrap();
    fs::write(dir.join("d.pid"), format!("{}\n", bystander.id())).unwrap();
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("not signalled"), "{}", stderr(&out));
    assert!(!is_gone(bystander.id() as i32));
    assert!(dir.join("d.pid").exists());
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

/// The record beside the PID file names the pid and its start time: a live process with the
/// same pid but another start time (a recycled pid) is not the daemon.
#[test]
fn a_recycled_pid_is_not_the_daemon() {
    let dir = TempDir::new("recycled");
    let mut bystander = Command::new("sleep").arg("72.75").spawn().unwrap();
    let pid = bystander.id();
    fs::write(dir.join("d.pid"), format!("{pid}\n")).unwrap();
    // The record of a process that had this pid before, started at another time.
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let namespace = fs::read_link("/proc/self/ns/pid").unwrap();
    let init = crate::support::proc_stat(1)[19].clone();
    let boot = format!("{}/{}/{init}", boot.trim(), namespace.display());
    fs::write(
        dir.join("d.pid.svckit"),
        format!("{pid} 1 {}\n", boot.trim()),
    )
    .unwrap();
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!is_gone(pid as i32));
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

/// Regression: sshd closes every inherited fd, so the flock went with it: `probe` said dead,
/// `kill` removed the PID file as stale and left sshd running.
#[test]
fn regression_sshd_that_closes_its_fds_is_probed_and_killed() {
    let test = "regression_sshd_that_closes_its_fds_is_probed_and_killed";
    if !require_program(test, "/usr/sbin/sshd") || !require_root(test) {
        return;
    }
    let _sshd = crate::support::sshd_alone();
    let dir = TempDir::new("sshd");
    let key = dir.join("host_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    fs::create_dir_all("/run/sshd").unwrap();
    let port = free_port().to_string();
    let marker = format!("ListenAddress=127.0.0.1:{port}");
    let daemon = start_daemon(
        &dir,
        &[
            "--",
            "/usr/sbin/sshd",
            "-D",
            "-f",
            "/dev/null",
            "-h",
            &key.display().to_string(),
            "-o",
            &marker,
            "-o",
            "PidFile=none",
        ],
    );
    let port: u16 = port.parse().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || listening(port)),
        "sshd serves"
    );
    assert!(
        !crate::support::is_locked(&dir.join("d.pid")),
        "sshd closed the lock's fd (the case this pins)"
    );
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stdout(&out), format!("running (PID {})\n", daemon.pid));
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(daemon.pid));
    assert!(processes_with(&marker).is_empty(), "no sshd is left");
    assert!(!listening(port));
    assert!(!dir.join("d.pid").exists());
    assert!(!dir.join("d.pid.svckit").exists());
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
}

/// dnsmasq in the foreground (-k) on 127.0.0.1 at `port_arg`, no configuration, no PID file of
/// its own, daemonized by svckit with the PID file DIR/d.pid.
fn start_dnsmasq(dir: &TempDir, port_arg: &str) -> crate::support::Daemon {
    start_daemon(
        dir,
        &[
            "--",
            "/usr/sbin/dnsmasq",
            "-k",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--pid-file=",
            "--user=root",
            port_arg,
        ],
    )
}

/// Regression: dnsmasq -k closes its inherited fds too.
#[test]
fn regression_dnsmasq_that_closes_its_fds_is_probed_and_killed() {
    let test = "regression_dnsmasq_that_closes_its_fds_is_probed_and_killed";
    if !require_program(test, "/usr/sbin/dnsmasq") || !require_root(test) {
        return;
    }
    let dir = TempDir::new("dnsmasq");
    let port = free_port();
    let port_arg = format!("--port={port}");
    let daemon = start_dnsmasq(&dir, &port_arg);
    assert!(
        eventually(Duration::from_secs(10), || listening(port)),
        "dnsmasq serves"
    );
    assert!(eventually(Duration::from_secs(5), || {
        !crate::support::is_locked(&dir.join("d.pid"))
    }));
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Regression: nobody holds the lock now, and a second start with the same PID file took
    // it over and overwrote the running daemon's pid. The record says it runs: refused.
    let out = run(&[
        "daemonize",
        "--pidfile",
        &dir.str("d.pid"),
        "--",
        "/usr/sbin/dnsmasq",
        "-k",
        "--conf-file=/dev/null",
        "--pid-file=",
        "--port=0",
    ]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("already running as PID {}", daemon.pid)),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.join("d.pid")).unwrap(),
        format!("{}\n", daemon.pid)
    );
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(daemon.pid));
    assert!(processes_with(&port_arg).is_empty());
    // A crash leaves the file: probe says "dead, pid file remains" (1), kill removes it (3).
    let daemon = start_dnsmasq(&dir, &port_arg);
    assert!(eventually(Duration::from_secs(10), || listening(port)));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || is_gone(daemon.pid)));
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(!dir.join("d.pid").exists());
}

/// Regression: nginx forks itself; the PID file held the launcher's pid, and `kill` waited 15 s
/// on a dead pid while nginx ran on. The lock's holders are the processes that really run.
#[test]
fn regression_kill_reaches_nginx_that_forked_itself() {
    let test = "regression_kill_reaches_nginx_that_forked_itself";
    if !require_program(test, "/usr/sbin/nginx") || !require_root(test) {
        return;
    }
    let dir = TempDir::new("nginx");
    let port = free_port();
    let conf = dir.join("nginx.conf");
    fs::write(
        &conf,
        format!(
            "worker_processes 2;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
             events {{}}\nhttp {{ access_log off; client_body_temp_path {prefix}; \
             server {{ listen 127.0.0.1:{port}; return 204; }} }}\n",
            prefix = dir.join("").display().to_string().trim_end_matches('/'),
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let launcher = start_daemon(&dir, &["--", "/usr/sbin/nginx", "-c", &conf_arg]);
    assert!(
        eventually(Duration::from_secs(10), || listening(port)),
        "nginx serves"
    );
    assert!(
        eventually(Duration::from_secs(5), || is_gone(launcher.pid)),
        "the launcher exited"
    );
    let master: i32 = fs::read_to_string(dir.join("nginx.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let workers = || {
        processes_with("nginx: worker process")
            .into_iter()
            .filter(|pid| proc_stat(*pid)[1] == master.to_string())
            .collect::<Vec<_>>()
    };
    assert!(eventually(Duration::from_secs(5), || workers().len() == 2));
    let workers = workers();
    let out = run(&["probe", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stdout(&out), format!("running (PID {master})\n"));
    let out = run(&["kill", "--pidfile", &dir.str("d.pid")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(is_gone(master), "the master is gone");
    assert!(
        workers.iter().all(|worker| is_gone(*worker)),
        "no worker is left"
    );
    assert!(!listening(port));
    assert!(!dir.join("d.pid").exists());
}

/// Regression: `daemonize --pidfile FIFO` blocked forever in the launcher, which read the
/// file back after the daemon refused it (no O_NONBLOCK there); `kill` was already refused.
/// Both now say it is not a regular file, exit 2, and leave nothing running.
#[test]
fn regression_a_fifo_pid_file_never_hangs_the_launcher() {
    let dir = TempDir::new("fifopid");
    let fifo = dir.join("web.pid");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    for args in [
        vec![
            "daemonize",
            "--pidfile",
            &dir.str("web.pid"),
            "--",
            "sleep",
            "71.31",
        ],
        vec!["kill", "--pidfile", &dir.str("web.pid")],
    ] {
        let mut child = crate::support::svckit()
            .args(&args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let ended = eventually(Duration::from_secs(10), || {
            child.try_wait().unwrap().is_some()
        });
        if !ended {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        assert!(ended, "{args:?} hangs on the FIFO");
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("not a regular file") && err.contains(&dir.str("web.pid")),
            "{err}"
        );
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(processes_with("71.31").is_empty());
}

/// xinetd under `daemonize --type forking`, its config and a handler that leaves a `setsid`
/// child behind (as a connection handler may), serving on `port`.
fn xinetd_command(dir: &TempDir, port: u16) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let handler = dir.join("handler.sh");
    fs::write(
        &handler,
        "#!/bin/sh\nsetsid sleep 1031.6 &\necho hi\nexec sleep 1031.7\n",
    )
    .unwrap();
    fs::set_permissions(&handler, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.join("xinetd.conf");
    fs::write(
        &conf,
        format!(
            "defaults\n{{\n}}\nservice svckit-test\n{{\n  type = UNLISTED\n  port = {port}\n  \
             socket_type = stream\n  protocol = tcp\n  wait = no\n  user = root\n  \
             bind = 127.0.0.1\n  server = {}\n}}\n",
            handler.display()
        ),
    )
    .unwrap();
    vec![
        "/usr/sbin/xinetd".into(),
        "-f".into(),
        conf.display().to_string(),
        "-pidfile".into(),
        dir.str("xinetd.pid"),
    ]
}

/// Regression: `svckit kill` of xinetd started by `daemonize --type forking` said 0 while
/// both connection handlers and the `setsid` children they started lived on. The daemon is
/// in a cgroup of its own now (root, a writable cgroup2), and `kill` empties it.
#[test]
fn regression_kill_reaches_every_process_of_xinetd_and_its_handlers() {
    let test = "regression_kill_reaches_every_process_of_xinetd_and_its_handlers";
    if !require_root(test) || !require_program(test, "/usr/sbin/xinetd") {
        return;
    }
    let dir = TempDir::new("xinetd-kill");
    let port = free_port();
    let command = xinetd_command(&dir, port);
    let pidfile = dir.str("svckit.pid");
    let mut args = vec![
        "daemonize",
        "--pidfile",
        &pidfile,
        "--type",
        "forking",
        "--program-pidfile",
    ];
    let program_pidfile = dir.str("xinetd.pid");
    args.push(&program_pidfile);
    args.push("--");
    args.extend(command.iter().map(String::as_str));
    let out = run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(eventually(Duration::from_secs(5), || listening(port)));
    // Two connections, each answered: their handlers (and the setsid children) run.
    let mut connections = Vec::new();
    for _ in 0..2 {
        use std::io::Read;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut hi = [0u8; 3];
        stream.read_exact(&mut hi).unwrap();
        assert_eq!(&hi, b"hi\n");
        connections.push(stream);
    }
    assert!(eventually(Duration::from_secs(5), || {
        processes_with("1031.6").len() == 2 && processes_with("1031.7").len() == 2
    }));
    let out = run(&["kill", "--pidfile", &pidfile]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let left: Vec<i32> = ["1031.6", "1031.7", "xinetd.conf"]
        .iter()
        .flat_map(|marker| processes_with(marker))
        .collect();
    assert!(left.is_empty(), "left after kill: {left:?}");
    assert!(!std::path::Path::new(&pidfile).exists());
}

/// Where no cgroup can be made (not root), `kill` reaches the daemon's session and every
/// descendant: a child that called setsid (out of the daemon's group) goes too.
#[test]
fn regression_kill_without_a_cgroup_reaches_a_setsid_child_of_the_daemon() {
    let test = "regression_kill_without_a_cgroup_reaches_a_setsid_child_of_the_daemon";
    if !require_root(test) {
        return;
    }
    let dir =
        std::path::PathBuf::from(format!("/tmp/svckit-it-kill-nobody-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    nix::unistd::chown(&dir, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let pidfile = dir.join("d.pid").display().to_string();
    let out = crate::support::svckit_as_nobody()
        .args(["daemonize", "--pidfile", &pidfile, "--", "/bin/sh", "-c"])
        // The child closes its inherited fds (the PID file's lock among them), as a
        // connection handler of xinetd's does: only its place in the tree says whose it is.
        .arg(
            "setsid sh -c 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- sleep 1031.8' & \
             exec sleep 1031.9",
        )
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(eventually(Duration::from_secs(5), || {
        processes_with("1031.8").len() == 1 && processes_with("1031.9").len() == 1
    }));
    let out = crate::support::svckit_as_nobody()
        .args(["kill", "--pidfile", &pidfile])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let left: Vec<i32> = ["1031.8", "1031.9"]
        .iter()
        .flat_map(|marker| processes_with(marker))
        .collect();
    for pid in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(left.is_empty(), "left after kill: {left:?}");
}

/// The directory of the cgroup2 that process `pid` is in.
fn cgroup_dir_of(pid: i32) -> std::path::PathBuf {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| left.split_whitespace().nth(4).map(str::to_owned))?
        })
        .expect("a cgroup2 mount");
    let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .expect("a cgroup2 line");
    std::path::Path::new(&mount).join(path.trim_start_matches('/'))
}

/// Regression: every `svckit daemonize` as root made a cgroup for its daemon, and nothing but
/// `svckit kill` removed it: a daemon that ended otherwise left an empty one behind for each
/// PID file ever used (4,729 under this machine's root cgroup). Now each launch removes the
/// empty ones of ended daemons beside its own, once they are a minute old (one just made is
/// its launcher's to use).
#[test]
fn regression_the_cgroups_of_ended_daemons_are_removed_by_the_next_launch() {
    let test = "regression_the_cgroups_of_ended_daemons_are_removed_by_the_next_launch";
    if !require_root(test) || !require_program(test, "/usr/sbin/dnsmasq") {
        return;
    }
    let dir = TempDir::new("ended-daemon-cgroups");
    // Two daemons killed as an operator would (not by `svckit kill`): their cgroups stay.
    let mut left = Vec::new();
    for name in ["old", "recent"] {
        let pidfile = dir.str(&format!("{name}.pid"));
        let out = run(&[
            "daemonize",
            "--pidfile",
            &pidfile,
            "--",
            "/bin/sleep",
            "1031.9",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let pid: i32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let cgroup = cgroup_dir_of(pid);
        assert!(
            cgroup
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("svckit-daemon-"),
            "{}",
            cgroup.display()
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
        assert!(eventually(Duration::from_secs(5), || is_gone(pid)));
        left.push(cgroup);
    }
    // The first made two minutes ago.
    fs::File::open(&left[0])
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    // The next launch: dnsmasq, as a real daemon.
    let port_arg = format!("--port={}", free_port());
    let daemon = start_dnsmasq(&dir, &port_arg);
    let pid = daemon.pid;
    let pidfile = dir.str("d.pid");
    let own = cgroup_dir_of(pid);
    let kill = run(&["kill", "--pidfile", &pidfile]);
    assert_eq!(code(&kill), 0, "{}", stderr(&kill));
    assert!(!left[0].exists(), "{} was left", left[0].display());
    assert!(left[1].exists(), "a cgroup made a moment ago was removed");
    assert!(!own.exists(), "kill removes the daemon's own");
    let _ = fs::remove_dir(&left[1]);
}
