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
    let file = sup.dir.join("web.toml");
    fs::write(
        &file,
        "program = \"/bin/sleep\"\nargs = [\"73.75\"]\n[logs]\nkeep = 4294967295\n",
    )
    .unwrap();
    let out = sup.run(&["install", "--file", &file.display().to_string()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("logs.keep"), "{}", stderr(&out));
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

/// Unmounts a tmpfs on drop.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
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
    let logs = sup.dir.join("state/logs");
    fs::create_dir_all(&logs).unwrap();
    fs::set_permissions(sup.dir.join("state"), fs::Permissions::from_mode(0o700)).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs"])
        .arg(&logs)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mount a 2 MiB tmpfs at {}",
        logs.display()
    );
    let _tmpfs = Tmpfs(logs.clone());
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
    let filler = logs.join("filler");
    let mut file = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 << 10];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
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
        eventually(Duration::from_secs(60), || count() > full_at + 300_000),
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
    sup.ok(&["stop", "chatty"]);
    let log = sup.log("chatty.stdout");
    let marker = log
        .lines()
        .position(|line| line.starts_with("svckit: ") && line.contains("bytes of output were lost"))
        .expect("a marker line counts the lost bytes");
    assert!(
        log.lines()
            .skip(marker + 1)
            .filter(|line| line.starts_with("line "))
            .count()
            > 100,
        "lines after the marker were stored"
    );
}
