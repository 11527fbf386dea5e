//! What hostile testing found (an attacker's planted files, a careless operator's huge values,
//! misbehaving clients, full disks): each test is named after the bug it pins.

use std::{fs, os::unix::fs::PermissionsExt, time::Duration};

use crate::{
    supervise::{Sup, sleepers},
    support::{code, eventually, require_root, stderr},
};

fn chown(path: &std::path::Path, uid: u32) {
    nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
}

/// Regression: a state directory (or services/, run/, logs/) pre-created by another user was
/// used as is, so nobody's definitions ran as root. Refused with exit 5, naming the path and
/// its owner and mode.
#[test]
fn regression_a_state_dir_owned_by_another_user_is_refused() {
    if !require_root("regression_a_state_dir_owned_by_another_user_is_refused") {
        return;
    }
    let sup = Sup::new("foreignstate");
    let state = sup.dir.join("state");
    for sub in ["", "services", "run", "logs"] {
        let _ = fs::remove_dir_all(&state);
        fs::create_dir_all(state.join("services")).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
        fs::create_dir_all(state.join(sub)).unwrap();
        chown(&state.join(sub), 65534);
        let out = sup.run(&["install", "web", "--", "sleep", "73.25"]);
        assert_eq!(code(&out), 5, "{sub}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(
                &state
                    .join(sub)
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_owned()
            ),
            "{err}"
        );
        assert!(err.contains("owner uid 65534"), "{err}");
        let out = sup.run(&["status"]);
        assert_eq!(code(&out), 5, "status, {sub}: {}", stderr(&out));
    }
    assert!(sleepers("73.25").is_empty());
    assert!(sup.supervisor_pid().is_none(), "no supervisor was started");
}

/// Regression: a state directory writable by group or others was used as is.
#[test]
fn regression_a_state_dir_writable_by_others_is_refused() {
    let sup = Sup::new("loosestate");
    let state = sup.dir.join("state");
    fs::create_dir_all(state.join("logs")).unwrap();
    for (dir, mode) in [(&state, 0o770), (&state.join("logs"), 0o757)] {
        fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
        let out = sup.run(&["list"]);
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("mode {mode:04o}")),
            "{}",
            stderr(&out)
        );
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    }
    sup.ok(&["list"]);
}

