//! The init backends end to end: init scripts installed and run for real (from a temp root,
//! and in the real /etc/init.d with `service NAME start`), systemd units installed into an
//! alternate root and enabled by `systemctl --root`. Checks read /proc, the PID file and what
//! the program itself wrote.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::support::{TempDir, code, eventually, is_gone, require_root, stderr, svckit};

/// The arguments the program must receive exactly.
const ARGS: [&str; 8] = [
    "two words",
    "it's",
    "\"double\"",
    "$HOME",
    "`id`",
    "back\\slash",
    "-x",
    "ünï",
];

/// A program that writes its argv, one per line, to `argv` beside it, then sleeps. The file
/// appears whole (written aside, then renamed): a test that saw it exist once read it before
/// printf had written it (`left: []` on a fresh clone).
fn argv_program(dir: &TempDir) -> PathBuf {
    let program = dir.join("prog with space");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argv}.tmp'\nmv '{argv}.tmp' '{argv}'\n\
             exec sleep 1000\n",
            argv = dir.join("argv").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    program
}

fn run_script(script: &Path, action: &str) -> (i32, String) {
    let output = Command::new(script).arg(action).output().unwrap();
    (
        code(&output),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn pid_in(pidfile: &Path) -> i32 {
    fs::read_to_string(pidfile).unwrap().trim().parse().unwrap()
}

/// Stops whatever the PID file names when the test ends, pass or fail.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = svckit()
            .args(["kill", "--timeout", "2s", "--pidfile"])
            .arg(&self.0)
            .output();
    }
}

fn ok(output: Output, what: &str) -> String {
    assert_eq!(code(&output), 0, "{what}: {}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_init_script_from_a_temp_root_runs_with_lsb_codes_and_the_argv_intact() {
    if !require_root("an_init_script_from_a_temp_root_runs") {
        return;
    }
    let dir = TempDir::new("sysv-root");
    let name = format!("svckit-it-sysv-{}", std::process::id());
    let program = argv_program(&dir);
    let root = dir.join("root");
    let mut install = svckit();
    install
        .args(["install", &name, "--backend", "sysv", "--root"])
        .arg(&root)
        .args(["--stop-timeout", "3s", "--"])
        .arg(&program)
        .args(ARGS);
    let said = ok(install.output().unwrap(), "install");
    assert!(said.contains("installed"), "{said}");
    let script = root.join("etc/init.d").join(&name);
    let mode = fs::metadata(&script).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
    // The definition went into the root's state dir, with its backend.
    let definition =
        fs::read_to_string(root.join(format!("var/lib/svckit/registry/{name}.toml"))).unwrap();
    assert!(definition.contains("backend = \"sysv\""), "{definition}");
    for checker in [&["sh", "-n"][..], &["shellcheck"][..]] {
        let output = Command::new(checker[0])
            .args(&checker[1..])
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{checker:?}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    let pidfile = PathBuf::from(format!("/run/{name}.pid"));
    let _stop = StopOnDrop(pidfile.clone());
    assert_eq!(run_script(&script, "start").0, 0);
    let (status, said) = run_script(&script, "status");
    assert_eq!(status, 0, "{said}");
    let pid = pid_in(&pidfile);
    assert!(said.contains(&format!("running (PID {pid})")), "{said}");
    assert!(!is_gone(pid));
    assert!(eventually(Duration::from_secs(5), || dir
        .join("argv")
        .exists()));
    let argv = fs::read_to_string(dir.join("argv")).unwrap();
    assert_eq!(argv.lines().collect::<Vec<_>>(), ARGS, "argv as received");
    // Its output went to /var/log/NAME.log (nothing yet), its session is its own.
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_ne!(
        fields[3],
        pid.to_string(),
        "double fork: not a session leader"
    );
    // start again: LSB says success.
    assert_eq!(run_script(&script, "start").0, 0);
    assert_eq!(pid_in(&pidfile), pid);

    assert_eq!(run_script(&script, "stop").0, 0);
    assert!(is_gone(pid));
    assert!(!pidfile.exists());
    assert_eq!(run_script(&script, "status").0, 3);
    assert_eq!(
        run_script(&script, "stop").0,
        0,
        "stop of a stopped service"
    );

    assert_eq!(run_script(&script, "restart").0, 0);
    let restarted = pid_in(&pidfile);
    assert!(!is_gone(restarted));
    // Killed behind the script's back: the PID file stays, unlocked.
    kill(Pid::from_raw(restarted), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        run_script(&script, "status").0 == 1
    }));
    let (status, said) = run_script(&script, "status");
    assert_eq!(status, 1, "{said}");
    assert!(said.contains("dead"), "{said}");
    assert_eq!(run_script(&script, "force-reload").0, 0);
    assert_eq!(run_script(&script, "status").0, 0);
    assert_eq!(run_script(&script, "stop").0, 0);
    assert_eq!(run_script(&script, "reload").0, 3, "unimplemented");
    assert_eq!(run_script(&script, "bogus").0, 2, "usage");
    let _ = fs::remove_file(format!("/var/log/{name}.log"));
}

