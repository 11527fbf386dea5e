//! The supervisor, end to end: real services under `svckit supervise`, checked through /proc,
//! the logs on disk and `status --json`.

use std::{
    fs,
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::support::{
    TempDir, code, eventually, is_gone, proc_stat, processes_with, stderr, svckit,
};

/// A state directory of its own; its supervisor (and every service) is stopped on drop.
pub(crate) struct Sup {
    pub(crate) dir: TempDir,
    /// The svckit it runs: the test build's, or another (the static build).
    exe: Option<std::path::PathBuf>,
}

impl Sup {
    pub(crate) fn new(name: &str) -> Sup {
        Sup {
            dir: TempDir::new(&format!("sup-{name}")),
            exe: None,
        }
    }

    /// A state directory run by the svckit at `exe` (its supervisor too, which it starts).
    pub(crate) fn with_exe(name: &str, exe: &std::path::Path) -> Sup {
        let mut sup = Sup::new(name);
        sup.exe = Some(exe.to_owned());
        sup
    }

    pub(crate) fn state(&self) -> String {
        self.dir.str("state")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = match &self.exe {
            Some(exe) => Command::new(exe),
            None => svckit(),
        };
        match args.split_first() {
            // Pinned, so a machine booted by systemd or SysV init runs these under the supervisor.
            Some((&"install", rest)) if !args.contains(&"--backend") => {
                command.args(["install", "--backend", "builtin"]).args(rest)
            }
            _ => command.args(args),
        };
        command.env("SVCKIT_STATE_DIR", self.state());
        command
    }

    /// Starts the supervisor, as boot or the operator would (read-only commands do not):
    /// `svckit supervise --daemon`, which may find one running already (exit 4).
    pub(crate) fn bring_up(&self) {
        let output = self.run(&["supervise", "--daemon"]);
        assert!(
            matches!(code(&output), 0 | 4),
            "supervise --daemon: {}",
            stderr(&output)
        );
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run svckit")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(code(&output), 0, "svckit {args:?}: {}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Installs `name`, a shell `script` that speaks sd_notify through systemd-notify (so
    /// every process of it may: `notify_access = all`).
    pub(crate) fn install_notify(&self, name: &str, script: &str) {
        self.ok(&[
            "install",
            name,
            "--type",
            "notify",
            "--notify-access",
            "all",
            "--",
            "/bin/sh",
            "-c",
            script,
        ]);
    }

    /// Installs `name` with `options` (its type, pid file…), restarted on failure after
    /// 100 ms, running `command`.
    pub(crate) fn install_restarted(&self, name: &str, options: &[&str], command: &[String]) {
        let mut args = vec!["install", name];
        args.extend_from_slice(options);
        args.extend(["--restart", "on-failure", "--restart-delay", "100ms", "--"]);
        args.extend(command.iter().map(String::as_str));
        self.ok(&args);
    }

    /// `svckit start NAME`, asserted to fail (exit 1) saying `says`: its stderr.
    pub(crate) fn start_fails(&self, name: &str, says: &str) -> String {
        let out = self.run(&["start", name]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        stderr(&out)
    }

    /// `status NAME --json`, which exits 0 while it runs and 3 when it is stopped.
    pub(crate) fn status(&self, name: &str) -> Value {
        let output = self.run(&["status", name, "--json"]);
        assert!(
            matches!(code(&output), 0 | 3),
            "svckit status {name}: {}",
            stderr(&output)
        );
        let status: Value = serde_json::from_slice(&output.stdout).expect("status JSON");
        let stopped = status["state_value"] == 1;
        assert_eq!(code(&output), if stopped { 3 } else { 0 }, "{status}");
        status
    }

    pub(crate) fn supervisor_pid(&self) -> Option<i32> {
        fs::read_to_string(self.dir.join("state/supervisor.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|pid| !is_gone(*pid))
    }

    pub(crate) fn log(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join(&format!("state/logs/{name}"))).unwrap_or_default()
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        if let Some(pid) = self.supervisor_pid() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            eventually(Duration::from_secs(20), || is_gone(pid));
        }
    }
}

/// Live `sleep` processes whose arguments contain `marker` (a shell whose script names the
/// marker does not count).
pub(crate) fn sleepers(marker: &str) -> Vec<i32> {
    // One read of each command line: a shell whose script names the marker can exec sleep
    // between two reads, and passed for a sleeper once that way (a flake).
    processes_with(marker)
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                let mut args = cmd.split(|b| *b == 0);
                args.next().is_some_and(|argv0| argv0.ends_with(b"sleep"))
                    && args.any(|arg| arg.windows(marker.len()).any(|w| w == marker.as_bytes()))
            })
        })
        .collect()
}

fn pid_of(status: &Value) -> i32 {
    status["pid"].as_i64().expect("a pid") as i32
}

#[test]
fn start_runs_the_service_in_its_own_group_with_clean_signals_and_captured_output() {
    let sup = Sup::new("start");
    sup.ok(&[
        "install",
        "web",
        "--env",
        "GREETING=hi",
        "--chdir",
        "/tmp",
        "--",
        "sh",
        "-c",
        "echo \"$GREETING from $(pwd)\"; echo oops >&2; exec sleep 1001.1",
    ]);
    let out = sup.ok(&["start", "web"]);
    assert!(out.contains("web: started (running, PID"), "{out}");
    let status = sup.status("web");
    assert_eq!(status["state"], "running");
    let pid = pid_of(&status);
    // Its own session and group, no terminal, nothing blocked or ignored.
    let stat = proc_stat(pid);
    assert_eq!(stat[2], pid.to_string(), "process group");
    assert_eq!(stat[3], pid.to_string(), "session");
    let proc_status = crate::support::proc_status(pid);
    assert_eq!(proc_status["SigBlk"], "0000000000000000");
    assert_eq!(proc_status["SigIgn"], "0000000000000000");
    assert!(eventually(Duration::from_secs(5), || sup.log("web.stdout")
        == "hi from /tmp\n"));
    assert_eq!(sup.log("web.stderr"), "oops\n");
    let logs = sup.ok(&["logs", "web", "--stderr", "--plain"]);
    assert_eq!(logs, "oops\n");
    // A second start of a running service changes nothing.
    sup.ok(&["start", "web"]);
    assert_eq!(pid_of(&sup.status("web")), pid);
    assert_eq!(sleepers("1001.1").len(), 1);
    let human = sup.ok(&["status", "web"]);
    assert!(
        human.contains("state: running") && human.contains("hi from /tmp"),
        "{human}"
    );
    sup.ok(&["stop", "web"]);
    assert!(is_gone(pid));
    assert_eq!(sup.status("web")["state"], "stopped");
}

#[test]
fn stop_kills_grandchildren() {
    let sup = Sup::new("grandchildren");
    sup.ok(&[
        "install",
        "tree",
        "--",
        "sh",
        "-c",
        "sleep 1002.1 & sleep 1002.2 & (sleep 1002.3 &) ; sh -c 'sleep 1002.4' & wait",
    ]);
    sup.ok(&["start", "tree"]);
    assert!(eventually(Duration::from_secs(5), || sleepers("1002.")
        .len()
        == 4));
    let started = Instant::now();
    sup.ok(&["stop", "tree"]);
    // `stop` returned: nothing of the group is left, not even the orphaned (sleep 1002.3 &).
    assert_eq!(sleepers("1002."), Vec::<i32>::new());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_program_that_ignores_sigterm_is_killed_after_the_timeout() {
    let sup = Sup::new("stubborn");
    sup.ok(&[
        "install",
        "stubborn",
        "--stop-timeout",
        "500ms",
        "--",
        "sh",
        "-c",
        "trap '' TERM; sleep 1003.1",
    ]);
    sup.ok(&["start", "stubborn"]);
    assert!(eventually(Duration::from_secs(5), || sleepers("1003.1")
        .len()
        == 1));
    let started = Instant::now();
    sup.ok(&["stop", "stubborn"]);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(sleepers("1003.1").is_empty());
    let status = sup.status("stubborn");
    assert_eq!(status["last_exit"]["signal"], 9);
    // Said in context: who sent it, and why.
    assert_eq!(
        status["last_exit_words"],
        "killed by SIGKILL (sent by svckit after the 500ms stop timeout)"
    );
    let table = sup.ok(&["status"]);
    assert!(
        table.contains("killed by SIGKILL (sent by svckit after the 500ms stop timeout)"),
        "{table}"
    );
}

#[test]
fn regression_a_running_service_does_not_show_its_previous_runs_exit_as_its_last() {
    let sup = Sup::new("previous-run");
    sup.ok(&["install", "web", "--", "/bin/sleep", "1003.2"]);
    sup.ok(&["start", "web"]);
    sup.ok(&["stop", "web"]);
    let stopped = sup.ok(&["status"]);
    assert!(
        stopped.contains("killed by SIGTERM (sent by svckit to stop it)"),
        "{stopped}"
    );
    sup.ok(&["start", "web"]);
    let table = sup.ok(&["status"]);
    let row = table.lines().find(|l| l.starts_with("web ")).unwrap();
    assert!(
        row.ends_with(" -"),
        "a running service's LAST EXIT: {table}"
    );
    let described = sup.ok(&["status", "web"]);
    assert!(
        described
            .contains("last exit: killed by SIGTERM (sent by svckit to stop it), before this run"),
        "{described}"
    );
    // A signal svckit did not send is told by its usual meaning.
    let pid = sup.status("web")["pid"].as_i64().unwrap() as i32;
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("web")["state"] != "running"
    ));
    assert_eq!(
        sup.status("web")["last_exit_words"],
        "killed by SIGTERM (asked to stop)"
    );
    assert!(sleepers("1003.2").is_empty());
}