/// Regression: symlinks planted at supervisor.log and at a definition were followed.
#[test]
fn regression_symlinks_in_the_state_dir_are_never_followed() {
    let sup = Sup::new("symlinks");
    let state = sup.dir.join("state");
    fs::create_dir_all(state.join("services")).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    let victim = sup.dir.join("victim");
    fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, state.join("supervisor.log")).unwrap();
    let out = sup.run(&["install", "web", "--", "sleep", "73.5"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("supervisor.log") && stderr(&out).contains("symbolic link"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(state.join("supervisor.log")).unwrap();
    // A definition that is a symlink (to a file that would parse) is not read.
    fs::write(&victim, "program = \"/bin/sleep\"\nargs = [\"73.5\"]\n").unwrap();
    std::os::unix::fs::symlink(&victim, state.join("services/web.toml")).unwrap();
    let out = sup.run(&["start", "web"]);
    assert_eq!(code(&out), 2, "an unreadable definition: {}", stderr(&out));
    assert!(
        stderr(&out).contains("web.toml: is a symbolic link"),
        "names the definition: {}",
        stderr(&out)
    );
    assert!(!eventually(Duration::from_millis(300), || !sleepers(
        "73.5"
    )
    .is_empty()));
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "program = \"/bin/sleep\"\nargs = [\"73.5\"]\n"
    );
}

/// Regression: `--stop-timeout 1e19` (also the restart delay and the ready timeout) was
/// accepted and made every stop, and every recovery, panic with "overflow when adding duration
/// to instant"; `--log-keep 4294967295` made each rotation 4e9 renames. Bounded at install,
/// exit 2, naming the flag or key; nothing is installed.
#[test]
fn regression_huge_durations_and_counts_are_refused_at_install() {
    let sup = Sup::new("huge");
    for (flags, named) in [
        (&["--stop-timeout", "1e19"][..], "--stop-timeout"),
        (&["--restart-delay", "1e19"], "--restart-delay"),
        (&["--notify", "--ready-timeout", "1e19"], "--ready-timeout"),
        (&["--log-keep", "4294967295"], "logs.keep"),
        (
            &["--start-limit", "4294967295", "--start-window", "1s"],
            "restart.limit",
        ),
    ] {
        let mut args = vec!["install", "web"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--", "sleep", "73.75"]);
        let out = sup.run(&args);
        assert_eq!(code(&out), 2, "{flags:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(named), "{flags:?}: {err}");
    }
    refuses_definition(
        &sup,
        b"program = \"/bin/sleep\"\nargs = [\"73.75\"]\n[logs]\nkeep = 4294967295\n",
        "logs.keep",
    );
}

/// `install --file` of a definition holding `contents` is exit 2 saying `said`, and nothing
/// is installed.
fn refuses_definition(sup: &Sup, contents: &[u8], said: &str) {
    let file = sup.dir.join("web.toml");
    fs::write(&file, contents).unwrap();
    let out = sup.run(&["install", "--file", &file.display().to_string()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(said), "{}", stderr(&out));
    assert_eq!(sup.ok(&["list"]).trim(), "", "nothing was installed");
}

/// A `forget` (uninstall) and a `stop` of the same service in one event batch (the service's
/// exit and the stop request reach a supervisor that was stopped, so one poll returns both):
/// both are answered and the supervisor lives. (The hostile run saw a panic at "a known unit"
/// here; no lookup of a unit by name can panic any more.)
#[test]
fn forget_and_stop_in_one_batch_are_both_answered() {
    use std::{
        io::{BufRead, BufReader, Write},
        os::unix::net::UnixStream,
    };

    use nix::{
        sys::signal::{Signal, kill},
        unistd::Pid,
    };
    let sup = Sup::new("forgetstop");
    sup.ok(&[
        "install",
        "web",
        "--stop-timeout",
        "30s",
        "--",
        "sh",
        "-c",
        "trap '' TERM; exec sleep 74.25",
    ]);
    sup.ok(&["start", "web"]);
    let service = sup.status("web")["pid"].as_i64().unwrap() as i32;
    let supervisor = sup.supervisor_pid().unwrap();
    let mut uninstall = sup.command(&["uninstall", "web"]).spawn().unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        sup.status("web")["state"] == "stopping"
    }));
    let mut client = UnixStream::connect(sup.dir.join("state/supervisor.sock")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    kill(Pid::from_raw(supervisor), Signal::SIGSTOP).unwrap();
    kill(Pid::from_raw(service), Signal::SIGKILL).unwrap();
    client
        .write_all(b"{\"version\":1,\"op\":{\"op\":\"stop\",\"name\":\"web\"}}\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    kill(Pid::from_raw(supervisor), Signal::SIGCONT).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    BufReader::new(&client).read_line(&mut answer).unwrap();
    assert!(answer.contains("\"version\":1"), "{answer}");
    assert!(uninstall.wait().unwrap().success());
    assert_eq!(
        sup.supervisor_pid(),
        Some(supervisor),
        "the supervisor lives"
    );
    assert_eq!(sup.ok(&["list"]).trim(), "");
}

/// Regression: `uninstall` of a service waiting in backoff hung for two minutes (exit 6) and
/// left it listed: the stop took it from backoff straight to stopped, and only a stop from
/// "stopping" forgot it.
#[test]
fn regression_uninstall_of_a_service_in_backoff_returns_at_once() {
    let sup = Sup::new("backoffgone");
    sup.ok(&[
        "install",
        "crasher",
        "--restart",
        "always",
        "--restart-delay",
        "60s",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    sup.run(&["start", "crasher"]);
    assert!(eventually(Duration::from_secs(5), || {
        sup.status("crasher")["state"] == "backoff"
    }));
    let out = sup.run(&["uninstall", "crasher"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sup.ok(&["list"]).trim(), "");
    assert!(!sup.dir.join("state/services/crasher.toml").exists());
}

/// A tmpfs mounted at `at` in the state directory `state`: on drop, the supervisor whose pid
/// file is in `state` is stopped first (with `at` the state directory itself, its pid file is
/// gone once unmounted), then the tmpfs is unmounted.
struct Tmpfs {
    at: std::path::PathBuf,
    state: std::path::PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (mode 0700) at `at`, a directory of the state directory `state`
    /// or that directory itself.
    fn mount(state: &std::path::Path, at: &std::path::Path, size: &str) -> Tmpfs {
        fs::create_dir_all(at).unwrap();
        fs::set_permissions(state, fs::Permissions::from_mode(0o700)).unwrap();
        let mounted = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .unwrap();
        assert!(
            mounted.success(),
            "mount a {size} tmpfs at {}",
            at.display()
        );
        Tmpfs {
            at: at.to_owned(),
            state: state.to_owned(),
        }
    }

    /// Fills what is left of it with the file `filler` (none when it is full already).
    fn fill(&self) -> std::path::PathBuf {
        let filler = self.at.join("filler");
        if let Ok(mut file) = fs::File::create(&filler) {
            let block = vec![0u8; 64 << 10];
            while std::io::Write::write_all(&mut file, &block).is_ok() {}
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let pid = fs::read_to_string(self.state.join("supervisor.pid"))
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
            eventually(Duration::from_secs(20), || crate::support::is_gone(pid));
        }
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
    }
}

/// Regression: with the disk under the logs full, the supervisor stopped reading the pipes, the
/// service blocked forever in write(2) while status said "running", and freeing space did not
/// help. Now it drains on (the service makes progress), status names the error, and once space
/// returns a marker line counts the lost bytes and capture goes on.
#[test]
fn regression_a_full_disk_neither_blocks_the_service_nor_ends_capture() {
    if !require_root("regression_a_full_disk_neither_blocks_the_service_nor_ends_capture") {
        return;
    }
    let sup = Sup::new("fulldisk");
    let tmpfs = Tmpfs::mount(&sup.dir.join("state"), &sup.dir.join("state/logs"), "2m");
    let progress = sup.dir.join("progress");
    let script = format!(
        "i=0; while :; do i=$((i+1)); echo \"line $i\"; \
         [ $((i % 1000)) = 0 ] && echo $i > {}; done",
        progress.display()
    );
    sup.ok(&[
        "install",
        "chatty",
        "--log-max-size",
        "0",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    sup.ok(&["start", "chatty"]);
    let count = || -> u64 {
        fs::read_to_string(&progress)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(eventually(Duration::from_secs(10), || count() > 0));
    // Fill what is left of the file system.
    let filler = tmpfs.fill();
    assert!(
        eventually(Duration::from_secs(10), || {
            sup.status("chatty")["capture_error"]
                .as_str()
                .is_some_and(|error| error.contains("No space left on device"))
        }),
        "status shows the capture error: {}",
        sup.status("chatty")
    );
    let text = sup.ok(&["status", "chatty"]);
    assert!(text.contains("output: not stored:"), "{text}");
    // The service goes on far beyond what the 1 MiB pipe could hold (~95,000 lines).
    let full_at = count();
    assert!(
        eventually(Duration::from_secs(60), || count() > full_at + 200_000),
        "the service is blocked at {} lines (full at {full_at})",
        count()
    );
    fs::remove_file(&filler).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            sup.status("chatty")["capture_error"].is_null()
        }),
        "capture resumes once space returns"
    );
    // The lines stored after the marker that counts the lost bytes (None: no marker yet).
    let stored_after_marker = || -> Option<usize> {
        let log = sup.log("chatty.stdout");
        let marker = log.lines().position(|line| {
            line.starts_with("svckit: ") && line.contains("bytes of output were lost")
        })?;
        Some(
            log.lines()
                .skip(marker + 1)
                .filter(|line| line.starts_with("line "))
                .count(),
        )
    };
    // Stopped only once lines were stored again (regression: stopped right after the status
    // said capture resumed, fewer than 100 had been written by then on a busy machine).
    assert!(
        eventually(Duration::from_secs(10), || stored_after_marker()
            .is_some_and(|lines| lines > 100)),
        "lines after the marker were stored: {:?}",
        stored_after_marker()
    );
    sup.ok(&["stop", "chatty"]);
    assert!(
        stored_after_marker().is_some_and(|lines| lines > 100),
        "a marker line counts the lost bytes, and lines after it were stored"
    );
}

/// Installs and starts `web` (`sleep MARKER`) under `sup`; returns the control socket's path.
fn web_running(sup: &Sup, marker: &str) -> std::path::PathBuf {
    sup.ok(&["install", "web", "--", "sleep", marker]);
    sup.ok(&["start", "web"]);
    sup.dir.join("state/supervisor.sock")
}

/// A raw control-socket client: sends `line`, reads the reply with a deadline.
fn ask_raw(socket: &std::path::Path, line: &str, timeout: Duration) -> std::io::Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    // A client turned away is answered and closed at once: its write may fail (EPIPE) while
    // the answer waits to be read, as svckit's own client reads it.
    let _ = stream.write_all(line.as_bytes());
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer)?;
    Ok(answer)
}

const STATUS_ALL: &str = "{\"version\":1,\"op\":{\"op\":\"status\",\"name\":null}}\n";
const STATUS_WEB: &str = "{\"version\":1,\"op\":{\"op\":\"status\",\"name\":\"web\"}}\n";

/// Regression: each client that never read its reply blocked the event loop (~1-2 s each: ten
/// of them delayed a normal status by 20 s). Replies bigger than the socket's buffer (three
/// services with 120 KB command lines) are now written as the client reads.
#[test]
fn regression_clients_that_never_read_do_not_stall_the_supervisor() {
    let sup = Sup::new("noread");
    let long = "x".repeat(120_000);
    for name in ["a", "b", "c"] {
        sup.ok(&["install", name, "--", "sleep", &long]);
    }
    let socket = web_running(&sup, "74.5");
    let mut silent = Vec::new();
    for _ in 0..10 {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        std::io::Write::write_all(&mut stream, STATUS_ALL.as_bytes()).unwrap();
        silent.push(stream);
    }
    // Ten replies of ~360 KB wait unread; a normal request is answered at once all the same.
    let answer = ask_raw(&socket, STATUS_WEB, Duration::from_secs(5))
        .expect("answered while ten clients do not read");
    assert!(answer.contains("\"running\""), "{answer}");
    drop(silent);
    sup.ok(&["stop", "web"]);
}

/// Regression: a half-sent request had no idle timeout: the connection stayed open for good.
#[test]
fn regression_a_half_sent_request_is_dropped_after_the_idle_timeout() {
    use std::io::Read;
    let sup = Sup::new("halfsent");
    let socket = web_running(&sup, "74.75");
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    std::io::Write::write_all(&mut stream, b"{\"version\":1").unwrap();
    // Meanwhile others are served.
    sup.ok(&["status", "web"]);
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(
        matches!(read, Ok(0)),
        "the supervisor closed the idle connection: {read:?}"
    );
    sup.ok(&["stop", "web"]);
}

/// Regression: after EMFILE on accept, the clients queued on the (edge-triggered) listener
/// starved for good. Now each is accepted through a reserve fd and told the supervisor is out
/// of fds; once fds are free again, requests are served. Regression too: a status of all that
/// could not list the definitions (EMFILE) answered an empty list.
///
/// The supervisor's last fds are taken by clients waiting for a start that does not end (a
/// notify service that never says it is ready): such a client has no idle timeout, and the
/// supervisor itself says when none is left. (Idle clients held them before, each seen
/// accepted by counting the supervisor's fds: the supervisor drops an idle client after 10 s,
/// and under load the test outlived its first, leaving an fd free.)
#[test]
fn regression_accept_recovers_from_emfile() {
    let sup = Sup::new("emfile");
    let socket = web_running(&sup, "74.9");
    sup.ok(&[
        "install",
        "pending",
        "--type",
        "notify",
        "--ready-timeout",
        "10min",
        "--",
        "sleep",
        "74.91",
    ]);
    let waiting_start = || {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        let request =
            "{\"version\":1,\"op\":{\"op\":\"start\",\"name\":\"pending\",\"wait\":true}}\n";
        // Turned away, the client may find its request refused (EPIPE): it holds nothing.
        let _ = std::io::Write::write_all(&mut stream, request.as_bytes());
        stream
    };
    // The first waiter starts it (its pipes and pidfd are taken before the limit).
    let mut waiting = vec![waiting_start()];
    assert!(
        eventually(Duration::from_secs(10), || sup.status("pending")["state"]
            == "starting"),
        "{}",
        sup.status("pending")
    );
    let supervisor = sup.supervisor_pid().unwrap();
    let open_fds = fs::read_dir(format!("/proc/{supervisor}/fd"))
        .unwrap()
        .count();
    let limit = open_fds + 3;
    let set = std::process::Command::new("prlimit")
        .arg(format!("--pid={supervisor}"))
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .unwrap();
    assert!(set.success());
    // A request is served as long as an fd is free: each served one is followed by another
    // waiter, until the supervisor says it is out of fds. (It handles one client at a time,
    // in order: a served client's fd is closed before the next is accepted.) With one fd
    // left, a status of all is accepted but cannot list the definitions: it says so, where
    // it answered an empty list, as if nothing were installed.
    let mut listing_refused = false;
    loop {
        let all =
            ask_raw(&socket, STATUS_ALL, Duration::from_secs(5)).expect("a client is answered");
        if all.contains("out of file descriptors") {
            let one =
                ask_raw(&socket, STATUS_WEB, Duration::from_secs(5)).expect("a client is answered");
            if one.contains("out of file descriptors") {
                break;
            }
            assert!(one.contains("\"web\""), "{one}");
            listing_refused = true;
        } else {
            assert!(all.contains("\"web\""), "{all}");
        }
        waiting.push(waiting_start());
        assert!(waiting.len() < 20, "the fd limit is not reached");
    }
    assert!(
        listing_refused,
        "a status of all with the last fd was not refused"
    );
    for _ in 0..3 {
        let answer = ask_raw(&socket, STATUS_ALL, Duration::from_secs(5))
            .expect("a queued client is answered, not starved");
        assert!(answer.contains("out of file descriptors"), "{answer}");
    }
    // svckit's own client says why (it read the answer even though its request could not be
    // sent), rather than "Broken pipe".
    let out = sup.run(&["status", "web"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("out of file descriptors"),
        "{}",
        stderr(&out)
    );
    drop(waiting);
    let mut last = None;
    assert!(
        eventually(Duration::from_secs(5), || {
            let answer = ask_raw(&socket, STATUS_ALL, Duration::from_secs(5));
            let served = answer.as_ref().is_ok_and(|a| a.contains("\"web\""));
            last = Some(answer);
            served
        }),
        "{last:?}"
    );
    sup.ok(&["stop", "pending", "web"]);
}

/// `Max open files` (soft, hard) of `pid`, from /proc/PID/limits.
fn open_file_limits(pid: i32) -> (u64, u64) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Regression: at 10,000 services only 4,997 ran: the supervisor kept the soft fd limit it was
/// started with. Here, started under a soft limit of 48 (each service takes four or five fds),
/// it raises its own to the hard limit, runs 30 services, and gives each the limit it was
/// started with.
#[test]
fn regression_the_supervisor_raises_its_fd_limit_for_many_services() {
    let sup = Sup::new("manyfds");
    let (_, hard) = open_file_limits(std::process::id() as i32);
    let started = std::process::Command::new("prlimit")
        .arg(format!("--nofile=48:{hard}"))
        .arg(env!("CARGO_BIN_EXE_svckit"))
        .args(["supervise", "--daemon"])
        .env("SVCKIT_STATE_DIR", sup.state())
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let supervisor = sup.supervisor_pid().unwrap();
    assert_eq!(open_file_limits(supervisor), (hard, hard));
    for n in 0..30 {
        sup.ok(&["install", &format!("s{n}"), "--", "sleep", "75.25"]);
        sup.ok(&["start", &format!("s{n}")]);
    }
    let running: Vec<i32> = (0..30)
        .map(|n| sup.status(&format!("s{n}")))
        .filter(|status| status["state"] == "running")
        .map(|status| status["pid"].as_i64().unwrap() as i32)
        .collect();
    assert_eq!(running.len(), 30, "every service runs");
    assert_eq!(sleepers("75.25").len(), 30);
    assert_eq!(
        open_file_limits(running[0]),
        (48, hard),
        "services keep the old limit"
    );
    for n in 0..30 {
        sup.ok(&["stop", &format!("s{n}")]);
    }
}

/// Regression: accepted at install and failing only at start (or with exit 1, or naming the
/// wrong thing): an unknown user or group, a missing working directory (blamed on the
/// program), a non-executable program, a name too long for its files (ENAMETOOLONG), a zero
/// timeout, a definition that is not UTF-8, and a forgotten NAME ("program not found: 100").
/// Each is exit 2 with one line naming the bad thing, and nothing is installed.
#[test]
fn regression_bad_input_is_caught_at_install_with_the_right_name() {
    let sup = Sup::new("badinput");
    let noexec = sup.dir.join("noexec");
    fs::write(&noexec, "#!/bin/sh\n").unwrap();
    let noexec = noexec.display().to_string();
    let long = "n".repeat(240);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "install",
                "web",
                "--user",
                "no-such-user",
                "--",
                "sleep",
                "1",
            ],
            "unknown user \"no-such-user\"",
        ),
        (
            vec![
                "install",
                "web",
                "--group",
                "no-such-group",
                "--",
                "sleep",
                "1",
            ],
            "unknown group \"no-such-group\"",
        ),
        (
            vec![
                "install",
                "web",
                "--chdir",
                "/no/such/dir",
                "--",
                "sleep",
                "1",
            ],
            "working_dir (--chdir): /no/such/dir does not exist",
        ),
        (vec!["install", "web", "--", &noexec], "is not executable"),
        (
            vec!["install", &long, "--", "sleep", "1"],
            "longer than 200 bytes",
        ),
        (
            vec!["install", "--", "sleep", "100"],
            "required arguments were not provided: <NAME>",
        ),
        (vec!["start", "web", "--timeout", "0"], "more than 0"),
    ];
    for (args, said) in cases {
        let out = sup.run(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
    refuses_definition(&sup, b"program = \"\xff\"\n", "not UTF-8");
}

/// Regression: `svckit status NAME | head -1`, `logs … | head` and `show | head -1` printed
/// "Broken pipe" (exit 1) or aborted (exit 134) when the reader went away. They end quietly.
#[test]
fn regression_a_reader_that_goes_away_ends_output_quietly() {
    let sup = Sup::new("epipe");
    sup.ok(&[
        "install",
        "web",
        "--",
        "sh",
        "-c",
        "seq 1 50; exec sleep 75.5",
    ]);
    sup.ok(&["start", "web"]);
    assert!(eventually(Duration::from_secs(5), || sup
        .log("web.stdout")
        .contains("50\n")));
    for args in [
        &["status", "web"][..],
        &["status"],
        &["status", "web", "--json"],
        &["show", "web"],
        &["logs", "web"],
        &["list"],
    ] {
        let mut child = sup
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before svckit writes a byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    sup.ok(&["stop", "web"]);
}

/// Processes named `svckit-holder` that hold an fd to the pipe inode `pipe`.
fn holders_of(pipe: &str) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "svckit-holder")
                && fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                    fds.filter_map(Result::ok).any(|fd| {
                        fs::read_link(fd.path())
                            .is_ok_and(|target| target.display().to_string() == pipe)
                    })
                })
        })
        .collect()
}

