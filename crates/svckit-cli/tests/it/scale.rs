//! Many services on one supervisor: the descriptors it holds per service, and what it says
//! when the open-file limit is reached. (The timings at 1,000 and 10,000 services are the
//! `scale` benchmark's: `cargo bench -p svckit-cli --bench supervise`.)

use std::{fs, path::Path, time::Duration};

use crate::supervise::Sup;
use crate::support::{code, eventually, require_root, stderr};

/// The supervisor's open descriptors, by what they are: (pipes, log files, everything).
fn descriptors(pid: u32) -> (usize, usize, usize) {
    let mut pipes = 0;
    let mut logs = 0;
    let mut all = 0;
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let Ok(target) = fs::read_link(entry.unwrap().path()) else {
            continue;
        };
        all += 1;
        let target = target.to_string_lossy().into_owned();
        if target.starts_with("pipe:") {
            pipes += 1;
        } else if target.contains("/logs/") {
            logs += 1;
        }
    }
    (pipes, logs, all)
}

fn supervisor_pid(sup: &Sup) -> u32 {
    fs::read_to_string(sup.dir.join("state/supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Writes `n` definitions of shell services that print a line on stdout and one on stderr,
/// then sleep: the directory to apply.
fn chatty_services(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        fs::write(
            dir.join(format!("s{i}.toml")),
            "program = \"/bin/sh\"\n\
             args = [\"-c\", \"echo out; echo err >&2; exec sleep 1000\"]\n\
             start = \"auto\"\n",
        )
        .unwrap();
    }
}

/// Regression: the supervisor held four descriptors per service (two pipes, two log files,
/// and a time index each once the service printed), so 10,000 services could not run under
/// a 20,000 limit. It holds the two output pipes per service and a bounded number of open
/// logs (the busiest; the others reopen at their next line): 300 services that all print
/// hold at most 2 × 300 pipes and 2 × 128 × 2 log descriptors (logs and indexes).
#[test]
fn regression_a_supervisor_holds_two_descriptors_per_service_and_a_bounded_set_of_logs() {
    const N: usize = 300;
    let sup = Sup::new("scale-fds");
    let dir = sup.dir.join("defs");
    chatty_services(&dir, N);
    sup.ok(&["apply", dir.to_str().unwrap()]);
    let logs = sup.dir.join("state/logs");
    assert!(
        eventually(Duration::from_secs(30), || (0..N).all(|i| {
            fs::read_to_string(logs.join(format!("s{i}.stderr"))).is_ok_and(|text| text == "err\n")
                && fs::read_to_string(logs.join(format!("s{i}.stdout")))
                    .is_ok_and(|text| text == "out\n")
        })),
        "not every service's output was stored"
    );
    let (pipes, log_fds, all) = descriptors(supervisor_pid(&sup));
    eprintln!("{N} services: {pipes} pipes, {log_fds} log descriptors, {all} in all");
    assert!(pipes <= 2 * N + 4, "{pipes} pipes for {N} services");
    assert!(
        log_fds <= 2 * 128 + 4,
        "{log_fds} log descriptors held open"
    );
    assert!(
        all <= 2 * N + 2 * 128 + 32,
        "{all} descriptors for {N} services"
    );
    // A log closed for want of room reopens at its end: a line after the rest is stored.
    sup.ok(&["restart", "s0"]);
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(
            logs.join("s0.stderr")
        )
        .is_ok_and(|text| text == "err\nerr\n")),
        "{:?}",
        fs::read_to_string(logs.join("s0.stderr"))
    );
    sup.ok(&["supervisor", "stop"]);
}

/// Regression: at its open-file limit the supervisor said "cannot set up a child of a
/// process with 0 threads" (its count of threads in /proc failed with EMFILE). Once a
/// quarter of the limit is all that is left, a service's stderr shares its stdout pipe (its
/// status says so, and its stderr lines are in its stdout log); a start that finds no room
/// at all names the limit, the services running and what to raise. The supervisor runs as
/// nobody under a hard limit of 40 (root would raise it).
#[test]
fn regression_the_open_file_limit_is_named_with_what_to_raise() {
    let test = "regression_the_open_file_limit_is_named_with_what_to_raise";
    if !require_root(test) {
        return;
    }
    let sup = Sup::new("scale-limit");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(
        &sup.dir.join(""),
        Some(nobody.uid),
        Some(nix::unistd::Gid::from_raw(nobody.gid.as_raw())),
    )
    .unwrap();
    let as_nobody = |args: &[&str]| {
        let mut command = std::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg("ulimit -n 40 && exec setpriv --reuid nobody --regid nogroup --clear-groups -- \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_svckit"))
            .args(args)
            .env("SVCKIT_STATE_DIR", sup.state())
            .env("HOME", "/nonexistent");
        command.output().unwrap()
    };
    const N: usize = 20;
    for i in 0..N {
        let name = format!("s{i:02}");
        let out = as_nobody(&[
            "install",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "echo out; echo err >&2; exec sleep 1000",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = as_nobody(&["start", "--all"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let said = stderr(&out);
    let line = said
        .lines()
        .find(|line| line.contains("failed to start"))
        .unwrap_or_else(|| panic!("no start failed: {said}"));
    assert!(
        line.contains("the supervisor is at its open-file limit (RLIMIT_NOFILE 40, ")
            && line.contains(" services running, 2 descriptors each): raise its hard limit"),
        "{line}"
    );
    // Started in order: the first with two pipes, then some with one, then none.
    let status = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&as_nobody(&["status", name, "--json"]).stdout).unwrap()
    };
    let states: Vec<(String, Option<String>)> = (0..N)
        .map(|i| {
            let status = status(&format!("s{i:02}"));
            (
                status["state"].as_str().unwrap_or_default().to_owned(),
                status["status_text"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let separate = states
        .iter()
        .take_while(|(state, notice)| state == "running" && notice.is_none())
        .count();
    let merged = states[separate..]
        .iter()
        .take_while(|(state, notice)| {
            state == "running"
                && notice
                    .as_deref()
                    .is_some_and(|n| n.contains("stderr goes to its stdout log"))
        })
        .count();
    assert!(separate >= 1 && merged >= 4, "{states:?}");
    assert!(
        states[separate + merged..]
            .iter()
            .all(|(state, _)| state == "failed"),
        "{states:?}"
    );
    let logs = sup.dir.join("state/logs");
    let first_merged = format!("s{separate:02}");
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(
            logs.join(format!("{first_merged}.stdout"))
        )
        .is_ok_and(|text| text.contains("out\n") && text.contains("err\n"))),
        "{first_merged}'s stderr is not in its stdout log"
    );
    assert!(
        fs::read_to_string(logs.join("s00.stderr")).is_ok_and(|text| text == "err\n"),
        "s00 has its own stderr log"
    );
    let out = as_nobody(&["supervisor", "stop"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
