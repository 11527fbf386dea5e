//! The systemd backend against a real, running systemd: PID 1 of its own PID, mount, cgroup,
//! UTS and IPC namespaces, booted for the test (no systemd runs on the host), so `install`,
//! `start`, `stop`, `pause`, `status`, `uninstall` go through `systemctl` to a live manager.
//!
//! The manager only sees units svckit wrote (its `/etc/systemd/system` is a temp dir), a
//! handful of empty targets and the system bus (`systemctl freeze` needs it):
//! `SYSTEMD_UNIT_PATH` leaves out the distribution's units, so nothing of a normal boot
//! (tmpfiles, journald, udev, the host's init scripts) runs. It boots a target that wants
//! multi-user.target, as a booted host does, so enabled units stay loaded when they stop.
//! `SYSTEMD_GENERATOR_PATH` points at an empty directory for the same reason. Its cgroup
//! tree is a fresh child of the test's own cgroup v2 group, removed afterwards.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::support::{TempDir, code, eventually, memory_lines, require_root, stderr};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// Targets and slices the units refer to (default dependencies, WantedBy=).
const EMPTY_UNITS: [&str; 8] = [
    "sockets.target",
    "sysinit.target",
    "basic.target",
    "multi-user.target",
    "default.target",
    "shutdown.target",
    "network.target",
    "system.slice",
];

/// Runs inside the new namespaces (as `sh -c BOOT sh UNITS BASE EMPTY [ETC]`): private mounts,
/// a cgroup2 view rooted at the test's group, a private /run, the temp unit dir over
/// /etc/systemd/system (and ETC's passwd, group and shadow over /etc's: a user of the test's
/// own; a private /var/lib/systemd, so logind's lingering stays in the test), then systemd as
/// PID 1.
const BOOT: &str = r#"set -e
mount --make-rprivate /
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind "$1" /etc/systemd/system
if [ -n "${4:-}" ]; then
  for file in passwd group shadow; do mount --bind "$4/$file" "/etc/$file"; done
  mount -t tmpfs -o mode=755 tmpfs /var/lib/systemd
fi
export container=svckit-test SYSTEMD_UNIT_PATH="/etc/systemd/system:$2"
export SYSTEMD_GENERATOR_PATH="$3" SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$3"
exec /lib/systemd/systemd --unit=svckit-test.target --log-target=console
"#;

/// Moves itself into the fresh cgroup `$1`, then unshares (`$2…` is the inner command).
const ENTER: &str = r#"set -e
echo $$ > "$1/cgroup.procs"
shift
exec unshare --pid --fork --mount --mount-proc --cgroup --uts --ipc "$@"
"#;

/// A systemd booted for one test; killed, with its cgroups removed, on drop.
struct Manager {
    dir: TempDir,
    unshare: Child,
    /// systemd's pid on the host.
    pid: i32,
    cgroup: PathBuf,
}

/// A user of the test's own, in the booted systemd only (its passwd, group and shadow are
/// copies with one more line): `svckit-it`, with a home in the test's directory.
struct TestUser {
    uid: u32,
    home: PathBuf,
}

impl TestUser {
    const NAME: &'static str = "svckit-it";
}

impl Manager {
    fn boot(name: &str) -> Manager {
        Manager::boot_with(name, false).0
    }

    /// A systemd that also runs logind and user managers (user@.service as Debian ships it,
    /// less its PAM session: pam_systemd is what would set XDG_RUNTIME_DIR), and knows a user
    /// of the test's own.
    fn boot_with_user(name: &str) -> (Manager, TestUser) {
        let (manager, user) = Manager::boot_with(name, true);
        (manager, user.expect("a test user"))
    }