/// Regression: one fd-holder process was left behind per SIGKILL of the supervisor (ten after
/// ten kills), each holding the services' pipes. The next supervisor ends its predecessor's
/// holder once its own holds the pipes.
#[test]
fn regression_no_fd_holder_is_left_behind_per_supervisor_kill() {
    use nix::{
        sys::signal::{Signal, kill},
        unistd::Pid,
    };
    let sup = Sup::new("holders");
    sup.ok(&[
        "install",
        "web",
        "--",
        "sh",
        "-c",
        "while :; do echo tick; sleep 0.05; done",
    ]);
    sup.ok(&["start", "web"]);
    let service = sup.status("web")["pid"].as_i64().unwrap() as i32;
    let pipe = fs::read_link(format!("/proc/{service}/fd/1"))
        .unwrap()
        .display()
        .to_string();
    assert!(pipe.starts_with("pipe:"), "{pipe}");
    for _ in 0..3 {
        let supervisor = sup.supervisor_pid().unwrap();
        kill(Pid::from_raw(supervisor), Signal::SIGKILL).unwrap();
        assert!(eventually(Duration::from_secs(5), || {
            crate::support::is_gone(supervisor)
        }));
        // A new supervisor adopts the service.
        sup.bring_up();
        assert_eq!(sup.status("web")["pid"].as_i64(), Some(service as i64));
    }
    assert!(
        eventually(Duration::from_secs(5), || holders_of(&pipe).len() == 1),
        "holders of the service's pipe: {:?}",
        holders_of(&pipe)
    );
    sup.ok(&["stop", "web"]);
}