#[test]
fn crash_is_restarted_with_exponential_backoff() {
    let sup = Sup::new("backoff");
    let starts = sup.dir.join("starts");
    sup.ok(&[
        "install",
        "crashy",
        "--restart",
        "on-failure",
        "--restart-delay",
        "200ms",
        "--restart-max-delay",
        "800ms",
        "--start-limit",
        "0",
        "--",
        "sh",
        "-c",
        &format!("date +%s%N >> {}; exit 3", starts.display()),
    ]);
    // exec'd is running: start succeeds, and the crashes come after.
    sup.ok(&["start", "crashy"]);
    // Stopped while it waits to restart: a stop that came while a run was still exiting
    // (its line written, its exit 3 not yet) would kill it, and the last exit would be the
    // stop's SIGTERM (this raced once in CI).
    assert!(eventually(Duration::from_secs(10), || {
        fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
            >= 5
            && sup.status("crashy")["state"] == "backoff"
    }));
    sup.ok(&["stop", "crashy"]);
    let times: Vec<u128> = fs::read_to_string(&starts)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect();
    let gaps: Vec<u128> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) / 1_000_000)
        .collect();
    // 200, 400, 800, 800 ms: each gap is at least the backoff, and well under the next step.
    for (gap, backoff) in gaps.iter().zip([200, 400, 800, 800]) {
        assert!(*gap >= backoff && *gap < backoff + 350, "gaps {gaps:?}");
    }
    let status = sup.status("crashy");
    assert!(status["restarts"].as_u64().unwrap() >= 4);
    assert_eq!(status["last_exit"]["code"], 3);
}

#[test]
fn delay_zero_restarts_at_once() {
    let sup = Sup::new("zero");
    let starts = sup.dir.join("starts");
    sup.ok(&[
        "install",
        "flappy",
        "--restart",
        "always",
        "--restart-delay",
        "0",
        "--start-limit",
        "0",
        "--",
        "sh",
        "-c",
        &format!("echo x >> {}; sleep 0.05", starts.display()),
    ]);
    sup.ok(&["start", "flappy"]);
    assert!(eventually(Duration::from_secs(10), || {
        fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
            >= 10
    }));
    sup.ok(&["stop", "flappy"]);
    assert_eq!(sup.status("flappy")["state"], "stopped");
}

#[test]
fn crash_loop_ends_failed_and_start_clears_it() {
    let sup = Sup::new("loop");
    sup.ok(&[
        "install",
        "loop",
        "--restart",
        "always",
        "--restart-delay",
        "0",
        "--start-limit",
        "3",
        "--start-window",
        "1m",
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    sup.ok(&["start", "loop"]);
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("loop")["state"] == "failed"
    ));
    let status = sup.status("loop");
    assert_eq!(
        status["restarts"], 2,
        "three starts: the first and two restarts"
    );
    // Regression: it said "restarted 3 times" beside `restarts: 2` (the first start is no restart).
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("started 3 times within 1m, the start limit"),
        "{status}"
    );
    let human = sup.ok(&["status"]);
    assert!(human.contains("failed"), "{human}");
    // start clears the failure and tries again (and ends failed the same way).
    sup.ok(&["start", "loop"]);
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("loop")["state"] == "failed"
    ));
    assert_eq!(sup.status("loop")["restarts"], 2, "the count starts again");
    // A program that cannot be exec'd fails the start itself.
    sup.ok(&["install", "noexec", "--", "sh", "-c", "true"]);
    let definition = sup.dir.join("state/services/noexec.toml");
    let text = fs::read_to_string(&definition)
        .unwrap()
        .replace("/usr/bin/sh", "/usr/bin/sh-gone");
    fs::write(&definition, text).unwrap();
    let output = sup.run(&["start", "noexec"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("No such file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(sup.status("noexec")["state"], "failed");
}

#[test]
fn pause_and_continue_stop_and_resume_the_whole_group() {
    let sup = Sup::new("pause");
    let ticks = sup.dir.join("ticks");
    sup.ok(&[
        "install",
        "ticker",
        "--",
        "sh",
        "-c",
        &format!(
            "sleep 1004.1 & while :; do echo t >> {}; sleep 0.02; done",
            ticks.display()
        ),
    ]);
    sup.ok(&["start", "ticker"]);
    let pid = pid_of(&sup.status("ticker"));
    assert!(eventually(Duration::from_secs(5), || ticks.exists()));
    sup.ok(&["pause", "ticker"]);
    let worker = sleepers("1004.1")[0];
    assert!(eventually(Duration::from_secs(5), || proc_stat(pid)[0]
        == "T"
        && proc_stat(worker)[0] == "T"));
    let count = |p: &PathBuf| fs::read_to_string(p).unwrap_or_default().lines().count();
    let paused_at = count(&ticks);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&ticks), paused_at, "no tick while paused");
    assert_eq!(sup.status("ticker")["state"], "paused");
    sup.ok(&["continue", "ticker"]);
    assert!(eventually(Duration::from_secs(5), || count(&ticks) > paused_at + 2));
    // A paused service can still be stopped.
    sup.ok(&["pause", "ticker"]);
    sup.ok(&["stop", "ticker"]);
    assert!(sleepers("1004.1").is_empty());
    let output = sup.run(&["pause", "ticker"]);
    assert_eq!(code(&output), 3, "pause of a stopped service");
    assert!(
        stderr(&output).contains("it is stopped"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn log_rotation_under_a_fast_writer_loses_no_line() {
    let sup = Sup::new("rotate");
    let lines = 200_000;
    sup.ok(&[
        "install",
        "chatty",
        "--log-max-size",
        "64k",
        "--log-keep",
        "1000",
        "--",
        "sh",
        "-c",
        &format!("seq -f 'line %07g of a fast writer' 1 {lines}"),
    ]);
    sup.ok(&["start", "chatty"]);
    assert!(eventually(Duration::from_secs(30), || sup.status("chatty")
        ["state"]
        == "exited"));
    let logs = sup.dir.join("state/logs");
    let mut numbered: Vec<(u32, PathBuf)> = fs::read_dir(&logs)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let n = path
                .to_str()?
                .strip_prefix(&format!("{}/chatty.stdout.", logs.display()))?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    numbered.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    assert!(numbered.len() > 50, "rotated {} times", numbered.len());
    let mut all = String::new();
    for (_, path) in &numbered {
        let text = fs::read_to_string(path).unwrap();
        // At most the size, plus the rest of a line a read left unfinished at the limit.
        assert!(
            text.len() <= (64 << 10) + 40,
            "{} is {} bytes",
            path.display(),
            text.len()
        );
        assert!(text.ends_with('\n'), "{} ends mid-line", path.display());
        all.push_str(&text);
    }
    all.push_str(&sup.log("chatty.stdout"));
    let expected: Vec<String> = (1..=lines)
        .map(|n| format!("line {n:07} of a fast writer"))
        .collect();
    let got: Vec<&str> = all.lines().collect();
    assert_eq!(got.len(), expected.len());
    assert!(
        got.iter().zip(&expected).all(|(a, b)| a == b),
        "lines out of order or damaged"
    );
}

#[test]
fn supervisor_killed_with_sigkill_is_replaced_and_readopts_without_duplicates() {
    let sup = Sup::new("readopt");
    sup.ok(&[
        "install",
        "steady",
        "--restart",
        "always",
        "--",
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo \"beat $i\"; sleep 0.01; done; : 1005.1",
    ]);
    sup.ok(&["start", "steady"]);
    let pid = pid_of(&sup.status("steady"));
    let first = sup.supervisor_pid().expect("a supervisor");
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(5), || is_gone(first)));
    // Regression: with no supervisor reading, the service's next write got SIGPIPE and it
    // died. The fd holder keeps the pipe open: it writes on, into the pipe, meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!is_gone(pid));
    // Meanwhile status says so, from the record, and starts no supervisor.
    let unwatched = sup.status("steady");
    assert_eq!(unwatched["state"], "unsupervised", "{unwatched}");
    assert_eq!(pid_of(&unwatched), pid);
    assert!(sup.supervisor_pid().is_none());
    // A new supervisor adopts it.
    sup.bring_up();
    let status = sup.status("steady");
    let second = sup.supervisor_pid().expect("a new supervisor");
    assert_ne!(first, second);
    assert_eq!(status["state"], "running");
    assert_eq!(
        pid_of(&status),
        pid,
        "the same process, not a second instance"
    );
    // (Instances: the shell's own children, forked for each `sleep` and not yet exec'd, carry
    // its command line for a moment; they are not a second instance.)
    let instances: Vec<i32> = processes_with("1005.1")
        .into_iter()
        .filter(|pid| {
            let parent = crate::support::parent_of(*pid);
            !parent.is_some_and(|parent| processes_with("1005.1").contains(&parent))
        })
        .collect();
    assert_eq!(instances, [pid]);
    // Its output is captured again, through the same pipe, with nothing lost in the gap.
    let before = sup.log("steady.stdout").lines().count();
    assert!(eventually(Duration::from_secs(5), || sup
        .log("steady.stdout")
        .lines()
        .count()
        > before + 3));
    let log = sup.log("steady.stdout");
    let numbers: Vec<usize> = log
        .lines()
        .map(|l| l["beat ".len()..].parse().unwrap())
        .collect();
    assert!(
        numbers.iter().enumerate().all(|(i, n)| *n == i + 1),
        "a line went missing"
    );
    // Adopted, it is still stopped for real.
    sup.ok(&["stop", "steady"]);
    assert!(processes_with("1005.1").is_empty());
}

#[test]
fn supervisor_death_with_a_dead_service_restarts_what_should_run() {
    let sup = Sup::new("resume");
    sup.ok(&["install", "keeper", "--", "sleep", "1006.1"]);
    sup.ok(&["start", "keeper"]);
    let pid = pid_of(&sup.status("keeper"));
    let first = sup.supervisor_pid().unwrap();
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(5), || is_gone(first) && is_gone(pid)));
    // Meanwhile it is stopped, and status says why.
    let status = sup.status("keeper");
    assert_eq!(status["state"], "stopped", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("the supervisor is not running")),
        "{status}"
    );
    // Wanted up, found dead by a new supervisor: started again (a new pid; the old one is
    // never trusted).
    sup.bring_up();
    assert!(eventually(Duration::from_secs(5), || {
        let status = sup.status("keeper");
        status["state"] == "running" && pid_of(&status) != pid
    }));
    assert_eq!(sleepers("1006.1").len(), 1);
}