#[test]
fn an_init_script_runs_nginx_that_forks_itself_and_stops_all_of_it() {
    let test = "an_init_script_runs_nginx_that_forks_itself_and_stops_all_of_it";
    if !require_root(test) || !crate::support::require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let dir = TempDir::new("sysv-nginx");
    let name = format!("svckit-it-nginx-{}", std::process::id());
    let port = crate::support::free_port();
    let (conf, nginx_pid) = crate::daemons::nginx_config(&dir.join("nginx"), port);
    let root = dir.join("root");
    let mut install = svckit();
    install
        .args(["install", &name, "--backend", "sysv", "--root"])
        .arg(&root)
        .args(["--type", "forking", "--pid-file"])
        .arg(&nginx_pid)
        .arg("--reload-command")
        .arg(format!("/usr/sbin/nginx -c {} -s reload", conf.display()))
        .arg("--exec-start-pre")
        .arg(format!("/usr/sbin/nginx -t -q -c {}", conf.display()))
        .args(["--", "/usr/sbin/nginx", "-c"])
        .arg(&conf);
    ok(install.output().unwrap(), "install");
    let script = root.join("etc/init.d").join(&name);
    let output = Command::new("shellcheck").arg(&script).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let pidfile = PathBuf::from(format!("/run/{name}.pid"));
    let _stop = StopOnDrop(pidfile.clone());
    let (status, said) = run_script(&script, "start");
    assert_eq!(status, 0, "{said}");
    assert!(
        crate::support::listening(port),
        "serving once start returns"
    );
    // The script's PID file names nginx's master, not the launcher that exited.
    let master = pid_in(&nginx_pid);
    assert_eq!(pid_in(&pidfile), master);
    let (status, said) = run_script(&script, "status");
    assert_eq!(status, 0, "{said}");
    assert!(said.contains(&format!("running (PID {master})")), "{said}");
    let nginx = crate::daemons::nginx_processes(master);
    assert_eq!(nginx.len(), 3, "a master and two workers: {nginx:?}");
    // reload runs the reload command: the same master, new workers.
    let (status, said) = run_script(&script, "reload");
    assert_eq!(status, 0, "{said}");
    assert!(
        eventually(Duration::from_secs(10), || nginx[1..]
            .iter()
            .all(|pid| is_gone(*pid))),
        "the old workers live on after the reload"
    );
    assert_eq!(pid_in(&pidfile), master);
    let nginx = crate::daemons::nginx_processes(master);
    assert_eq!(nginx.len(), 3, "{nginx:?}");
    assert_eq!(run_script(&script, "stop").0, 0);
    assert!(
        nginx.iter().all(|pid| is_gone(*pid)),
        "stop left nginx processes: {nginx:?}"
    );
    assert!(!crate::support::listening(port));
    assert_eq!(run_script(&script, "status").0, 3);
    let _ = fs::remove_file(format!("/var/log/{name}.log"));
}

/// Removes an init script svckit installed into the real /etc/init.d, links and all.
struct Uninstall {
    name: String,
    state: String,
}

