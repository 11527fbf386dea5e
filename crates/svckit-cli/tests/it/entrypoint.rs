//! `svckit run` as a container's PID 1, beside tini and dumb-init (Debian's packages), each in
//! a fresh PID namespace (`unshare --pid --fork --mount-proc`): only svckit's results are
//! asserted; the peers' are printed, side by side.

use std::{
    io::{BufRead, BufReader},
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};

use crate::support::{TempDir, eventually, processes_with, require_root};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// An init under test: how it runs PROGRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Init {
    Svckit,
    /// `svckit-init`, the same init alone, linked statically for images.
    SvckitStatic,
    Tini,
    Dumb,
}

impl Init {
    /// Every init, svckit's two first.
    const ALL: [Init; 4] = [Init::Svckit, Init::SvckitStatic, Init::Tini, Init::Dumb];

    fn argv(self) -> Vec<String> {
        let words: &[&str] = match self {
            Init::Svckit => &[SVCKIT, "run", "--stop-timeout", "2s", "--"],
            Init::SvckitStatic => {
                let init = crate::support::svckit_init().unwrap_or_default();
                return vec![
                    init.display().to_string(),
                    "--stop-timeout".into(),
                    "2s".into(),
                    "--".into(),
                ];
            }
            Init::Tini => &["tini", "--"],
            Init::Dumb => &["dumb-init", "--"],
        };
        words.iter().map(|word| word.to_string()).collect()
    }

    fn name(self) -> &'static str {
        match self {
            Init::Svckit => "svckit run",
            Init::SvckitStatic => "svckit-init (static)",
            Init::Tini => "tini",
            Init::Dumb => "dumb-init",
        }
    }

    /// One of svckit's: its results are asserted.
    fn ours(self) -> bool {
        matches!(self, Init::Svckit | Init::SvckitStatic)
    }

    fn available(self) -> bool {
        if self == Init::SvckitStatic {
            return crate::support::svckit_init().is_some();
        }
        let argv = self.argv();
        let program = argv[0].as_str();
        let found = Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found && std::env::var_os("CI").is_some() {
            panic!("{program} is missing under CI");
        }
        found
    }
}

/// `init -- sh -c SCRIPT` as PID 1 of a new PID namespace; its stdout read line by line.
struct Contained {
    unshare: Child,
    lines: mpsc::Receiver<String>,
    /// unshare was waited for: its pid is no longer ours to look at.
    reaped: bool,
}

impl Contained {
    fn start(init: Init, script: &str) -> Contained {
        Contained::start_argv(&init.argv(), script)
    }