    fn boot_with(name: &str, with_user: bool) -> (Manager, Option<TestUser>) {
        let dir = TempDir::new(name);
        let units = dir.join("etc-systemd-system");
        let base = dir.join("base-units");
        let empty = dir.join("no-generators");
        for path in [&units, &base, &empty] {
            fs::create_dir_all(path).unwrap();
        }
        for unit in EMPTY_UNITS {
            fs::write(
                base.join(unit),
                format!("[Unit]\nDescription={unit} (svckit test)\nDefaultDependencies=no\n"),
            )
            .unwrap();
        }
        // The system bus, as the distribution runs it (systemctl freeze/thaw go through it).
        for unit in ["dbus.socket", "dbus.service"] {
            fs::copy(Path::new("/lib/systemd/system").join(unit), base.join(unit))
                .unwrap_or_else(|err| panic!("{unit} (Debian's dbus package): {err}"));
        }
        let mut wants = "dbus.socket dbus.service multi-user.target".to_owned();
        let mut etc = String::new();
        let mut user = None;
        if with_user {
            for unit in [
                "systemd-logind.service",
                "user-runtime-dir@.service",
                "user.slice",
            ] {
                fs::copy(Path::new("/lib/systemd/system").join(unit), base.join(unit))
                    .unwrap_or_else(|err| panic!("{unit} (Debian's systemd package): {err}"));
            }
            let shipped = fs::read_to_string("/lib/systemd/system/user@.service").unwrap();
            let ours: String = shipped
                .lines()
                .filter(|line| !line.starts_with("PAMName="))
                .map(|line| format!("{line}\n"))
                .collect();
            fs::write(
                base.join("user@.service"),
                format!("{ours}Environment=XDG_RUNTIME_DIR=/run/user/%i\n"),
            )
            .unwrap();
            wants.push_str(" systemd-logind.service");
            // A uid no account of the host has.
            let passwd = fs::read_to_string("/etc/passwd").unwrap();
            let taken = |uid: u32| {
                passwd
                    .lines()
                    .any(|line| line.split(':').nth(2) == Some(uid.to_string().as_str()))
            };
            let uid = (4242..).find(|uid| !taken(*uid)).unwrap();
            let home = dir.join("home");
            fs::create_dir_all(&home).unwrap();
            nix::unistd::chown(&home, Some(uid.into()), Some(uid.into())).unwrap();
            let copies = dir.join("etc");
            fs::create_dir_all(&copies).unwrap();
            let name = TestUser::NAME;
            for (file, line) in [
                (
                    "passwd",
                    format!(
                        "{name}:x:{uid}:{uid}:svckit test:{}:/bin/sh",
                        home.display()
                    ),
                ),
                ("group", format!("{name}:x:{uid}:")),
                ("shadow", format!("{name}:*:19000:0:99999:7:::")),
            ] {
                let mut text = fs::read_to_string(Path::new("/etc").join(file)).unwrap();
                text.push_str(&line);
                text.push('\n');
                fs::write(copies.join(file), text).unwrap();
            }
            fs::set_permissions(copies.join("shadow"), fs::Permissions::from_mode(0o640)).unwrap();
            etc = copies.display().to_string();
            user = Some(TestUser { uid, home });
        }
        fs::write(
            base.join("svckit-test.target"),
            format!("[Unit]\nDescription=svckit test\nWants={wants}\n"),
        )
        .unwrap();
        let cgroup = cgroup2_mount()
            .join(own_cgroup2().trim_start_matches('/'))
            .join(format!("svckit-it-{name}-{}", std::process::id()));
        assert!(cgroup.starts_with("/sys/fs/cgroup"), "{}", cgroup.display());
        fs::create_dir(&cgroup).unwrap_or_else(|err| panic!("mkdir {}: {err}", cgroup.display()));
        let unshare = Command::new("sh")
            .args(["-c", ENTER, "sh"])
            .arg(&cgroup)
            .args(["sh", "-c", BOOT, "sh"])
            .args([&units, &base, &empty])
            .arg(&etc)
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("systemd.log")).unwrap())
            .stderr(fs::File::create(dir.join("systemd.err")).unwrap())
            .spawn()
            .unwrap();
        let mut manager = Manager {
            dir,
            pid: 0,
            unshare,
            cgroup,
        };
        let unshare_pid = manager.unshare.id();
        assert!(
            eventually(Duration::from_secs(10), || {
                manager.pid = child_of(unshare_pid).unwrap_or(0);
                manager.pid != 0 && comm(manager.pid).as_deref() == Some("systemd")
            }),
            "systemd did not start: {}",
            manager.logs()
        );
        let mut state = String::new();
        assert!(
            eventually(Duration::from_secs(20), || {
                state = manager.systemctl(&["is-system-running"]);
                state == "running" || state == "degraded"
            }),
            "systemd did not come up ({state}): {}",
            manager.logs()
        );
        (manager, user)
    }

    /// `argv` inside, as `user`, with the environment a login would give (HOME, and the
    /// runtime directory pam_systemd would set).
    fn run_as(&self, user: &TestUser, argv: &[&str]) -> Output {
        let uid = user.uid.to_string();
        let home = format!("HOME={}", user.home.display());
        let runtime = format!("XDG_RUNTIME_DIR=/run/user/{uid}");
        let mut all = vec![
            "setpriv",
            "--reuid",
            &uid,
            "--regid",
            &uid,
            "--clear-groups",
        ];
        all.extend(["env", &home, &runtime, "USER=svckit-it"]);
        all.extend_from_slice(argv);
        self.run(&all)
    }

    fn logs(&self) -> String {
        format!(
            "{}{}",
            fs::read_to_string(self.dir.join("systemd.log")).unwrap_or_default(),
            fs::read_to_string(self.dir.join("systemd.err")).unwrap_or_default()
        )
    }

    /// Runs `argv` inside the manager's mount and PID namespaces.
    fn run(&self, argv: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.pid.to_string(), "-m", "-p", "--wd=/"])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `systemctl ARGS` inside; its stdout, trimmed.
    fn systemctl(&self, args: &[&str]) -> String {
        let mut argv = vec!["systemctl"];
        argv.extend_from_slice(args);
        String::from_utf8_lossy(&self.run(&argv).stdout)
            .trim()
            .to_owned()
    }

    /// One property of `unit`.
    fn show(&self, unit: &str, property: &str) -> String {
        self.systemctl(&["show", "-p", property, "--value", unit])
    }

    /// `svckit ARGS --state-dir DIR/state` inside.
    fn svckit(&self, args: &[&str]) -> Output {
        let state = self.dir.str("state");
        let mut argv = vec![SVCKIT];
        argv.extend_from_slice(args);
        if args.first() != Some(&"install") || !args.contains(&"--") {
            argv.extend(["--state-dir", &state]);
        } else {
            let at = argv.iter().position(|arg| *arg == "--").unwrap();
            argv.splice(at..at, ["--state-dir", &state]);
        }
        self.run(&argv)
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.svckit(args);
        assert_eq!(code(&output), 0, "svckit {args:?}: {}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `status --json NAME`: exit 0 while it runs, 3 when it is stopped (as systemctl).
    fn status(&self, name: &str) -> Value {
        let output = self.svckit(&["status", "--json", name]);
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        let status: Value = serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"));
        let stopped = status["state_value"] == 1;
        assert_eq!(code(&output), if stopped { 3 } else { 0 }, "{status}");
        status
    }

    /// The unit dir svckit's `/etc/systemd/system` is, seen from the host.
    fn units(&self) -> PathBuf {
        self.dir.join("etc-systemd-system")
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // Killing PID 1 of a PID namespace kills every process in it.
        if self.pid != 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        let populated = |dir: &Path| {
            fs::read_to_string(dir.join("cgroup.events"))
                .map(|events| events.contains("populated 1"))
                .unwrap_or(false)
        };
        eventually(Duration::from_secs(5), || !populated(&self.cgroup));
        remove_cgroup(&self.cgroup);
    }
}

/// Removes a cgroup directory and its children, deepest first (cgroupfs only takes rmdir).
fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_cgroup(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Where the cgroup2 hierarchy is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a
/// hybrid host).
fn cgroup2_mount() -> PathBuf {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            (right.split(' ').next() == Some("cgroup2")).then(|| PathBuf::from(mount_point))
        })
        .expect("a cgroup2 hierarchy is mounted")
}

