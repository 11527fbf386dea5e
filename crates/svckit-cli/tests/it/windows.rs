//! The Windows half, for real: `svckit.exe` cross-compiled for x86_64-pc-windows-gnu and run
//! under Wine's Service Control Manager, checked with Wine's own `sc query`. Also runs the
//! Windows-target unit tests (the model's numbers against windows-sys) under Wine.
//!
//! Needs wine64, the mingw-w64 linker and the rustup target (`.ci/run` installs them). Without
//! them the test says so and passes, except in CI (`CI=true`), where it fails.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use crate::support::{TempDir, eventually, memory_lines};

const TARGET: &str = "x86_64-pc-windows-gnu";
const WINE: &str = "/usr/lib/wine/wine64";
const MINGW: &str = "x86_64-w64-mingw32-gcc";
/// Where svckit.exe goes inside the prefix: a directory with a space, so an unquoted image
/// path would be the classic hole.
const EXE: &str = r"C:\svc kit\svckit.exe";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why Windows tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    if !Path::new(WINE).exists() {
        return Some(format!("{WINE} (apt-get install wine64)"));
    }
    if Command::new(MINGW).arg("--version").output().is_err() {
        return Some(format!("{MINGW} (apt-get install gcc-mingw-w64-x86-64)"));
    }
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !targets.lines().any(|line| line.trim() == TARGET) {
        return Some(format!("the {TARGET} target (rustup target add {TARGET})"));
    }
    None
}

fn cargo() -> Command {
    let mut command = Command::new(env!("CARGO"));
    // A target dir of its own: the outer `cargo test` may still hold the default one's lock.
    command
        .current_dir(workspace())
        .env("CARGO_TARGET_DIR", workspace().join("target/wine"));
    command
}