    /// `sh -c script` under the init that `argv` runs, as PID 1 of a fresh PID namespace.
    fn start_argv(argv: &[String], script: &str) -> Contained {
        let mut unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .args(argv)
            .args(["sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare");
        let stdout: ChildStdout = unshare.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Contained {
            unshare,
            lines,
            reaped: false,
        }
    }

    /// The init's pid on the host (unshare's child: PID 1 inside).
    fn init_pid(&self) -> i32 {
        let unshare = self.unshare.id();
        let mut pid = 0;
        assert!(eventually(Duration::from_secs(5), || {
            pid = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            pid != 0
        }));
        pid
    }

    /// Whether the init has ended (unshare, its parent, reaped it: it is no longer among
    /// unshare's children). Asked once the init has run (it said something): its pid is not
    /// needed, so an init that ended before anyone looked is still seen to have ended.
    fn init_ended(&self) -> bool {
        let unshare = self.unshare.id();
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .map_or(true, |children| children.trim().is_empty())
    }

    /// The next line, within `timeout`.
    fn line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    fn signal(&self, signal: Signal) {
        let _ = nix::sys::signal::kill(Pid::from_raw(self.init_pid()), signal);
    }

    /// Signal `number` to the init, a real-time one included (nix's `Signal` names none).
    fn signal_number(&self, number: i32) {
        send_number(self.init_pid(), number);
    }

    /// Its exit status (unshare's: the init's).
    fn wait(mut self) -> Option<i32> {
        let status = self.unshare.wait().ok()?;
        self.reaped = true;
        status.code()
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        // Regression: once unshare is reaped, its pid may be another process's, whose first
        // child this killed (a Wine test's, running beside, ended with 1 and no word).
        if self.reaped || self.unshare.try_wait().is_ok_and(|status| status.is_some()) {
            return;
        }
        if let Some(pid) = self.init_pid_now() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

impl Contained {
    fn init_pid_now(&self) -> Option<i32> {
        let unshare = self.unshare.id();
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

/// The signals tried: every one a process can catch but SIGCHLD, by number (as the trap
/// names them).
const TRIED: [Signal; 28] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGUSR1,
    Signal::SIGSEGV,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGSTKFLT,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGURG,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGWINCH,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGSYS,
];

/// Signal `number` to `pid` through kill(1), which names real-time signals by number.
fn send_number(pid: i32, number: i32) {
    let sent = Command::new("kill")
        .args([format!("-{number}"), pid.to_string()])
        .status()
        .expect("kill(1)");
    assert!(sent.success(), "kill -{number} {pid}");
}

/// Every signal tried, by number: the classic ones, then the real-time signals 34 to 64
/// (SIGRTMIN to SIGRTMAX as glibc numbers them).
fn tried_numbers() -> Vec<i32> {
    TRIED
        .iter()
        .map(|signal| *signal as i32)
        .chain(34..=64)
        .collect()
}

/// A shell line that traps each of `numbers` and says which arrived.
fn traps(numbers: &[i32]) -> String {
    numbers
        .iter()
        .map(|n| format!("trap 'echo got {n}' {n}; "))
        .collect()
}

/// Every catchable signal sent to PID 1 reaches the program (a shell that traps each and
/// says its number), INT and QUIT, the job-control signals and the real-time signals 34-64
/// included (regression: none of the real-time ones was forwarded).
#[test]
fn every_catchable_signal_is_forwarded_to_the_program() {
    if !require_root("every_catchable_signal_is_forwarded_to_the_program") {
        return;
    }
    let tried = tried_numbers();
    let traps = traps(&tried);
    // No child to stop: a shell that traps every signal and loops on its own (a `sleep` of
    // its group would be stopped by TSTP and hold the shell with it).
    let script = format!("{traps} echo ready; while :; do :; done");
    let mut report = Vec::new();
    for init in Init::ALL {
        if !init.available() {
            continue;
        }
        let contained = Contained::start(init, &script);
        assert_eq!(
            contained.line(Duration::from_secs(10)).as_deref(),
            Some("ready"),
            "{}",
            init.name()
        );
        let mut forwarded = Vec::new();
        for &signal in &tried {
            contained.signal_number(signal);
            let want = format!("got {signal}");
            let mut seen = false;
            while let Some(line) = contained.line(Duration::from_millis(500)) {
                if line == want {
                    seen = true;
                    break;
                }
            }
            if seen {
                forwarded.push(signal);
            }
            // dumb-init stops itself with the program on TSTP, TTIN and TTOU: a CONT after
            // each, as a shell's `fg` would, so the signals after them are counted fairly.
            if matches!(signal, 20..=22) {
                contained.signal_number(18);
            }
        }
        report.push(format!(
            "{}: {}/{} forwarded",
            init.name(),
            forwarded.len(),
            tried.len()
        ));
        if init.ours() {
            let missing: Vec<&i32> = tried.iter().filter(|s| !forwarded.contains(s)).collect();
            assert!(
                missing.is_empty(),
                "not forwarded by {}: {missing:?}",
                init.name()
            );
        }
    }
    eprintln!("signals forwarded, side by side: {}", report.join("; "));
}

/// Regression: not as PID 1, a real-time signal (35) killed `svckit run` itself (its default
/// action, not blocked) and orphaned the program. Now each reaches the program and svckit
/// lives on.
#[test]
fn regression_a_realtime_signal_reaches_the_program_and_does_not_kill_svckit_run() {
    let script = format!(
        "{} echo ready; while :; do sleep 0.05; done",
        traps(&[35, 64])
    );
    let mut run = Command::new(SVCKIT)
        .args(["run", "--", "/bin/sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    for number in [35, 64] {
        send_number(run.id() as i32, number);
        assert_eq!(lines.next().unwrap().unwrap(), format!("got {number}"));
    }
    assert!(run.try_wait().unwrap().is_none(), "svckit run died of it");
    // TERM is forwarded too, and ends the program (no trap for it): svckit says so.
    send_number(run.id() as i32, 15);
    assert_eq!(run.wait().unwrap().code(), Some(143));
}

/// INT and QUIT end a program that does not catch them: PID 1 exits 130 and 131 (128 + the
/// signal), as a shell would say; TERM 143; an exit code is passed through.
#[test]
fn the_program_s_end_is_the_init_s_exit_status() {
    if !require_root("the_program_s_end_is_the_init_s_exit_status") {
        return;
    }
    let mut report = Vec::new();
    for init in Init::ALL {
        if !init.available() {
            continue;
        }
        let mut codes = Vec::new();
        for (signal, want) in [
            (Some(Signal::SIGINT), 130),
            (Some(Signal::SIGQUIT), 131),
            (Some(Signal::SIGTERM), 143),
            (None, 3),
        ] {
            let script = match signal {
                Some(_) => "echo ready; while :; do sleep 0.02; done",
                None => "echo ready; exit 3",
            };
            let contained = Contained::start(init, script);
            assert_eq!(
                contained.line(Duration::from_secs(10)).as_deref(),
                Some("ready")
            );
            if let Some(signal) = signal {
                contained.signal(signal);
            }
            let code = contained.wait();
            codes.push(format!("{signal:?}→{code:?}"));
            if init.ours() {
                assert_eq!(code, Some(want), "{}: {signal:?}", init.name());
            }
        }
        report.push(format!("{}: {}", init.name(), codes.join(" ")));
    }
    eprintln!("exit statuses, side by side: {}", report.join("; "));
}

/// TSTP stops the program, CONT resumes it.
#[test]
fn tstp_suspends_the_program_and_cont_resumes_it() {
    if !require_root("tstp_suspends_the_program_and_cont_resumes_it") {
        return;
    }
    let contained = Contained::start(Init::Svckit, "echo ready; exec sleep 1018.1");
    assert_eq!(
        contained.line(Duration::from_secs(10)).as_deref(),
        Some("ready")
    );
    let state = || -> Option<char> {
        let pid = processes_with("1018.1").into_iter().find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..].chars().next()
    };
    assert!(eventually(Duration::from_secs(5), || state() == Some('S')));
    contained.signal(Signal::SIGTSTP);
    assert!(
        eventually(Duration::from_secs(5), || state() == Some('T')),
        "{:?}",
        state()
    );
    contained.signal(Signal::SIGCONT);
    assert!(
        eventually(Duration::from_secs(5), || state() == Some('S')),
        "{:?}",
        state()
    );
}

/// What the program leaves when it ends gets SIGTERM first (a leftover that handles it says
/// so), and the init exits with the program's status once nothing is left.
#[test]
fn leftovers_get_sigterm_before_sigkill() {
    if !require_root("leftovers_get_sigterm_before_sigkill") {
        return;
    }
    let dir = TempDir::new("entrypoint-leftover");
    let armed = dir.join("armed");
    // The leftover says it is ready (its trap set) through a file; the program then ends.
    let script = format!(
        "(trap 'echo leftover got TERM; exit 0' TERM; touch {armed}; \
         while :; do sleep 0.02; done) & \
         while [ ! -e {armed} ]; do sleep 0.01; done; exit 4",
        armed = armed.display()
    );
    let contained = Contained::start(Init::Svckit, &script);
    let mut lines = Vec::new();
    while let Some(line) = contained.line(Duration::from_secs(10)) {
        lines.push(line);
        if lines.last().is_some_and(|line| line == "leftover got TERM") {
            break;
        }
    }
    assert!(lines.contains(&"leftover got TERM".to_owned()), "{lines:?}");
    assert_eq!(contained.wait(), Some(4));
}

/// The program runs in the invocation's directory with its environment (and --env on top),
/// its output on the init's own stdout.
#[test]
fn the_program_keeps_the_directory_environment_and_stdout() {
    let dir = TempDir::new("entrypoint-cwd");
    let out = Command::new(SVCKIT)
        .args(["run", "--env", "EXTRA=on top", "--", "sh", "-c"])
        .arg("echo \"$(pwd) $FROM_CALLER $EXTRA\"")
        .current_dir(dir.join(""))
        .env("FROM_CALLER", "kept")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        format!(
            "{} kept on top",
            dir.join("").display().to_string().trim_end_matches('/')
        )
    );
}

/// The program's blocked and ignored signal masks (`SigBlk`, `SigIgn` of /proc/self/status)
/// under `svckit run`, itself started through `launcher` (nohup) or directly.
fn signal_masks(launcher: Option<&str>) -> String {
    let mut command = match launcher {
        Some(launcher) => {
            let mut command = Command::new(launcher);
            command.arg(SVCKIT);
            command
        }
        None => Command::new(SVCKIT),
    };
    let out = command
        .args([
            "run",
            "--",
            "grep",
            "-E",
            "^Sig(Blk|Ign):",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Regression: started through std's posix_spawn, the program inherited the init's signal
/// mask (every signal blocked) and a TSTP never stopped it. It starts with none blocked.
#[test]
fn regression_the_program_starts_with_no_signal_blocked() {
    let said = signal_masks(None);
    assert!(said.contains("SigBlk:\t0000000000000000"), "{said}");
    assert!(said.contains("SigIgn:\t0000000000000000"), "{said}");
}

/// Regression: started with glibc's posix_spawn, the program had signals 32 and 33 ignored
/// (glibc's child leaves its own two signals SIG_IGN, and that survives exec); and an init
/// started with SIGHUP ignored (nohup) must not hand that on either.
#[test]
fn regression_the_program_starts_with_no_signal_ignored_even_under_nohup() {
    let said = signal_masks(Some("nohup"));
    assert!(said.contains("SigIgn:\t0000000000000000"), "{said}");
    assert!(said.contains("SigBlk:\t0000000000000000"), "{said}");
}

/// A program that cannot be started: one line naming it, and the status a shell (and `docker
/// run`) gives: 127 not found, 126 found but not runnable. The PATH given with --env is the
/// one searched, as the program's own environment.
#[test]
fn a_program_that_cannot_start_ends_127_or_126_as_in_a_shell() {
    let dir = TempDir::new("run-start");
    let script = dir.join("hello");
    std::fs::write(&script, "#!/bin/sh\necho hello from PATH\n").unwrap();
    let plain = dir.join("not-runnable");
    std::fs::write(&plain, "echo no\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| Command::new(SVCKIT).arg("run").args(args).output().unwrap();
    let root = dir.str("");
    let root = root.trim_end_matches('/');
    for (args, code, says) in [
        (
            &["--", "no-such-program-here"][..],
            127,
            "no-such-program-here",
        ),
        (
            &["--", "/nonexistent/dir/prog"],
            127,
            "/nonexistent/dir/prog",
        ),
        (&["--", plain.to_str().unwrap()], 126, "not-runnable"),
        (&["--", root], 126, "run-start"),
        (&["--env", "PATH=/nonexistent", "--", "true"], 127, "true"),
    ] {
        let out = run(args);
        let said = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {said}");
        assert_eq!(said.trim_end().lines().count(), 1, "{said}");
        assert!(said.contains(says), "{args:?}: {said}");
    }
    let path = format!("PATH={root}:/usr/bin:/bin");
    let out = run(&["--env", &path, "--", "hello"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from PATH\n");
}

/// `svckit run --log-dir`: the program's output still reaches svckit's stdout and stderr (what
/// `docker logs` reads) and is also stored, rotated after whole lines, with a time index;
/// nothing lost or split, even across rotations.
#[test]
fn run_with_log_dir_tees_output_into_rotated_logs() {
    let dir = TempDir::new("run-log");
    let logs = dir.join("logs");
    // 20,000 numbered lines on stdout (seq, not ours), a few on stderr; rotated at 16 KiB.
    let out = Command::new(SVCKIT)
        .args([
            "run",
            "--log-dir",
            logs.to_str().unwrap(),
            "--log-max-size",
            "16K",
        ])
        .args(["--log-keep", "100", "--"])
        .args(["sh", "-c", "seq 1 20000; echo oops >&2; echo again >&2"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let want: String = (1..=20000).map(|n| format!("{n}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    assert_eq!(crate::support::stderr(&out), "oops\nagain\n");
    // The stored stdout, oldest file first: the same bytes, each file whole lines.
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("sh.stdout") && !name.ends_with(".times")
        })
        .collect();
    assert!(files.len() > 5, "rotated: {files:?}");
    let number = |path: &std::path::Path| -> u32 {
        path.extension()
            .and_then(|ext| ext.to_str()?.parse().ok())
            .unwrap_or(0)
    };
    files.sort_by_key(|path| std::cmp::Reverse(number(path)));
    let mut stored = String::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.ends_with('\n'), "{} ends mid-line", file.display());
        stored.push_str(&text);
    }
    assert_eq!(stored, want);
    assert_eq!(
        std::fs::read_to_string(logs.join("sh.stderr")).unwrap(),
        "oops\nagain\n"
    );
    assert!(logs.join("sh.stdout.times").exists());
    // A symlink planted where a log goes is never followed: its target stays as it was, the
    // output still reaches stdout, and the program's status is svckit's.
    let planted = dir.join("planted");
    std::fs::create_dir_all(&planted).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("sh.stdout")).unwrap();
    let out = Command::new(SVCKIT)
        .args(["run", "--log-dir", planted.to_str().unwrap(), "--"])
        .args(["sh", "-c", "echo through; exit 4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through\n");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // Said once, naming the file, not silently lost.
    let said = crate::support::stderr(&out);
    assert!(
        said.starts_with("svckit: output not stored: ") && said.contains("sh.stdout"),
        "{said}"
    );
    // A file where the directory should be: one line naming it, exit 2.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = Command::new(SVCKIT)
        .args(["run", "--log-dir", file.to_str().unwrap(), "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::support::stderr(&out).contains("a-file: not a directory"));
}

/// With --log-dir, a reader of svckit's stdout that goes away (`| head -1`) neither blocks the
/// program nor ends the capture: the log still gets everything.
#[test]
fn run_with_log_dir_keeps_storing_when_stdout_goes_away() {
    let dir = TempDir::new("run-log-head");
    let logs = dir.join("logs");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{SVCKIT} run --log-dir {} -- seq 1 200000 | head -n 1",
            logs.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next(),
        Some("1")
    );
    let stored = std::fs::read_to_string(logs.join("seq.stdout")).unwrap();
    assert_eq!(stored.lines().count(), 200000);
    assert!(stored.ends_with("200000\n"));
}

/// With --log-dir, as PID 1 and as a plain process: the copying threads take no signal, so a
/// TERM is the program's to handle. Regression: a thread with signals unblocked got the TERM
/// (the main thread blocks it for its signalfd) and died of it, svckit with it (143), the
/// program left running; as PID 1 the signal was dropped instead.
#[test]
fn regression_run_with_log_dir_forwards_term_instead_of_dying_of_it() {
    if !require_root("regression_run_with_log_dir_forwards_term_instead_of_dying_of_it") {
        return;
    }
    let dir = TempDir::new("run-log-term");
    let script = "trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.02; done";
    for pid1 in [false, true] {
        for round in 0..5 {
            let logs = dir.join(&format!("logs-{pid1}-{round}"));
            let mut command = match pid1 {
                true => {
                    let mut command = Command::new("unshare");
                    command.args(["--pid", "--fork", "--mount-proc", SVCKIT]);
                    command
                }
                false => Command::new(SVCKIT),
            };
            let mut child = command
                .args(["run", "--log-dir"])
                .arg(&logs)
                .args(["--", "sh", "-c", script])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
            let init = match pid1 {
                true => {
                    let children = format!("/proc/{0}/task/{0}/children", child.id());
                    std::fs::read_to_string(children)
                        .unwrap()
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap()
                }
                false => child.id() as i32,
            };
            nix::sys::signal::kill(Pid::from_raw(init), Signal::SIGTERM).unwrap();
            let said = lines.next().and_then(Result::ok);
            let code = child.wait().unwrap().code();
            assert_eq!(
                (said.as_deref(), code),
                (Some("got TERM"), Some(5)),
                "pid 1: {pid1}, round {round}"
            );
            assert_eq!(
                std::fs::read_to_string(logs.join("sh.stdout")).unwrap(),
                "ready\ngot TERM\n"
            );
        }
    }
}

/// svckit-init's bad input: one line naming it, exit 2 (clap's several lines were its own
/// format); its start failures as svckit run's (127).
#[test]
fn svckit_init_says_bad_input_in_one_line() {
    let Some(init) = crate::support::svckit_init() else {
        return;
    };
    for (args, names) in [
        (&["--stop-timeout", "xyz", "--", "true"][..], "xyz"),
        (&["--env", "BAD", "--", "true"], "BAD"),
        (&[], "PROGRAM"),
    ] {
        let out = Command::new(&init).args(args).output().unwrap();
        let said = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(
            said.starts_with("svckit-init: error: ") && said.contains(names),
            "{said}"
        );
    }
    let out = Command::new(&init)
        .args(["--", "/nonexistent/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(crate::support::stderr(&out).lines().count(), 1);
}

/// Regression: a script without `#!` ended 126 "Exec format error", where execvp, tini and
/// dumb-init run it with /bin/sh. Both inits run it so now, arguments kept.
#[test]
fn regression_a_script_without_a_shebang_runs_under_sh() {
    let dir = TempDir::new("run-noshebang");
    let script = dir.join("no-shebang");
    std::fs::write(&script, "echo \"from the script: $0 $1\"\nexit 7\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.to_str().unwrap();
    let mut inits = vec![(SVCKIT.into(), vec!["run"])];
    inits.extend(crate::support::svckit_init().map(|init| (init, vec![])));
    for (init, first) in inits {
        let out = Command::new(&init)
            .args(&first)
            .args(["--", script, "one"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(7),
            "{}: {}",
            init.display(),
            crate::support::stderr(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("from the script: {script} one\n")
        );
    }
}

/// Regression: `ENTRYPOINT ["svckit-init"]` with `CMD ["prog", ...]` (no `--`, as an image
/// gives them) was refused with exit 2, where tini and dumb-init take it. PROGRAM may come
/// without `--`; what follows it is its own, options included; an unknown option before it
/// is still bad input.
#[test]
fn regression_the_program_may_come_without_dashes_as_an_image_s_cmd() {
    let mut inits = vec![(std::path::PathBuf::from(SVCKIT), vec!["run"])];
    inits.extend(crate::support::svckit_init().map(|init| (init, vec![])));
    for (init, first) in inits {
        let out = Command::new(&init)
            .args(&first)
            .args([
                "--stop-timeout",
                "2s",
                "/bin/sh",
                "-c",
                "echo \"$0\"; exit 3",
                "--stop-timeout",
            ])
            .output()
            .unwrap();
        let said = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{}: {said}", init.display());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "--stop-timeout\n");
        let out = Command::new(&init)
            .args(&first)
            .args(["--no-such-option", "/bin/true"])
            .output()
            .unwrap();
        let said = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {said}", init.display());
        assert!(said.contains("--no-such-option"), "{said}");
    }
}

/// Regression: after the program ended, its leftovers got the whole `--stop-timeout` (10s by
/// default) between TERM and KILL, so under `podman stop -t 10` a helper that ignores TERM
/// made the runtime SIGKILL the init (exit 137, where tini exits 0), and a program that
/// exited 3 by itself lingered 10.4s. The default grace is short now (1s), and the exit
/// status is the program's. The runtime's 10s is played by this test: past it, SIGKILL.
#[test]
fn regression_a_helper_that_ignores_term_does_not_cost_the_program_s_exit_status() {
    if !require_root(
        "regression_a_helper_that_ignores_term_does_not_cost_the_program_s_exit_status",
    ) {
        return;
    }
    // The program: a helper that ignores TERM, a main shell that exits 0 on it.
    let stopped = "(trap '' TERM; exec sleep 1031.1) & trap 'exit 0' TERM; \
                   sleep 1031.2 & echo ready; wait";
    // One that ends by itself with 3, leaving the same helper.
    let ended = "(trap '' TERM; exec sleep 1031.3) & echo ready; exit 3";
    for init in [Init::Svckit, Init::SvckitStatic] {
        if !init.available() {
            continue;
        }
        for (script, stop, want) in [(stopped, true, 0), (ended, false, 3)] {
            let mut argv = init.argv();
            // As an image runs it: no --stop-timeout of the test's own.
            argv.retain(|word| word != "--stop-timeout" && word != "2s");
            let contained = Contained::start_argv(&argv, script);
            assert_eq!(
                contained.line(Duration::from_secs(10)).as_deref(),
                Some("ready")
            );
            if stop {
                contained.signal(Signal::SIGTERM);
            }
            // The runtime's stop timeout. (The init's pid was once read here, after the
            // program had ended: under load the init, which outlives it by the 1s stop
            // timeout only, was sometimes gone already, and no pid was ever found.)
            let finished = eventually(Duration::from_secs(10), || contained.init_ended());
            if !finished {
                contained.signal(Signal::SIGKILL);
            }
            assert_eq!(contained.wait(), Some(want), "{}: {script}", init.name());
            assert!(finished, "{}: the runtime had to SIGKILL it", init.name());
        }
    }
    assert!(processes_with("1031.").is_empty());
}

/// Regression: off PID 1, a leftover that left the program's group (setsid) and ignores TERM
/// was never signalled, and `svckit run` waited for it forever. Every orphan it reaps as a
/// subreaper gets the TERM, then the KILL.
#[test]
fn regression_a_setsid_leftover_does_not_hold_svckit_run_forever() {
    let dir = TempDir::new("run-setsid-leftover");
    let armed = dir.join("armed");
    // The leftover's TERM is ignored (and survives its exec) before the program ends.
    let script = format!(
        "setsid sh -c \"trap '' TERM; touch {armed}; exec sleep 1031.4\" & \
         while [ ! -e {armed} ]; do sleep 0.01; done; exit 5",
        armed = armed.display()
    );
    let mut run = Command::new(SVCKIT)
        .args(["run", "--", "/bin/sh", "-c", &script])
        .spawn()
        .unwrap();
    let ended = eventually(Duration::from_secs(10), || {
        run.try_wait().unwrap().is_some()
    });
    if !ended {
        let _ = run.kill();
        crate::support::processes_with("1031.4")
            .into_iter()
            .for_each(|pid| {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            });
    }
    assert!(ended, "svckit run still waits for its setsid leftover");
    assert_eq!(run.wait().unwrap().code(), Some(5));
    assert!(processes_with("1031.4").is_empty());
}

/// Regression: the README called svckit-init static while a build that follows it could give
/// a dynamic one. The command of docs/containers.md (read from it) builds the binary at the path the
/// page names, and `file` and `ldd` say it is static.
#[test]
fn svckit_init_as_the_readme_builds_it_is_static() {
    let Some(built) = crate::support::svckit_init() else {
        return;
    };
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/containers.md"
    ))
    .unwrap();
    let at = readme
        .find("\ncargo build-init")
        .expect("docs/containers.md builds svckit-init with cargo build-init");
    let said = &readme[at..at + 300];
    assert!(
        said.contains("target/x86_64-unknown-linux-musl/release/svckit-init"),
        "{said}"
    );
    assert!(built.ends_with("x86_64-unknown-linux-musl/release/svckit-init"));
    let file = Command::new("file").arg(&built).output().expect("file(1)");
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("static-pie linked") || file.contains("statically linked"),
        "{file}"
    );
    let ldd = Command::new("ldd").arg(&built).output().expect("ldd(1)");
    let ldd =
        String::from_utf8_lossy(&ldd.stdout).into_owned() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(
        ldd.contains("statically linked") || ldd.contains("not a dynamic executable"),
        "{ldd}"
    );
}

/// svckit starts from C's main, without std's start-up, which opened /dev/null on any of the
/// descriptors 0-2 the process started without. It still does: started with all three closed,
/// `svckit run` and `svckit-init` hand the program /dev/null there (else the first file or
/// socket the init opens would become the program's stdout, or vanish at exec).
#[test]
fn closed_stdio_is_opened_on_dev_null_at_start() {
    let dir = TempDir::new("closed-stdio");
    let mut inits = vec![Init::Svckit];
    if crate::support::svckit_init().is_some() {
        inits.push(Init::SvckitStatic);
    }
    for init in inits {
        let said = dir.join(&format!("{init:?}.fds"));
        let mut argv = init.argv();
        argv.extend(["sh".into(), "-c".into()]);
        argv.push(format!(
            "echo $(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2) > {}",
            said.display()
        ));
        let quoted: Vec<String> = argv.iter().map(|word| format!("'{word}'")).collect();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {} <&- >&- 2>&-", quoted.join(" ")))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "{}", init.name());
        let fds = std::fs::read_to_string(&said).unwrap();
        assert_eq!(fds, "/dev/null /dev/null /dev/null\n", "{}", init.name());
    }
}

/// The resident kB of the mappings of `pid`'s own executable that hold only the file's pages,
/// unchanged (not writable, no anonymous page: RELRO, written by relocation, is the process's
/// own), which the init lets go of.
fn unchanged_executable_kb(pid: i32) -> u64 {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return 0;
    };
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut total = 0;
    let (mut ours, mut rss) = (false, 0);
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.first() {
            Some(range) if range.contains('-') && fields.len() >= 5 => {
                ours = fields.len() >= 6
                    && std::path::Path::new(fields[5]) == exe
                    && !fields[1].contains('w');
                rss = 0;
            }
            Some(&"Rss:") => rss = fields[1].parse::<u64>().unwrap_or(0),
            Some(&"Anonymous:") if ours && fields[1] == "0" => total += rss,
            _ => {}
        }
    }
    total
}

/// Once its program has run a while (`svckit_unix::memory::IDLE_BEFORE_RELEASE`, 1 s), the init lets go of its own
/// executable's pages (their PSS is every container's cost); a program that ends sooner never
/// pays for it. Seen in the init's resident file pages of its own executable, which drop.
#[test]
fn the_init_lets_go_of_its_executable_pages_once_the_program_has_run_a_while() {
    let Some(init) = crate::support::svckit_init() else {
        return;
    };
    let mut child = Command::new(&init)
        .args(["--", "sleep", "3021.7"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let resident = || unchanged_executable_kb(pid);
    // Started: its code and read-only data are resident.
    assert!(
        eventually(Duration::from_secs(5), || resident() > 256),
        "{} kB",
        resident()
    );
    let started = resident();
    // Let go of: what the rest of that wake runs comes back, a few faults of 64 kB each.
    assert!(
        eventually(Duration::from_secs(10), || resident() < started / 2),
        "{} kB of {started} kB",
        resident()
    );
    let _ = child.kill();
    let _ = child.wait();
    for pid in processes_with("3021.7") {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Once its program has run a quiet second, the init lets go of its executable's unchanged
/// pages and waits for the next signal without running code that would fault them back in
/// (a raw ppoll(2), system call 271 on x86-64, where the init's usual wait is poll(2), 7):
/// then a signal still reaches the program, and the program's end is the init's exit status.
/// Asserted for svckit's two inits: both release pages; what the executable still has mapped
/// while it waits is the few pages of the waiting function.
#[cfg(target_arch = "x86_64")]
#[test]
fn an_idle_init_lets_go_of_its_code_and_still_forwards_and_reaps() {
    if !require_root("an_idle_init_lets_go_of_its_code_and_still_forwards_and_reaps") {
        return;
    }
    // Quiet: no child ends while it waits (each end would wake the init).
    let script = "trap 'echo got TERM; exit 5' TERM; echo ready; sleep 1000 & wait";
    for init in [Init::Svckit, Init::SvckitStatic] {
        if !init.available() {
            continue;
        }
        let contained = Contained::start(init, script);
        assert_eq!(
            contained.line(Duration::from_secs(10)).as_deref(),
            Some("ready"),
            "{}",
            init.name()
        );
        let pid = contained.init_pid();
        assert!(
            eventually(Duration::from_secs(10), || {
                std::fs::read_to_string(format!("/proc/{pid}/syscall"))
                    .is_ok_and(|call| call.starts_with("271 "))
            }),
            "{}: never waited in its own ppoll: {:?}",
            init.name(),
            std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        );
        let resident_kb = unchanged_executable_kb(pid);
        assert!(
            resident_kb <= 16,
            "{}: {resident_kb} kB of its executable still mapped while it waits",
            init.name()
        );
        contained.signal(Signal::SIGTERM);
        assert_eq!(
            contained.line(Duration::from_secs(10)).as_deref(),
            Some("got TERM"),
            "{}",
            init.name()
        );
        assert_eq!(contained.wait(), Some(5), "{}", init.name());
    }
}