impl Drop for Uninstall {
    fn drop(&mut self) {
        let _ = svckit()
            .args(["uninstall", &self.name, "--state-dir", &self.state])
            .output();
        let _ = fs::remove_file(format!("/etc/init.d/{}", self.name));
        let _ = fs::remove_file(format!("/var/log/{}.log", self.name));
    }
}

fn rc_links(name: &str) -> Vec<String> {
    let mut links = Vec::new();
    for level in [
        "rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d",
    ] {
        for entry in fs::read_dir(Path::new("/etc").join(level))
            .into_iter()
            .flatten()
        {
            let entry = entry.unwrap().file_name().to_string_lossy().into_owned();
            if entry.ends_with(name) && entry.len() == name.len() + 3 {
                links.push(format!("{level}/{entry}"));
            }
        }
    }
    links
}

#[test]
fn a_sysv_service_in_the_real_init_d_answers_to_service_and_to_svckit() {
    if !require_root("a_sysv_service_in_the_real_init_d") {
        return;
    }
    let dir = TempDir::new("sysv-real");
    let name = format!("svckit-it-real-{}", std::process::id());
    let state = dir.str("state");
    let _cleanup = Uninstall {
        name: name.clone(),
        state: state.clone(),
    };
    let program = argv_program(&dir);
    let svckit_in = |args: &[&str]| {
        let mut command = svckit();
        command.args(args).args(["--state-dir", &state]);
        command
    };
    let mut install = svckit();
    install
        .args([
            "install",
            &name,
            "--backend",
            "sysv",
            "--start",
            "auto",
            "--state-dir",
            &state,
            "--",
        ])
        .arg(&program)
        .args(ARGS);
    let said = ok(install.output().unwrap(), "install");
    assert!(said.contains("(sysv: "), "auto picked: {said}");
    let links = rc_links(&name);
    assert!(
        links.iter().any(|l| l.starts_with("rc2.d/S"))
            && links.iter().any(|l| l.starts_with("rc0.d/K")),
        "update-rc.d links: {links:?}"
    );

    let service = |action: &str| {
        let output = Command::new("service")
            .args([&name, action])
            .output()
            .unwrap();
        code(&output)
    };
    let before_start = std::time::Instant::now();
    assert_eq!(service("start"), 0);
    let pidfile = PathBuf::from(format!("/run/{name}.pid"));
    let _stop = StopOnDrop(pidfile.clone());
    let pid = pid_in(&pidfile);
    assert!(!is_gone(pid));
    assert!(eventually(Duration::from_secs(5), || dir
        .join("argv")
        .exists()));
    assert_eq!(
        fs::read_to_string(dir.join("argv"))
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ARGS
    );
    let status: Value = serde_json::from_str(&ok(
        svckit_in(&["status", &name, "--json"]).output().unwrap(),
        "status",
    ))
    .unwrap();
    assert_eq!(status["backend"], "sysv");
    assert_eq!(status["state"], "running");
    assert_eq!(status["pid"], pid);
    // The uptime is the process's own (from /proc), so no older than the start above.
    let uptime = status["uptime_ms"]
        .as_u64()
        .expect("an uptime while it runs");
    assert!(
        uptime <= before_start.elapsed().as_millis() as u64 + 20,
        "{status}"
    );
    assert_eq!(
        status["restarts"],
        Value::Null,
        "SysV init counts no restarts"
    );
    let table = ok(svckit_in(&["status"]).output().unwrap(), "status");
    let row = table.lines().find(|l| l.starts_with(&name)).expect("a row");
    assert!(
        row.contains(" sysv ") && row.contains(&pid.to_string()),
        "{row}"
    );
    // Nothing of it is the supervisor's: no supervisor was started to ask.
    assert!(!Path::new(&state).join("supervisor.pid").exists());
    let list = ok(svckit_in(&["list"]).output().unwrap(), "list");
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().take(2).eq([name.as_str(), "sysv"])),
        "{list}"
    );

    ok(svckit_in(&["stop", &name]).output().unwrap(), "svckit stop");
    assert!(is_gone(pid));
    assert_eq!(service("status"), 3);
    let said = ok(
        svckit_in(&["start", &name]).output().unwrap(),
        "svckit start",
    );
    assert!(said.contains("running"), "{said}");
    let pid = pid_in(&pidfile);
    let refused = svckit_in(&["pause", &name]).output().unwrap();
    assert_ne!(code(&refused), 0);
    assert!(
        stderr(&refused).contains("does not accept"),
        "{}",
        stderr(&refused)
    );

    // Reinstalling needs --force; uninstall stops it and takes script and links away.
    let mut again = svckit();
    again
        .args([
            "install",
            &name,
            "--backend",
            "sysv",
            "--state-dir",
            &state,
            "--",
        ])
        .arg(&program);
    let again = again.output().unwrap();
    assert_eq!(code(&again), 4, "{}", stderr(&again));
    ok(
        svckit_in(&["uninstall", &name]).output().unwrap(),
        "uninstall",
    );
    assert!(is_gone(pid));
    assert!(!Path::new("/etc/init.d").join(&name).exists());
    assert_eq!(rc_links(&name), Vec::<String>::new());
    let gone = svckit_in(&["status", &name]).output().unwrap();
    assert_eq!(code(&gone), 3, "{}", stderr(&gone));
}