/// Runs `svckit supervise --main NAME` as PID 1 of a new PID namespace (a container's
/// entrypoint), killed after `limit` if it hangs; returns its exit code (None: it hung).
fn supervise_as_pid1(sup: &Sup, main: &str, limit: Duration) -> Option<i32> {
    let mut child = std::process::Command::new("unshare")
        // --kill-child: a hung PID 1 dies with unshare when the test kills it.
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(env!("CARGO_BIN_EXE_svckit"))
        .args(["supervise", "--main", main, "--state-dir", &sup.state()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Regression: as a container's PID 1, a main program missing at exec made the supervisor
/// exit 0; tini exits 127 (126 for one that cannot be executed).
#[test]
fn regression_pid1_exits_127_when_the_main_program_is_missing() {
    if !require_root("regression_pid1_exits_127_when_the_main_program_is_missing") {
        return;
    }
    let sup = Sup::new("pid1missing");
    let program = sup.dir.join("app");
    fs::copy("/bin/true", &program).unwrap();
    sup.ok(&[
        "install",
        "app",
        "--start",
        "auto",
        "--",
        &program.display().to_string(),
    ]);
    fs::remove_file(&program).unwrap();
    assert_eq!(
        supervise_as_pid1(&sup, "app", Duration::from_secs(20)),
        Some(127)
    );
    fs::write(&program, "not a program\n").unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        supervise_as_pid1(&sup, "app", Duration::from_secs(20)),
        Some(126)
    );
}

/// Regression: a second `supervise` on the same state directory, as `docker restart` runs it
/// (a new PID namespace on the same kernel, so the same boot id), found the records of the
/// first run, started nothing and hung forever. Records are now of a boot *and* a PID
/// namespace: the new PID 1 starts its services afresh.
#[test]
fn regression_a_restarted_container_starts_its_main_service_again() {
    if !require_root("regression_a_restarted_container_starts_its_main_service_again") {
        return;
    }
    let sup = Sup::new("pid1restart");
    let runs = sup.dir.join("runs");
    let script = format!("echo run >> {}; exit 3", runs.display());
    sup.ok(&[
        "install", "app", "--start", "auto", "--", "sh", "-c", &script,
    ]);
    for run in 1..=2 {
        assert_eq!(
            supervise_as_pid1(&sup, "app", Duration::from_secs(20)),
            Some(3),
            "run {run} exits with the main service's status"
        );
    }
    assert_eq!(fs::read_to_string(&runs).unwrap(), "run\nrun\n");
}

/// The live decoder: 300 connections sending garbage (random bytes, truncated and mistyped
/// JSON, huge numbers, a 100 KB line without a newline) leave the supervisor serving.
#[test]
fn garbage_on_the_control_socket_leaves_the_supervisor_serving() {
    use std::io::{Read, Write};
    let sup = Sup::new("garbage");
    let socket = web_running(&sup, "75.75");
    let supervisor = sup.supervisor_pid().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let shapes: Vec<Vec<u8>> = vec![
        b"{\"version\":1,\"op\":{\"op\":\"stop\"}}\n".to_vec(),
        b"{\"version\":99999999999999999999,\"op\":{\"op\":\"status\",\"name\":null}}\n".to_vec(),
        b"{\"version\":1,\"op\":{\"op\":\"start\",\"name\":\"../../etc\",\"wait\":true}}\n"
            .to_vec(),
        b"{\"version\":1,\"op\":{\"op\":\"status\",\"name\":[1,2]}}\n".to_vec(),
        b"\n\n\n".to_vec(),
        vec![b'x'; 100_000],
    ];
    for round in 0..300 {
        let mut line = if round < shapes.len() {
            shapes[round].clone()
        } else {
            (0..(next() % 200)).map(|_| next() as u8).collect()
        };
        if round >= shapes.len() {
            line.push(b'\n');
        }
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&socket) else {
            panic!("round {round}: the supervisor stopped accepting");
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let _ = stream.write_all(&line);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
    assert_eq!(
        sup.supervisor_pid(),
        Some(supervisor),
        "the same supervisor"
    );
    assert_eq!(sup.status("web")["state"], "running");
    sup.ok(&["stop", "web"]);
}

/// Regression: with the file system under `supervisor.log` full, the supervisor's next log
/// line panicked it (eprintln!), SIGABRT, and every service was orphaned. Here the whole state
/// directory is a full tmpfs: records cannot be saved, log lines cannot be written, and the
/// supervisor goes on serving and stopping its service.
#[test]
fn regression_a_full_disk_under_supervisor_log_does_not_abort_the_supervisor() {
    if !require_root("regression_a_full_disk_under_supervisor_log_does_not_abort_the_supervisor") {
        return;
    }
    let sup = Sup::new("fullstate");
    let state = sup.dir.join("state");
    let tmpfs = Tmpfs::mount(&state, &state, "1m");
    sup.ok(&[
        "install",
        "chatty",
        "--log-max-size",
        "0",
        "--",
        "sh",
        "-c",
        "while :; do echo chatter; done",
    ]);
    sup.ok(&["start", "chatty"]);
    let supervisor = sup.supervisor_pid().unwrap();
    // The service's output fills the disk: the capture error and every record after it have
    // nowhere to go.
    assert!(
        eventually(Duration::from_secs(20), || {
            sup.status("chatty")["capture_error"]
                .as_str()
                .is_some_and(|error| error.contains("No space left on device"))
        }),
        "{}",
        sup.status("chatty")
    );
    tmpfs.fill();
    sup.ok(&["restart", "chatty"]);
    assert_eq!(
        sup.supervisor_pid(),
        Some(supervisor),
        "the supervisor lives"
    );
    sup.ok(&["stop", "chatty"]);
    assert_eq!(sup.status("chatty")["state"], "stopped");
}

/// Regression: a socket planted in the state directory (bound as root, served by another uid)
/// answered root's `stop` with "stopped" while the service ran on. The client accepts only a
/// supervisor of its own uid (SO_PEERCRED of the listening process).
#[test]
fn regression_a_supervisor_of_another_uid_is_not_believed() {
    if !require_root("regression_a_supervisor_of_another_uid_is_not_believed") {
        return;
    }
    let sup = Sup::new("plantedsock");
    sup.ok(&["install", "web", "--", "sleep", "76.25"]);
    let socket = sup.dir.join("state/supervisor.sock");
    let server = format!(
        "import os, socket\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.bind({path:?})\n\
         os.setgid(65534); os.setuid(65534)\n\
         s.listen(8)\n\
         print('ready', flush=True)\n\
         while True:\n\
         \x20   c, _ = s.accept()\n\
         \x20   try:\n\
         \x20       c.recv(4096)\n\
         \x20       c.sendall(b'{{\"version\":1,\"result\":{{\"outcome\":\"done\",\"services\":[]}}}}\\n')\n\
         \x20   except OSError:\n\
         \x20       pass\n\
         \x20   c.close()\n",
        path = socket.display().to_string()
    );
    let mut impostor = std::process::Command::new("python3")
        .args(["-c", &server])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(impostor.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "ready");
    // The status of all, and of one, ask in their one connection: the same check.
    for args in [&["status"][..], &["status", "web"]] {
        let status = sup.run(args);
        assert_eq!(code(&status), 5, "{args:?}: {}", stderr(&status));
        assert!(
            stderr(&status).contains("answered by uid 65534"),
            "{args:?}"
        );
    }
    let out = sup.run(&["stop", "web"]);
    let _ = impostor.kill();
    let _ = impostor.wait();
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("answered by uid 65534"),
        "{}",
        stderr(&out)
    );
}

/// When the supervisor's fds run out, the service that cannot start says so in its status,
/// naming the limit.
#[test]
fn a_service_that_cannot_start_for_want_of_fds_says_so() {
    let sup = Sup::new("nofds");
    sup.ok(&["install", "first", "--", "sleep", "76.5"]);
    sup.ok(&["start", "first"]);
    sup.ok(&["install", "second", "--", "sleep", "76.5"]);
    let supervisor = sup.supervisor_pid().unwrap();
    let open = fs::read_dir(format!("/proc/{supervisor}/fd"))
        .unwrap()
        .count();
    // Room for the client's connection, not for the service's pipes.
    let limit = open + 2;
    let set = std::process::Command::new("prlimit")
        .arg(format!("--pid={supervisor}"))
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .unwrap();
    assert!(set.success());
    let out = sup.run(&["start", "second"]);
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    let status = sup.status("second");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("at its open-file limit (RLIMIT_NOFILE ")),
        "{status}"
    );
    assert_eq!(sup.status("first")["state"], "running");
    sup.ok(&["stop", "first"]);
}