/// This process's cgroup v2 path (the `0::` line).
fn own_cgroup2() -> String {
    fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("0::").map(str::to_owned))
        .expect("a cgroup v2 line")
}

fn child_of(pid: u32) -> Option<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn comm(pid: i32) -> Option<String> {
    Some(
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()?
            .trim()
            .to_owned(),
    )
}

/// The arguments the program must receive exactly, systemd's specifiers and variables among
/// them.
const ARGS: [&str; 9] = [
    "two words",
    "it's",
    "\"double\"",
    "$HOME",
    "${PATH}",
    "100%",
    "%n",
    "back\\slash",
    "-x",
];

/// A program that writes its argv to `argv`, appends a line to `ticks` every 50 ms, and a line
/// to `reloads` on SIGHUP.
fn program(dir: &TempDir) -> PathBuf {
    let program = dir.join("prog with space");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argv}'\n\
             trap 'echo reloaded >> {reloads}' HUP\n\
             while :; do echo tick >> '{ticks}'; sleep 0.05; done\n",
            argv = dir.str("argv"),
            reloads = dir.str("reloads"),
            ticks = dir.str("ticks"),
        ),
    )
    .unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    program
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|meta| meta.len()).unwrap_or(0)
}

#[test]
fn a_service_lives_its_whole_life_under_a_running_systemd() {
    if !require_root("a_service_lives_its_whole_life_under_a_running_systemd") {
        return;
    }
    let manager = Manager::boot("sdlive");
    let program = program(&manager.dir);
    let program = program.to_str().unwrap();

    // auto picks systemd where it runs as init; --start auto enables and starts it.
    let mut install = vec![
        "install",
        "live",
        "--reload-signal",
        "HUP",
        "--start",
        "auto",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        program,
    ];
    install.extend(ARGS);
    let out = manager.ok(&install);
    assert!(out.contains("installed live (systemd: "), "{out}");
    assert!(manager.units().join("live.service").is_file());
    assert_eq!(
        manager.systemctl(&["is-enabled", "live.service"]),
        "enabled"
    );
    assert!(
        manager
            .units()
            .join("multi-user.target.wants/live.service")
            .is_symlink()
    );
    assert_eq!(manager.systemctl(&["is-active", "live.service"]), "active");
    assert!(eventually(Duration::from_secs(5), || fs::read_to_string(
        manager.dir.join("argv")
    )
    .is_ok_and(|text| text.lines().count() == ARGS.len())));
    assert_eq!(
        fs::read_to_string(manager.dir.join("argv"))
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ARGS,
        "every argument reaches the program intact through systemd's parser"
    );

    // status is systemd's own word: the same MainPID, the backend named.
    let status = manager.status("live");
    assert_eq!(status["backend"], "systemd");
    assert_eq!(status["state"], "running");
    let main_pid = manager.show("live.service", "MainPID");
    assert_eq!(status["pid"].to_string(), main_pid);

    // pause freezes the unit's cgroup: the program stops writing; continue thaws it.
    manager.ok(&["pause", "live"]);
    assert_eq!(manager.status("live")["state"], "paused");
    assert_eq!(manager.show("live.service", "FreezerState"), "frozen");
    let frozen = size(&manager.dir.join("ticks"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        size(&manager.dir.join("ticks")),
        frozen,
        "nothing runs while frozen"
    );
    manager.ok(&["continue", "live"]);
    assert_eq!(manager.status("live")["state"], "running");
    assert!(eventually(Duration::from_secs(5), || size(
        &manager.dir.join("ticks")
    ) > frozen));

    // reload is SIGHUP to the main process, which stays.
    manager.ok(&["reload", "live"]);
    assert!(eventually(Duration::from_secs(5), || fs::read_to_string(
        manager.dir.join("reloads")
    )
    .is_ok_and(|text| text == "reloaded\n")));
    assert_eq!(manager.show("live.service", "MainPID"), main_pid);

    // restart makes a new process.
    manager.ok(&["restart", "live"]);
    let restarted = manager.show("live.service", "MainPID");
    assert_ne!(restarted, main_pid);
    assert_eq!(manager.status("live")["pid"].to_string(), restarted);

    // A crash is restarted by systemd (Restart=on-failure).
    let killed = manager.run(&["kill", "-KILL", &restarted]);
    assert_eq!(code(&killed), 0, "{}", stderr(&killed));
    assert!(
        eventually(Duration::from_secs(10), || {
            let now = manager.show("live.service", "MainPID");
            now != restarted && now != "0"
        }),
        "systemd restarted the crashed service"
    );
    assert_eq!(manager.show("live.service", "NRestarts"), "1");
    let status = manager.status("live");
    assert_eq!(status["restarts"], 1, "{status}");
    let uptime = status["uptime_ms"]
        .as_u64()
        .expect("an uptime while it runs");
    assert!(uptime < 10_000, "the new process's uptime: {status}");
    assert_eq!(
        status["last_exit"],
        Value::Null,
        "systemd resets it on the new exec"
    );

    // stop: inactive, the process gone, nothing writes any more.
    manager.ok(&["stop", "live"]);
    let status = manager.status("live");
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["pid"], Value::Null);
    assert_eq!(status["uptime_ms"], Value::Null);
    assert_eq!(
        status["last_exit"]["signal"], 15,
        "SIGTERM ended it: {status}"
    );
    let table = manager.ok(&["status"]);
    let row = table
        .lines()
        .find(|line| line.starts_with("live "))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..5],
        ["live", "systemd", "stopped", "-", "-"],
        "{table}"
    );
    assert_eq!(cells[5], "1", "restarts: {table}");
    assert!(
        row.ends_with("killed by SIGTERM (asked to stop)"),
        "{table}"
    );
    assert_eq!(
        manager.systemctl(&["is-active", "live.service"]),
        "inactive"
    );
    let stopped = size(&manager.dir.join("ticks"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(size(&manager.dir.join("ticks")), stopped);

    // start again, then uninstall: stopped, disabled, the file and the link gone.
    manager.ok(&["start", "live"]);
    assert_eq!(manager.status("live")["state"], "running");
    manager.ok(&["uninstall", "live"]);
    assert!(!manager.units().join("live.service").exists());
    assert!(
        !manager
            .units()
            .join("multi-user.target.wants/live.service")
            .exists()
    );
    assert_eq!(manager.show("live.service", "LoadState"), "not-found");
    assert_eq!(code(&manager.svckit(&["status", "live"])), 3);
}

/// Regression: a value ending in `\` (working_dir, description) joined the next line of the
/// unit: `User=nobody` vanished into WorkingDirectory= and the unit ran as root, while
/// `systemd-analyze verify` stayed silent. Such values are refused (exit 2, nothing written),
/// and every key of a hostile but valid definition reads back from systemd itself as written.
#[test]
fn regression_every_key_of_a_hostile_definition_reads_back_from_systemd() {
    if !require_root("regression_every_key_of_a_hostile_definition_reads_back_from_systemd") {
        return;
    }
    let manager = Manager::boot("sdhostile");
    let program = program(&manager.dir);
    let program = program.to_str().unwrap();
    let trailing = manager.dir.join("dir\\");
    fs::create_dir_all(&trailing).unwrap();
    for (flag, value) in [
        ("--chdir", trailing.to_str().unwrap()),
        ("--description", "ends in a backslash\\"),
        ("--description", " padded "),
    ] {
        let out = manager.svckit(&[
            "install",
            "hostile",
            "--backend",
            "systemd",
            "--user",
            "nobody",
            flag,
            value,
            "--",
            program,
        ]);
        assert_eq!(code(&out), 2, "{flag} {value:?}: {}", stderr(&out));
        assert!(!manager.units().join("hostile.service").exists());
    }
    let odd = manager.dir.join("odd 100% $HOME \"quoted\" dir");
    fs::create_dir_all(&odd).unwrap();
    let description = "50% of \"all\" $HOME and a \\ inside";
    manager.ok(&[
        "install",
        "hostile",
        "--backend",
        "systemd",
        "--start",
        "demand",
        "--user",
        "nobody",
        "--group",
        "nogroup",
        "--chdir",
        odd.to_str().unwrap(),
        "--description",
        description,
        "--env",
        "QUOTE=it's \"x\" $HOME %n \\",
        "--",
        program,
    ]);
    assert_eq!(manager.show("hostile.service", "User"), "nobody");
    assert_eq!(manager.show("hostile.service", "Group"), "nogroup");
    assert_eq!(
        manager.show("hostile.service", "WorkingDirectory"),
        odd.to_str().unwrap()
    );
    assert_eq!(manager.show("hostile.service", "Description"), description);
    // systemctl quotes what it shows: `"`, `$` and `\` come back escaped.
    assert_eq!(
        manager.systemctl(&["show", "-p", "Environment", "hostile.service"]),
        r#"Environment="QUOTE=it's \"x\" \$HOME %n \\""#
    );
    manager.ok(&["uninstall", "hostile"]);
}

#[test]
fn the_memory_status_service_speaks_notify_to_a_running_systemd() {
    if !require_root("the_memory_status_service_speaks_notify_to_a_running_systemd") {
        return;
    }
    let manager = Manager::boot("sdnotify");
    let config = manager.dir.join("memory.toml");
    fs::write(&config, "interval = \"100ms\"\n").unwrap();
    let log = manager.dir.join("memory.log");
    manager.ok(&[
        "install",
        "MemoryStatus",
        "--backend",
        "systemd",
        "--notify",
        "--ready-timeout",
        "10s",
        "--",
        SVCKIT,
        "demo",
        "memory-status",
        "--config",
        config.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(manager.show("MemoryStatus.service", "Type"), "notify");
    assert_eq!(
        manager.systemctl(&["is-enabled", "MemoryStatus.service"]),
        "disabled",
        "--start demand (the default) installs without enabling"
    );

    // systemctl start returns once the service API said READY=1: running at once.
    manager.ok(&["start", "MemoryStatus"]);
    let status = manager.status("MemoryStatus");
    assert_eq!(status["state"], "running");
    assert_eq!(
        status["pid"].to_string(),
        manager.show("MemoryStatus.service", "MainPID")
    );
    assert!(eventually(Duration::from_secs(5), || memory_lines(&log) >= 2));
    assert!(
        eventually(Duration::from_secs(5), || manager
            .show("MemoryStatus.service", "StatusText")
            .contains("memory load")),
        "STATUS= lines reach systemd: {}",
        manager.show("MemoryStatus.service", "StatusText")
    );

    // ParamChange: SIGHUP to the main process; the service re-reads its config and reports
    // RELOADING=1 then READY=1, staying active with the same pid.
    let pid = manager.show("MemoryStatus.service", "MainPID");
    fs::write(&config, "interval = \"250ms\"\n").unwrap();
    manager.ok(&["reload", "MemoryStatus"]);
    assert!(eventually(Duration::from_secs(5), || fs::read_to_string(
        &log
    )
    .unwrap_or_default()
    .contains("reloaded: every 250ms")));
    assert!(eventually(Duration::from_secs(5), || manager
        .show("MemoryStatus.service", "ActiveState")
        == "active"));
    assert_eq!(manager.show("MemoryStatus.service", "MainPID"), pid);

    // Stop: SIGTERM, STOPPING=1, exit 0: a clean stop, not a failure.
    manager.ok(&["stop", "MemoryStatus"]);
    assert_eq!(manager.status("MemoryStatus")["state"], "stopped");
    assert_eq!(manager.show("MemoryStatus.service", "Result"), "success");
    assert_eq!(manager.show("MemoryStatus.service", "ExecMainStatus"), "0");
    let described = manager.svckit(&["status", "MemoryStatus"]);
    assert_eq!(code(&described), 3, "stopped: {}", stderr(&described));
    let described = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(described.contains("restarts: 0"), "{described}");
    manager.ok(&["uninstall", "MemoryStatus"]);
    assert!(!manager.units().join("MemoryStatus.service").exists());

    // A notify service that never says READY=1: `start --timeout` gives up after the timeout
    // with exit 6 and the state systemd has it in; the start job goes on until stop.
    manager.ok(&[
        "install",
        "never-ready",
        "--backend",
        "systemd",
        "--notify",
        "--ready-timeout",
        "5min",
        "--",
        "/bin/sleep",
        "1000",
    ]);
    let started = std::time::Instant::now();
    let out = manager.svckit(&["start", "never-ready", "--timeout", "1s"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        stderr(&out),
        "svckit: error: service never-ready is still START_PENDING after 1s, not RUNNING\n"
    );
    assert_eq!(manager.status("never-ready")["state"], "start pending");
    assert_eq!(
        manager.show("never-ready.service", "ActiveState"),
        "activating"
    );
    manager.ok(&["stop", "never-ready"]);
    assert_eq!(manager.status("never-ready")["state"], "stopped");
    manager.ok(&["uninstall", "never-ready"]);
}

// --- Real daemons under a running systemd: the same definitions as under the supervisor. ---

impl Manager {
    /// The host pids in `unit`'s cgroup (systemd puts services in system.slice).
    fn unit_pids(&self, unit: &str) -> Vec<i32> {
        fs::read_to_string(
            self.cgroup
                .join("system.slice")
                .join(unit)
                .join("cgroup.procs"),
        )
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
    }
}

/// A real daemon's life under systemd, through svckit: start returns once it serves, status's
/// pid is systemd's MainPID, SIGKILL of the main process is restarted by systemd with
/// nothing of the old instance left, stop leaves nothing, uninstall removes the unit.
fn daemon_lives_under_systemd(manager: &Manager, name: &str, port: u16) {
    let unit = format!("{name}.service");
    manager.ok(&["start", name]);
    assert!(
        crate::support::listening(port),
        "{name} does not serve once start returned"
    );
    let status = manager.status(name);
    assert_eq!(status["state"], "running", "{status}");
    let main = manager.show(&unit, "MainPID");
    assert_eq!(status["pid"].to_string(), main);
    // Its processes, read from the unit's cgroup, the main one first.
    assert_eq!(status["processes"][0]["pid"].to_string(), main, "{status}");
    // Counted from the cgroup (no pids controller here): the same count, once the daemon
    // has forked what it forks after its start.
    assert!(
        eventually(Duration::from_secs(10), || {
            manager.status(name)["tasks"].as_u64() == Some(manager.unit_pids(&unit).len() as u64)
        }),
        "{}",
        manager.status(name)
    );
    let old = manager.unit_pids(&unit);
    assert!(!old.is_empty());
    let killed = manager.run(&["kill", "-9", &main]);
    assert!(killed.status.success(), "{killed:?}");
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = manager.show(&unit, "MainPID");
            now != main && now != "0" && manager.show(&unit, "ActiveState") == "active"
        }),
        "systemd did not restart {name}: {}",
        manager.systemctl(&["status", &unit])
    );
    assert!(
        old.iter().all(|pid| crate::support::is_gone(*pid)),
        "processes of the killed {name} live on: {old:?}"
    );
    assert!(eventually(Duration::from_secs(10), || {
        crate::support::listening(port)
    }));
    let running = manager.unit_pids(&unit);
    manager.ok(&["stop", name]);
    assert!(
        running.iter().all(|pid| crate::support::is_gone(*pid)),
        "stop left processes of {name}: {running:?}"
    );
    assert!(!crate::support::listening(port));
    manager.ok(&["uninstall", name]);
    assert!(!manager.units().join(&unit).exists());
}

#[test]
fn nginx_forking_lives_under_a_running_systemd() {
    let test = "nginx_forking_lives_under_a_running_systemd";
    if !require_root(test) || !crate::support::require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let manager = Manager::boot("sdnginx");
    let port = crate::support::free_port();
    let (conf, pid_file) = crate::daemons::nginx_config(&manager.dir.join("nginx"), port);
    manager.ok(&[
        "install",
        "nginx",
        "--backend",
        "systemd",
        "--type",
        "forking",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--exec-start-pre",
        &format!("/usr/sbin/nginx -t -q -c {}", conf.display()),
        "--reload-command",
        &format!("/usr/sbin/nginx -c {} -s reload", conf.display()),
        "--",
        "/usr/sbin/nginx",
        "-c",
        conf.to_str().unwrap(),
    ]);
    assert_eq!(manager.show("nginx.service", "Type"), "forking");
    assert!(
        manager
            .show("nginx.service", "ExecStartPre")
            .contains("/usr/sbin/nginx"),
        "{}",
        manager.show("nginx.service", "ExecStartPre")
    );
    assert_eq!(
        manager.show("nginx.service", "PIDFile"),
        pid_file.display().to_string()
    );
    // Reloaded its own way: SIGHUP to the master, which keeps its pid and renews its workers.
    manager.ok(&["start", "nginx"]);
    let master = manager.show("nginx.service", "MainPID");
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap().trim(),
        master,
        "systemd's main pid is nginx's own"
    );
    let before = manager.unit_pids("nginx.service");
    assert_eq!(before.len(), 3, "a master and two workers: {before:?}");
    manager.ok(&["reload", "nginx"]);
    assert!(
        eventually(Duration::from_secs(10), || {
            let now = manager.unit_pids("nginx.service");
            now.len() == 3 && before.iter().filter(|pid| now.contains(pid)).count() == 1
        }),
        "the workers were not renewed: {before:?} → {:?}",
        manager.unit_pids("nginx.service")
    );
    assert_eq!(manager.show("nginx.service", "MainPID"), master);
    manager.ok(&["stop", "nginx"]);
    daemon_lives_under_systemd(&manager, "nginx", port);
}