#[test]
fn two_concurrent_starts_make_one_instance() {
    let sup = Sup::new("race");
    sup.ok(&["install", "single", "--", "sleep", "1007.1"]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            sup.command(&["start", "single"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    assert_eq!(sleepers("1007.1").len(), 1);
    let supervisors: Vec<i32> = processes_with(&sup.state())
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("supervise"))
                && fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "svckit")
        })
        .collect();
    assert_eq!(supervisors.len(), 1, "one supervisor per state directory");
}

#[test]
fn errors_have_their_exit_codes() {
    let sup = Sup::new("errors");
    let output = sup.run(&["start", "nosuch"]);
    assert_eq!(code(&output), 3);
    assert_eq!(
        stderr(&output),
        "svckit: error: service nosuch is not installed\n"
    );
    let output = sup.run(&["status", "nosuch"]);
    assert_eq!(code(&output), 3);
    let output = sup.run(&["install", "ghost", "--", "/no/such/program"]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "svckit: error: program not found: /no/such/program: does not exist\n"
    );
    let output = sup.run(&["install", "ghost", "--", "no-such-program-svckit"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("not found in PATH"));
    assert!(
        !sup.dir.join("state/services/ghost.toml").exists(),
        "nothing half-installed"
    );
    sup.ok(&["install", "dup", "--", "true"]);
    let output = sup.run(&["install", "dup", "--", "true"]);
    assert_eq!(code(&output), 4);
    assert_eq!(
        stderr(&output),
        "svckit: error: service dup is already installed (svckit install --force replaces it)\n"
    );
    assert!(
        sup.ok(&["install", "dup", "--force", "--", "false"])
            .starts_with("reinstalled dup")
    );
    assert!(
        sup.ok(&["show", "dup"])
            .contains("program = \"/usr/bin/false\"")
    );
    let bad = sup.dir.join("bad.toml");
    fs::write(
        &bad,
        "program = \"/bin/true\"\n[restart]\ndelay = \"soon\"\n",
    )
    .unwrap();
    let output = sup.run(&["install", "--file", bad.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        format!(
            "svckit: error: {}:3:9: \"soon\" is not a duration (like 100ms, 10s, 1m)\n",
            bad.display()
        )
    );
    let output = sup.run(&["install", "x", "--stop-signal", "NOPE", "--", "true"]);
    assert_eq!(code(&output), 2);
    sup.ok(&["uninstall", "dup"]);
    assert_eq!(code(&sup.run(&["uninstall", "dup"])), 3);
    assert_eq!(sup.ok(&["list"]), "");
}

#[test]
fn install_from_a_file_takes_every_key() {
    let sup = Sup::new("file");
    let file = sup.dir.join("api.toml");
    fs::write(
        &file,
        "program = \"sleep\"\nargs = [\"1008.1\"]\nstart = \"auto\"\n[restart]\npolicy = \"always\"\n\
         [stop]\nsignal = \"INT\"\ntimeout = \"3s\"\n[logs]\nmax_size = \"1MiB\"\nkeep = 2\n",
    )
    .unwrap();
    sup.ok(&[
        "install",
        "--file",
        file.to_str().unwrap(),
        "--log-keep",
        "4",
    ]);
    let listed: Value = serde_json::from_str(&sup.ok(&["list", "--json"])).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([{
            "name": "api",
            "backend": "builtin",
            "start": "auto",
            "enabled": true,
            "state": "stopped"
        }])
    );
    let shown = sup.ok(&["show", "api"]);
    for line in [
        "program = \"/usr/bin/sleep\"",
        "start = \"auto\"",
        "policy = \"always\"",
        "signal = \"INT\"",
        "max_size = \"1MiB\"",
        "keep = 4",
    ] {
        assert!(shown.contains(line), "{line} in\n{shown}");
    }
    // start = auto: the supervisor starts it as soon as it runs (a status does not start it).
    sup.ok(&["status"]);
    assert!(
        sup.supervisor_pid().is_none(),
        "status started the supervisor"
    );
    sup.bring_up();
    assert!(eventually(Duration::from_secs(5), || sleepers("1008.1")
        .len()
        == 1));
}

#[test]
fn another_users_request_is_refused() {
    if !crate::support::require_root("another_users_request_is_refused") {
        return;
    }
    let sup = Sup::new("owner");
    sup.ok(&["install", "private", "--", "sleep", "1009.1"]);
    sup.bring_up();
    let output = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_svckit"))
        .args(["start", "private", "--state-dir", &sup.state()])
        .output()
        .unwrap();
    assert_eq!(code(&output), 5, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("permission denied"),
        "{}",
        stderr(&output)
    );
    assert!(sleepers("1009.1").is_empty());
    // The socket itself is owner-only.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(sup.dir.join("state/supervisor.sock"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn notify_services_are_running_only_once_ready() {
    let sup = Sup::new("notify");
    sup.ok(&[
        "install",
        "slow",
        "--notify",
        "--",
        "sh",
        "-c",
        "sleep 0.4; echo ready >&\"$SVCKIT_READY_FD\"; exec sleep 1010.1",
    ]);
    let started = Instant::now();
    sup.ok(&["start", "slow"]);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(sup.status("slow")["state"], "running");
    sup.ok(&[
        "install",
        "never",
        "--notify",
        "--ready-timeout",
        "300ms",
        "--",
        "sleep",
        "1010.2",
    ]);
    let output = sup.run(&["start", "never"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("not ready within 300ms"),
        "{}",
        stderr(&output)
    );
    // Stopped as a stop stops it: the stop signal first, not SIGKILL at once.
    assert_eq!(sup.status("never")["last_exit"]["signal"], 15);
    assert!(sleepers("1010.2").is_empty());
}

#[test]
fn regression_the_ready_timeout_gives_the_stop_signal_before_sigkill() {
    let sup = Sup::new("ready-timeout-term");
    // A program that cleans up on SIGTERM (here: says so in a file) must get the chance to.
    let marker = sup.dir.join("cleaned-up");
    let script = format!(
        "trap 'echo done > {}; exit 0' TERM; while :; do sleep 0.05; done",
        marker.display()
    );
    sup.ok(&[
        "install",
        "cleanup",
        "--notify",
        "--ready-timeout",
        "300ms",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(code(&sup.run(&["start", "cleanup"])), 1);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default(),
        "done\n"
    );
}

#[test]
fn regression_the_workers_left_by_a_crashed_main_get_the_stop_signal_first() {
    let sup = Sup::new("leftovers-term");
    let marker = sup.dir.join("worker-cleaned-up");
    // The main process starts a worker that cleans up on SIGTERM, then crashes.
    let script = format!(
        "sh -c \"trap 'echo done > {}; exit 0' TERM; while :; do sleep 0.05; done\" & \
         sleep 0.3; exit 3",
        marker.display()
    );
    sup.ok(&[
        "install",
        "crasher",
        "--restart",
        "never",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    sup.ok(&["start", "crasher"]);
    assert!(eventually(Duration::from_secs(10), || {
        sup.status("crasher")["state"] == "exited"
    }));
    assert_eq!(sup.status("crasher")["last_exit"]["code"], 3);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default(),
        "done\n"
    );
}

#[test]
fn as_pid_1_it_reaps_zombies_and_exits_with_the_main_service() {
    if !crate::support::require_root("as_pid_1_it_reaps_zombies_and_exits_with_the_main_service") {
        return;
    }
    let sup = Sup::new("pid1");
    let report = sup.dir.join("report");
    // The service makes 20 orphans that die at once (reparented to PID 1, the supervisor),
    // waits, counts the zombies in its PID namespace, and exits 7.
    let script = format!(
        "for i in $(seq 20); do (true &); done; sleep 0.5; \
         grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l > {}; exit 7",
        report.display()
    );
    sup.ok(&[
        "install", "main", "--start", "auto", "--", "sh", "-c", &script,
    ]);
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_svckit"))
        .args(["supervise", "--state-dir", &sup.state()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(&report).unwrap().trim(),
        "0",
        "zombies left unreaped"
    );
}

#[test]
fn logs_follow_across_rotations_loses_nothing() {
    let sup = Sup::new("follow");
    let go = sup.dir.join("go");
    // A first line, then the rest once told to: the follower (`-n 1`, so it shows that line
    // whether it started before or after it was written) is known to follow by then. It
    // once started after a fixed sleep and missed the first lines.
    let script = format!(
        "echo 'count 0'; while [ ! -e {go} ]; do sleep 0.01; done; \
         i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo \"count $i\"; \
         [ $((i % 50)) = 0 ] && sleep 0.02; done; sleep 1011.1",
        go = go.display()
    );
    sup.ok(&[
        "install",
        "counter",
        "--log-max-size",
        "4k",
        "--log-keep",
        "2",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    sup.ok(&["start", "counter"]);
    let follower = crate::support::Following::new(
        &mut sup.command(&["logs", "counter", "--plain", "-f", "-n", "1"]),
    );
    assert!(
        follower.until("count 0\n", Duration::from_secs(20)),
        "{}",
        follower.seen()
    );
    fs::write(&go, "").unwrap();
    assert!(
        follower.until("count 3000\n", Duration::from_secs(20)),
        "{}",
        follower.seen()
    );
    let seen = follower.seen();
    let expected: String = (0..=3000).map(|i| format!("count {i}\n")).collect();
    assert_eq!(
        seen, expected,
        "every line once, in order, across the rotations"
    );
    // -n reads back through the rotated files too.
    assert_eq!(
        sup.ok(&["logs", "counter", "--plain", "-n", "2"]),
        "count 2999\ncount 3000\n"
    );
}

#[test]
fn restart_makes_a_new_process_and_reload_sends_sighup() {
    let sup = Sup::new("reload");
    sup.ok(&[
        "install",
        "hup",
        "--reload-signal",
        "HUP",
        "--",
        "sh",
        "-c",
        "trap 'echo reloaded' HUP; echo up; while :; do sleep 0.02; done",
    ]);
    sup.ok(&["start", "hup"]);
    let first = pid_of(&sup.status("hup"));
    assert!(eventually(Duration::from_secs(5), || sup.log("hup.stdout") == "up\n"));
    sup.ok(&["reload", "hup"]);
    assert!(eventually(Duration::from_secs(5), || sup.log("hup.stdout")
        == "up\nreloaded\n"));
    assert_eq!(
        pid_of(&sup.status("hup")),
        first,
        "reload keeps the process"
    );
    let out = sup.ok(&["restart", "hup"]);
    assert!(out.contains("restarted (running"), "{out}");
    let second = pid_of(&sup.status("hup"));
    assert_ne!(first, second);
    assert!(is_gone(first));
    sup.ok(&["stop", "hup"]);
    let output = sup.run(&["reload", "hup"]);
    assert_eq!(code(&output), 3, "reload of a stopped service");
}

#[test]
fn regression_reload_is_refused_for_a_program_without_one_instead_of_killing_it() {
    // python's http.server has no SIGHUP handler: `reload` killed it ("killed by SIGHUP")
    // while it printed success, and with --restart never it stayed down.
    let test = "regression_reload_is_refused_for_a_program_without_one_instead_of_killing_it";
    if !crate::support::require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("no-reload");
    let port = crate::support::free_port().to_string();
    sup.ok(&[
        "install",
        "web",
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        &port,
    ]);
    sup.ok(&["start", "web"]);
    let pid = pid_of(&sup.status("web"));
    let out = sup.run(&["reload", "web"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("service web has no reload")
            && stderr(&out).contains("--reload-signal"),
        "{}",
        stderr(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    let status = sup.status("web");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(pid_of(&status), pid, "the program was not touched");
    // Told how, it reloads: a command, whose failure is the reload's.
    sup.ok(&[
        "install",
        "web",
        "--force",
        "--reload-command",
        "/bin/sh -c 'echo reloading >&2; exit 3'",
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        &port,
    ]);
    sup.ok(&["restart", "web"]);
    let out = sup.run(&["reload", "web"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not reload: its reload command ended with exit code 3"),
        "{}",
        stderr(&out)
    );
    assert!(
        sup.log("web.stderr").contains("reloading"),
        "its output is in the logs"
    );
    // The event log tells the reload and how its command ended.
    let told = sup.ok(&["events", "web"]);
    assert!(
        told.contains("web: reloading: `/bin/sh -c echo reloading >&2; exit 3`")
            && told.contains("web: its reload command ended with exit code 3"),
        "{told}"
    );
    assert_eq!(sup.status("web")["state"], "running");
    sup.ok(&["stop", "web"]);
}

#[test]
fn exec_start_pre_commands_run_in_order_as_the_user_before_the_program() {
    if !crate::support::require_root("exec_start_pre_commands_run_in_order_as_the_user") {
        return;
    }
    let sup = Sup::new("pre");
    let trace = sup.dir.join("trace");
    fs::write(&trace, "").unwrap();
    nix::unistd::chown(&trace, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let first = format!("/bin/sh -c 'echo \"one $(id -u)\" >> {}'", trace.display());
    let second = format!("/bin/sh -c 'echo two >> {}'", trace.display());
    let program = format!("echo program >> {}; exec sleep 1010.61", trace.display());
    sup.ok(&[
        "install",
        "pre",
        "--user",
        "nobody",
        "--exec-start-pre",
        &first,
        "--exec-start-pre",
        &second,
        "--",
        "/bin/sh",
        "-c",
        &program,
    ]);
    sup.ok(&["start", "pre"]);
    assert!(eventually(Duration::from_secs(5), || fs::read_to_string(
        &trace
    )
    .is_ok_and(|text| text == "one 65534\ntwo\nprogram\n")));
    sup.ok(&["stop", "pre"]);
    assert!(sleepers("1010.61").is_empty());

    // A check that hangs is stopped with the service (it runs in its cgroup).
    sup.ok(&[
        "install",
        "hang",
        "--exec-start-pre",
        "/bin/sleep 1010.62",
        "--",
        "/bin/sleep",
        "1010.63",
    ]);
    sup.ok(&["start", "hang", "--no-wait"]);
    assert!(eventually(Duration::from_secs(5), || !sleepers("1010.62").is_empty()));
    assert_eq!(sup.status("hang")["state"], "starting");
    sup.ok(&["stop", "hang"]);
    assert!(sleepers("1010.62").is_empty() && sleepers("1010.63").is_empty());
    assert_eq!(sup.status("hang")["state"], "stopped");
}

#[test]
fn the_protocol_version_is_checked() {
    use std::io::{BufRead, BufReader, Write};
    let sup = Sup::new("version");
    sup.ok(&["supervise", "--daemon"]);
    let mut stream =
        std::os::unix::net::UnixStream::connect(sup.dir.join("state/supervisor.sock")).unwrap();
    stream
        .write_all(b"{\"version\":99,\"op\":{\"op\":\"shutdown\"}}\n")
        .unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["version"], 1);
    assert_eq!(answer["result"]["kind"], "version");
    assert!(
        answer["result"]["message"]
            .as_str()
            .unwrap()
            .contains("version 99 is not supported")
    );
    assert!(
        sup.supervisor_pid().is_some(),
        "an unknown version changes nothing"
    );
}

#[test]
fn with_a_main_service_signals_are_forwarded_and_its_status_is_the_exit_code() {
    let sup = Sup::new("main");
    sup.ok(&[
        "install",
        "entry",
        "--start",
        "auto",
        "--",
        "sh",
        "-c",
        "trap 'echo got usr1; exit 5' USR1; echo ready; while :; do sleep 0.02; done",
    ]);
    let mut supervisor = sup
        .command(&["supervise", "--main", "entry"])
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || sup
        .log("entry.stdout")
        == "ready\n"));
    kill(Pid::from_raw(supervisor.id() as i32), Signal::SIGUSR1).unwrap();
    let status = supervisor.wait().unwrap();
    assert_eq!(status.code(), Some(5));
    assert_eq!(sup.log("entry.stdout"), "ready\ngot usr1\n");
}

/// A service that writes NAME to `trace` when it starts and `stop-NAME` when SIGTERM stops it.
fn traced(name: &str, trace: &std::path::Path, ready_after: Option<&str>) -> String {
    let t = trace.display();
    let ready = match ready_after {
        Some(delay) => format!("sleep {delay}; echo {name} >> {t}; systemd-notify --ready; "),
        None => format!("echo {name} >> {t}; "),
    };
    format!("trap 'echo stop-{name} >> {t}; exit 0' TERM; {ready}while :; do sleep 0.02; done")
}

#[test]
fn a_chain_of_dependencies_starts_in_order_and_stops_in_reverse() {
    let test = "a_chain_of_dependencies_starts_in_order_and_stops_in_reverse";
    if !crate::support::require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let sup = Sup::new("chain");
    let trace = sup.dir.join("trace");
    // db says it is ready only after 300 ms: api must wait for that, web for api.
    let db = traced("db", &trace, Some("0.3"));
    // api says it is ready once it wrote its line: web waits for that (for a program that
    // does not say, running is exec'd, and its first line could come after web's).
    let api = traced("api", &trace, Some("0"));
    let web = traced("web", &trace, None);
    sup.install_notify("db", &db);
    let depends = |name: &str, on: &str, script: &str, kind: &str| {
        let access = match kind {
            "notify" => "notify_access = \"all\"\n",
            _ => "",
        };
        let definition = sup.dir.join(&format!("{name}.toml"));
        fs::write(
            &definition,
            format!(
                "program = \"/bin/sh\"\nargs = [\"-c\", {script:?}]\ndependencies = [\"{on}\"]\n\
                 type = \"{kind}\"\n{access}"
            ),
        )
        .unwrap();
        sup.ok(&["install", "--file", &definition.display().to_string()]);
    };
    depends("api", "db", &api, "notify");
    depends("web", "api", &web, "exec");
    sup.ok(&["start", "web"]);
    // web is an exec service: `start` returns once it is exec'd, before its line (and its
    // trap) is written. Regression: reading the trace at once failed ("db\napi\n").
    let started = || {
        eventually(Duration::from_secs(5), || {
            fs::read_to_string(&trace).is_ok_and(|text| text.lines().count() == 3)
        })
    };
    assert!(started(), "{}", fs::read_to_string(&trace).unwrap());
    assert_eq!(fs::read_to_string(&trace).unwrap(), "db\napi\nweb\n");
    for name in ["db", "api", "web"] {
        assert_eq!(sup.status(name)["state"], "running", "{name}");
    }
    // The supervisor's end stops them in reverse: web, then api, then db.
    let supervisor = sup.supervisor_pid().expect("a supervisor runs");
    kill(Pid::from_raw(supervisor), Signal::SIGTERM).unwrap();
    assert!(eventually(Duration::from_secs(20), || is_gone(supervisor)));
    assert_eq!(
        fs::read_to_string(&trace).unwrap(),
        "db\napi\nweb\nstop-web\nstop-api\nstop-db\n"
    );
    // stop --all goes the same way round.
    fs::write(&trace, "").unwrap();
    sup.ok(&["start", "web"]);
    assert!(started(), "{}", fs::read_to_string(&trace).unwrap());
    let said = sup.ok(&["stop", "--all"]);
    assert_eq!(
        fs::read_to_string(&trace).unwrap(),
        "db\napi\nweb\nstop-web\nstop-api\nstop-db\n",
        "{said}"
    );
    // A dependency that is no service here is shown as ignored.
    let net = sup.dir.join("net.toml");
    fs::write(
        &net,
        "program = \"/bin/true\"\ndependencies = [\"network.target\"]\n",
    )
    .unwrap();
    sup.ok(&["install", "--file", &net.display().to_string()]);
    assert!(
        sup.ok(&["show", "net"])
            .contains("# note: network.target is not installed here"),
        "{}",
        sup.ok(&["show", "net"])
    );

    // A cycle is refused at install, named.
    let cycle = sup.dir.join("db.toml");
    fs::write(
        &cycle,
        "program = \"/bin/true\"\ndependencies = [\"web\"]\n",
    )
    .unwrap();
    let out = sup.run(&["install", "--force", "--file", &cycle.display().to_string()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("form a cycle: db → web → api → db"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_event_log_tells_a_crash_loop_line_by_line() {
    let sup = Sup::new("events");
    sup.ok(&[
        "install",
        "crasher",
        "--restart",
        "on-failure",
        "--restart-delay",
        "50ms",
        "--start-limit",
        "3",
        "--start-window",
        "1m",
        "--",
        "/bin/sh",
        "-c",
        "echo boom >&2; exit 3",
    ]);
    sup.ok(&["install", "quiet", "--", "/bin/sleep", "1010.71"]);
    sup.ok(&["start", "quiet"]);
    let _ = sup.run(&["start", "crasher"]);
    assert!(eventually(Duration::from_secs(10), || sup
        .status("crasher")["state"]
        == "failed"));
    let told = sup.ok(&["events", "crasher"]);
    let lines: Vec<&str> = told.lines().collect();
    // Each line: a readable local time, the service, what happened.
    for line in &lines {
        let (time, rest) = line.split_at(23);
        assert!(
            time.as_bytes()[4] == b'-'
                && time.as_bytes()[10] == b' '
                && time.as_bytes()[19] == b'.',
            "{line}"
        );
        assert!(rest.starts_with(" crasher: "), "{line}");
    }
    // Each chapter: what one line says (in parts, around the run time).
    let story: [&[&str]; 7] = [
        &["starting"],
        &["started /bin/sh: PID "],
        &[
            "exited with exit code 3 after ",
            "ms; restarting in 50ms (restart 1)",
        ],
        &["restarting (restart 1)"],
        &[
            "exited with exit code 3 after ",
            "ms; restarting in 100ms (restart 2)",
        ],
        &[
            "exited with exit code 3 after ",
            "ms; gave up: started 3 times within 1m, the start limit",
        ],
        &["failed: nothing of it is left"],
    ];
    crate::support::tells_in_order(&told, &story);
    // Only its own: the other service's events are not in it, and are in the whole log.
    assert!(!told.contains("quiet"));
    assert!(
        sup.ok(&["events"])
            .contains(" quiet: started /bin/sleep: PID ")
    );
    // status shows the last few.
    // Failed: not running, so status exits 3, as systemctl's.
    let described = sup.run(&["status", "crasher"]);
    assert_eq!(code(&described), 3, "{}", stderr(&described));
    let described = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(described.contains("events (last 5):"), "{described}");
    assert!(described.contains("gave up"), "{described}");
    // The supervisor's own log reads the same time.
    let log = fs::read_to_string(sup.dir.join("state/supervisor.log")).unwrap();
    assert!(
        log.lines()
            .all(|line| line.as_bytes().get(19) == Some(&b'.')),
        "{log}"
    );
}

#[test]
fn restart_and_reload_take_many_services_or_all() {
    let sup = Sup::new("many");
    for (name, marker) in [("api", "1010.81"), ("web", "1010.82")] {
        sup.ok(&[
            "install",
            name,
            "--reload-signal",
            "CONT",
            "--",
            "/bin/sleep",
            marker,
        ]);
    }
    sup.ok(&["install", "plain", "--", "/bin/sleep", "1010.83"]);
    let said = sup.ok(&["start", "--all"]);
    assert_eq!(said.lines().count(), 3, "{said}");
    let before = [pid_of(&sup.status("api")), pid_of(&sup.status("web"))];
    let said = sup.ok(&["restart", "web", "api"]);
    let lines: Vec<&str> = said.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("web: ") && lines[1].starts_with("api: "),
        "in the order given: {said}"
    );
    let after = [pid_of(&sup.status("api")), pid_of(&sup.status("web"))];
    assert!(before.iter().zip(&after).all(|(old, new)| old != new));
    // One that cannot reload does not keep the others from it; the exit is its failure's.
    let out = sup.run(&["reload", "--all"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("service plain has no reload"),
        "{}",
        stderr(&out)
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("api: ") && said.contains("web: "), "{said}");
    sup.ok(&["stop", "--all"]);
    for marker in ["1010.81", "1010.82", "1010.83"] {
        assert!(sleepers(marker).is_empty(), "{marker}");
    }
    // Names or --all, not both; and not nothing.
    assert_eq!(code(&sup.run(&["stop", "web", "--all"])), 2);
    assert_eq!(code(&sup.run(&["stop"])), 2);
}

#[test]
fn environment_files_runtime_directories_limits_nice_and_oom_reach_the_program() {
    let test = "environment_files_runtime_directories_limits_nice_and_oom_reach_the_program";
    if !crate::support::require_root(test) {
        return;
    }
    let sup = Sup::new("around");
    let env = sup.dir.join("web.env");
    fs::write(
        &env,
        "# the operator's notes\nGREETING=hello world\nQUOTED=\"say \\\"hi\\\"\"\n; more\n",
    )
    .unwrap();
    let runtime = format!("svckit-it-rt-{}", std::process::id());
    let run_dir = std::path::Path::new("/run").join(&runtime);
    let script = "printf '%s|%s|%s\\n' \"$GREETING\" \"$QUOTED\" \"${MISSING-unset}\" \
                  > \"$RUNTIME_DIRECTORY/seen\"; exec sleep 1010.91";
    sup.ok(&[
        "install",
        "web",
        "--user",
        "nobody",
        "--environment-file",
        &env.display().to_string(),
        "--environment-file",
        "-/nonexistent/optional.env",
        "--runtime-directory",
        &runtime,
        "--limit",
        "nofile=1234:4321",
        "--limit",
        "core=0",
        "--nice",
        "7",
        "--oom-score-adjust",
        "500",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    sup.ok(&["start", "web"]);
    let seen = run_dir.join("seen");
    assert!(eventually(Duration::from_secs(5), || seen.exists()));
    assert_eq!(
        fs::read_to_string(&seen).unwrap(),
        "hello world|say \"hi\"|unset\n"
    );
    let meta = fs::metadata(&run_dir).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(
        (meta.uid(), meta.permissions().mode() & 0o7777),
        (65534, 0o755)
    );
    let pid = pid_of(&sup.status("web"));
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = |name: &str| {
        limits
            .lines()
            .find(|line| line.starts_with(name))
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(line("Max open files")[3..5], ["1234", "4321"], "{limits}");
    assert_eq!(line("Max core file size")[4..6], ["0", "0"], "{limits}");
    assert_eq!(proc_stat(pid)[16], "7", "nice");
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap(),
        "500\n"
    );
    sup.ok(&["stop", "web"]);
    assert!(
        !run_dir.exists(),
        "the runtime directory outlived the service"
    );

    // A missing file that is not optional fails the start, named.
    sup.ok(&[
        "install",
        "broken",
        "--environment-file",
        "/nonexistent/required.env",
        "--",
        "/bin/sleep",
        "1010.92",
    ]);
    sup.start_fails("broken", "environment_file /nonexistent/required.env");
    assert!(sleepers("1010.92").is_empty());
}

#[test]
fn regression_services_do_not_get_the_path_of_the_shell_that_first_started_the_supervisor() {
    let sup = Sup::new("first-shell");
    let output = sup
        .command(&["supervise", "--daemon"])
        .env("PATH", "/first-shell/bin:/usr/bin:/bin")
        .env("HOME", "/first-shell/home")
        .env("LANG", "xx_YY.first-shell")
        .env("TZ", "First/Shell")
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let seen = sup.dir.join("seen");
    let script = format!(
        "printf '%s|%s|%s|%s\\n' \"$PATH\" \"$HOME\" \"${{LANG-unset}}\" \"${{TZ-unset}}\" > {}; \
         exec sleep 1010.94",
        seen.display()
    );
    sup.ok(&["install", "web", "--", "/bin/sh", "-c", &script]);
    sup.ok(&["start", "web"]);
    assert!(eventually(Duration::from_secs(5), || {
        fs::read_to_string(&seen).is_ok_and(|s| s.ends_with('\n'))
    }));
    let seen = fs::read_to_string(&seen).unwrap();
    let fields: Vec<&str> = seen.trim_end().split('|').collect();
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap();
    assert_eq!(
        fields[..2],
        [
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            &*me.dir.to_string_lossy()
        ],
        "{seen}"
    );
    assert_ne!(fields[2], "xx_YY.first-shell", "{seen}");
    assert_eq!(fields[3], "unset", "{seen}");
    sup.ok(&["stop", "web"]);
    assert!(sleepers("1010.94").is_empty());
}

#[test]
fn regression_a_runtime_directory_planted_as_a_symlink_is_refused() {
    let test = "regression_a_runtime_directory_planted_as_a_symlink_is_refused";
    if !crate::support::require_root(test) {
        return;
    }
    let sup = Sup::new("rt-symlink");
    let runtime = format!("svckit-it-rt-link-{}", std::process::id());
    let planted = std::path::Path::new("/run").join(&runtime);
    let target = sup.dir.join("victim");
    fs::create_dir_all(&target).unwrap();
    let _ = fs::remove_file(&planted);
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    sup.ok(&[
        "install",
        "web",
        "--user",
        "nobody",
        "--runtime-directory",
        &runtime,
        "--",
        "/bin/sleep",
        "1010.93",
    ]);
    sup.start_fails("web", "is not a directory");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(&target).unwrap().uid(),
        0,
        "the symlink's target was given to the service's user"
    );
    assert!(sleepers("1010.93").is_empty());
    // A refused path is left as it was (the stop once deleted the planted symlink).
    sup.ok(&["stop", "web"]);
    assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
    let _ = fs::remove_file(&planted);
}

#[test]
fn exit_statuses_decide_success_and_what_is_never_restarted() {
    let sup = Sup::new("exit-status");
    // sshd exits 255 on a broken configuration: restarting it would only loop.
    sup.ok(&[
        "install",
        "broken",
        "--restart",
        "always",
        "--restart-prevent-exit-status",
        "255",
        "--",
        "/bin/sh",
        "-c",
        "exit 255",
    ]);
    let _ = sup.run(&["start", "broken"]);
    assert!(eventually(Duration::from_secs(5), || sup.status("broken")
        ["state"]
        == "exited"));
    assert_eq!(sup.status("broken")["restarts"], 0);
    // A Java service ends with 143 on SIGTERM: a success, not a failure to restart.
    sup.ok(&[
        "install",
        "java",
        "--restart",
        "on-failure",
        "--success-exit-status",
        "143",
        "--",
        "/bin/sh",
        "-c",
        "exit 143",
    ]);
    let _ = sup.run(&["start", "java"]);
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("java")["state"] == "exited"
    ));
    assert_eq!(sup.status("java")["restarts"], 0);
    assert!(
        sup.ok(&["events", "java"])
            .contains("exited with exit code 143 after")
    );
    assert!(sup.ok(&["events", "java"]).contains("; done"));
    // Bad values are named.
    let out = sup.run(&[
        "install",
        "x",
        "--success-exit-status",
        "NOPE",
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("NOPE"), "{}", stderr(&out));
}

#[test]
fn exec_start_post_finishes_the_start_and_exec_stop_runs_before_the_stop_signal() {
    let sup = Sup::new("post-stop");
    let trace = sup.dir.join("trace");
    let t = trace.display();
    let program = format!(
        "trap 'echo got-term >> {t}; exit 0' TERM; echo program >> {t}; \
         while :; do sleep 0.02; done"
    );
    // After the program's line, however late the program runs (a fixed sleep here was a
    // race under load).
    let post =
        format!("/bin/sh -c 'until grep -q program {t}; do sleep 0.01; done; echo post >> {t}'");
    let stop = format!("/bin/sh -c 'echo \"stop-command $MAINPID\" >> {t}'");
    sup.ok(&[
        "install",
        "web",
        "--exec-start-post",
        &post,
        "--exec-stop",
        &stop,
        "--",
        "/bin/sh",
        "-c",
        &program,
    ]);
    sup.ok(&["start", "web"]);
    // Started means the post-start command is done too.
    assert_eq!(fs::read_to_string(&trace).unwrap(), "program\npost\n");
    let main = pid_of(&sup.status("web"));
    sup.ok(&["stop", "web"]);
    assert_eq!(
        fs::read_to_string(&trace).unwrap(),
        format!("program\npost\nstop-command {main}\ngot-term\n"),
        "the stop command (with $MAINPID) before the stop signal"
    );

    // A post-start command that fails fails the start, and the program is stopped.
    sup.ok(&[
        "install",
        "bad-post",
        "--exec-start-post",
        "/bin/false",
        "--",
        "/bin/sleep",
        "1010.95",
    ]);
    sup.start_fails(
        "bad-post",
        "exec_start_post `/bin/false` ended with exit code 1",
    );
    assert!(eventually(Duration::from_secs(5), || sleepers("1010.95").is_empty()));
}

#[test]
fn requires_fails_and_stops_with_its_dependency_wants_and_after_do_not() {
    let sup = Sup::new("requires");
    let install = |name: &str, extra: &str, script: &str| {
        let definition = sup.dir.join(&format!("{name}.toml"));
        fs::write(
            &definition,
            format!("program = \"/bin/sh\"\nargs = [\"-c\", {script:?}]\n{extra}"),
        )
        .unwrap();
        sup.ok(&["install", "--file", &definition.display().to_string()]);
    };
    install("db", "", "exec sleep 1011.01");
    install("api", "requires = [\"db\"]\n", "exec sleep 1011.02");
    install("cache", "", "exec sleep 1011.03");
    install(
        "web",
        "after = [\"cache\"]\nwants = [\"api\"]\n",
        "exec sleep 1011.04",
    );
    // requires starts db first; stopping db stops api, which requires it.
    sup.ok(&["start", "api"]);
    assert_eq!(sup.status("db")["state"], "running");
    sup.ok(&["stop", "db"]);
    assert!(
        eventually(Duration::from_secs(5), || sup.status("api")["state"]
            == "stopped"),
        "{}",
        sup.status("api")
    );
    assert!(sleepers("1011.02").is_empty());
    // after alone starts nothing; wants starts api (and so db) without waiting for it.
    sup.ok(&["start", "web"]);
    assert_eq!(
        sup.status("cache")["state"],
        "stopped",
        "after starts nothing"
    );
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("api")["state"] == "running"
    ));
    assert_eq!(sup.status("db")["state"], "running");
    sup.ok(&["stop", "--all"]);
    // A required service that cannot start fails the start, named (a notify program that
    // ends before it is ready never started).
    let definition = sup.dir.join("db.toml");
    fs::write(
        &definition,
        "program = \"/bin/sh\"\nargs = [\"-c\", \"exit 1\"]\ntype = \"notify\"\n",
    )
    .unwrap();
    sup.ok(&[
        "install",
        "--force",
        "--file",
        &definition.display().to_string(),
    ]);
    sup.start_fails("api", "it requires db, which did not start");
    assert!(sleepers("1011.02").is_empty());
}

/// Read-only commands never start the supervisor (it would start the auto services): they
/// answer from the definitions and say it is not running. `svckit supervisor stop` stops it,
/// its services first; `supervisor status` exits 3 when it does not run.
#[test]
fn read_only_commands_never_start_the_supervisor_and_supervisor_stop_stops_it() {
    let sup = Sup::new("readonly");
    sup.ok(&["install", "web", "--start", "auto", "--", "sleep", "1011.1"]);
    sup.ok(&[
        "install",
        "a-service-with-a-name-longer-than-the-old-column",
        "--",
        "sleep",
        "1011.2",
    ]);
    for (args, exit) in [
        (&["status"][..], 0),
        (&["status", "web"], 3),
        (&["status", "web", "--json"], 3),
        (&["list"], 0),
        (&["show", "web"], 0),
        (&["logs", "web"], 0),
        (&["events"], 0),
    ] {
        let output = sup.run(args);
        assert_eq!(code(&output), exit, "{args:?}: {}", stderr(&output));
        assert!(sup.supervisor_pid().is_none(), "{args:?} started it");
    }
    assert!(sleepers("1011.1").is_empty(), "an auto service was started");
    let status = sup.status("web");
    assert_eq!(status["state"], "stopped");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("the supervisor is not running")),
        "{status}"
    );
    assert_eq!(code(&sup.run(&["supervisor", "status"])), 3);
    // The table's columns fit the longest name: every row's STATE starts where its heading does.
    let table = sup.ok(&["status"]);
    let at = table.lines().next().unwrap().find("STATE").unwrap();
    for line in table.lines().skip(1) {
        assert_eq!(line.get(at..at + 7), Some("stopped"), "\n{table}");
    }

    sup.ok(&[
        "start",
        "web",
        "a-service-with-a-name-longer-than-the-old-column",
    ]);
    let supervisor = sup.supervisor_pid().expect("started by start");
    let said = sup.ok(&["supervisor", "status"]);
    assert!(said.contains(&format!("(pid {supervisor})")), "{said}");
    let said = sup.ok(&["supervisor", "stop"]);
    assert!(
        said.contains("stopped, with its services (")
            && said.contains("web")
            && said.contains("a-service-with-a-name-longer-than-the-old-column"),
        "{said}"
    );
    assert!(is_gone(supervisor));
    assert!(sleepers("1011.1").is_empty() && sleepers("1011.2").is_empty());
    assert!(!sup.dir.join("state/supervisor.sock").exists() || sup.supervisor_pid().is_none());
    // Not running: said, and no error.
    let said = sup.ok(&["supervisor", "stop"]);
    assert!(said.contains("is not running"), "{said}");
    assert_eq!(code(&sup.run(&["supervisor", "status"])), 3);
}

/// `svckit logs`: stdout and stderr merged in time order, each line with the time it was
/// read, the supervisor's events marking each run; several services (or --all) with their
/// names; --json; --since; a reinstalled name starts with empty logs.
#[test]
fn logs_merge_streams_and_services_in_time_order_with_the_runs_marked() {
    let sup = Sup::new("timeline");
    sup.ok(&[
        "install",
        "web",
        "--restart",
        "on-failure",
        "--restart-delay",
        "300ms",
        "--start-limit",
        "2",
        "--",
        "sh",
        "-c",
        "echo out one; sleep 0.1; echo err one >&2; sleep 0.1; echo out two; exit 3",
    ]);
    sup.ok(&[
        "install",
        "api",
        "--",
        "sh",
        "-c",
        "echo api up; sleep 1012.1",
    ]);
    sup.ok(&["start", "web", "api"]);
    assert!(eventually(
        Duration::from_secs(10),
        || sup.status("web")["state"] == "failed"
    ));
    let text = sup.ok(&["logs", "web", "-n", "100"]);
    let lines: Vec<&str> = text.lines().collect();
    // Every line starts with its time, and the times never go back.
    let times: Vec<&str> = lines.iter().map(|line| &line[..23]).collect();
    for time in &times {
        assert!(
            chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S%.3f").is_ok(),
            "{time}"
        );
    }
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{text}");
    let bodies: Vec<&str> = lines.iter().map(|line| &line[24..]).collect();
    // Each run, in order: its start, its lines from both streams, its end.
    let run = ["[out] out one", "[err] err one", "[out] out two"];
    let mut at = 0;
    // (--start-limit 2: two runs, then failed.)
    for _ in 0..2 {
        let started = bodies[at..]
            .iter()
            .position(|body| body.starts_with("-- started /usr/bin/sh: PID"))
            .expect(&text)
            + at;
        let found: Vec<usize> = run
            .iter()
            .map(|want| {
                started
                    + bodies[started..]
                        .iter()
                        .position(|b| b == want)
                        .expect(&text)
            })
            .collect();
        assert!(found.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
        let exited = bodies[found[2]..]
            .iter()
            .position(|body| body.starts_with("-- exited with exit code 3"))
            .expect(&text)
            + found[2];
        at = exited + 1;
    }
    // Two services: each line names its service.
    let both = sup.ok(&["logs", "web", "api", "-n", "100"]);
    assert!(
        both.lines().any(|line| line.ends_with(" api [out] api up")),
        "{both}"
    );
    assert!(
        both.lines()
            .any(|line| line.ends_with(" web [err] err one")),
        "{both}"
    );
    let all = sup.ok(&["logs", "--all", "-n", "100"]);
    assert_eq!(all, both, "--all is every installed service");
    // One stream: no stream tag.
    let errors = sup.ok(&["logs", "web", "--stream", "stderr", "-n", "100"]);
    assert!(
        errors.lines().any(|line| line.ends_with(" err one")),
        "{errors}"
    );
    assert!(!errors.contains("out one"), "{errors}");
    // JSON: one object per line.
    let json = sup.ok(&["logs", "api", "--json", "-n", "20"]);
    let objects: Vec<Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    let up = objects
        .iter()
        .find(|object| object["line"] == "api up")
        .expect(&json);
    assert_eq!(up["service"], "api");
    assert_eq!(up["stream"], "stdout");
    assert!(up["ms"].as_u64().is_some());
    assert!(
        objects
            .iter()
            .any(|object| object["stream"] == "svckit" && object["line"] == "running"),
        "{json}"
    );
    // --since: nothing was written in the future.
    let later = chrono::Local::now() + chrono::Duration::minutes(5);
    let since = later.format("%Y-%m-%d %H:%M").to_string();
    assert_eq!(sup.ok(&["logs", "web", "--since", &since]), "");
    assert!(
        sup.ok(&["logs", "web", "--since", "10m"])
            .contains("out two")
    );
    let out = sup.run(&["logs", "web", "--since", "yesterday-ish"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // Uninstalled and installed anew: the new web starts with empty logs and no old events.
    sup.ok(&["uninstall", "web"]);
    sup.ok(&["install", "web", "--", "sleep", "1012.2"]);
    assert_eq!(sup.ok(&["logs", "web"]), "");
    let archived = fs::read_dir(sup.dir.join("state/logs/uninstalled"))
        .unwrap()
        .count();
    assert_eq!(archived, 1, "the old logs were kept aside");
    sup.ok(&["stop", "api"]);
}

/// `svckit events -f`: the last events, then what happens next, to a service installed after
/// it began too; `-f NAME` only that service's.
#[test]
fn events_follow_prints_the_last_events_then_what_comes() {
    let sup = Sup::new("eventsf");
    sup.ok(&["install", "old", "--", "sleep", "1015.1"]);
    sup.ok(&["start", "old"]);
    let all = crate::support::Following::new(&mut sup.command(&["events", "-f", "-n", "1"]));
    let only = crate::support::Following::new(&mut sup.command(&["events", "new", "-f"]));
    // Once the last event is out, what comes is followed.
    assert!(
        all.until(" old: ", Duration::from_secs(20)),
        "{}",
        all.seen()
    );
    sup.ok(&["install", "new", "--", "sleep", "1015.2"]);
    sup.ok(&["start", "new"]);
    sup.ok(&["stop", "old"]);
    assert!(
        all.until(" old: stopped", Duration::from_secs(20)),
        "{}",
        all.seen()
    );
    assert!(all.seen().contains(" new: running"), "{}", all.seen());
    assert_eq!(
        all.seen()
            .lines()
            .filter(|l| l.contains(" old: running"))
            .count(),
        1,
        "{}",
        all.seen()
    );
    assert!(
        only.until(" new: running", Duration::from_secs(20)),
        "{}",
        only.seen()
    );
    assert!(!only.seen().contains(" old: "), "{}", only.seen());
    sup.ok(&["stop", "new"]);
}

/// `svckit logs -f` of two services follows both, merged, across a rotation.
#[test]
fn logs_follow_merges_services_across_rotations() {
    let sup = Sup::new("followmany");
    for (name, word) in [("left", "L"), ("right", "R")] {
        let script = format!(
            "sleep 0.5; i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo \"{word} $i\"; \
             [ $((i % 50)) = 0 ] && sleep 0.02; done; sleep 1013.1"
        );
        sup.ok(&[
            "install",
            name,
            "--log-max-size",
            "2k",
            "--log-keep",
            "2",
            "--",
            "sh",
            "-c",
            &script,
        ]);
    }
    sup.ok(&["start", "left", "right"]);
    let follower = sup
        .command(&[
            "logs", "left", "right", "-f", "-n", "0", "--stream", "stdout",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = follow_until(follower, |seen| {
        // Names padded to the longest: "left " lines up with "right".
        seen.contains(" left  L 400\n") && seen.contains(" right R 400\n")
    });
    for (name, word) in [("left", "L"), ("right", "R")] {
        let numbers: Vec<u32> = seen
            .lines()
            .filter_map(|line| line[24..].strip_prefix(&format!("{name:<5} {word} ")))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(
            numbers,
            (1..=400).collect::<Vec<_>>(),
            "{name}: every line once, in order"
        );
    }
    sup.ok(&["stop", "left", "right"]);
}

/// Changing a running service: install --force, edit and enable/disable apply the new
/// definition, restart it only when a key that shapes its process changed, and say what
/// changed; a bad edit changes nothing.
#[test]
fn changes_restart_a_running_service_only_when_its_process_changes() {
    let sup = Sup::new("changes");
    sup.ok(&["install", "web", "--", "sleep", "1014.1"]);
    sup.ok(&["start", "web"]);
    let pid = pid_of(&sup.status("web"));
    // The same definition again: nothing to do.
    let said = sup.ok(&["install", "web", "--force", "--", "sleep", "1014.1"]);
    assert!(said.trim_end().ends_with(": unchanged"), "{said}");
    // A description and a restart policy: applied, not restarted.
    let said = sup.ok(&[
        "install",
        "web",
        "--force",
        "--description",
        "the web",
        "--restart",
        "always",
        "--",
        "sleep",
        "1014.1",
    ]);
    assert!(
        said.contains("changed description, restart.policy") && !said.contains("restarted"),
        "{said}"
    );
    assert_eq!(pid_of(&sup.status("web")), pid);
    // The new restart policy is the running service's now: killed, it comes back.
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        let status = sup.status("web");
        status["state"] == "running" && pid_of(&status) != pid
    }));
    let pid = pid_of(&sup.status("web"));
    // Its arguments: restarted, running the new ones.
    let said = sup.ok(&[
        "install",
        "web",
        "--force",
        "--description",
        "the web",
        "--restart",
        "always",
        "--",
        "sleep",
        "1014.2",
    ]);
    assert!(said.contains("changed args; restarted"), "{said}");
    let status = sup.status("web");
    assert_eq!(status["state"], "running");
    assert_ne!(pid_of(&status), pid);
    assert!(sleepers("1014.1").is_empty() && sleepers("1014.2").len() == 1);
    // edit: $EDITOR changes the file; the change is applied the same way.
    let out = sup
        .command(&["edit", "web"])
        .env("VISUAL", "sed -i s/1014.2/1014.3/")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("web: changed args; restarted"));
    assert!(eventually(Duration::from_secs(5), || sleepers("1014.3")
        .len()
        == 1));
    // A bad edit changes nothing and says why, on one line.
    let out = sup
        .command(&["edit", "web"])
        .env("VISUAL", "sed -i s/^program.*/program\\ =\\ \\'unclosed/")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let said = stderr(&out);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("nothing changed (the edit is kept in "),
        "{said}"
    );
    let kept = said
        .rsplit("kept in ")
        .next()
        .unwrap()
        .trim_end()
        .trim_end_matches(')');
    let _ = fs::remove_file(kept);
    assert_eq!(sleepers("1014.3").len(), 1);
    assert!(sup.ok(&["show", "web"]).contains("1014.3"));
    // enable / disable: start = auto / demand.
    assert!(sup.ok(&["enable", "web"]).contains("web: changed start"));
    assert!(sup.ok(&["show", "web"]).contains("start = \"auto\""));
    assert!(sup.ok(&["disable", "web"]).contains("web: changed start"));
    assert!(sup.ok(&["show", "web"]).contains("start = \"demand\""));
    assert!(sup.ok(&["disable", "web"]).contains("web: unchanged"));
    sup.ok(&["stop", "web"]);
}

/// Status says what an exit code means, when a service in backoff tries next, and what each
/// running service uses (CPU, memory), also without cgroups.
#[test]
fn status_explains_exits_and_shows_the_next_try_and_usage() {
    let sup = Sup::new("explain");
    sup.ok(&[
        "install",
        "config",
        "--restart",
        "on-failure",
        "--restart-delay",
        "30s",
        "--",
        "sh",
        "-c",
        "exit 78",
    ]);
    sup.ok(&[
        "install",
        "missing",
        "--",
        "sh",
        "-c",
        "exec /nonexistent/1015.1",
    ]);
    sup.ok(&[
        "install",
        "busy",
        "--",
        "sh",
        "-c",
        "while :; do :; done; : 1015.2",
    ]);
    sup.ok(&["start", "config", "missing", "busy"]);
    assert!(eventually(Duration::from_secs(10), || {
        sup.status("config")["state"] == "backoff" && sup.status("missing")["state"] == "exited"
    }));
    let config = sup.run(&["status", "config"]);
    let said = String::from_utf8_lossy(&config.stdout);
    assert!(
        said.contains("last exit: exit code 78 (configuration error: EX_CONFIG)"),
        "{said}"
    );
    assert!(said.contains("next try: in "), "{said}");
    let next = sup.status("config")["next_try_ms"]
        .as_u64()
        .expect("next_try_ms");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(next > now && next <= now + 30_000, "{next} vs {now}");
    let missing = sup.status("missing");
    assert_eq!(
        missing["last_exit_words"], "exit code 127 (command not found)",
        "{missing}"
    );
    // The table: CPU and memory of the running one.
    std::thread::sleep(Duration::from_millis(300));
    let table = sup.ok(&["status"]);
    let busy = table
        .lines()
        .find(|line| line.starts_with("busy "))
        .expect(&table);
    let columns: Vec<&str> = busy.split_whitespace().collect();
    // NAME BACKEND STATE PID UPTIME RESTARTS CPU MEM(2 words) …
    assert_eq!(columns[2], "running", "{table}");
    assert_ne!(columns[6], "-", "CPU of a busy loop: {table}");
    assert!(columns[8].ends_with("iB"), "memory: {table}");
    // A stop says it once: "busy: stopped", not "busy: stopped (stopped)".
    let said = sup.ok(&["stop", "busy", "config"]);
    assert!(said.lines().any(|line| line == "busy: stopped"), "{said}");
}

/// In a container (no init to set up), `svckit boot enable` prints the entrypoint to use.
#[test]
fn boot_enable_in_a_container_prints_the_entrypoint() {
    if std::path::Path::new("/run/systemd/system").is_dir() {
        return; // A systemd host: tests/it/systemd.rs covers it.
    }
    let sup = Sup::new("bootcontainer");
    let out = sup
        .command(&["boot", "enable"])
        .env("container", "docker")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let state = sup.state();
    assert!(
        said.contains("make the supervisor of")
            && said.contains(&format!(" supervise --state-dir {state}")),
        "{said}"
    );
    let out = sup
        .command(&["boot", "status"])
        .env("container", "docker")
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

/// Reads `follower`'s stdout on a thread until `done` holds of what it read (or it ends),
/// waits up to 20 s for that, then kills it; what it read.
fn follow_until(mut follower: std::process::Child, done: fn(&str) -> bool) -> String {
    let mut stdout = follower.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut chunk = [0u8; 4096];
        while !done(&seen) {
            match std::io::Read::read(&mut stdout, &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
        seen
    });
    assert!(eventually(Duration::from_secs(20), || reader.is_finished()));
    let _ = follower.kill();
    let _ = follower.wait();
    reader.join().unwrap()
}

/// `svckit apply DIR`: every file checked first (a bad one installs none, named), then new
/// services installed, unchanged ones left alone, a changed one restarted only when a key
/// that shapes its process changed (python's http.server moved to another port serves there;
/// a new restart delay leaves the same process running).
#[test]
fn apply_checks_every_file_first_then_changes_only_what_changed() {
    let sup = Sup::new("apply");
    let defs = sup.dir.join("defs");
    fs::create_dir_all(&defs).unwrap();
    let (one, two) = (crate::support::free_port(), crate::support::free_port());
    let web = |port: u16, delay: &str| {
        format!(
            "program = \"/usr/bin/python3\"\nargs = [\"-m\", \"http.server\", \"{port}\", \
             \"--bind\", \"127.0.0.1\"]\n[restart]\npolicy = \"on-failure\"\ndelay = \"{delay}\"\n"
        )
    };
    fs::write(defs.join("web.toml"), web(one, "1s")).unwrap();
    fs::write(
        defs.join("worker.toml"),
        "program = \"/bin/sleep\"\nargs = [\"1022.1\"]\n",
    )
    .unwrap();
    // A bad file among them: nothing is installed, and the file is named.
    fs::write(
        defs.join("zz-bad.toml"),
        "program = \"/nonexistent/prog\"\n",
    )
    .unwrap();
    let defs_arg = defs.to_str().unwrap();
    let out = sup.run(&["apply", defs_arg]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("zz-bad.toml: nothing applied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sup.ok(&["list"]).trim(), "", "half applied");
    fs::remove_file(defs.join("zz-bad.toml")).unwrap();
    let said = sup.ok(&["apply", defs_arg]);
    assert!(
        said.contains("web: installed") && said.contains("worker: installed"),
        "{said}"
    );
    sup.ok(&["start", "web", "worker"]);
    let serves = |port: u16| {
        eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
    };
    assert!(serves(one));
    let pid = sup.status("web")["pid"].clone();
    // Unchanged: said, and nothing restarted.
    let said = sup.ok(&["apply", defs_arg]);
    assert!(
        said.contains("web: unchanged") && said.contains("worker: unchanged"),
        "{said}"
    );
    assert_eq!(sup.status("web")["pid"], pid);
    // A policy only: the same process goes on.
    fs::write(defs.join("web.toml"), web(one, "2s")).unwrap();
    let said = sup.ok(&["apply", defs_arg]);
    assert!(
        said.contains("web: changed restart") && !said.contains("restarted"),
        "{said}"
    );
    assert_eq!(sup.status("web")["pid"], pid);
    // Its arguments: restarted, and it serves on the new port.
    fs::write(defs.join("web.toml"), web(two, "2s")).unwrap();
    let said = sup.ok(&["apply", defs_arg]);
    assert!(said.contains("web: changed args; restarted"), "{said}");
    assert_ne!(sup.status("web")["pid"], pid);
    assert!(serves(two));
    // Two files defining one service: refused, named.
    fs::write(
        defs.join("web-copy.toml"),
        format!("name = \"web\"\n{}", web(two, "2s")),
    )
    .unwrap();
    let out = sup.run(&["apply", defs_arg]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("both define web"), "{}", stderr(&out));
    sup.ok(&["stop", "--all"]);
    assert!(sleepers("1022.1").is_empty());
    assert!(crate::support::processes_with(&format!("http.server {two}")).is_empty());
}

/// `svckit status` and `svckit list` ask the supervisor for the brief status (what a table
/// shows): it leaves out command lines, cgroups, processes, probes, reasons and notices, and
/// tells the same name, state, pid, times, restarts and usage as the full one.
#[test]
fn a_brief_status_tells_a_table_s_columns_and_leaves_the_rest_out() {
    use svckit_supervise::{
        client::{self, Launch},
        paths::StateDir,
        protocol::Op,
    };
    let sup = Sup::new("brief");
    sup.ok(&[
        "install",
        "--backend",
        "builtin",
        "web",
        "--",
        "sleep",
        "600",
    ]);
    sup.ok(&["start", "web"]);
    let dir = StateDir::new(sup.state()).unwrap();
    let ask = |brief| {
        client::request(
            &dir,
            Op::Status { name: None, brief },
            Duration::from_secs(10),
            &Launch::Never,
        )
        .unwrap()
    };
    let (full, brief) = (ask(false), ask(true));
    assert_eq!((full.len(), brief.len()), (1, 1));
    let (full, brief) = (&full[0], &brief[0]);
    assert!(full.command.ends_with("sleep 600"), "{full:?}");
    assert_eq!(brief.command, "");
    assert_eq!(brief.cgroup, None);
    assert!(brief.processes.is_empty() && brief.probes.is_empty());
    assert_eq!(
        (
            &brief.name,
            brief.state,
            brief.pid,
            brief.started_ms,
            brief.restarts
        ),
        (
            &full.name,
            full.state,
            full.pid,
            full.started_ms,
            full.restarts
        )
    );
    assert_eq!(brief.usage.map(|u| u.tasks), full.usage.map(|u| u.tasks));
    // The table and the listing read it: the service's pid is in both.
    let pid = full.pid.unwrap().to_string();
    assert!(sup.ok(&["status"]).contains(&pid));
    assert!(sup.ok(&["list"]).contains("running"));
}
