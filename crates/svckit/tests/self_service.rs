//! The self-managing example (`examples/self_service.rs`) run for real: it installs itself
//! into svckit's supervisor, which it starts by forking (no `svckit` executable anywhere),
//! then starts, queries, stops and uninstalls itself; /proc shows what runs and what is gone.
#![cfg(unix)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

/// The example, built beside this test (`cargo test` builds a package's examples first).
fn example() -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile = test.parent().and_then(Path::parent).unwrap();
    profile.join("examples/self_service")
}

fn run(state: &Path, args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .env("SVCKIT_STATE_DIR", state)
        .output()
        .unwrap()
}

fn ok(state: &Path, args: &[&str]) -> String {
    let out = run(state, args);
    assert!(
        out.status.success(),
        "self_service {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn is_gone(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Ends the supervisor should an assertion fail first.
struct EndOnDrop(u32);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if !is_gone(self.0) {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
}

/// The supervisor of `state`: its pid (ended, should an assertion fail first), once its
/// executable is seen to be `exe`.
fn supervisor_running(state: &Path, exe: &Path) -> (u32, EndOnDrop) {
    let supervisor: u32 = fs::read_to_string(state.join("supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let guard = EndOnDrop(supervisor);
    assert_eq!(
        fs::read_link(format!("/proc/{supervisor}/exe")).unwrap(),
        exe.canonicalize().unwrap()
    );
    (supervisor, guard)
}

fn pid_in(said: &str) -> u32 {
    said.rsplit("PID ")
        .next()
        .and_then(|rest| rest.trim().trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no PID in {said:?}"))
}

#[test]
fn an_application_installs_starts_queries_stops_and_uninstalls_itself() {
    let dir = std::env::temp_dir().join(format!("svckit-self-service-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");

    let said = ok(&state, &["service", "install", "builtin"]);
    assert!(said.contains("(builtin: "), "{said}");
    let said = ok(&state, &["service", "start"]);
    assert!(said.contains(": running (PID "), "{said}");
    let pid = pid_in(&said);
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.ends_with(b"self_service\0run\0"), "{cmdline:?}");

    // The supervisor is this very example, forked and daemonized: no svckit binary ran.
    let (supervisor, _guard) = supervisor_running(&state, &example());
    // Regression: it showed in ps as the command that started it ("self_service service
    // install builtin"); it names itself the supervisor of its state directory, within the
    // length of that command line.
    let cmdline = fs::read(format!("/proc/{supervisor}/cmdline")).unwrap();
    let shown = String::from_utf8_lossy(&cmdline);
    let shown = shown.trim_end_matches('\0');
    let full = format!("svckit-supervise\0{}", state.display());
    assert!(
        shown.starts_with("svckit-supervise\0/") && full.starts_with(shown),
        "{shown:?}"
    );
    assert_eq!(
        fs::read_to_string(format!("/proc/{supervisor}/comm")).unwrap(),
        "svckit-supervis\n"
    );
    let ps = Command::new("ps")
        .args(["-o", "args=", "-p", &supervisor.to_string()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ps.stdout).starts_with("svckit-supervise /"),
        "{}",
        String::from_utf8_lossy(&ps.stdout)
    );
    let log = state.join("logs/self-service-example.stdout");
    assert!(
        eventually(|| fs::read_to_string(&log).is_ok_and(|text| text.contains("is alive"))),
        "no output captured in {}",
        log.display()
    );
    assert_eq!(pid_in(&ok(&state, &["service", "status"])), pid);

    let said = ok(&state, &["service", "stop"]);
    assert!(said.contains(": stopped"), "{said}");
    assert!(eventually(|| is_gone(pid)), "the service outlived its stop");
    let said = ok(&state, &["service", "uninstall"]);
    assert!(said.contains("uninstalled"), "{said}");
    let out = run(&state, &["service", "status"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not installed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert!(
        Command::new("kill")
            .arg(supervisor.to_string())
            .status()
            .unwrap()
            .success()
    );
    assert!(
        eventually(|| is_gone(supervisor)),
        "the supervisor outlived SIGTERM"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Regression: a program with a thread (any tokio main) could not start the supervisor
/// ("refusing to fork: the process has 2 threads") and was left installed but stopped. With
/// svckit in PATH, the supervisor is started as that program, a process of its own; without
/// it, the error says what to do.
#[test]
fn a_threaded_application_starts_the_supervisor_through_svckit_in_path() {
    let profile = example()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_owned();
    let svckit = profile.join("svckit");
    if !svckit.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI builds the workspace: {} is missing",
            svckit.display()
        );
        eprintln!(
            "skipped: no {} (cargo build -p svckit-cli)",
            svckit.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("svckit-threaded-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let threaded = |args: &[&str], path: &str| {
        Command::new(example())
            .args(args)
            .env("SVCKIT_STATE_DIR", &state)
            .env("SELF_SERVICE_THREADED", "1")
            .env("PATH", path)
            .output()
            .unwrap()
    };
    let out = threaded(&["service", "install", "builtin"], "/usr/bin:/bin");
    assert!(out.status.success(), "{out:?}");
    // No svckit anywhere: refused, saying what to do; nothing started.
    let out = threaded(&["service", "start"], "/usr/bin:/bin");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        said.contains("refusing to fork") && said.contains("Manager::with_svckit"),
        "{said}"
    );
    assert!(
        !state.join("supervisor.pid").exists()
            || fs::read_to_string(state.join("supervisor.pid"))
                .unwrap_or_default()
                .trim()
                .is_empty()
    );
    // svckit in PATH: the supervisor is svckit, the service runs.
    let path = format!("{}:/usr/bin:/bin", profile.display());
    let out = threaded(&["service", "start"], &path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains(": running (PID "), "{said}");
    let pid = pid_in(&said);
    let (supervisor, _guard) = supervisor_running(&state, &svckit);
    let out = threaded(&["service", "stop"], &path);
    assert!(out.status.success(), "{out:?}");
    assert!(eventually(|| is_gone(pid)), "the service outlived its stop");
    let out = threaded(&["service", "uninstall"], &path);
    assert!(out.status.success(), "{out:?}");
    assert!(
        Command::new("kill")
            .arg(supervisor.to_string())
            .status()
            .unwrap()
            .success()
    );
    assert!(eventually(|| is_gone(supervisor)));
    let _ = fs::remove_dir_all(&dir);
}