#[test]
fn redis_notify_lives_under_a_running_systemd() {
    let test = "redis_notify_lives_under_a_running_systemd";
    if !require_root(test) || !crate::support::require_program(test, "/usr/bin/redis-server") {
        return;
    }
    let manager = Manager::boot("sdredis");
    let port = crate::support::free_port().to_string();
    let dir = manager.dir.join("redis");
    fs::create_dir_all(&dir).unwrap();
    let redis =
        crate::support::redis_command(port.parse().unwrap(), &dir, &["--supervised", "systemd"]);
    let mut args = vec![
        "install",
        "redis",
        "--backend",
        "systemd",
        "--type",
        "notify",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
    ];
    args.extend(redis.iter().map(String::as_str));
    manager.ok(&args);
    assert_eq!(manager.show("redis.service", "Type"), "notify");
    manager.ok(&["start", "redis"]);
    assert!(
        manager
            .show("redis.service", "StatusText")
            .contains("Ready to accept connections"),
        "redis's STATUS= reaches systemd: {}",
        manager.show("redis.service", "StatusText")
    );
    manager.ok(&["stop", "redis"]);
    daemon_lives_under_systemd(&manager, "redis", port.parse().unwrap());
}

/// `svckit boot enable` under a running systemd: the supervisor of the state directory
/// becomes an enabled unit; started as at boot, it starts its auto services; stopped, it
/// stops them first; `boot disable` removes it.
#[test]
fn boot_enable_makes_the_supervisor_a_systemd_unit() {
    if !require_root("boot_enable_makes_the_supervisor_a_systemd_unit") {
        return;
    }
    let manager = Manager::boot("sdboot");
    let sleepers = || crate::support::processes_with("1016.1");
    let out = manager.svckit(&[
        "install",
        "web",
        "--backend",
        "builtin",
        "--start",
        "auto",
        "--",
        "sleep",
        "1016.1",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&manager.svckit(&["boot", "status"])), 3);
    let out = manager.svckit(&["boot", "enable"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let unit = said
        .split("/etc/systemd/system/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect(&said)
        .to_owned();
    assert!(
        unit.starts_with("svckit-") && unit.ends_with(".service"),
        "{said}"
    );
    assert!(manager.units().join(&unit).exists());
    assert_eq!(manager.systemctl(&["is-enabled", &unit]), "enabled");
    assert_eq!(code(&manager.svckit(&["boot", "status"])), 0);
    // As at boot: the unit starts the supervisor, which starts its auto service.
    assert!(sleepers().is_empty());
    manager.systemctl(&["start", &unit]);
    assert!(
        eventually(Duration::from_secs(10), || sleepers().len() == 1),
        "{}",
        manager.systemctl(&["status", &unit])
    );
    assert_eq!(manager.show(&unit, "ActiveState"), "active");
    let status = manager.status("web");
    assert_eq!(status["state"], "running", "{status}");
    // Its stop stops the service first.
    manager.systemctl(&["stop", &unit]);
    assert!(eventually(Duration::from_secs(10), || sleepers().is_empty()));
    assert_eq!(manager.show(&unit, "Result"), "success");
    let out = manager.svckit(&["boot", "disable"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!manager.units().join(&unit).exists());
    assert_eq!(code(&manager.svckit(&["boot", "status"])), 3);
}

/// `boot enable` for a user: a unit of the user's own manager, which lingering starts at boot.
/// Without lingering, and no polkit to let the user turn it on, it is refused with the root
/// command to run, and no unit is left enabled; once root has turned it on, the user's enabled
/// unit comes up with the user's manager (restarted, as at boot) and brings the supervisor and
/// its auto service; `boot disable` removes it.
#[test]
fn boot_enable_for_a_user_is_a_unit_of_their_manager_started_by_lingering() {
    if !require_root("boot_enable_for_a_user_is_a_unit_of_their_manager_started_by_lingering") {
        return;
    }
    let (manager, user) = Manager::boot_with_user("sduser");
    let state = user.home.join("state");
    fs::create_dir_all(&state).unwrap();
    nix::unistd::chown(&state, Some(user.uid.into()), Some(user.uid.into())).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    let state = state.display().to_string();
    let svckit = |args: &[&str]| {
        let mut argv = vec![SVCKIT];
        argv.extend_from_slice(args);
        argv.extend(["--state-dir", &state]);
        manager.run_as(&user, &argv)
    };
    let sleepers = || crate::support::processes_with("1023.1");
    let out = manager.run_as(
        &user,
        &[
            SVCKIT,
            "install",
            "web",
            "--backend",
            "builtin",
            "--start",
            "auto",
            "--state-dir",
            &state,
            "--",
            "/bin/sleep",
            "1023.1",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let units = user.home.join(".config/systemd/user");
    // No lingering yet, and the user may not turn it on: refused, nothing left behind.
    let out = svckit(&["boot", "enable"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("as root: loginctl enable-linger svckit-it"),
        "{said}"
    );
    assert_no_svckit_unit(&units);
    // Root turns it on; the user's manager runs from now on, as from boot.
    let out = manager.run(&["loginctl", "enable-linger", TestUser::NAME]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let manager_unit = format!("user@{}.service", user.uid);
    assert!(
        eventually(Duration::from_secs(10), || manager
            .show(&manager_unit, "ActiveState")
            == "active"),
        "{}",
        manager.systemctl(&["status", &manager_unit])
    );
    let out = svckit(&["boot", "enable"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("the user's systemd unit"), "{said}");
    assert_eq!(code(&svckit(&["boot", "status"])), 0);
    // As at boot: the user's manager starts afresh, and with it the enabled unit.
    assert!(sleepers().is_empty());
    manager.systemctl(&["restart", &manager_unit]);
    assert!(
        eventually(Duration::from_secs(15), || sleepers().len() == 1),
        "{}",
        manager.systemctl(&["status", &manager_unit])
    );
    let status = svckit(&["status", "web", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "running", "{status}");
    // Its stop (the user's manager stopping) stops the service first.
    manager.systemctl(&["stop", &manager_unit]);
    assert!(eventually(Duration::from_secs(15), || sleepers().is_empty()));
    // Disabled while the user's manager does not run: the unit and its link go all the same.
    let out = svckit(&["boot", "disable"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&svckit(&["boot", "status"])), 3);
    assert_no_svckit_unit(&units);
    assert_no_svckit_unit(&units.join("default.target.wants"));
}

/// Nothing of svckit's (`svckit-…`) in the unit directory `dir`.
fn assert_no_svckit_unit(dir: &Path) {
    let left: Vec<_> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|name| !name.to_string_lossy().starts_with("svckit-")),
        "{}: {left:?}",
        dir.display()
    );
}

/// Listening mode and per-connection mode under a live systemd: svckit writes a `.socket`
/// unit beside the service (a template per connection), systemd binds the sockets, a Python
/// server written for socket activation starts on its first request, `git daemon --inetd`
/// serves a real clone per connection, and stop, start, status and uninstall mean what they
/// mean under svckit's supervisor.
#[test]
fn sockets_are_socket_units_of_a_running_systemd() {
    if !require_root("sockets_are_socket_units_of_a_running_systemd") {
        return;
    }
    let manager = Manager::boot("sdsockets");
    let dir = manager.dir.join("");
    let server = dir.join("lazyhttp.py");
    fs::write(&server, crate::support::LAZY_HTTP_SERVER).unwrap();
    let port = crate::support::free_port();
    let listen = format!("tcp:127.0.0.1:{port}");
    manager.ok(&[
        "install",
        "lazy",
        "--listen",
        &listen,
        "--chdir",
        dir.to_str().unwrap(),
        "--",
        "/usr/bin/python3",
        server.to_str().unwrap(),
    ]);
    assert!(manager.units().join("lazy.service").is_file());
    assert!(manager.units().join("lazy.socket").is_file());
    assert_eq!(manager.show("lazy.socket", "ActiveState"), "active");
    assert_eq!(manager.systemctl(&["is-enabled", "lazy.socket"]), "enabled");
    assert_eq!(manager.show("lazy.service", "ActiveState"), "inactive");
    let status = manager.status("lazy");
    assert_eq!(status["state"], "stopped", "{status}");
    assert_eq!(status["sockets"]["listen"][0], listen.as_str(), "{status}");
    assert_eq!(status["sockets"]["accept"], "no", "{status}");
    let get = || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        std::io::Write::write_all(&mut stream, b"GET /lazyhttp.py HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
        answer
    };
    let answer = get();
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer}");
    assert!(answer.contains("class Handed"), "{answer}");
    let status = manager.status("lazy");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(
        status["pid"].to_string(),
        manager.show("lazy.service", "MainPID")
    );
    let running = manager.unit_pids("lazy.service");
    assert!(!running.is_empty());
    // A stop ends the program; its socket listens on, and the next request starts it again.
    manager.ok(&["stop", "lazy"]);
    assert!(
        running.iter().all(|pid| crate::support::is_gone(*pid)),
        "its processes are gone: {running:?}"
    );
    assert_eq!(manager.status("lazy")["state"], "stopped");
    assert_eq!(manager.show("lazy.socket", "ActiveState"), "active");
    assert!(get().starts_with("HTTP/1.0 200 OK"));
    assert_eq!(manager.status("lazy")["state"], "running");
    manager.ok(&["uninstall", "lazy"]);
    assert!(!manager.units().join("lazy.service").exists());
    assert!(!manager.units().join("lazy.socket").exists());
    assert!(
        !manager
            .units()
            .join("sockets.target.wants/lazy.socket")
            .exists()
    );
    let server = server.to_str().unwrap();
    assert!(
        crate::support::processes_with(server).is_empty(),
        "nothing of it is left"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "its socket is closed"
    );

    // Per connection: git's own inetd mode, an instance of git-daemon@.service per clone.
    let daemon = "/usr/lib/git-core/git-daemon";
    let base = crate::support::git_repository(&dir, "served by git daemon under systemd\n");
    let port = crate::support::free_port();
    manager.ok(&[
        "install",
        "git",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--max-connections",
        "8",
        "--",
        daemon,
        "--inetd",
        "--export-all",
        &format!("--base-path={}", base.display()),
    ]);
    assert!(manager.units().join("git@.service").is_file());
    assert!(!manager.units().join("git.service").exists());
    assert_eq!(manager.show("git.socket", "Accept"), "yes");
    let status = manager.status("git");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["sockets"]["accept"], "inetd", "{status}");
    assert_eq!(
        crate::support::clone_readme(port, &dir.join("clone-1")),
        "served by git daemon under systemd\n"
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            manager.status("git")["sockets"]["accepted"].as_u64() == Some(1)
        }),
        "{}",
        manager.status("git")
    );
    // A stop ends the instances and listens no more; a start listens again.
    manager.ok(&["stop", "git"]);
    assert_eq!(manager.status("git")["state"], "stopped");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "it listens no more"
    );
    let paused = manager.svckit(&["pause", "git"]);
    assert_ne!(code(&paused), 0, "per connection, pause is refused");
    manager.ok(&["start", "git"]);
    assert_eq!(
        crate::support::clone_readme(port, &dir.join("clone-2")),
        "served by git daemon under systemd\n"
    );
    manager.ok(&["uninstall", "git"]);
    for unit in ["git@.service", "git.socket"] {
        assert!(!manager.units().join(unit).exists(), "{unit} is left");
    }
    assert!(
        crate::support::processes_with(daemon).is_empty(),
        "nothing of it is left"
    );

    // A port another process holds: systemd cannot bind it, the install fails, and nothing of
    // it is left installed.
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let busy = format!("tcp:127.0.0.1:{}", holder.local_addr().unwrap().port());
    let refused = manager.svckit(&[
        "install", "busy", "--listen", &busy, "--", daemon, "--inetd",
    ]);
    assert_ne!(code(&refused), 0, "a busy port is refused");
    assert!(
        stderr(&refused).contains("busy.socket"),
        "{}",
        stderr(&refused)
    );
    for unit in ["busy.service", "busy.socket"] {
        assert!(!manager.units().join(unit).exists(), "{unit} is left");
    }
    assert_ne!(code(&manager.svckit(&["status", "busy"])), 0);
}

/// A readiness probe under systemd: the unit's first `ExecStartPost=` is `svckit probe-wait`,
/// so `start` returns, and a unit ordered after it starts, only once a Python HTTP server (a
/// second late to listen) answers 200, three rounds in a row; a probe that never passes fails
/// the start at `ready_timeout` and leaves nothing running; liveness is refused by name.
#[test]
fn a_readiness_probe_is_an_exec_start_post_a_start_and_its_dependents_wait_for() {
    let test = "a_readiness_probe_is_an_exec_start_post_a_start_and_its_dependents_wait_for";
    if !require_root(test) || !crate::support::require_program(test, "/usr/bin/python3") {
        return;
    }
    let manager = Manager::boot("sdready");
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let late = format!("sleep 1; exec /usr/bin/python3 -m http.server {port} --bind 127.0.0.1");
    manager.ok(&[
        "install",
        "web",
        "--backend",
        "systemd",
        "--ready-http",
        &url,
        "--ready-interval",
        "100ms",
        "--chdir",
        manager.dir.join("").to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        &late,
    ]);
    let post = manager.show("web.service", "ExecStartPost");
    assert!(post.contains("probe-wait"), "{post}");
    let said = manager.dir.join("said");
    let ask = format!(
        "/usr/bin/python3 -c 'import urllib.request as u; print(u.urlopen(\"{url}\").status)' \
         >> {} 2>&1; exec sleep 600",
        said.display()
    );
    manager.ok(&[
        "install",
        "client",
        "--backend",
        "systemd",
        "--depends",
        "web",
        "--",
        "/bin/sh",
        "-c",
        &ask,
    ]);
    for round in 1..=3 {
        manager.ok(&["start", "web"]);
        // Returned only once ready: it answers now.
        let answer = crate::support::http_get(port, "/");
        assert!(
            answer.starts_with("HTTP/1.0 200"),
            "round {round}: {answer}"
        );
        manager.ok(&["stop", "web"]);
        // A unit ordered after it starts only once it is ready.
        manager.ok(&["start", "client"]);
        assert!(
            eventually(Duration::from_secs(10), || fs::read_to_string(&said)
                .is_ok_and(|text| text.lines().count() == round)),
            "round {round}: {:?}",
            fs::read_to_string(&said)
        );
        manager.ok(&["stop", "client", "web"]);
    }
    let said = fs::read_to_string(&said).unwrap();
    assert!(
        said.lines().all(|line| line == "200"),
        "a dependent started before the server was ready: {said}"
    );
    // A probe that never passes: the start fails at ready_timeout; nothing is left.
    let other = crate::support::free_port();
    manager.ok(&[
        "install",
        "never",
        "--backend",
        "systemd",
        "--ready-tcp",
        "127.0.0.1:1",
        "--ready-interval",
        "100ms",
        "--ready-timeout",
        "2s",
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        &other.to_string(),
        "--bind",
        "127.0.0.1",
    ]);
    let failed = manager.svckit(&["start", "never"]);
    assert_ne!(code(&failed), 0, "{}", stderr(&failed));
    assert_ne!(manager.show("never.service", "ActiveState"), "active");
    assert!(manager.unit_pids("never.service").is_empty());
    assert!(
        crate::support::processes_with(&format!("http.server {other}")).is_empty(),
        "the server of a start that failed lives on"
    );
    // Liveness: refused by name, nothing installed.
    let refused = manager.svckit(&[
        "install",
        "alive",
        "--backend",
        "systemd",
        "--health-tcp",
        "127.0.0.1:1",
        "--",
        "/bin/sleep",
        "60",
    ]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("liveness"),
        "{}",
        stderr(&refused)
    );
    assert!(!manager.units().join("alive.service").exists());
    for name in ["web", "client", "never"] {
        manager.ok(&["uninstall", name]);
    }
}
