//! Containment: every process of a service, wherever it went, is found and stopped. As root
//! the supervisor puts each service in a cgroup of its own (cgroup v2), so a child that calls
//! setsid — its own session and group, out of reach of a signal to the service's group — goes
//! with it; as a user without cgroup rights, the supervisor finds it among the descendants of
//! the service's processes.

use std::{fs, os::unix::fs::chown, process::Output, time::Duration};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::{
    supervise::{Sup, sleepers},
    support::{TempDir, code, eventually, is_gone, proc_stat, require_root, stderr},
};

/// A shell that leaves a child in a session of its own (`setsid sleep ESCAPED`), then becomes
/// `sleep MAIN`.
fn escaping(main: &str, escaped: &str) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("setsid sleep {escaped} </dev/null >/dev/null 2>&1 & exec sleep {main}"),
    ]
}

fn pid_of(sleeper: &str) -> i32 {
    let pids = sleepers(sleeper);
    assert_eq!(pids.len(), 1, "one sleep {sleeper}: {pids:?}");
    pids[0]
}

/// The session a process is in (field 6 of its stat).
fn session_of(pid: i32) -> String {
    proc_stat(pid)[3].clone()
}

#[test]
fn regression_a_child_that_calls_setsid_is_stopped_with_its_service() {
    let test = "regression_a_child_that_calls_setsid_is_stopped_with_its_service";
    if !require_root(test) {
        return;
    }
    let sup = Sup::new("contain");
    let (main, escaped) = ("1000.41", "1000.42");
    let mut install = vec!["install".to_owned(), "escaper".into(), "--".into()];
    install.extend(escaping(main, escaped));
    let install: Vec<&str> = install.iter().map(String::as_str).collect();
    sup.ok(&install);
    sup.ok(&["start", "escaper"]);
    assert!(
        eventually(Duration::from_secs(10), || sleepers(escaped).len() == 1),
        "the escaping child never ran"
    );
    let escaped_pid = pid_of(escaped);
    let main_pid = pid_of(main);
    assert_ne!(
        session_of(escaped_pid),
        session_of(main_pid),
        "the child left the service's session"
    );
    let status = sup.status("escaper");
    let cgroup = status["cgroup"].as_str().expect("a cgroup, as root");
    assert_eq!(status["tasks"], 2, "{status}");
    let procs = fs::read_to_string(format!("{cgroup}/cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|line| line == escaped_pid.to_string()),
        "{procs}"
    );

    // The main process killed: what is left of the service goes too.
    kill(Pid::from_raw(main_pid), Signal::SIGKILL).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || is_gone(escaped_pid)),
        "the escaped child outlived its service's end"
    );

    // Started again and stopped: nothing of it is left, and its cgroup is gone.
    sup.ok(&["start", "escaper"]);
    assert!(eventually(Duration::from_secs(10), || sleepers(escaped)
        .len()
        == 1));
    let escaped_pid = pid_of(escaped);
    sup.ok(&["stop", "escaper"]);
    assert!(
        is_gone(escaped_pid),
        "stop returned with the escaped child alive"
    );
    assert!(sleepers(main).is_empty() && sleepers(escaped).is_empty());
    assert!(
        !std::path::Path::new(cgroup).exists(),
        "an empty cgroup was left behind"
    );
}

/// `svckit` as nobody: a user with no cgroup rights.
fn as_nobody(state: &str, args: &[&str]) -> Output {
    crate::support::svckit_as_nobody()
        .args(args)
        .env("SVCKIT_STATE_DIR", state)
        .env("HOME", "/nonexistent")
        .output()
        .expect("run setpriv")
}