/// A directory under /run that belongs to the service's user (as another service's runtime
/// directory would), for the runtime-directory attacks; removed on drop.
struct UserRun(std::path::PathBuf);

impl UserRun {
    fn new(test: &str) -> UserRun {
        let dir =
            std::path::Path::new("/run").join(format!("svckit-it-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        chown(&dir, 65534);
        UserRun(dir)
    }

    fn name(&self) -> String {
        self.0.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for UserRun {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A root-only directory with something in `conf.d`, the target of a planted symlink.
fn victim(sup: &Sup) -> std::path::PathBuf {
    let victim = sup.dir.join("victim");
    fs::create_dir_all(victim.join("conf.d")).unwrap();
    fs::write(victim.join("conf.d/precious"), "root's").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).unwrap();
    victim
}

fn untouched(victim: &std::path::Path) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(victim).unwrap();
    assert_eq!(
        (meta.uid(), meta.mode() & 0o7777),
        (0, 0o700),
        "the symlink's target was handed to the service's user"
    );
    assert_eq!(
        fs::read_to_string(victim.join("conf.d/precious")).unwrap(),
        "root's",
        "the symlink's target was emptied"
    );
}

/// Regression (critical): only the last component of a runtime directory was checked, so a
/// symlink the service's user planted in the middle (`evsec3/link/conf.d`, with `/run/evsec3`
/// theirs) made root chown the target to them at start and delete it at stop. Every component
/// is now reached without following a symlink: the start is refused naming the link, the
/// target and the link are left as they were.
#[test]
fn regression_a_symlink_planted_inside_a_runtime_directory_path_never_leaves_run() {
    if !require_root(
        "regression_a_symlink_planted_inside_a_runtime_directory_path_never_leaves_run",
    ) {
        return;
    }
    let sup = Sup::new("rt-inner-link");
    let run = UserRun::new("rt-inner");
    let victim = victim(&sup);
    std::os::unix::fs::symlink(&victim, run.0.join("link")).unwrap();
    let runtime = format!("{}/link/conf.d", run.name());
    sup.ok(&[
        "install",
        "web",
        "--user",
        "nobody",
        "--runtime-directory",
        &runtime,
        "--",
        "/bin/sleep",
        "1010.81",
    ]);
    let said = sup.start_fails("web", "is not a directory");
    assert!(
        said.contains(&format!("{}/link", run.0.display())),
        "{said}"
    );
    untouched(&victim);
    sup.ok(&["stop", "web"]);
    sup.ok(&["uninstall", "web"]);
    untouched(&victim);
    assert!(
        fs::symlink_metadata(run.0.join("link"))
            .unwrap()
            .is_symlink()
    );
    assert!(sleepers("1010.81").is_empty());
}

/// Regression (critical): the stop removed the runtime directory by its path, so a service
/// that swapped a directory of that path for a symlink to root's files made root delete them.
/// The stop now reaches what svckit made without following a symlink, and removes it only while
/// it is the same directory.
#[test]
fn regression_a_runtime_directory_swapped_for_a_symlink_by_its_service_is_not_followed_at_stop() {
    if !require_root(
        "regression_a_runtime_directory_swapped_for_a_symlink_by_its_service_is_not_followed_at_stop",
    ) {
        return;
    }
    let sup = Sup::new("rt-swap");
    let run = UserRun::new("rt-swap");
    let victim = victim(&sup);
    let real = run.0.join("real");
    // The service, as nobody, moves the directory svckit made away and plants a symlink.
    let script = format!(
        "mv {real} {moved} && ln -s {victim} {real} && exec sleep 1010.82",
        real = real.display(),
        moved = run.0.join("moved").display(),
        victim = victim.display()
    );
    let runtime = format!("{}/real/conf.d", run.name());
    sup.ok(&[
        "install",
        "web",
        "--user",
        "nobody",
        "--runtime-directory",
        &runtime,
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    sup.ok(&["start", "web"]);
    assert!(eventually(Duration::from_secs(5), || fs::symlink_metadata(
        &real
    )
    .is_ok_and(|meta| meta.is_symlink())));
    sup.ok(&["stop", "web"]);
    untouched(&victim);
    assert!(sleepers("1010.82").is_empty());
    // What it moved away is still svckit's own: nothing else was removed in its place.
    assert!(run.0.join("moved/conf.d").is_dir());
}

/// Regression: a runtime directory that was there before the service started (the
/// operator's, another service's) was deleted with its contents at stop. Only what svckit
/// created is removed: the directory it made and the parents it made on the way.
#[test]
fn regression_only_runtime_directories_svckit_made_are_removed_at_stop() {
    if !require_root("regression_only_runtime_directories_svckit_made_are_removed_at_stop") {
        return;
    }
    let sup = Sup::new("rt-own");
    let run = UserRun::new("rt-own");
    fs::create_dir(run.0.join("theirs")).unwrap();
    fs::write(run.0.join("theirs/keep"), "x").unwrap();
    let made = format!("{}/made/deeper", run.name());
    let theirs = format!("{}/theirs", run.name());
    sup.ok(&[
        "install",
        "web",
        "--runtime-directory",
        &made,
        "--runtime-directory",
        &theirs,
        "--",
        "/bin/sleep",
        "1010.83",
    ]);
    sup.ok(&["start", "web"]);
    assert!(run.0.join("made/deeper").is_dir());
    // Killed, so the supervisor that stops it knows what it made only from its record.
    let supervisor = sup.supervisor_pid().expect("a supervisor");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        crate::support::is_gone(supervisor)
    }));
    sup.bring_up();
    sup.ok(&["stop", "web"]);
    assert!(!run.0.join("made").exists(), "what svckit made stays");
    assert_eq!(fs::read_to_string(run.0.join("theirs/keep")).unwrap(), "x");
    assert!(sleepers("1010.83").is_empty());
}

fn kill_supervisor(sup: &Sup) {
    let supervisor = sup.supervisor_pid().expect("a supervisor");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        crate::support::is_gone(supervisor)
    }));
}