#[test]
fn a_systemd_unit_installed_under_a_root_is_enabled_and_verified() {
    let dir = TempDir::new("systemd-root");
    let name = format!("svckit-it-unit-{}", std::process::id());
    let program = argv_program(&dir);
    let root = dir.join("root");
    let install = |extra: &[&str]| {
        let mut command = svckit();
        command
            .args(["install", &name, "--backend", "systemd", "--root"])
            .arg(&root)
            .args([
                "--start",
                "auto",
                "--restart",
                "on-failure",
                "--env",
                "GREETING=100% $HOME",
            ])
            .args(extra)
            .arg("--")
            .arg(&program)
            .args(ARGS);
        command.output().unwrap()
    };
    ok(install(&[]), "install --root");
    let unit = root.join(format!("etc/systemd/system/{name}.service"));
    let enabled = Command::new("systemctl")
        .arg(format!("--root={}", root.display()))
        .args(["is-enabled", &format!("{name}.service")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&enabled.stdout).trim(), "enabled");
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert_eq!(
        format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        ),
        ""
    );
    // render prints exactly what install wrote.
    let rendered = ok(
        svckit()
            .args(["render", &name, "--backend", "systemd", "--state-dir"])
            .arg(root.join("var/lib/svckit"))
            .output()
            .unwrap(),
        "render",
    );
    assert_eq!(rendered, fs::read_to_string(&unit).unwrap());

    // Again without --force: refused, exit 4; with a setting systemd cannot honour: exit 2,
    // naming it, and the installed unit untouched.
    let again = install(&[]);
    assert_eq!(code(&again), 4, "{}", stderr(&again));
    let refused = install(&["--force", "--log-keep", "9"]);
    assert_eq!(code(&refused), 2);
    assert!(
        stderr(&refused).contains("logs.keep"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(rendered, fs::read_to_string(&unit).unwrap());
}

#[test]
fn without_a_running_systemd_or_a_root_the_systemd_backend_is_a_clear_error() {
    if Path::new("/run/systemd/system").exists() {
        eprintln!("skipping: systemd runs here");
        return;
    }
    let dir = TempDir::new("systemd-none");
    let name = format!("svckit-it-nosd-{}", std::process::id());
    let output = svckit()
        .args([
            "install",
            &name,
            "--backend",
            "systemd",
            "--state-dir",
            &dir.str("state"),
        ])
        .args(["--", "/usr/bin/sleep", "1"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("systemd is not running"), "{message}");
    assert!(!Path::new(&format!("/etc/systemd/system/{name}.service")).exists());
    assert!(!dir.join(&format!("state/registry/{name}.toml")).exists());
}

#[test]
fn sysv_refuses_a_restart_policy_and_installs_nothing() {
    let dir = TempDir::new("sysv-refuse");
    let root = dir.join("root");
    let output = svckit()
        .args([
            "install",
            "refused",
            "--backend",
            "sysv",
            "--restart",
            "always",
            "--root",
        ])
        .arg(&root)
        .args(["--", "/usr/bin/sleep", "1"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot honour restart.policy"),
        "{}",
        stderr(&output)
    );
    assert!(!root.join("etc/init.d/refused").exists());
    assert!(!root.join("var/lib/svckit/registry/refused.toml").exists());
}

/// Regression, on this very machine: as root, with /etc/init.d from the image and no init
/// system as PID 1 (a container), `install` without --backend chose sysv: a new user's
/// `--restart on-failure` failed ("the sysv backend cannot honour restart.policy"), or an init
/// script that nothing runs was written. It is the builtin supervisor, which honours it.
#[test]
fn regression_auto_in_a_container_with_init_d_picks_the_builtin_supervisor() {
    let test = "regression_auto_in_a_container_with_init_d_picks_the_builtin_supervisor";
    if !require_root(test) {
        return;
    }
    let host = svckit_install_host_runs_an_init();
    if host {
        // A machine booted by systemd or SysV init: auto means them, as it should.
        eprintln!("{test}: PID 1 is an init system here; the fake-root test covers the rule");
        return;
    }
    assert!(
        Path::new("/etc/init.d").is_dir(),
        "the case this pins needs /etc/init.d"
    );
    let dir = TempDir::new("auto-container");
    let state = dir.str("state");
    let out = svckit()
        .args([
            "install",
            "web",
            "--restart",
            "on-failure",
            "--state-dir",
            &state,
            "--",
            "sleep",
            "77.25",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!Path::new("/etc/init.d/web").exists());
    let definition = fs::read_to_string(dir.join("state/services/web.toml")).unwrap();
    assert!(definition.contains("backend = \"builtin\""), "{definition}");
}

/// Whether this machine's PID 1 is an init system svckit drives (systemd or SysV init).
fn svckit_install_host_runs_an_init() -> bool {
    let comm = fs::read_to_string("/proc/1/comm").unwrap_or_default();
    Path::new("/run/systemd/system").is_dir()
        || Path::new("/run/initctl").exists()
        || comm.trim() == "init"
}

/// The registry keeps the definitions of services other managers run apart from the
/// supervisor's: an install into an image writes `registry/NAME.toml`, never `services/`
/// (which the supervisor reads); a definition of svckit 0.1, kept in `services/` with its
/// `backend` key, is moved into the registry when svckit next looks, and stays the sysv
/// service it was.
#[test]
fn the_registry_keeps_other_managers_services_apart_from_the_supervisors() {
    let dir = TempDir::new("registry");
    let root = dir.join("root");
    let installed = svckit()
        .args(["install", "imaged", "--backend", "sysv", "--root"])
        .arg(&root)
        .args(["--", "/usr/bin/sleep", "1"])
        .output()
        .unwrap();
    assert_eq!(code(&installed), 0, "{}", stderr(&installed));
    let state = root.join("var/lib/svckit");
    assert!(state.join("registry/imaged.toml").is_file());
    assert!(!state.join("services/imaged.toml").exists());

    // An old layout: a sysv definition among the supervisor's.
    fs::rename(
        state.join("registry/imaged.toml"),
        state.join("services/imaged.toml"),
    )
    .unwrap();
    let state_arg = state.to_str().unwrap();
    let listed = svckit()
        .args(["list", "--state-dir", state_arg])
        .output()
        .unwrap();
    assert_eq!(code(&listed), 0, "{}", stderr(&listed));
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed
            .lines()
            .any(|line| line.split_whitespace().take(2).eq(["imaged", "sysv"])),
        "{listed}"
    );
    assert!(state.join("registry/imaged.toml").is_file());
    assert!(!state.join("services/imaged.toml").exists());
    let shown = svckit()
        .args(["show", "imaged", "--state-dir", state_arg])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("backend = \"sysv\""),
        "{}",
        stderr(&shown)
    );
}