#[test]
fn without_cgroups_a_child_that_calls_setsid_is_found_among_the_descendants() {
    let test = "without_cgroups_a_child_that_calls_setsid_is_found_among_the_descendants";
    if !require_root(test) {
        return;
    }
    let dir = TempDir::new("contain-nobody");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    chown(
        dir.join(""),
        Some(nobody.uid.as_raw()),
        Some(nobody.gid.as_raw()),
    )
    .unwrap();
    let state = dir.str("state");
    let _stop = StopSupervisor(dir.join("state/supervisor.pid"));
    let (main, escaped) = ("1000.43", "1000.44");
    let mut install = vec!["install", "escaper", "--backend", "builtin", "--"];
    let command = escaping(main, escaped);
    install.extend(command.iter().map(String::as_str));
    let run = |args: &[&str]| {
        let out = as_nobody(&state, args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        out
    };
    run(&install);
    run(&["start", "escaper"]);
    assert!(
        eventually(Duration::from_secs(10), || sleepers(escaped).len() == 1),
        "the escaping child never ran"
    );
    let escaped_pid = pid_of(escaped);
    let status: Value =
        serde_json::from_slice(&run(&["status", "escaper", "--json"]).stdout).unwrap();
    assert!(status["cgroup"].is_null(), "nobody made a cgroup: {status}");
    let log = fs::read_to_string(dir.join("state/supervisor.log")).unwrap_or_default();
    assert!(log.contains("no cgroups"), "the supervisor says why: {log}");
    run(&["stop", "escaper"]);
    assert!(
        is_gone(escaped_pid),
        "stop returned with the escaped child alive"
    );
    assert!(sleepers(main).is_empty() && sleepers(escaped).is_empty());
    let _ = as_nobody(&state, &["uninstall", "escaper"]);
}

/// Ends the supervisor whose pid file this is (and so its services) when the test ends, pass
/// or fail: a failed run once left its sleepers behind, and every later run failed on them.
struct StopSupervisor(std::path::PathBuf);

impl Drop for StopSupervisor {
    fn drop(&mut self) {
        let pid = fs::read_to_string(&self.0);
        if let Some(pid) = pid.ok().and_then(|text| text.trim().parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            eventually(Duration::from_secs(20), || is_gone(pid));
        }
    }
}

/// Two supervisors in two mount namespaces (two containers on the host's cgroup tree, each
/// with its own /run and state directory, as root) run a service of the same name. Their
/// cgroups were named after the same paths, so they were one: the second start stopped the
/// first one's process as its service's leftovers. Each now has its own.
#[test]
fn regression_supervisors_in_two_mount_namespaces_keep_their_services_apart() {
    let test = "regression_supervisors_in_two_mount_namespaces_keep_their_services_apart";
    if !require_root(test) {
        return;
    }
    let svckit = env!("CARGO_BIN_EXE_svckit");
    fs::create_dir_all("/var/lib/svckit").unwrap();
    let marker = format!("{}", 3_000_000 + std::process::id());
    // Each "container": its own /run and state directory, the host's cgroup tree.
    let host = |i: u32| -> Value {
        let script = format!(
            "mount -t tmpfs -o mode=0755 tmpfs /run; \
             mount -t tmpfs -o mode=0755 tmpfs /var/lib/svckit; \
             {svckit} install web -- /bin/sleep {marker}.{i} >/dev/null; \
             {svckit} start web >/dev/null; {svckit} status web --json"
        );
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-ec", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        match status {
            Value::Array(mut list) => list.remove(0),
            other => other,
        }
    };
    let first = host(1);
    let second = host(2);
    // Whatever happens below, both supervisors and their services go with the test.
    struct Cleanup(Vec<std::path::PathBuf>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for pid in self
                .0
                .iter()
                .flat_map(|cgroup| crate::support::cgroup_tree_pids(cgroup))
            {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    // The supervisor's cgroup: two levels above its service's (STATE-HASH/NAME).
    let supervisor = |status: &Value| {
        std::path::Path::new(status["cgroup"].as_str().expect("a cgroup, as root"))
            .ancestors()
            .nth(2)
            .unwrap()
            .to_path_buf()
    };
    let _cleanup = Cleanup(vec![supervisor(&first), supervisor(&second)]);
    assert_ne!(
        first["cgroup"], second["cgroup"],
        "two supervisors' services share a cgroup"
    );
    let first_pid = first["pid"].as_i64().unwrap() as i32;
    assert!(
        !is_gone(first_pid),
        "the second supervisor's start killed the first one's service"
    );
    assert!(!is_gone(second["pid"].as_i64().unwrap() as i32));
}