/// Regression (high): a supervisor killed between spawning a service and writing its record
/// left a process that no record named; the next `start` ran the service a second time beside
/// it. Whatever is left in a service's cgroup with no record naming it is stopped on recovery,
/// before anything is spawned. (The record is also written at once after the spawn now.)
#[test]
fn regression_a_supervisor_killed_between_spawn_and_record_never_runs_a_service_twice() {
    if !require_root(
        "regression_a_supervisor_killed_between_spawn_and_record_never_runs_a_service_twice",
    ) {
        return;
    }
    let sup = Sup::new("twice");
    sup.ok(&["install", "web", "--", "/bin/sleep", "1010.71"]);
    sup.ok(&["start", "web"]);
    let first = sleepers("1010.71");
    assert_eq!(first.len(), 1);
    kill_supervisor(&sup);
    // The record as it stood before the spawn: stopped, no process.
    let record = sup.dir.join("state/run/web.json");
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    json["state"] = "stopped".into();
    json["wanted"] = false.into();
    json["pid"] = serde_json::Value::Null;
    json["start_ticks"] = serde_json::Value::Null;
    fs::write(&record, serde_json::to_vec(&json).unwrap()).unwrap();
    sup.ok(&["start", "web"]);
    let now = sleepers("1010.71");
    assert_eq!(now.len(), 1, "the service runs twice: {now:?}");
    assert!(crate::support::is_gone(first[0]), "the old one lives on");
    assert_eq!(sup.status("web")["pid"], now[0]);
    let events = sup.ok(&["events", "web"]);
    assert!(
        events.contains(&format!(
            "stopped PID {} left by the previous supervisor",
            first[0]
        )),
        "{events}"
    );
    sup.ok(&["stop", "web"]);
    assert!(sleepers("1010.71").is_empty());
}