fn check(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A fresh Wine prefix with a persistent wineserver, killed on drop.
struct Wine {
    prefix: TempDir,
}

impl Wine {
    fn new() -> Wine {
        let wine = Wine {
            prefix: TempDir::new("wine"),
        };
        // The server these start lives on and keeps any inherited pipe open: waiting for the
        // output of either would never end, so they get no pipes.
        // wineboot returns before the prefix is settled (a service created right away vanished
        // from sc's view and would not start, error 1053): wait for its wineserver to exit.
        // Then a persistent one, or services die with the last client.
        detached(wine.command("wineboot").arg("-i"), "wineboot -i");
        detached(wine.server().arg("-w"), "wineserver -w");
        detached(wine.server().arg("-p"), "wineserver -p");
        // Start the prefix's system services (services.exe and friends) now, without pipes:
        // started by a later command they would inherit its stdout and hold it open. Their
        // stderr, which the services they start inherit, is a file with the errors reported
        // to the event log (Wine's ReportEventW prints them as err:eventlog lines).
        let events = fs::File::create(wine.prefix.join("events.log")).unwrap();
        let status = wine
            .command("wineboot")
            .env("WINEDEBUG", "-all,err+eventlog")
            .stdout(Stdio::null())
            .stderr(events)
            .status()
            .unwrap();
        assert!(status.success(), "wineboot: {status}");
        let system32 = wine.path(r"C:\windows\system32");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        check(
            &Command::new(MINGW)
                .args(["-shared", "-O2", "-o"])
                .arg(system32.join("bcryptprimitives.dll"))
                .arg(fixtures.join("bcryptprimitives.c"))
                .arg(fixtures.join("bcryptprimitives.def"))
                .arg("-ladvapi32")
                .output()
                .unwrap(),
            "build the ProcessPrng fixture",
        );
        wine
    }

    fn env(&self, command: &mut Command) {
        command
            .env("WINEPREFIX", self.prefix.join("prefix"))
            .env("WINEDEBUG", "-all")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(WINE);
        command.arg(program);
        self.env(&mut command);
        command
    }

    fn server(&self) -> Command {
        let mut command = Command::new("wineserver");
        self.env(&mut command);
        command
    }

    /// The Linux path of a `C:\` path in the prefix.
    fn path(&self, windows: &str) -> PathBuf {
        let rest = windows.strip_prefix(r"C:\").expect("a C:\\ path");
        let mut path = self.prefix.join("prefix").join("drive_c");
        for part in rest.split('\\').filter(|part| !part.is_empty()) {
            path.push(part);
        }
        path
    }

    fn svckit(&self, args: &[&str]) -> Output {
        self.command(EXE).args(args).output().unwrap()
    }

    fn sc(&self, args: &[&str]) -> Output {
        self.command("sc").args(args).output().unwrap()
    }

    /// What the prefix's services reported to the event log so far.
    fn events(&self) -> String {
        fs::read_to_string(self.prefix.join("events.log")).unwrap_or_default()
    }

    /// The image names of Wine's own process list (WMI's Win32_Process, through wmic, which
    /// writes UTF-16; Wine's tasklist prints nothing).
    fn process_list(&self) -> Vec<String> {
        let out = self
            .command("wmic")
            .args(["process", "get", "name"])
            .output()
            .unwrap();
        let units: Vec<u16> = out
            .stdout
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        String::from_utf16_lossy(&units)
            .trim_start_matches('\u{feff}')
            .lines()
            .skip(1)
            .map(|line| line.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect()
    }

    /// Whether Wine's own process list shows a process of `image`.
    fn lists(&self, image: &str) -> bool {
        let list = self.process_list();
        assert!(
            list.iter().any(|name| name == "services.exe"),
            "no process list: {list:?}"
        );
        list.contains(&image.to_ascii_lowercase())
    }

    /// No process of `image` is left: none in Wine's process list, and no Linux process of it.
    fn gone(&self, image: &str) -> bool {
        wine_processes(image).is_empty() && !self.lists(image)
    }

    /// The STATE number `sc query` prints, or None when the service does not exist.
    fn sc_state(&self, name: &str) -> Option<u32> {
        sc_field(&self.sc(&["query", name]), "STATE")
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self
            .server()
            .arg("-k")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Gone before the prefix is: Wine names a server by its prefix's device and inode,
        // and a run started right after this one, whose new prefix reused the inode, met this
        // server still dying (`wineboot -i` exited 53).
        let _ = self
            .server()
            .arg("-w")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn detached(command: &mut Command, what: &str) {
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{what}: {status}");
}

fn sc_field(output: &Output, field: &str) -> Option<u32> {
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.trim().strip_prefix(field)?.trim().strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

fn text(output: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const STOPPED: u32 = 1;
const START_PENDING: u32 = 2;
const RUNNING: u32 = 4;
const PAUSED: u32 = 7;

#[test]
fn windows_service_lifecycle_under_wine_scm() {
    if let Some(missing) = missing_prerequisite() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the Windows tests, but this machine lacks {missing}"
        );
        eprintln!("skipping the Windows tests: no {missing}");
        return;
    }
    check(
        &cargo()
            .args([
                "build",
                "-q",
                "--target",
                TARGET,
                "-p",
                "svckit-cli",
                "--bin",
                "svckit",
            ])
            .output()
            .unwrap(),
        "cargo build --target x86_64-pc-windows-gnu",
    );
    let wine = Wine::new();
    let exe = wine.path(EXE);
    fs::create_dir_all(exe.parent().unwrap()).unwrap();
    fs::copy(
        workspace()
            .join("target/wine")
            .join(TARGET)
            .join("debug/svckit.exe"),
        &exe,
    )
    .unwrap();
    fs::create_dir_all(wine.path(r"C:\logs dir")).unwrap();

    // The model's numbers against windows-sys, and the Windows unit tests, under Wine.
    run_windows_unit_tests(&wine);

    // One command tree: Unix's commands exist on Windows too, refused by name with the
    // reason and exit 2, never clap's "unrecognized subcommand".
    for (args, named) in [
        (
            &["daemonize", "--pidfile", "x.pid", "--", "cmd.exe"][..],
            "daemonize",
        ),
        (&["run", "--", "cmd.exe", "/c", "exit 3"], "run"),
        (
            &["runtime-dir", "--pidfile", "x.pid", "sshd"],
            "runtime-dir",
        ),
        (&["kill", "--pidfile", "x.pid"], "kill"),
        (&["probe", "--pidfile", "x.pid"], "probe"),
        (&["supervise", "--daemon"], "the supervisor"),
        (&["supervisor", "status"], "the supervisor"),
        (&["boot", "enable"], "boot"),
        (&["demo", "timelog", "--interval", "1s"], "demo timelog"),
        (&["demo", "memory-status", "--daemon"], "--daemon"),
    ] {
        let out = wine.svckit(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            said.starts_with(&format!(
                "svckit: error: {named} is not available on Windows: "
            )) && said.trim_end().lines().count() == 1,
            "{args:?}: {said}"
        );
    }

    // Definitions travel from Windows too: a systemd unit imported (its prefix, its variable
    // left for each start, its restart policy), and a definition rendered for Kubernetes.
    let unit = wine.path(r"C:\units\web.service");
    fs::create_dir_all(unit.parent().unwrap()).unwrap();
    fs::write(
        &unit,
        "[Unit]\nDescription=web\n[Service]\nExecStart=-/usr/sbin/nginx -g 'daemon off;' $OPTS\n\
         Restart=on-abnormal\n",
    )
    .unwrap();
    let out = wine.svckit(&["import", r"C:\units\web.service"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let imported = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "program = \"-/usr/sbin/nginx\"",
        "expand_env = true",
        "policy = \"on-abnormal\"",
    ] {
        assert!(imported.contains(line), "no {line:?} in\n{imported}");
    }
    fs::write(
        wine.path(r"C:\web.toml"),
        "program = 'C:\\svc\\web.exe'\nargs = [\"--port\", \"8080\"]\n[restart]\npolicy = \"always\"\n",
    )
    .unwrap();
    let out = wine.svckit(&[
        "render",
        "--file",
        r"C:\web.toml",
        "--target",
        "kubernetes",
        "--image",
        "registry.example/web:1",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let manifest = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        manifest.contains("kind: \"Deployment\"") && manifest.contains("- \"--port\""),
        "{manifest}"
    );

    // svckit top is a command on Windows too; into a pipe it says where it draws (exit 2).
    let out = wine.svckit(&["top"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("top draws on a terminal"),
        "{}",
        text(&out)
    );

    // Install: a name with a space, a log path with a space, and an argument with spaces,
    // quotes and backslashes that must reach the service's argv unchanged.
    let name = "Memory Status";
    let log_windows = r"C:\logs dir\memory status.log";
    let log = wine.path(log_windows);
    let label = r#"say "hi" \ to C:\dir\ and \"more\"\"#;
    let install = |interval: &str, start: &str| {
        wine.svckit(&[
            "install",
            name,
            // On svckit's service API: it answers the SCM itself.
            "--type",
            "notify",
            "--start",
            start,
            "--display-name",
            "svckit MemoryStatus demo",
            "--description",
            "Logs memory use every interval.",
            "--",
            EXE,
            "demo",
            "memory-status",
            "--interval",
            interval,
            "--log",
            log_windows,
            "--label",
            label,
        ])
    };
    let out = install("200ms", "demand");
    assert_eq!(code(&out), 0, "install: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("installed"));
    let query = wine.sc(&["query", name]);
    assert_eq!(
        sc_field(&query, "STATE"),
        Some(STOPPED),
        "installed, not started: {}",
        text(&query)
    );

    // start → RUNNING, lines appear.
    let out = wine.svckit(&["start", name]);
    assert_eq!(code(&out), 0, "start: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(": started (running, PID "),
        "{}",
        text(&out)
    );
    assert_eq!(wine.sc_state(name), Some(RUNNING));
    assert!(
        eventually(Duration::from_secs(10), || memory_lines(&log) >= 2),
        "no lines in the log"
    );
    let first = fs::read_to_string(&log).unwrap();
    let line = first
        .lines()
        .find(|line| line.contains("memory load"))
        .unwrap();
    assert!(
        line.contains(&format!(" {label} memory load ")),
        "the argument did not survive the round trip: {line}"
    );

    // A second start: already running, said so, and no error (as on Unix, and systemctl).
    let out = wine.svckit(&["start", name]);
    assert_eq!(code(&out), 0, "start while running: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("Memory Status: already running (PID "),
        "{}",
        text(&out)
    );

    // status --json: state, pid, accepted controls, exit codes, start type.
    let out = wine.svckit(&["status", name, "--json"]);
    assert_eq!(code(&out), 0, "status: {}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "running");
    assert_eq!(status["state_value"], RUNNING);
    assert!(
        status["pid"].as_u64().is_some_and(|pid| pid > 0),
        "{status}"
    );
    assert_eq!(
        status["accepts"],
        "STOP|PAUSE_CONTINUE|SHUTDOWN|PARAMCHANGE"
    );
    assert_eq!(status["start"], "demand");
    assert_eq!(status["display_name"], "svckit MemoryStatus demo");
    assert_eq!(status["win32_exit_code"], 0);
    let command = status["command"].as_str().unwrap();
    assert!(
        command.starts_with(r#""C:\svc kit\svckit.exe" "#),
        "image path unquoted: {command}"
    );
    // A service on svckit's API is svckit's too: listed, shown as installed; its output is
    // its own (no hosted log), said by name.
    let out = wine.svckit(&["list", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        listed.as_array().is_some_and(|all| all
            .iter()
            .any(|one| one["name"] == name && one["backend"] == "windows")),
        "{listed}"
    );
    let out = wine.svckit(&["show", name]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("type = \"notify\""), "{shown}");
    assert!(shown.contains("\"memory-status\""), "{shown}");
    let out = wine.svckit(&["logs", name]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("on svckit's service API (type notify), not hosted"),
        "{}",
        text(&out)
    );

    // pause → PAUSED, no new lines.
    let out = wine.svckit(&["pause", name]);
    assert_eq!(code(&out), 0, "pause: {}", text(&out));
    assert_eq!(wine.sc_state(name), Some(PAUSED));
    let paused_at = memory_lines(&log);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        memory_lines(&log),
        paused_at,
        "lines were written while paused"
    );

    // continue → RUNNING, lines resume.
    let out = wine.svckit(&["continue", name]);
    assert_eq!(code(&out), 0, "continue: {}", text(&out));
    assert_eq!(wine.sc_state(name), Some(RUNNING));
    assert!(
        eventually(Duration::from_secs(10), || memory_lines(&log)
            >= paused_at + 2),
        "lines did not resume"
    );

    // reload → ParamChange reaches the program, which says so. (Regression: `svckit reload`
    // was refused on Windows as having "no state to wait for".)
    let out = wine.svckit(&["reload", name]);
    assert_eq!(code(&out), 0, "reload: {}", text(&out));
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(&log)
            .unwrap()
            .contains("reload: ")),
        "{}",
        fs::read_to_string(&log).unwrap()
    );

    // stop → STOPPED with exit code 0.
    let out = wine.svckit(&["stop", name]);
    assert_eq!(code(&out), 0, "stop: {}", text(&out));
    let query = wine.sc(&["query", name]);
    assert_eq!(sc_field(&query, "STATE"), Some(STOPPED));
    assert_eq!(
        sc_field(&query, "WIN32_EXIT_CODE"),
        Some(0),
        "{}",
        text(&query)
    );
    assert!(
        fs::read_to_string(&log)
            .unwrap()
            .contains("stopping (stop)")
    );
    // Stopping a stopped service is not an error.
    assert_eq!(code(&wine.svckit(&["stop", name])), 0);
    // Pausing a stopped one is: not running.
    assert_eq!(code(&wine.svckit(&["pause", name])), 3);

    // Install again over a *running* service: stop → delete → create, and started again, as
    // a hosted program and a Unix service are (its definition is svckit's: what changed is
    // known). The same definition again changes nothing.
    assert_eq!(code(&wine.svckit(&["start", name])), 0);
    let out = install("300ms", "auto");
    assert_eq!(code(&out), 0, "reinstall: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("reinstalled"),
        "{}",
        text(&out)
    );
    assert_eq!(
        wine.sc_state(name),
        Some(RUNNING),
        "the replaced service is started again"
    );
    let out = install("300ms", "auto");
    assert_eq!(code(&out), 0, "reinstall: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unchanged"),
        "{}",
        text(&out)
    );
    assert_eq!(code(&wine.svckit(&["stop", name])), 0);
    let out = wine.svckit(&["status", name, "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["command"]
            .as_str()
            .unwrap()
            .contains("--interval 300ms"),
        "{status}"
    );

    // uninstall → gone for sc too.
    let out = wine.svckit(&["uninstall", name]);
    assert_eq!(code(&out), 0, "uninstall: {}", text(&out));
    assert_eq!(wine.sc_state(name), None, "still there after uninstall");
    let out = wine.sc(&["query", name]);
    assert!(!out.status.success());

    // Unknown services: exit 3 for every command, one line naming the service.
    for command in ["status", "start", "stop", "pause", "continue", "uninstall"] {
        let out = wine.svckit(&[command, "No Such Service"]);
        assert_eq!(code(&out), 3, "{command}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim(),
            "svckit: error: service No Such Service is not installed",
            "{command}"
        );
    }

    // A control the service did not accept is refused (ERROR_INVALID_SERVICE_CONTROL), and
    // the service goes on running; uninstall stops it first.
    let out = wine.svckit(&[
        "install",
        "No Pause",
        "--type",
        "notify",
        "--",
        EXE,
        "demo",
        "memory-status",
        "--accept",
        "STOP",
        "--log",
        r"C:\logs dir\nopause.log",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&wine.svckit(&["start", "No Pause"])), 0);
    let out = wine.svckit(&["pause", "No Pause"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "svckit: error: service No Pause does not accept pause"
    );
    assert_eq!(wine.sc_state("No Pause"), Some(RUNNING));
    let out = wine.svckit(&["status", "No Pause", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["accepts"], "STOP");
    assert_eq!(code(&wine.svckit(&["uninstall", "No Pause"])), 0);
    assert_eq!(wine.sc_state("No Pause"), None);

    // Bad input is refused before anything is created.
    let out = wine.svckit(&["install", "Bad", "--", r"C:\no\such.exe"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(r"C:\no\such.exe"));
    assert_eq!(wine.sc_state("Bad"), None);
    // A program on the API that fails before it reaches the SCM (its log cannot be opened)
    // has no stderr: why it failed is in the event log.
    let out = wine.svckit(&[
        "install",
        "Bad Log",
        "--type",
        "notify",
        "--",
        EXE,
        "demo",
        "memory-status",
        "--log",
        r"C:\nope\x.log",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_ne!(
        code(&wine.svckit(&["start", "Bad Log", "--timeout", "10s"])),
        0
    );
    assert!(
        eventually(Duration::from_secs(10), || wine.events().lines().any(
            |line| line.contains("err:eventlog") && line.contains("nope") && line.contains("x.log")
        )),
        "{}",
        wine.events()
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Bad Log"])), 0);
    let out = wine.svckit(&["install", "Bad", "--restart", "sometimes", "--", EXE]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert_eq!(wine.sc_state("Bad"), None);
    // The process flags every install shares: those the SCM cannot honour are refused, named.
    for (flag, value, key) in [
        ("--umask", "077", "umask"),
        ("--chdir", r"C:\", "working_dir"),
        ("--env", "A=b", "env"),
        ("--group", "users", "group"),
    ] {
        // (A hosted program, type exec, gets its directory and environment from the host.)
        let out = wine.svckit(&["install", "Bad", "--type", "notify", flag, value, "--", EXE]);
        assert_eq!(code(&out), 2, "{flag}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("the windows backend cannot honour {key}")),
            "{flag}: {said}"
        );
        assert_eq!(wine.sc_state("Bad"), None);
    }
    // On-demand start exists on Windows too, refused by name: the SCM starts nothing on a
    // connection.
    for flags in [
        &["--listen", "tcp:127.0.0.1:8080"][..],
        &["--listen", "tcp:127.0.0.1:8080", "--accept"][..],
        &["--listen", "tcp:127.0.0.1:8080", "--idle-stop", "1m"][..],
    ] {
        let mut args = vec!["install", "Bad"];
        args.extend_from_slice(flags);
        args.extend(["--", EXE]);
        let out = wine.svckit(&args);
        assert_eq!(code(&out), 2, "{flags:?}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("the windows backend cannot honour listen")
                && said.contains("the SCM starts no service on a connection"),
            "{flags:?}: {said}"
        );
        assert_eq!(wine.sc_state("Bad"), None);
    }

    // A setting the SCM refuses half-way (Wine has no non-crash failure flag) must not leave
    // a half-installed service behind.
    let out = wine.svckit(&[
        "install",
        "Restarting",
        "--restart",
        "on-failure",
        "--",
        EXE,
    ]);
    if code(&out) == 0 {
        assert_eq!(wine.sc_state("Restarting"), Some(STOPPED));
        assert_eq!(code(&wine.svckit(&["uninstall", "Restarting"])), 0);
    } else {
        assert_eq!(
            wine.sc_state("Restarting"),
            None,
            "half-installed: {}",
            text(&out)
        );
    }

    // Started from a console, the same binary runs in the foreground (dispatcher error 1063;
    // Wine's dispatcher takes about 10 s to give up), and Ctrl-C is Stop: Wine turns SIGINT
    // into CTRL_C_EVENT for a console program.
    let console_log = wine.path(r"C:\logs dir\console.log");
    let console = wine
        .command(EXE)
        .args([
            "demo",
            "memory-status",
            "--interval",
            "100ms",
            "--log",
            r"C:\logs dir\console.log",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ran = eventually(Duration::from_secs(60), || memory_lines(&console_log) >= 2);
    let pid = console.id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = console.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(ran, "no lines in console mode: {stderr}");
    assert!(
        stderr.contains("MemoryStatus: RUNNING (console; Ctrl-C stops)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("MemoryStatus: STOPPED"),
        "Ctrl-C did not stop it: {stderr}"
    );
    assert!(
        fs::read_to_string(&console_log)
            .unwrap()
            .contains("MemoryStatus stopping (stop)"),
        "Ctrl-C must arrive as Stop"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    self_service_example_manages_itself(&wine);
    a_plain_program_is_hosted_in_a_job(&wine);
    hosted_probes_gate_the_start_and_restart_an_unhealthy_program(&wine);
}

/// The front door's management example, the same source as on Linux, on Windows: it installs
/// itself into the SCM, starts, answers status, stops and uninstalls itself.
fn self_service_example_manages_itself(wine: &Wine) {
    check(
        &cargo()
            .args(["build", "-q", "--target", TARGET])
            .args(["-p", "svckit", "--example", "self_service"])
            .output()
            .unwrap(),
        "cargo build --example self_service --target x86_64-pc-windows-gnu",
    );
    const APP: &str = r"C:\svc kit\self_service.exe";
    fs::copy(
        workspace()
            .join("target/wine")
            .join(TARGET)
            .join("debug/examples/self_service.exe"),
        wine.path(APP),
    )
    .unwrap();
    let app = |args: &[&str]| wine.command(APP).args(args).output().unwrap();
    let name = "self-service-example";
    let out = app(&["service", "install"]);
    assert_eq!(code(&out), 0, "install: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(windows: "),
        "{}",
        text(&out)
    );
    assert_eq!(wine.sc_state(name), Some(STOPPED));
    let out = app(&["service", "start"]);
    assert_eq!(code(&out), 0, "start: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(": running (PID "),
        "{}",
        text(&out)
    );
    assert_eq!(wine.sc_state(name), Some(RUNNING));
    let out = app(&["service", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(": running (PID "),
        "{}",
        text(&out)
    );
    let out = app(&["service", "stop"]);
    assert_eq!(code(&out), 0, "stop: {}", text(&out));
    assert_eq!(wine.sc_state(name), Some(STOPPED));
    let out = app(&["service", "uninstall"]);
    assert_eq!(code(&out), 0, "uninstall: {}", text(&out));
    assert_eq!(wine.sc_state(name), None);
}

/// Builds the Windows-target unit tests (svckit-core, svckit-windows, svckit-install) and runs
/// each under Wine: they must pass there.
fn run_windows_unit_tests(wine: &Wine) {
    let out = cargo()
        .args([
            "test",
            "--no-run",
            "--message-format=json",
            "--target",
            TARGET,
        ])
        .args([
            "-p",
            "svckit-core",
            "-p",
            "svckit-windows",
            "-p",
            "svckit-install",
        ])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    check(&out, "cargo test --no-run --target x86_64-pc-windows-gnu");
    let executables: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["profile"]["test"] == true)
        .filter_map(|message| message["executable"].as_str().map(String::from))
        .collect();
    assert!(
        executables
            .iter()
            .any(|exe| exe.contains("svckit_windows-")),
        "{executables:?}"
    );
    for exe in executables {
        let out = wine.command(&exe).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{exe} under Wine: {}", text(&out));
        assert!(stdout.contains("test result: ok."), "{exe}: {stdout}");
    }
}

/// `svckit logs` on Windows as on Unix: two hosted programs' stdout and stderr, each line with
/// the time its host read it, merged in time order with the runs' starts from the hosts'
/// event logs; `--all`, `--json`, `--since` and `-f` of several services.
fn logs_are_one_timeline_of_streams_services_and_runs(wine: &Wine, ticker: &str) {
    assert_eq!(code(&wine.svckit(&["start", "Crasher"])), 0);
    let out = wine.svckit(&["install", "Second", "--", ticker]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Followed from now: both services' lines come, each named.
    let follower = crate::support::Following::new(
        wine.command(EXE)
            .args(["logs", "Crasher", "Second", "-f", "-n", "0"]),
    );
    // Every service's events followed too, a new one's from its first (its event log is new):
    // once the last event is out, what comes is followed.
    let events =
        crate::support::Following::new(wine.command(EXE).args(["events", "-f", "-n", "1"]));
    assert!(
        events.until(" Crasher: ", Duration::from_secs(60)),
        "{}",
        events.seen()
    );
    assert_eq!(code(&wine.svckit(&["start", "Second"])), 0);
    assert!(
        events.until(" Second: running", Duration::from_secs(60)),
        "{}",
        events.seen()
    );
    drop(events);
    assert!(
        follower.until(" Second  [err] err 3\n", Duration::from_secs(60)),
        "{}",
        follower.seen()
    );
    assert!(
        follower.until(" Crasher [out] tick ", Duration::from_secs(30)),
        "{}",
        follower.seen()
    );
    drop(follower);
    let stdout = |args: &[&str]| {
        let out = wine.svckit(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let both = stdout(&["logs", "Crasher", "Second", "-n", "100000"]);
    let lines: Vec<&str> = both.lines().collect();
    // Every line starts with its time, and the times never go back.
    let times: Vec<&str> = lines.iter().map(|line| &line[..23]).collect();
    for time in &times {
        assert!(
            chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S%.3f").is_ok(),
            "{time}: {both}"
        );
    }
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{both}");
    // Names are padded to the longest: compared with single spaces.
    let squeeze = |text: &str| {
        text.split(' ')
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let bodies: Vec<String> = lines.iter().map(|line| squeeze(&line[24..])).collect();
    // Second's run: its start marker, then its first lines on both streams, in order.
    let at = |want: &str| bodies.iter().position(|body| body.starts_with(want));
    let started = at("Second -- started ").expect(&both);
    let first = at("Second [out] pid ").expect(&both);
    let tick = at("Second [out] tick 0 ").expect(&both);
    let err = at("Second [err] err 0").expect(&both);
    assert!(started < first && first < tick, "{both}");
    assert!(started < err, "{both}");
    assert!(at("Crasher [err] err ").is_some(), "{both}");
    // --all is every installed service's.
    let all = squeeze(&stdout(&["logs", "--all", "-n", "100000"]));
    assert!(all.contains(" Second [out] tick 0 "), "{all}");
    assert!(all.contains(" Crasher [err] err 0"), "{all}");
    // JSON: one object per line, events among them.
    let json = stdout(&["logs", "Second", "--json", "-n", "100000"]);
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    let zero = objects
        .iter()
        .find(|object| object["line"] == "err 0")
        .expect(&json);
    assert_eq!(zero["service"], "Second");
    assert_eq!(zero["stream"], "stderr");
    assert!(zero["ms"].as_u64().is_some_and(|ms| ms > 0), "{zero}");
    assert!(
        objects.iter().any(|object| object["stream"] == "svckit"
            && object["line"]
                .as_str()
                .is_some_and(|line| line.starts_with("started "))),
        "{json}"
    );
    // --since: nothing was written in the future; the last ten minutes hold it all.
    let later = chrono::Local::now() + chrono::Duration::minutes(5);
    let since = later.format("%Y-%m-%d %H:%M").to_string();
    assert_eq!(stdout(&["logs", "Second", "--since", &since]), "");
    assert!(stdout(&["logs", "Second", "--since", "10m"]).contains("tick 0 "));
    assert_eq!(code(&wine.svckit(&["uninstall", "Second"])), 0);
    assert_eq!(code(&wine.svckit(&["stop", "Crasher"])), 0);
}

/// Linux pids of the Wine processes running `exe` (its command line names it).
fn wine_processes(exe: &str) -> Vec<i32> {
    crate::support::processes_with(exe)
        .into_iter()
        .filter(|pid| !crate::support::is_gone(*pid))
        .collect()
}

/// A plain console program (tests/fixtures/ticker.c: no SCM in it, a child of its own) is a
/// service through svckit.exe's host: RUNNING, its output in the log files, its directory and
/// environment from the definition; a stop leaves no process of it, its child included; and
/// the host killed takes the program with it (the job is killed on close).
fn a_plain_program_is_hosted_in_a_job(wine: &Wine) {
    const TICKER: &str = r"C:\svc kit\ticker.exe";
    check(
        &Command::new(MINGW)
            .args(["-O2", "-o"])
            .arg(wine.path(TICKER))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ticker.c"))
            .output()
            .unwrap(),
        "build ticker.exe",
    );
    fs::create_dir_all(wine.path(r"C:\work dir")).unwrap();
    let out = wine.svckit(&[
        "install",
        "Ticker",
        "--chdir",
        r"C:\work dir",
        "--env",
        "TICKER=set by svckit",
        "--stop-timeout",
        "2s",
        "--",
        TICKER,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        wine.path(r"C:\ProgramData\svckit\registry\Ticker.toml")
            .exists()
    );
    let listed = wine.svckit(&["list"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed));
    let out = wine.svckit(&["list", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        all.as_array().is_some_and(|all| all
            .iter()
            .any(|one| one["name"] == "Ticker" && one["backend"] == "windows")),
        "{all}"
    );
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.lines().any(|line| line
            .split_whitespace()
            .eq(["Ticker", "windows", "demand", "stopped"])),
        "{listed}"
    );
    // enable and disable: the SCM's start type (Wine's sc has no qc: its Start value in the
    // registry, 2 auto, 3 demand) and the hosted definition's `start` with it.
    let start_value = || -> Option<String> {
        let out = wine
            .command("reg")
            .args([
                "query",
                r"HKLM\SYSTEM\CurrentControlSet\Services\Ticker",
                "/v",
                "Start",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|line| line.trim_start().starts_with("Start"))
            .and_then(|line| line.split_whitespace().last().map(str::to_owned))
    };
    let definition =
        || fs::read_to_string(wine.path(r"C:\ProgramData\svckit\registry\Ticker.toml")).unwrap();
    assert_eq!(start_value().as_deref(), Some("0x3"), "demand by default");
    let out = wine.svckit(&["enable", "Ticker"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Ticker: changed start\n"
    );
    assert_eq!(start_value().as_deref(), Some("0x2"));
    assert!(
        definition().contains("start = \"auto\""),
        "{}",
        definition()
    );
    let out = wine.svckit(&["enable", "Ticker"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Ticker: unchanged\n");
    let out = wine.svckit(&["disable", "Ticker"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(start_value().as_deref(), Some("0x3"));
    assert!(
        !definition().contains("start = \"auto\""),
        "{}",
        definition()
    );
    // Not installed: named, exit 3; a state directory is Unix's: exit 2.
    let out = wine.svckit(&["enable", "Nosuch"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let out = wine.svckit(&["disable", "Ticker", "--state-dir", r"C:\state"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    // apply: a definition over the installed one says what changed, or that nothing did;
    // edit: what the editor left, applied.
    let shown = wine.svckit(&["show", "Ticker"]);
    assert_eq!(code(&shown), 0, "{}", text(&shown));
    let toml = String::from_utf8_lossy(&shown.stdout).into_owned();
    fs::create_dir_all(wine.path(r"C:\defs")).unwrap();
    fs::write(
        wine.path(r"C:\defs\Ticker.toml"),
        toml.replace("set by svckit", "set by apply"),
    )
    .unwrap();
    let out = wine.svckit(&["apply", r"C:\defs"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Ticker: changed env.TICKER\n"
    );
    assert!(definition().contains("set by apply"), "{}", definition());
    let out = wine.svckit(&["apply", r"C:\defs\Ticker.toml"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Ticker: unchanged\n");
    fs::write(wine.path(r"C:\edited.toml"), &toml).unwrap();
    let out = wine
        .command(EXE)
        .args(["edit", "Ticker"])
        .env_remove("VISUAL")
        .env("EDITOR", r"cmd.exe /c copy /y 'C:\edited.toml'")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Ticker: changed env.TICKER"),
        "{}",
        text(&out)
    );
    assert!(definition().contains("set by svckit"), "{}", definition());
    // render prints the SCM's record as `sc qc` shows it: the same command line.
    let rendered = wine.svckit(&["render", "Ticker"]);
    assert_eq!(code(&rendered), 0, "{}", text(&rendered));
    let rendered = String::from_utf8_lossy(&rendered.stdout).into_owned();
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_owned())
    };
    // The SCM's record (Wine's sc has no qc): the ImagePath value in the registry.
    let queried = wine
        .command("reg")
        .args([
            "query",
            r"HKLM\SYSTEM\CurrentControlSet\Services\Ticker",
            "/v",
            "ImagePath",
        ])
        .output()
        .unwrap();
    let queried = String::from_utf8_lossy(&queried.stdout).into_owned();
    let image_path = queried
        .lines()
        .find_map(|line| line.trim().strip_prefix("ImagePath"))
        .and_then(|rest| rest.trim_start().split_once(char::is_whitespace))
        .map(|(_type, value)| value.trim().to_owned());
    let command_line = field(&rendered, "BINARY_PATH_NAME");
    assert!(
        command_line
            .as_deref()
            .is_some_and(|line| line
                .ends_with(r#"svckit.exe" host Ticker --data-dir C:\ProgramData\svckit"#)),
        "{rendered}"
    );
    assert_eq!(command_line, image_path, "{queried}");
    assert!(
        rendered
            .contains(r"C:\ProgramData\svckit\registry\Ticker.toml: the definition the host reads")
            && rendered.contains("TICKER = \"set by svckit\""),
        "{rendered}"
    );
    // A program on the API, from a file: the SCM's own failure actions, its command line.
    fs::write(
        wine.path(r"C:\svc kit\api.toml"),
        "name = \"Api\"\nprogram = 'C:\\svc kit\\svckit.exe'\nargs = [\"demo\", \"memory-status\"]\n\
         type = \"notify\"\nstart = \"auto\"\n[restart]\npolicy = \"on-failure\"\ndelay = \"2s\"\n",
    )
    .unwrap();
    let rendered = wine.svckit(&["render", "--file", r"C:\svc kit\api.toml"]);
    assert_eq!(code(&rendered), 0, "{}", text(&rendered));
    let rendered = String::from_utf8_lossy(&rendered.stdout).into_owned();
    assert_eq!(
        field(&rendered, "BINARY_PATH_NAME").as_deref(),
        Some(r#""C:\svc kit\svckit.exe" demo memory-status"#),
        "{rendered}"
    );
    assert_eq!(
        field(&rendered, "FAILURE_ACTIONS").as_deref(),
        Some("RESTART after 2s, RESTART after 4s, RESTART after 8s"),
        "{rendered}"
    );
    assert_eq!(
        field(&rendered, "START_TYPE").as_deref(),
        Some("AUTO_START")
    );
    assert_eq!(wine.sc_state("Api"), None, "render installs nothing");
    let shown = wine.svckit(&["show", "Ticker"]);
    assert_eq!(code(&shown), 0, "{}", text(&shown));
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains("TICKER = \"set by svckit\"") && shown.contains("working_dir = "),
        "{shown}"
    );
    let out = wine.svckit(&["start", "Ticker"]);
    assert_eq!(
        code(&out),
        0,
        "{}\nhost.log: {}",
        text(&out),
        fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\host.log")).unwrap_or_default()
    );
    assert_eq!(wine.sc_state("Ticker"), Some(RUNNING));
    let stdout = wine.path(r"C:\ProgramData\svckit\logs\Ticker.stdout.log");
    let stderr = wine.path(r"C:\ProgramData\svckit\logs\Ticker.stderr.log");
    assert!(
        eventually(Duration::from_secs(20), || fs::read_to_string(&stdout)
            .is_ok_and(|text| text.lines().count() >= 3)),
        "no output in {}",
        stdout.display()
    );
    // Its working directory and environment came from the definition (lines end in CRLF).
    let said = fs::read_to_string(&stdout).unwrap();
    assert_eq!(
        said.lines().nth(1).map(str::trim_end),
        Some("tick 0 in C:\\work dir with set by svckit"),
        "{said}"
    );
    // Its status is the program's, as the host records it: its pid (the SCM knows only the
    // host's), uptime and restarts.
    let program_pid: u64 = said
        .lines()
        .next()
        .and_then(|line| line.trim_end().strip_prefix("pid "))
        .and_then(|pid| pid.parse().ok())
        .expect("the program says its pid");
    let out = wine.svckit(&["status", "Ticker", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["pid"].as_u64(), Some(program_pid), "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    assert_eq!(status["state"], "running", "{status}");
    assert!(status["uptime_ms"].as_u64().is_some(), "{status}");
    // One service's status says what happened to it lately and what it wrote last, and where
    // its logs are; --state-dir is refused by name.
    let out = wine.svckit(&["status", "Ticker", "-n", "2"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let described = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        described.contains("Ticker: running") && described.contains("tick "),
        "{described}"
    );
    assert!(described.contains("Ticker.stdout.log"), "{described}");
    assert!(described.contains("started "), "its events: {described}");
    let out = wine.svckit(&["stop", "Ticker", "--state-dir", r"C:\state"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("--state-dir"), "{}", text(&out));
    // --watch into a pipe: a frame every interval, one after the other, as vmstat prints.
    let watch = crate::support::Following::new(wine.command(EXE).args([
        "status",
        "--watch",
        "--interval",
        "1s",
    ]));
    let frames = || {
        watch
            .seen()
            .matches("svckit status, every 1s: q quits")
            .count()
    };
    assert!(
        eventually(Duration::from_secs(60), || frames() >= 2),
        "{}",
        watch.seen()
    );
    assert!(
        watch
            .seen()
            .lines()
            .any(|line| line.starts_with("Ticker ") && line.contains("running")),
        "{}",
        watch.seen()
    );
    drop(watch);
    // Every hosted program's status: a table, or a JSON array, as on Unix.
    let out = wine.svckit(&["status"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("Ticker ") && line.contains("running")),
        "{table}"
    );
    let out = wine.svckit(&["status", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        all.as_array().is_some_and(|all| all
            .iter()
            .any(|one| one["name"] == "Ticker" && one["state"] == "running")),
        "{all}"
    );
    let errors = fs::read_to_string(&stderr).unwrap();
    assert_eq!(
        errors.lines().next().map(str::trim_end),
        Some("err 0"),
        "{errors}"
    );
    assert!(
        eventually(Duration::from_secs(10), || wine_processes("ticker.exe")
            .len()
            >= 2),
        "the program and its child run: {:?}",
        wine_processes("ticker.exe")
    );
    assert!(
        wine.lists("ticker.exe"),
        "Wine's process list shows it: {:?}",
        wine.process_list()
    );
    // What its job uses, as its host counts it every second: both processes, their memory
    // and CPU time.
    let usage = || -> serde_json::Value {
        let out = wine.svckit(&["status", "Ticker", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    assert!(
        eventually(Duration::from_secs(10), || {
            let status = usage();
            status["tasks"].as_u64() >= Some(2)
                && status["memory_bytes"]
                    .as_u64()
                    .is_some_and(|bytes| bytes > 0)
                && status["cpu_usec"].as_u64().is_some()
        }),
        "{}",
        usage()
    );
    // Paused: every process of its job is suspended, so its output stops; continued, it
    // goes on.
    let out = wine.svckit(&["pause", "Ticker"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Ticker"), Some(PAUSED));
    let out = wine.svckit(&["status", "Ticker", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "paused", "{status}");
    let ticks = || {
        fs::read_to_string(&stdout)
            .unwrap_or_default()
            .lines()
            .count()
    };
    // (What the capture thread had read before the suspension is written by now.)
    std::thread::sleep(Duration::from_millis(300));
    let paused_at = ticks();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ticks(), paused_at, "a paused program wrote on");
    let out = wine.svckit(&["continue", "Ticker"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Ticker"), Some(RUNNING));
    assert!(
        eventually(Duration::from_secs(10), || ticks() > paused_at + 3),
        "a continued program wrote nothing"
    );
    // No reload command: a reload is refused, named.
    let out = wine.svckit(&["reload", "Ticker"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "svckit: error: service Ticker does not accept paramchange"
    );
    // Several names: each is tried, what came of each said, the first failure's exit status
    // (3: not installed) once all were.
    let out = wine.svckit(&["restart", "Nosuch", "Ticker"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Nosuch"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Ticker"),
        "{}",
        text(&out)
    );
    assert_eq!(wine.sc_state("Ticker"), Some(RUNNING));
    // A running service whose definition changed is replaced and started again.
    let out = wine.svckit(&["apply", r"C:\defs\Ticker.toml"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Ticker: changed env.TICKER; restarted\n"
    );
    assert_eq!(wine.sc_state("Ticker"), Some(RUNNING));
    // Stopped (with every hosted program: --all): it ignores Ctrl-C, so its processes are
    // ended after the stop timeout; no process of it is left, its child included.
    let out = wine.svckit(&["stop", "--all"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Ticker"), Some(STOPPED));
    assert!(
        eventually(Duration::from_secs(10), || wine.gone("ticker.exe")),
        "processes of the stopped service are left: {:?}",
        wine_processes("ticker.exe")
    );
    let said = fs::read_to_string(&stderr).unwrap();
    assert!(
        said.contains(r"svckit host: C:\svc kit\ticker.exe still running 2s after Ctrl-C: its processes are ended"),
        "{said}"
    );
    // Regression: the host reported STOPPED before it stored its outcome, so the dispatcher
    // returned first and every clean stop was an error ("the SCM never started the
    // service"), in the host's log and the event log.
    let host_log =
        fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\host.log")).unwrap_or_default();
    assert!(!host_log.contains("never started"), "{host_log}");
    assert!(
        !wine.events().contains("never started"),
        "{}",
        wine.events()
    );

    // A program that ends on Ctrl-C is stopped by it: it says goodbye, ends with 0, and
    // nothing of it is left.
    // Installed from a definition file, as on Unix, a flag given over its key.
    fs::write(
        wine.path(r"C:\svc kit\polite.toml"),
        "name = \"Polite\"\nprogram = 'C:\\svc kit\\ticker.exe'\nargs = [\"polite\"]\n\
         [stop]\ntimeout = \"1m\"\n",
    )
    .unwrap();
    let out = wine.svckit(&[
        "install",
        "--file",
        r"C:\svc kit\polite.toml",
        "--stop-timeout",
        "30s",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let shown = wine.svckit(&["show", "Polite"]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains("timeout = \"30s\"") && shown.contains("args = [\"polite\"]"),
        "{shown}"
    );
    assert_eq!(code(&wine.svckit(&["start", "Polite"])), 0);
    let polite_out = wine.path(r"C:\ProgramData\svckit\logs\Polite.stdout.log");
    assert!(
        eventually(Duration::from_secs(20), || fs::read_to_string(&polite_out)
            .is_ok_and(|text| text.lines().count() >= 3)),
        "no output in {}",
        polite_out.display()
    );
    let out = wine.svckit(&["stop", "Polite"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Polite"), Some(STOPPED));
    assert_eq!(
        sc_field(&wine.sc(&["query", "Polite"]), "SERVICE_EXIT_CODE"),
        Some(0)
    );
    let said = fs::read_to_string(&polite_out).unwrap();
    assert!(said.contains("goodbye on Ctrl-C"), "{said}");
    let host_said =
        fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\Polite.stderr.log")).unwrap();
    assert!(!host_said.contains("svckit host"), "{host_said}");
    assert!(
        eventually(Duration::from_secs(10), || wine.gone("ticker.exe")),
        "processes of the stopped service are left: {:?}",
        wine_processes("ticker.exe")
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Polite"])), 0);

    // Commands around the program, given as Windows command lines (backslashes kept):
    // exec_start_pre before it, exec_start_post once it runs and exec_stop before the Ctrl-C,
    // both with its pid as %MAINPID%, their output in its log.
    const CMD: &str = r"C:\windows\system32\cmd.exe";
    let out = wine.svckit(&[
        "install",
        "Hooked",
        "--exec-start-pre",
        &format!("{CMD} /c echo pre ran"),
        "--exec-start-post",
        &format!("{CMD} /c echo post %MAINPID%"),
        "--exec-stop",
        &format!("{CMD} /c echo stop %MAINPID%"),
        "--reload-command",
        &format!("{CMD} /c echo reload %MAINPID%"),
        "--",
        TICKER,
        "polite",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&wine.svckit(&["start", "Hooked"])), 0);
    let hooked = wine.path(r"C:\ProgramData\svckit\logs\Hooked.stdout.log");
    assert!(
        eventually(Duration::from_secs(20), || fs::read_to_string(&hooked)
            .is_ok_and(|text| text.contains("post "))),
        "{}",
        fs::read_to_string(&hooked).unwrap_or_default()
    );
    // ParamChange runs the reload command.
    let out = wine.svckit(&["reload", "Hooked"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(&hooked)
            .is_ok_and(|text| text.contains("reload "))),
        "{}",
        fs::read_to_string(&hooked).unwrap_or_default()
    );
    assert_eq!(wine.sc_state("Hooked"), Some(RUNNING));
    assert_eq!(code(&wine.svckit(&["stop", "Hooked"])), 0);
    let said = fs::read_to_string(&hooked).unwrap();
    let lines: Vec<&str> = said.lines().map(str::trim_end).collect();
    let pid = lines
        .iter()
        .find_map(|line| line.strip_prefix("pid "))
        .expect("the program ran");
    let at = |wanted: &str| lines.iter().position(|line| *line == wanted);
    assert_eq!(at("pre ran"), Some(0), "{said}");
    assert_eq!(at(&format!("pid {pid}")), Some(1), "{said}");
    let post = at(&format!("post {pid}")).expect(&said);
    let reload = at(&format!("reload {pid}")).expect(&said);
    let stop = at(&format!("stop {pid}")).expect(&said);
    assert!(post < reload && reload < stop, "{said}");
    let goodbye = at("goodbye on Ctrl-C").expect(&said);
    assert!(post < stop && stop < goodbye, "{said}");
    assert_eq!(code(&wine.svckit(&["uninstall", "Hooked"])), 0);

    // A pre-start command that fails fails the start: the program never runs, and the
    // service stops with the command's exit code.
    let out = wine.svckit(&[
        "install",
        "Gated",
        "--exec-start-pre",
        &format!("{CMD} /c exit 7"),
        "--",
        TICKER,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_ne!(
        code(&wine.svckit(&["start", "Gated", "--timeout", "10s"])),
        0
    );
    assert!(eventually(Duration::from_secs(10), || wine
        .sc_state("Gated")
        == Some(STOPPED)));
    assert_eq!(
        sc_field(&wine.sc(&["query", "Gated"]), "SERVICE_EXIT_CODE"),
        Some(7)
    );
    let gated = |stream: &str| {
        fs::read_to_string(wine.path(&format!(r"C:\ProgramData\svckit\logs\Gated.{stream}.log")))
            .unwrap_or_default()
    };
    assert!(!gated("stdout").contains("pid "), "{}", gated("stdout"));
    assert!(
        gated("stderr").contains(&format!(
            "svckit host: exec_start_pre `{CMD} /c exit 7` ended with exit code 7"
        )),
        "{}",
        gated("stderr")
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Gated"])), 0);
    // Uninstalled: the SCM's record and svckit's definition go.
    let out = wine.svckit(&["uninstall", "Ticker"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Ticker"), None);
    let definition = wine.path(r"C:\ProgramData\svckit\registry\Ticker.toml");
    assert!(!definition.exists(), "{} is left", definition.display());

    // cmd.exe, found in PATH, running ping: a stop ends both.
    let out = wine.svckit(&[
        "install",
        "Pinger",
        "--",
        "cmd.exe",
        "/c",
        "ping -n 100000 127.0.0.1",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // (Once, under the load of the Ansible test beside it, this start exited 1: what it
    // says is shown, should it happen again.)
    let out = wine.svckit(&["start", "Pinger"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // (A Linux process whose command line says ping is cmd.exe's too, before ping.exe runs:
    // Wine's own list is what says ping.exe runs.)
    assert!(
        eventually(Duration::from_secs(20), || wine.lists("ping.exe")),
        "ping never ran: Wine's process list does not show it"
    );
    assert!(!wine_processes("ping").is_empty());
    assert_eq!(wine.sc_state("Pinger"), Some(RUNNING));
    assert_eq!(code(&wine.svckit(&["stop", "Pinger"])), 0);
    assert!(
        eventually(Duration::from_secs(10), || wine_processes("ping")
            .is_empty()
            && wine.gone("ping.exe")
            && wine.gone("cmd.exe")),
        "left: {:?} {:?}",
        wine_processes("ping"),
        wine_processes("cmd.exe")
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Pinger"])), 0);

    // A fast writer's output is rotated at the size given, after whole lines, none lost.
    let out = wine.svckit(&[
        "install",
        "Flood",
        "--log-max-size",
        "64k",
        "--log-keep",
        "100",
        "--",
        TICKER,
        "flood",
        "20000",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let log = wine.path(r"C:\ProgramData\svckit\logs\Flood.stdout.log");
    // `logs -f` follows it across every rotation. It shows a first line (-n 1) once it
    // follows, and only then the flood starts. (Regression: it followed by size and lost
    // 4,325 of the 20,000 lines.)
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    fs::write(&log, "before the flood\n").unwrap();
    let follower = crate::support::Following::new(
        wine.command(EXE)
            .args(["logs", "Flood", "-f", "-n", "1", "--plain"]),
    );
    assert!(
        follower.until("before the flood\n", Duration::from_secs(60)),
        "{}",
        follower.seen()
    );
    assert_eq!(code(&wine.svckit(&["start", "Flood"])), 0);
    let all_lines = || -> Vec<String> {
        let mut files: Vec<PathBuf> = (1..=100)
            .rev()
            .map(|n| PathBuf::from(format!("{}.{n}", log.display())))
            .filter(|path| path.exists())
            .collect();
        files.push(log.clone());
        files
            .iter()
            .flat_map(|path| {
                fs::read_to_string(path)
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(30), || all_lines().len() >= 20000),
        "{} lines",
        all_lines().len()
    );
    assert!(
        follower.until("line 019999 ", Duration::from_secs(60)),
        "logs -f: {} lines",
        follower.seen().lines().count()
    );
    let followed = follower.seen();
    let followed: Vec<&str> = followed.lines().collect();
    assert_eq!(followed[0], "before the flood");
    let gaps: Vec<String> = followed
        .windows(2)
        .filter(|pair| {
            let n = |line: &str| line.get(5..11).and_then(|n| n.parse::<i64>().ok());
            matches!((n(pair[0]), n(pair[1])), (Some(a), Some(b)) if b != a + 1)
        })
        .take(5)
        .map(|pair| format!("{} -> {}", pair[0], pair[1]))
        .collect();
    assert_eq!(
        followed.len(),
        20001,
        "logs -f lost or repeated lines: {gaps:?}; in the files: {}",
        all_lines().len()
    );
    for (n, line) in followed[1..].iter().enumerate() {
        assert!(
            line.starts_with(&format!("line {n:06} ")),
            "logs -f, line {n}: {line}"
        );
    }
    drop(follower);
    let lines: Vec<String> = all_lines()
        .into_iter()
        .filter(|line| line != "before the flood")
        .collect();
    assert_eq!(lines.len(), 20000);
    for (n, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with(&format!("line {n:06} ")),
            "line {n}: {line}"
        );
    }
    let rotated = fs::metadata(format!("{}.1", log.display()));
    assert!(
        rotated.is_ok_and(|meta| meta.len() <= 2 * 64 * 1024),
        "rotated at 64k"
    );
    let out = wine.svckit(&["logs", "Flood", "-n", "1", "--plain"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("line 019999 "),
        "{}",
        text(&out)
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Flood"])), 0);

    // A crasher is restarted by its policy, with the backoff, until the start limit (5 starts
    // within 10 s): then the service stops with the program's exit code as its own.
    let out = wine.svckit(&[
        "install",
        "Crasher",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        TICKER,
        "crash",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&wine.svckit(&["start", "Crasher"])), 0);
    assert!(
        eventually(Duration::from_secs(30), || wine.sc_state("Crasher")
            == Some(STOPPED)),
        "the crasher was never given up on"
    );
    assert_eq!(
        sc_field(&wine.sc(&["query", "Crasher"]), "SERVICE_EXIT_CODE"),
        Some(3)
    );
    let runs = fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\Crasher.stdout.log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with("tick 0 "))
        .count();
    assert_eq!(runs, 5, "started, then restarted until the limit");
    let out = wine.svckit(&["status", "Crasher", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["restarts"], 4, "{status}");
    assert_eq!(status["last_exit"]["code"], 3, "{status}");
    assert_eq!(status["pid"], serde_json::Value::Null, "{status}");
    let said = fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\Crasher.stderr.log"))
        .unwrap_or_default();
    assert!(
        said.contains("svckit host: started 5 times within 10s, the start limit"),
        "{said}"
    );
    assert!(
        wine.events()
            .lines()
            .any(|line| line.contains("err:eventlog")
                && line.contains("svckit host: started 5 times within 10s, the start limit")),
        "{}",
        wine.events()
    );
    assert!(
        eventually(Duration::from_secs(10), || wine.gone("ticker.exe")),
        "{:?}",
        wine_processes("ticker.exe")
    );
    // Its story, in the words the Unix supervisor uses (the lifecycle machine's), each line
    // with its time: starts, exits and what came of them, restarts and their delays, the
    // give-up.
    let out = wine.svckit(&["events", "Crasher", "-n", "100"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let told = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = told.lines().collect();
    for line in &lines {
        let (time, rest) = line.split_at(23);
        assert!(
            time.as_bytes()[4] == b'-' && time.as_bytes()[19] == b'.',
            "{line}"
        );
        assert!(rest.starts_with(" Crasher: "), "{line}");
    }
    let story: [&[&str]; 8] = [
        &["starting"],
        &[r"started C:\svc kit\ticker.exe: PID "],
        &["running"],
        &[
            "exited with exit code 3 after ",
            "; restarting in 100ms (restart 1)",
        ],
        &["restarting (restart 1)"],
        &["restarting in 200ms (restart 2)"],
        &[
            "exited with exit code 3 after ",
            "; gave up: started 5 times within 10s, the start limit",
        ],
        &["failed: nothing of it is left"],
    ];
    crate::support::tells_in_order(&told, &story);
    // Every service's, merged: the crasher's among them; a state directory is Unix's.
    let out = wine.svckit(&["events", "-n", "1000"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" Crasher: failed: nothing of it is left"),
        "{}",
        text(&out)
    );
    let out = wine.svckit(&["events", "--state-dir", r"C:\state"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("--state-dir is the Unix supervisor's"),
        "{}",
        text(&out)
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Crasher"])), 0);
    // Installed anew under its name: none of the old one's status or output. (Regression: it
    // showed `restarts 4, last exit 3` and the crasher's lines.)
    let out = wine.svckit(&["install", "Crasher", "--", TICKER]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = wine.svckit(&["status", "Crasher", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["last_exit"], serde_json::Value::Null, "{status}");
    assert!(
        status["restarts"].is_null() || status["restarts"] == 0,
        "{status}"
    );
    let out = wine.svckit(&["logs", "Crasher"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "the old one's output or events"
    );
    logs_are_one_timeline_of_streams_services_and_runs(wine, TICKER);
    assert_eq!(code(&wine.svckit(&["uninstall", "Crasher"])), 0);

    // Exit actions per code: with restart_prevent_exit_status 3, the crasher is not
    // restarted, whatever the policy; with success_exit_status 3, its end is a success.
    for (name, flag, exit_code) in [
        ("Prevented", "--restart-prevent-exit-status", 3),
        ("Succeeded", "--success-exit-status", 0),
    ] {
        let out = wine.svckit(&[
            "install",
            name,
            "--restart",
            "on-failure",
            "--restart-delay",
            "100ms",
            flag,
            "3",
            "--",
            TICKER,
            "crash",
        ]);
        assert_eq!(code(&out), 0, "{}", text(&out));
        assert_eq!(code(&wine.svckit(&["start", name])), 0);
        assert!(
            eventually(Duration::from_secs(20), || wine.sc_state(name)
                == Some(STOPPED)),
            "{name} still runs"
        );
        assert_eq!(
            sc_field(&wine.sc(&["query", name]), "SERVICE_EXIT_CODE"),
            Some(exit_code),
            "{name}"
        );
        let runs = fs::read_to_string(
            wine.path(&format!(r"C:\ProgramData\svckit\logs\{name}.stdout.log")),
        )
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with("tick 0 "))
        .count();
        assert_eq!(runs, 1, "{name}: not restarted");
        assert_eq!(code(&wine.svckit(&["uninstall", name])), 0);
    }

    // A program that outlasts the wait for its stop: uninstall --force ends the host with
    // TerminateProcess, and the job (killed on close) takes the program and its child along.
    let out = wine.svckit(&["install", "Stubborn", "--stop-timeout", "60s", "--", TICKER]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&wine.svckit(&["start", "Stubborn"])), 0);
    assert!(eventually(Duration::from_secs(10), || wine_processes(
        "ticker.exe"
    )
    .len()
        >= 2));
    // A stop that times out first leaves it STOP_PENDING, when Wine's SCM names no process
    // of it: the host's own record does. (Regression: "uninstalled" was said while its tree
    // ran on.)
    let out = wine.svckit(&["stop", "Stubborn", "--timeout", "1s"]);
    assert_eq!(code(&out), 6, "{}", text(&out));
    let out = wine.svckit(&["uninstall", "Stubborn", "--force", "--timeout", "1s"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        eventually(Duration::from_secs(20), || wine.gone("ticker.exe")),
        "the program outlived its terminated host: {:?}",
        wine_processes("ticker.exe")
    );
    assert!(
        eventually(Duration::from_secs(10), || wine
            .sc_state("Stubborn")
            .is_none()),
        "{}",
        text(&wine.sc(&["query", "Stubborn"]))
    );

    // A definition the host cannot read: the start fails, and why is in the host's log and
    // the event log.
    let out = wine.svckit(&["install", "Broken", "--", TICKER]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    fs::write(
        wine.path(r"C:\ProgramData\svckit\registry\Broken.toml"),
        "name = \"Broken\"\nprogram = 3\n",
    )
    .unwrap();
    assert_ne!(
        code(&wine.svckit(&["start", "Broken", "--timeout", "10s"])),
        0
    );
    let host_log =
        fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\host.log")).unwrap_or_default();
    assert!(host_log.contains("svckit host Broken: "), "{host_log}");
    assert!(
        eventually(Duration::from_secs(10), || wine.events().lines().any(
            |line| line.contains("err:eventlog") && line.contains("svckit host Broken: ")
        )),
        "{}",
        wine.events()
    );
    assert_eq!(code(&wine.svckit(&["uninstall", "Broken"])), 0);

    // The host killed: the job takes the program and its child with it. (Wine's SCM does not
    // notice a killed service process and keeps it RUNNING: uninstall --force is for that.)
    let out = wine.svckit(&["install", "Ticker Killed", "--", TICKER]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(code(&wine.svckit(&["start", "Ticker Killed"])), 0);
    assert!(eventually(Duration::from_secs(10), || wine_processes(
        "ticker.exe"
    )
    .len()
        >= 2));
    // Its command line's words are NUL-separated in /proc: `host` then the name.
    let hosts: Vec<i32> = wine_processes("svckit.exe")
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains("host\0Ticker Killed\0"))
        })
        .collect();
    assert_eq!(hosts.len(), 1, "the host process: {hosts:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(hosts[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(20), || wine.gone("ticker.exe")),
        "the program outlived its killed host: {:?}",
        wine_processes("ticker.exe")
    );
    // Its status says so, with no pid. (Regression: "running", with the program's dead pid.)
    let out = wine.svckit(&["status", "Ticker Killed", "--json"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "stopped", "{status}");
    assert_eq!(status["pid"], serde_json::Value::Null, "{status}");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("is gone")),
        "{status}"
    );
    // Its process is dead, yet the SCM says RUNNING: a plain uninstall cannot stop it, and
    // says so. (Regression: the SCM's "pipe closed" was taken for a closed stdout, and
    // svckit ended with 0, silently, the service left.)
    assert_eq!(wine.sc_state("Ticker Killed"), Some(RUNNING));
    let out = wine.svckit(&["uninstall", "Ticker Killed", "--timeout", "3s"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        said.starts_with("svckit: error: send stop to service Ticker Killed: its process is gone")
            && said.contains("svckit uninstall --force removes it")
            && said.lines().count() == 1,
        "{said}"
    );
    assert_eq!(wine.sc_state("Ticker Killed"), Some(RUNNING));
    // --force removes it, and its definition.
    let out = wine.svckit(&["uninstall", "Ticker Killed", "--force", "--timeout", "3s"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(wine.sc_state("Ticker Killed"), None);
    assert!(
        !wine
            .path(r"C:\ProgramData\svckit\registry\Ticker Killed.toml")
            .exists()
    );
}

/// The host runs a hosted program's probes: the plain ticker (tests/fixtures/ticker.c) is
/// START_PENDING until its readiness check connects (to a listener of the test's, on the
/// host's network that Wine shares), RUNNING then; with that listener closed its liveness
/// check fails twice and the host restarts it (a new program, which waits for readiness again);
/// a readiness command (`cmd.exe /S /C exit 1`, from --ready-cmd) that never passes fails the
/// start at its ready timeout. A stop leaves nothing of either.
fn hosted_probes_gate_the_start_and_restart_an_unhealthy_program(wine: &Wine) {
    const TICKER: &str = r"C:\svc kit\ticker.exe";
    let port = crate::support::free_port();
    let target = format!("127.0.0.1:{port}");
    let out = wine.svckit(&[
        "install",
        "Probed",
        "--ready-tcp",
        &target,
        "--ready-interval",
        "200ms",
        "--ready-timeout",
        "5min",
        "--health-tcp",
        &target,
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--stop-timeout",
        "2s",
        "--",
        TICKER,
        "polite",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let events = || {
        fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\Probed.events.log"))
            .unwrap_or_default()
    };
    let mut start = wine
        .command(EXE)
        .args(["start", "Probed"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // A check ran and failed, and the SCM still hears START_PENDING.
    assert!(
        eventually(Duration::from_secs(30), || events()
            .contains("not ready yet: connect to")),
        "{}",
        events()
    );
    assert_eq!(wine.sc_state("Probed"), Some(START_PENDING), "{}", events());
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    assert!(start.wait().unwrap().success(), "{}", events());
    assert_eq!(wine.sc_state("Probed"), Some(RUNNING));
    let status = |field: &str| {
        let out = wine.svckit(&["status", "Probed", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        status[field].clone()
    };
    let first = status("pid");
    assert!(first.as_u64().is_some(), "{first}");
    // Its status shows the probe that runs, as the host last recorded it.
    assert!(
        eventually(Duration::from_secs(10), || {
            let probes = status("probes");
            probes[0]["role"] == "liveness"
                && probes[0]["health"] == "healthy"
                && probes[0]["check"] == format!("connect to {target}")
        }),
        "{}",
        status("probes")
    );
    // Unhealthy: restarted by its policy, a new program that waits to be ready again.
    drop(listener);
    assert!(
        eventually(Duration::from_secs(30), || events().contains("unhealthy")),
        "{}",
        events()
    );
    assert!(
        events().contains("liveness check failed: connect to"),
        "{}",
        events()
    );
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    assert!(
        eventually(Duration::from_secs(30), || {
            let pid = status("pid");
            pid.as_u64().is_some() && pid != first && status("state") == "running"
        }),
        "{}",
        events()
    );
    assert_eq!(wine.sc_state("Probed"), Some(RUNNING));
    let out = wine.svckit(&["stop", "Probed"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    drop(listener);
    assert!(
        eventually(Duration::from_secs(20), || wine_processes("ticker.exe")
            .is_empty()),
        "the ticker outlived its stop"
    );
    let out = wine.svckit(&["uninstall", "Probed"]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A readiness command that never passes: the start fails at its ready timeout.
    let out = wine.svckit(&[
        "install",
        "Never",
        "--ready-cmd",
        "exit 1",
        "--ready-interval",
        "200ms",
        "--ready-timeout",
        "2s",
        "--",
        TICKER,
        "polite",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = wine.svckit(&["start", "Never"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    let told = fs::read_to_string(wine.path(r"C:\ProgramData\svckit\logs\Never.events.log"))
        .unwrap_or_default();
    assert!(
        told.contains("not ready yet: `cmd.exe /S /C exit 1` exited 1"),
        "{told}"
    );
    assert!(
        eventually(Duration::from_secs(20), || wine_processes("ticker.exe")
            .is_empty()),
        "the ticker of a start that failed lives on"
    );
    let out = wine.svckit(&["uninstall", "Never"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}