/// The reproduction: `kill -9` of the supervisor while `start --all` starts 30
/// services, then `start --all` again: each runs exactly once.
#[test]
fn a_supervisor_killed_during_start_all_runs_each_service_once() {
    if !require_root("a_supervisor_killed_during_start_all_runs_each_service_once") {
        return;
    }
    let sup = Sup::new("startall-kill");
    let count = 30;
    for i in 0..count {
        sup.ok(&[
            "install",
            &format!("s{i}"),
            "--",
            "/bin/sleep",
            &format!("1010.6{i:02}"),
        ]);
    }
    sup.bring_up();
    let mut starting = sup
        .command(&["start", "--all"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Some of them started, some not yet: the kill lands in the middle of the batch.
    assert!(eventually(Duration::from_secs(10), || {
        (0..count).any(|i| !sleepers(&format!("1010.6{i:02}")).is_empty())
    }));
    kill_supervisor(&sup);
    let _ = starting.wait();
    sup.ok(&["start", "--all"]);
    for i in 0..count {
        let running = sleepers(&format!("1010.6{i:02}"));
        assert_eq!(running.len(), 1, "s{i} runs {} times", running.len());
        assert_eq!(sup.status(&format!("s{i}"))["pid"], running[0], "s{i}");
    }
    sup.ok(&["stop", "--all"]);
    for i in 0..count {
        assert!(sleepers(&format!("1010.6{i:02}")).is_empty(), "s{i} left");
    }
}

/// Regression: as PID 1, SIGINT and SIGQUIT to `svckit supervise` stopped the main service
/// with its stop signal (TERM) and the container ended 143, where tini, dumb-init and
/// `svckit run` give 130/131. The main service now gets the signal that was sent, and the exit
/// status is its own: 130 and 131 when it dies of it, its exit code when it handles it.
#[test]
fn regression_pid1_supervise_gives_int_and_quit_to_the_main_service() {
    if !require_root("regression_pid1_supervise_gives_int_and_quit_to_the_main_service") {
        return;
    }
    let sup = Sup::new("pid1int");
    let ready = sup.dir.join("ready");
    for (signal, traps, want) in [
        (nix::sys::signal::Signal::SIGINT, "", 130),
        (nix::sys::signal::Signal::SIGQUIT, "", 131),
        (nix::sys::signal::Signal::SIGINT, "trap 'exit 7' INT;", 7),
    ] {
        let _ = fs::remove_file(&ready);
        let script = format!(
            "{traps} touch {ready}; while :; do sleep 0.05; done",
            ready = ready.display()
        );
        sup.ok(&[
            "install", "app", "--force", "--start", "auto", "--", "/bin/sh", "-c", &script,
        ]);
        let mut child = std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(env!("CARGO_BIN_EXE_svckit"))
            .args(["supervise", "--main", "app", "--state-dir", &sup.state()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let unshare = child.id();
        let mut init = 0;
        assert!(eventually(Duration::from_secs(10), || {
            init = fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            init != 0 && ready.exists()
        }));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(init), signal).unwrap();
        let ended = eventually(Duration::from_secs(20), || {
            child.try_wait().unwrap().is_some()
        });
        if !ended {
            let _ = child.kill();
        }
        let status = child.wait().unwrap().code();
        assert!(ended, "{signal}: PID 1 did not end");
        assert_eq!(status, Some(want), "{signal} {traps}");
    }
}

/// Regression: a service's `STATUS=` text and its captured output reached the operator's
/// terminal raw through `status`, `status --watch`, `events` and the formatted `logs` (a
/// service sent `ESC]0;title BEL ESC[2J`: the window's title changed, the screen cleared).
/// Every human-readable view writes control characters out as escapes; `logs --plain` stays
/// byte-exact and `--json` stays JSON.
#[test]
fn regression_terminal_escapes_from_a_service_never_reach_the_operator_s_terminal() {
    let test = "regression_terminal_escapes_from_a_service_never_reach_the_operator_s_terminal";
    if !crate::support::require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let sup = Sup::new("escapes");
    let script = "printf 'out \\033]0;pwned\\007\\033[2J end\\n'; \
                  printf 'err \\033[31m red\\n' >&2; \
                  systemd-notify --ready --status=\"$(printf 'st \\033]0;title\\007 x')\"; \
                  exec sleep 1000.54";
    sup.install_notify("n", script);
    sup.ok(&["start", "n"]);
    // Captured once the supervisor drained it (never read right after start).
    assert!(eventually(Duration::from_secs(5), || {
        let plain = sup.run(&["logs", "n", "--plain"]).stdout;
        plain.ends_with(b"end\n")
    }));
    let plain = sup.run(&["logs", "n", "--plain"]).stdout;
    assert_eq!(
        plain, b"out \x1b]0;pwned\x07\x1b[2J end\n",
        "--plain is byte-exact"
    );
    let raw = |bytes: &[u8]| bytes.iter().any(|b| *b == 0x1b || *b == 0x07);
    for args in [
        &["status", "n"][..],
        &["status"],
        &["logs", "n"],
        &["logs", "--all"],
        &["events", "n"],
    ] {
        let out = sup.run(args);
        assert!(
            !raw(&out.stdout),
            "{args:?} wrote a raw escape: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!raw(&out.stderr), "{args:?}");
    }
    let status = String::from_utf8(sup.run(&["status", "n"]).stdout).unwrap();
    assert!(
        status.contains("status: st \\x1b]0;title\\x07 x"),
        "{status}"
    );
    assert!(
        status.contains("out \\x1b]0;pwned\\x07\\x1b[2J end"),
        "{status}"
    );
    let logs = String::from_utf8(sup.run(&["logs", "n"]).stdout).unwrap();
    assert!(logs.contains("err \\x1b[31m red"), "{logs}");
    // JSON keeps the text as it was, escaped as JSON escapes it.
    assert_eq!(sup.status("n")["status_text"], "st \x1b]0;title\x07 x");
    let json = sup.ok(&["logs", "n", "--json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["line"] == "out \x1b]0;pwned\x07\x1b[2J end"),
        "{json}"
    );
    // status --watch into a pipe: its frames are escaped the same way.
    let mut watch = sup
        .command(&["status", "n", "--watch", "--interval", "1s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut frame = Vec::new();
    {
        use std::io::Read;
        let mut stdout = watch.stdout.take().unwrap();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&frame).contains("2J end") {
            let n = stdout.read(&mut chunk).unwrap();
            assert!(n > 0, "watch ended: {}", String::from_utf8_lossy(&frame));
            frame.extend_from_slice(&chunk[..n]);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(!raw(&frame), "{:?}", String::from_utf8_lossy(&frame));
    sup.ok(&["stop", "n"]);
    assert!(sleepers("1000.54").is_empty());
}

/// Regression: `[limits] nofile` above the hard limit, or above anything the kernel allows
/// (99999999999999), was installed, and the start failed with "spawn: Operation not
/// permitted". Install refuses it naming the limit and why (exit 2); a definition that
/// became impossible after install fails its start saying the same.
#[test]
fn regression_an_impossible_limit_is_named_at_install_and_at_start() {
    let sup = Sup::new("limits");
    let out = sup.run(&[
        "install",
        "web",
        "--limit",
        "nofile=99999999999999",
        "--",
        "/bin/sleep",
        "1010.72",
    ]);
    let said = stderr(&out);
    assert_eq!(code(&out), 2, "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("nofile") && said.contains("fs.nr_open"),
        "{said}"
    );
    // Above the hard limit of a user who may not raise it.
    if require_root("regression_an_impossible_limit_is_named_at_install_and_at_start") {
        let state = std::path::PathBuf::from(format!(
            "/tmp/svckit-it-limits-nobody-{}",
            std::process::id()
        ));
        let nobody = crate::support::svckit_as_nobody();
        // Its hard limit made known: 2048.
        let out = std::process::Command::new("prlimit")
            .arg("--nofile=1024:2048")
            .arg(nobody.get_program())
            .args(nobody.get_args())
            .env("SVCKIT_STATE_DIR", &state)
            .args([
                "install",
                "web",
                "--backend",
                "builtin",
                "--limit",
                "nofile=4096",
            ])
            .args(["--", "/bin/sleep", "1010.72"])
            .output()
            .unwrap();
        let _ = fs::remove_dir_all(&state);
        let said = stderr(&out);
        assert_eq!(code(&out), 2, "{said}");
        assert!(
            said.contains("nofile") && said.contains("hard limit"),
            "{said}"
        );
    }
    // Edited by hand after install: the start says which limit.
    sup.ok(&[
        "install",
        "web",
        "--limit",
        "nofile=1024",
        "--",
        "/bin/sleep",
        "1010.72",
    ]);
    let definition = sup.dir.join("state/services/web.toml");
    let text = fs::read_to_string(&definition).unwrap();
    fs::write(&definition, text.replace("1024", "99999999999999")).unwrap();
    let said = sup.start_fails("web", "limits.nofile: 99999999999999 is above");
    assert!(!said.contains("Operation not permitted"), "{said}");
    assert!(sleepers("1010.72").is_empty());
}

/// Regressions in what the event log says: a notify service's reload ended with no
/// "reloaded"; a stop done by `exec_stop` was logged as "stopping (asked to): SIGTERM"; an
/// adopted process's end read "ended (ended (status unknown…))".
#[test]
fn regression_the_event_log_says_what_happened_in_one_word_each() {
    let test = "regression_the_event_log_says_what_happened_in_one_word_each";
    if !crate::support::require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let sup = Sup::new("told");
    // A notify program that reloads on HUP the sd_notify way: RELOADING=1, then READY=1.
    let script = "trap 'systemd-notify RELOADING=1; systemd-notify --ready' HUP; \
                  systemd-notify --ready; while :; do sleep 0.05; done";
    sup.install_notify("n", script);
    sup.ok(&["start", "n"]);
    sup.ok(&["reload", "n"]);
    assert!(
        eventually(Duration::from_secs(5), || sup
            .ok(&["events", "n"])
            .contains("n: reloaded")),
        "{}",
        sup.ok(&["events", "n"])
    );
    sup.ok(&["stop", "n"]);
    // Stopped by its exec_stop: said so, not as a bare SIGTERM.
    let stopper = "/bin/sh -c 'kill $MAINPID'";
    sup.ok(&[
        "install",
        "s",
        "--exec-stop",
        stopper,
        "--",
        "/bin/sleep",
        "1010.73",
    ]);
    sup.ok(&["start", "s"]);
    sup.ok(&["stop", "s"]);
    let events = sup.ok(&["events", "s"]);
    assert!(
        events.contains("stopping (asked to): exec_stop `/bin/sh -c kill $MAINPID`, then SIGTERM to what is left"),
        "{events}"
    );
    // Adopted, then killed: its status is unknown, said once.
    sup.ok(&["install", "a", "--", "/bin/sleep", "1010.74"]);
    sup.ok(&["start", "a"]);
    let pid = sup.status("a")["pid"].as_i64().unwrap() as i32;
    kill_supervisor(&sup);
    sup.bring_up();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || sup
        .ok(&["events", "a"])
        .contains("status unknown")));
    let events = sup.ok(&["events", "a"]);
    assert!(!events.contains("ended (ended"), "{events}");
    assert!(sleepers("1010.73").is_empty() && sleepers("1010.74").is_empty());
}

/// Regression (critical, the init-script backend): the script made runtime directories with
/// `mkdir -p` and `chown -h` (a symlink planted mid-path followed) and removed them at stop
/// with `rm -rf` (a symlink the service swapped in followed: root's files deleted). It now
/// calls `svckit runtime-dir` before its checks and `svckit kill` removes exactly what was made.
#[test]
fn regression_an_init_script_s_runtime_directory_never_leaves_run() {
    if !require_root("regression_an_init_script_s_runtime_directory_never_leaves_run") {
        return;
    }
    let sup = Sup::new("rt-sysv");
    let run = UserRun::new("rt-sysv");
    let victim = victim(&sup);
    let root = sup.dir.join("root");
    let install = |name: &str, runtime: &str, script: &str| {
        let out = crate::support::svckit()
            .args(["install", name, "--backend", "sysv", "--root"])
            .arg(&root)
            .args(["--user", "nobody", "--runtime-directory", runtime])
            .args(["--stop-timeout", "2s", "--", "/bin/sh", "-c", script])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        root.join("etc/init.d").join(name)
    };
    let script_of = |script: &std::path::Path, action: &str| {
        std::process::Command::new(script)
            .arg(action)
            .output()
            .unwrap()
    };
    let id = std::process::id();
    // A symlink planted mid-path: the start is refused, the target untouched.
    std::os::unix::fs::symlink(&victim, run.0.join("link")).unwrap();
    let planted = install(
        &format!("svckit-it-rt-planted-{id}"),
        &format!("{}/link/conf.d", run.name()),
        "exec sleep 1010.84",
    );
    let out = script_of(&planted, "start");
    assert_ne!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    untouched(&victim);
    let _ = script_of(&planted, "stop");
    untouched(&victim);
    assert!(
        fs::symlink_metadata(run.0.join("link"))
            .unwrap()
            .is_symlink()
    );
    // Swapped for a symlink by the service itself: the stop follows nothing.
    let real = run.0.join("real");
    let swap = format!(
        "mv {real} {moved} && ln -s {victim} {real} && exec sleep 1010.85",
        real = real.display(),
        moved = run.0.join("moved").display(),
        victim = victim.display()
    );
    let swapped = install(
        &format!("svckit-it-rt-swapped-{id}"),
        &format!("{}/real/conf.d", run.name()),
        &swap,
    );
    let out = script_of(&swapped, "start");
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(eventually(Duration::from_secs(5), || fs::symlink_metadata(
        &real
    )
    .is_ok_and(|meta| meta.is_symlink())));
    let out = script_of(&swapped, "stop");
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    untouched(&victim);
    assert!(sleepers("1010.84").is_empty() && sleepers("1010.85").is_empty());
    for name in ["planted", "swapped"] {
        let _ = fs::remove_file(format!("/var/log/svckit-it-rt-{name}-{id}.log"));
    }
    // What was made and not swapped: made by runtime-dir, removed by kill.
    let made = install(
        &format!("svckit-it-rt-made-{id}"),
        &format!("{}/made/conf.d", run.name()),
        "exec sleep 1010.86",
    );
    assert_eq!(code(&script_of(&made, "start")), 0);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(run.0.join("made/conf.d")).unwrap().uid(),
        65534
    );
    assert_eq!(code(&script_of(&made, "stop")), 0);
    assert!(!run.0.join("made").exists(), "what runtime-dir made stays");
    assert!(sleepers("1010.86").is_empty());
    let _ = fs::remove_file(format!("/var/log/svckit-it-rt-made-{id}.log"));
}

/// Regression: a root supervisor's forking service started through `svckit daemonize
/// --pidfile` (an init script's way) has its daemon in a cgroup of its own below the
/// service's; the supervisor read only the service cgroup's own processes, so it took the
/// pid file for a stranger's and the start failed, and a stop left the daemon's cgroup. Every
/// cgroup below a service's is the service's.
#[test]
fn regression_a_daemonized_daemon_in_its_own_cgroup_is_still_the_service_s() {
    if !require_root("regression_a_daemonized_daemon_in_its_own_cgroup_is_still_the_service_s") {
        return;
    }
    let sup = Sup::new("nested-cgroup");
    let pidfile = sup.dir.join("web.pid").display().to_string();
    sup.ok(&[
        "install",
        "web",
        "--type",
        "forking",
        "--pid-file",
        &pidfile,
        "--",
        env!("CARGO_BIN_EXE_svckit"),
        "daemonize",
        "--pidfile",
        &pidfile,
        "--",
        "/bin/sleep",
        "1010.88",
    ]);
    sup.ok(&["start", "web"]);
    let status = sup.status("web");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["pid"], sleepers("1010.88")[0], "{status}");
    assert_eq!(status["tasks"], 1, "{status}");
    let cgroup = std::path::PathBuf::from(status["cgroup"].as_str().unwrap());
    sup.ok(&["stop", "web"]);
    assert!(sleepers("1010.88").is_empty());
    assert!(!cgroup.exists(), "{} is left", cgroup.display());
}
