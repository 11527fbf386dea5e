//! Rendered units and init scripts: snapshots (hostile values included), every unit through
//! systemd's own verifier, every script through `sh -n` and shellcheck.
#![cfg(unix)]

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use svckit_core::{BackendKind, Restart, ServiceName, ServiceSpec, ServiceType, StartType};
use svckit_install::{
    Error, Host, LastExit, detect_kind,
    systemd::{self, Scope},
    sysv,
};

/// A directory whose name needs quoting, holding a program whose name does too. Fixed paths,
/// so the snapshots are stable; the program exists, so systemd-analyze finds it.
const ODD_DIR: &str = "/tmp/svckit render test/dir with spaces & $x %n";

fn odd_program() -> PathBuf {
    let dir = Path::new(ODD_DIR);
    fs::create_dir_all(dir).unwrap();
    let program = dir.join("prog %h ü");
    if !program.exists() {
        let temp = dir.join(format!(".prog.{}", std::process::id()));
        fs::write(&temp, "#!/bin/sh\nexec sleep 1000\n").unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755)).unwrap();
        fs::rename(&temp, &program).unwrap();
    }
    program
}

fn name(text: &str) -> ServiceName {
    ServiceName::new(text).unwrap()
}

/// The arguments every test passes: white space, both quotes, `$`, `%`, backslashes,
/// unicode, a leading `-`, a lone `;`, backticks, a tab, an empty one.
fn hostile_args() -> Vec<std::ffi::OsString> {
    [
        "a b",
        "it's",
        "\"q\"",
        "back\\slash\\",
        "%h %%",
        "${HOME}",
        "$PATH",
        "-x",
        "--flag=va lue",
        "ünï 😀",
        ";",
        "`id`",
        "$(id)",
        "tab\there",
        "",
    ]
    .into_iter()
    .map(Into::into)
    .collect()
}

fn plain() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("web"), "/usr/bin/sleep");
    spec.args = vec!["1000".into()];
    spec
}

fn full(restarts: bool) -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("web-full"), "/usr/bin/sleep");
    spec.args = vec!["1000".into()];
    spec.display_name = Some("Web server".into());
    spec.description = Some("Serves 100% of the \"web\" for $USER \\ ü".into());
    spec.working_dir = Some("/srv/www data".into());
    spec.env = vec![
        ("GREETING".into(), "hello \"world\" 100% $HOME \\ ü".into()),
        ("EMPTY".into(), String::new()),
    ];
    spec.account = Some("daemon".into());
    spec.group = Some("daemon".into());
    spec.umask = Some(0o027);
    spec.start = StartType::Auto;
    spec.service_type = ServiceType::Notify;
    spec.ready_timeout = Duration::from_secs(30);
    spec.dependencies = vec![name("db"), name("cache")];
    if restarts {
        spec.restart.policy = Restart::OnFailure;
        spec.restart.delay = Duration::from_millis(2500);
        spec.restart.max_delay = Duration::from_millis(2500);
        spec.restart.limit = 3;
        spec.restart.window = Duration::from_secs(60);
    }
    spec.stop.signal = svckit_core::Signal::Int;
    spec.stop.timeout = Duration::from_secs(5);
    spec
}

/// A program that daemonizes itself and writes /run/nginx.pid (as nginx ships; the verifier
/// wants a program that exists here).
fn forking() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("nginx"), "/usr/bin/sleep");
    spec.service_type = ServiceType::Forking;
    spec.pid_file = Some("/run/nginx.pid".into());
    spec.kill_mode = svckit_core::KillMode::Mixed;
    // nginx -t before, nginx -s reload to reload: words a shell or systemd would mangle.
    spec.exec_start_pre = vec![
        vec![
            "/usr/bin/true".into(),
            "-t".into(),
            "it's 100% $HOME".into(),
        ],
        vec!["/usr/bin/test".into(), "-e".into(), "/".into()],
    ];
    spec.exec_start_post = vec![vec!["/usr/bin/true".into(), "post $x".into()]];
    spec.exec_stop = vec![vec!["/usr/bin/true".into(), "-s".into(), "quit".into()]];
    spec.reload.command = vec![
        "/usr/bin/kill".into(),
        "-s".into(),
        "HUP".into(),
        "\"quoted\" %n".into(),
    ];
    // What nginx and redis units set around the program.
    spec.runtime_directory = vec!["nginx".into(), "nginx/cache".into()];
    spec.limits.nofile = Some(svckit_core::Limit {
        soft: 1024,
        hard: 65536,
    });
    spec.limits.core = Some(svckit_core::Limit {
        soft: svckit_core::Limit::INFINITY,
        hard: svckit_core::Limit::INFINITY,
    });
    spec.nice = Some(-5);
    spec.oom_score_adjust = Some(-900);
    spec
}

/// A notify service pinging a watchdog, any of whose processes may notify (as redis
/// `--supervised systemd` is run; the verifier wants a program that exists here).
fn watched() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("redis"), "/usr/bin/sleep");
    spec.args = vec!["infinity".into()];
    spec.service_type = ServiceType::Notify;
    spec.notify_access = svckit_core::NotifyAccess::All;
    spec.watchdog = Duration::from_secs(10);
    spec.environment_file = vec!["-/etc/default/redis".into(), "/etc/redis/env".into()];
    spec.success_exit_status = vec![
        svckit_core::ExitMatch::Code(143),
        svckit_core::ExitMatch::Signal(svckit_core::Signal::Term),
    ];
    spec.restart_prevent_exit_status = vec![svckit_core::ExitMatch::Code(255)];
    spec
}

/// A setup step that runs to completion.
fn oneshot() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("setup"), "/usr/bin/true");
    spec.service_type = ServiceType::Oneshot;
    spec
}

fn hostile() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("hostile"), odd_program());
    spec.args = hostile_args();
    spec.description = Some("odd: 'single' \"double\" $x %n \\n".into());
    spec.env = vec![("ODD".into(), "'single' \"double\" $x %n \\n\ttab".into())];
    spec.working_dir = Some(ODD_DIR.into());
    spec
}

/// Runs systemd's verifier over `unit` (written as NAME.service) and returns what it said.
fn verify(spec: &ServiceSpec, unit: &str) -> String {
    let file = systemd::UnitFile {
        name: systemd::unit_name(&spec.name),
        text: unit.to_owned(),
    };
    verify_units(spec, &[file])
}

fn check_script(spec: &ServiceSpec, script: &str) {
    let path = std::env::temp_dir().join(format!("svckit-sh-{}-{}", spec.name, std::process::id()));
    fs::write(&path, script).unwrap();
    let sh = Command::new("sh").arg("-n").arg(&path).output().unwrap();
    let shellcheck = Command::new("shellcheck")
        .arg(&path)
        .output()
        .expect("shellcheck must be installed");
    fs::remove_file(&path).unwrap();
    assert!(
        sh.status.success(),
        "sh -n: {}",
        String::from_utf8_lossy(&sh.stderr)
    );
    assert!(
        shellcheck.status.success(),
        "shellcheck:\n{}\n{script}",
        String::from_utf8_lossy(&shellcheck.stdout)
    );
}

const SVCKIT: &str = "/usr/local/bin/svckit";

#[test]
fn units_are_snapshotted_and_pass_systemd_analyze_verify_without_a_word() {
    for (label, spec) in [
        ("plain", plain()),
        ("full", full(true)),
        ("hostile", hostile()),
        ("forking", forking()),
        ("watched", watched()),
        ("oneshot", oneshot()),
    ] {
        let unit = systemd::render(&spec, Scope::System).unwrap();
        insta::assert_snapshot!(format!("unit_{label}"), unit);
        assert_eq!(verify(&spec, &unit), "", "systemd-analyze said something");
    }
    let user = systemd::render(&plain(), Scope::User).unwrap();
    assert!(user.contains("\nWantedBy=default.target\n"), "{user}");
}

#[test]
fn scripts_are_snapshotted_and_pass_sh_n_and_shellcheck() {
    for (label, spec) in [
        ("plain", plain()),
        ("full", full(false)),
        ("hostile", hostile()),
        ("forking", {
            // kill_mode needs a supervisor: an init script has none.
            let mut spec = forking();
            spec.kill_mode = svckit_core::KillMode::ControlGroup;
            spec
        }),
    ] {
        let script = sysv::render(&spec, Path::new(SVCKIT)).unwrap();
        insta::assert_snapshot!(format!("script_{label}"), script);
        check_script(&spec, &script);
    }
}

#[test]
fn exec_start_quoting_follows_systemd_syntax() {
    let mut spec = plain();
    spec.args = vec![
        "a b".into(),
        "$x".into(),
        "%i".into(),
        "q\"\\".into(),
        ";".into(),
    ];
    let unit = systemd::render(&spec, Scope::System).unwrap();
    assert!(
        unit.contains(r#"ExecStart="/usr/bin/sleep" "a b" "$$x" "%%i" "q\"\\" ";""#),
        "{unit}"
    );
}

fn unsupported(result: Result<String, Error>) -> (&'static str, &'static str, String) {
    match result {
        Err(Error::Unsupported {
            backend,
            setting,
            reason,
        }) => (backend, setting, reason),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn a_newline_or_a_setting_the_backend_cannot_honour_is_an_error_naming_it() {
    let mut spec = plain();
    spec.args = vec!["two\nlines".into()];
    assert_eq!(unsupported(systemd::render(&spec, Scope::System)).1, "args");

    let mut spec = plain();
    spec.description = Some("two\nlines".into());
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "description"
    );
    assert_eq!(
        unsupported(sysv::render(&spec, Path::new(SVCKIT))).1,
        "description"
    );

    let mut spec = plain();
    spec.restart.policy = Restart::Always;
    spec.restart.max_delay = Duration::from_secs(300);
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "restart.max_delay"
    );
    let (backend, setting, reason) = unsupported(sysv::render(&spec, Path::new(SVCKIT)));
    assert_eq!((backend, setting), ("sysv", "restart.policy"));
    assert!(reason.contains("does not restart"), "{reason}");

    let mut spec = plain();
    spec.logs.keep = 2;
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "logs.keep"
    );
    assert_eq!(
        unsupported(sysv::render(&spec, Path::new(SVCKIT))).1,
        "logs.keep"
    );

    let mut spec = plain();
    spec.start = StartType::Delayed;
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "start"
    );

    let mut spec = plain();
    spec.stop.timeout = Duration::ZERO;
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "stop.timeout"
    );

    let spec = ServiceSpec::new(name("quote"), "/opt/it's/prog");
    assert_eq!(
        unsupported(systemd::render(&spec, Scope::System)).1,
        "program"
    );

    let spec = ServiceSpec::new(name("two words"), "/usr/bin/sleep");
    assert_eq!(unsupported(systemd::render(&spec, Scope::System)).1, "name");
    assert_eq!(
        unsupported(sysv::render(&spec, Path::new(SVCKIT))).1,
        "name"
    );

    // The defaults stand for the manager's own behaviour: a plain restart policy is fine.
    let mut spec = plain();
    spec.restart.policy = Restart::OnFailure;
    let unit = systemd::render(&spec, Scope::System).unwrap();
    assert!(
        unit.contains("\nRestart=on-failure\nRestartSec=1s\n"),
        "{unit}"
    );
}

#[test]
fn the_windows_backend_refuses_what_the_scm_cannot_do() {
    use svckit_install::honour::check;
    let mut spec = plain();
    assert!(check(BackendKind::Windows, &spec).is_ok());
    // A hosted program (type exec) gets its environment from svckit's host; a program on
    // the service API (notify) is started by the SCM, which sets none.
    spec.env = vec![("A".into(), "b".into())];
    assert!(check(BackendKind::Windows, &spec).is_ok());
    spec.service_type = ServiceType::Notify;
    match check(BackendKind::Windows, &spec) {
        Err(Error::Unsupported { setting, .. }) => assert_eq!(setting, "env"),
        other => panic!("{other:?}"),
    }
    // What happens around the program: svckit's host carries out the commands for a hosted
    // program (type exec); for a program on the service API each is refused by its name, and
    // a reload signal for both (Windows has none).
    type Set = fn(&mut ServiceSpec);
    let around: [(&str, Set, bool); 5] = [
        (
            "exec_start_pre",
            |spec| spec.exec_start_pre = vec![vec!["C:\\check.exe".into()]],
            true,
        ),
        (
            "exec_start_post",
            |spec| spec.exec_start_post = vec![vec!["C:\\post.exe".into()]],
            true,
        ),
        (
            "exec_stop",
            |spec| spec.exec_stop = vec![vec!["C:\\stop.exe".into()]],
            true,
        ),
        (
            "reload.command",
            |spec| spec.reload.command = vec!["C:\\reload.exe".into()],
            true,
        ),
        (
            "reload.signal",
            |spec| spec.reload.signal = Some(svckit_core::Signal::Usr2),
            false,
        ),
    ];
    for (key, set, hosted) in around {
        let mut spec = plain();
        set(&mut spec);
        match (check(BackendKind::Windows, &spec), hosted) {
            (Ok(()), true) => {}
            (Err(Error::Unsupported { setting, .. }), false) => assert_eq!(setting, key),
            other => panic!("{key} hosted: {other:?}"),
        }
        spec.service_type = ServiceType::Notify;
        match check(BackendKind::Windows, &spec) {
            Err(Error::Unsupported { setting, .. }) => assert_eq!(setting, key),
            other => panic!("{key} on the API: {other:?}"),
        }
    }
}

#[test]
fn auto_detection_follows_the_fixed_order_over_fake_roots() {
    let base = std::env::temp_dir().join(format!("svckit-detect-{}", std::process::id()));
    let host = |root: &str, euid: u32, windows: bool| Host {
        root: base.join(root),
        euid,
        windows,
    };
    for dir in [
        "systemd/run/systemd/system",
        "systemd/etc/init.d",
        "sysv/etc/init.d",
        "sysv/proc/1",
        "container/etc/init.d",
        "container/proc/1",
        "initctl/etc/init.d",
        "initctl/run",
    ] {
        fs::create_dir_all(base.join(dir)).unwrap();
    }
    fs::create_dir_all(base.join("bare")).unwrap();
    // SysV init as PID 1: called init, running /sbin/init.
    fs::write(base.join("sysv/proc/1/comm"), "init\n").unwrap();
    std::os::unix::fs::symlink("/sbin/init", base.join("sysv/proc/1/exe")).unwrap();
    // A container: /etc/init.d from the image, a shell as PID 1.
    fs::write(base.join("container/proc/1/comm"), "bash\n").unwrap();
    std::os::unix::fs::symlink("/usr/bin/bash", base.join("container/proc/1/exe")).unwrap();
    // sysvinit's control FIFO.
    nix::unistd::mkfifo(
        &base.join("initctl/run/initctl"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    assert_eq!(detect_kind(&host("systemd", 0, true)), BackendKind::Windows);
    assert_eq!(
        detect_kind(&host("systemd", 0, false)),
        BackendKind::Systemd
    );
    assert_eq!(
        detect_kind(&host("systemd", 1000, false)),
        BackendKind::Systemd
    );
    assert_eq!(detect_kind(&host("sysv", 0, false)), BackendKind::Sysv);
    assert_eq!(
        detect_kind(&host("sysv", 1000, false)),
        BackendKind::Builtin
    );
    assert_eq!(detect_kind(&host("bare", 0, false)), BackendKind::Builtin);
    // Regression: as root in a container with /etc/init.d and no init, auto meant sysv (an init
    // script that nothing runs, and no restart policy); it is the builtin supervisor.
    assert_eq!(
        detect_kind(&host("container", 0, false)),
        BackendKind::Builtin
    );
    assert_eq!(detect_kind(&host("initctl", 0, false)), BackendKind::Sysv);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn systemctl_show_output_maps_onto_scm_states() {
    use svckit_core::State;
    let shown = systemd::parse_show(
        "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\n\
         ExecMainStatus=0\nNRestarts=2\nFreezerState=running\nUnitFileState=enabled\n",
    );
    assert_eq!(shown.main_pid, 4242);
    assert_eq!(shown.restarts, 2);
    assert_eq!(shown.state(), State::Running);
    assert_eq!(shown.last_exit(), None, "no exit while it runs");
    for (code, status, exit) in [
        (1, 3, LastExit::Code(3)),
        (2, 15, LastExit::Signal(15)),
        (3, 11, LastExit::Signal(11)),
    ] {
        let shown = systemd::parse_show(&format!(
            "ActiveState=failed\nExecMainCode={code}\nExecMainStatus={status}\n\
             ExecMainStartTimestampMonotonic=123456789\n"
        ));
        assert_eq!(shown.last_exit(), Some(exit));
        assert_eq!(shown.exec_main_start_us, 123_456_789);
    }
    let frozen = systemd::parse_show("ActiveState=active\nFreezerState=frozen\n");
    assert_eq!(frozen.state(), State::Paused);
    for (active, state) in [
        ("activating", State::StartPending),
        ("deactivating", State::StopPending),
        ("failed", State::Stopped),
        ("inactive", State::Stopped),
    ] {
        let shown = systemd::parse_show(&format!("ActiveState={active}\n"));
        assert_eq!(shown.state(), state, "{active}");
    }
}

/// Regression: `dependencies = ["network.target"]` rendered `After=network.target.service`.
#[test]
fn regression_a_dependency_with_a_unit_type_is_rendered_as_written() {
    let mut spec = plain();
    spec.dependencies = vec![name("db"), name("network.target"), name("syslog.socket")];
    let unit = systemd::render(&spec, Scope::System).unwrap();
    assert!(
        unit.contains("After=db.service network.target syslog.socket\n"),
        "{unit}"
    );
}

/// Debian's nginx.service and ssh.service, ported to svckit definitions (examples/): their
/// units pass systemd's verifier and say what Debian's do.
#[test]
fn the_ported_debian_units_render_as_systemd_reads_them() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for (name, says) in [
        (
            "nginx",
            &[
                "Type=forking\n",
                "PIDFile=/run/nginx.pid\n",
                "ExecStartPre=\"/usr/sbin/nginx\" \"-t\" \"-q\"",
                "ExecReload=\"/usr/sbin/nginx\"",
                "KillSignal=SIGQUIT\n",
                "TimeoutStopSec=5s\n",
                "KillMode=mixed\n",
                "After=network-online.target remote-fs.target nss-lookup.target\n",
            ][..],
        ),
        (
            "ssh",
            &[
                "Type=notify\n",
                "EnvironmentFile=-/etc/default/ssh\n",
                "ExecStartPre=\"/usr/sbin/sshd\" \"-t\"\n",
                "ExecStart=\"/usr/sbin/sshd\" \"-D\"\n",
                "KillMode=process\n",
                "Restart=on-failure\n",
                "RestartPreventExitStatus=255\n",
                "RuntimeDirectory=sshd\n",
                "RuntimeDirectoryMode=0755\n",
                "After=network.target auditd.service\n",
            ][..],
        ),
    ] {
        let text = fs::read_to_string(examples.join(format!("{name}.toml"))).unwrap();
        let spec = ServiceSpec::from_toml(&text, Some(name)).unwrap();
        let unit = systemd::render(&spec, Scope::System).unwrap();
        for line in says {
            assert!(unit.contains(line), "{name}: no {line:?} in\n{unit}");
        }
        assert_eq!(verify(&spec, &unit), "", "systemd-analyze said something");
    }
}

#[test]
fn requires_wants_and_after_are_what_systemd_and_init_scripts_call_them() {
    let mut spec = plain();
    // Its own name: check_script's temporary file is named after the service.
    spec.name = name("web-deps");
    spec.requires = vec![name("db")];
    spec.wants = vec![name("cache")];
    spec.after = vec![name("network.target")];
    let unit = systemd::render(&spec, Scope::System).unwrap();
    for line in [
        "After=db.service network.target\n",
        "Wants=cache.service\n",
        "Requires=db.service\n",
    ] {
        assert!(unit.contains(line), "no {line:?} in\n{unit}");
    }
    spec.after = vec![name("syslog")];
    let script = sysv::render(&spec, Path::new(SVCKIT)).unwrap();
    assert!(
        script.contains("# Required-Start:    $remote_fs $syslog db\n"),
        "{script}"
    );
    assert!(
        script.contains("# Should-Start:      cache syslog\n"),
        "{script}"
    );
    check_script(&spec, &script);
}

/// Runs systemd's verifier over all of `units` (written side by side) and returns what it
/// said.
fn verify_units(spec: &ServiceSpec, units: &[systemd::UnitFile]) -> String {
    let dir = std::env::temp_dir().join(format!(
        "svckit-verify-units-{}-{}",
        spec.name,
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = units
        .iter()
        .map(|unit| {
            let path = dir.join(&unit.name);
            fs::write(&path, &unit.text).unwrap();
            path
        })
        .collect();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .expect("systemd-analyze (Debian's systemd package) must be installed");
    fs::remove_dir_all(&dir).unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "verify failed:\n{said}\n{units:?}");
    said
}

fn listener(address: &str) -> svckit_core::listen::Listener {
    svckit_core::listen::Listener::at(address.parse().unwrap())
}

/// A server written for systemd's socket activation: TCP on every address, a Unix socket,
/// a name, a backlog and a mode; started at boot.
fn listening() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("web-sock"), "/usr/bin/sleep");
    spec.args = vec!["1000".into()];
    spec.start = StartType::Auto;
    spec.restart.policy = Restart::OnFailure;
    spec.listen = ["tcp:8080", "unix:/run/web sock/web.sock"]
        .into_iter()
        .map(|address| {
            let mut listener = listener(address);
            listener.name = Some("web".into());
            listener.backlog = Some(128);
            listener.mode = address.starts_with("unix:").then_some(0o660);
            if address.starts_with("unix:") {
                listener.user = Some("www-data".into());
                listener.group = Some("www-data".into());
            }
            listener
        })
        .collect();
    spec
}

/// git's inetd mode: an instance per connection on its stdin and stdout, bounded.
fn per_connection(accept: &str) -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("git-daemon"), "/usr/bin/git");
    spec.args = vec![
        "daemon".into(),
        "--inetd".into(),
        "--base-path=/srv/git 100%".into(),
    ];
    spec.listen = vec![listener("tcp:127.0.0.1:9418"), listener("unix:@git")];
    spec.accept = accept.parse().unwrap();
    spec.max_connections = 10;
    spec.max_connections_per_source = Some(2);
    spec
}

#[test]
fn sockets_are_a_socket_unit_beside_the_service_and_pass_systemd_analyze_verify() {
    let spec = listening();
    let units = systemd::units(&spec, Scope::System).unwrap();
    let names: Vec<&str> = units.iter().map(|unit| unit.name.as_str()).collect();
    assert_eq!(names, ["web-sock.service", "web-sock.socket"]);
    insta::assert_snapshot!(
        "unit_listening",
        systemd::render(&spec, Scope::System).unwrap()
    );
    assert_eq!(
        verify_units(&spec, &units),
        "",
        "systemd-analyze said something"
    );
    let service = &units[0].text;
    assert!(
        service.contains("\nRequires=web-sock.socket\nAfter=web-sock.socket\n"),
        "{service}"
    );
    let socket = &units[1].text;
    for line in [
        "\nListenStream=[::]:8080\n",
        "\nListenStream=/run/web sock/web.sock\n",
        "\nBindIPv6Only=both\n",
        "\nBacklog=128\n",
        "\nSocketMode=0660\n",
        "\nSocketUser=www-data\n",
        "\nSocketGroup=www-data\n",
        "\nFileDescriptorName=web\n",
        "\nWantedBy=sockets.target\n",
    ] {
        assert!(socket.contains(line), "no {line:?} in\n{socket}");
    }
    assert!(!socket.contains("Accept="), "{socket}");

    for (accept, stdin) in [("inetd", true), ("fd", false)] {
        let spec = per_connection(accept);
        let units = systemd::units(&spec, Scope::System).unwrap();
        let names: Vec<&str> = units.iter().map(|unit| unit.name.as_str()).collect();
        assert_eq!(names, ["git-daemon@.service", "git-daemon.socket"]);
        insta::assert_snapshot!(
            format!("unit_per_connection_{accept}"),
            systemd::render(&spec, Scope::System).unwrap()
        );
        assert_eq!(
            verify_units(&spec, &units),
            "",
            "systemd-analyze said something"
        );
        let (template, socket) = (&units[0].text, &units[1].text);
        assert_eq!(
            template.contains("\nStandardInput=socket\n"),
            stdin,
            "{template}"
        );
        assert!(
            !template.contains("[Install]"),
            "a template is not enabled: {template}"
        );
        assert!(template.contains("\nRestart=no\n"), "{template}");
        for line in [
            "\nListenStream=127.0.0.1:9418\n",
            "\nListenStream=@git\n",
            "\nAccept=yes\n",
            "\nMaxConnections=10\n",
            "\nMaxConnectionsPerSource=2\n",
            "\nFileDescriptorName=git-daemon\n",
        ] {
            assert!(socket.contains(line), "no {line:?} in\n{socket}");
        }
    }
}

#[test]
fn what_a_socket_unit_cannot_say_is_refused_naming_it() {
    let mut spec = listening();
    spec.idle_stop = Some(Duration::from_secs(600));
    let (backend, setting, reason) = unsupported(systemd::render(&spec, Scope::System));
    assert_eq!((backend, setting), ("systemd", "idle_stop"));
    assert!(reason.contains("systemd-socket-proxyd"), "{reason}");

    let mut spec = listening();
    spec.listen[1].name = Some("admin".into());
    let (_, setting, reason) = unsupported(systemd::render(&spec, Scope::System));
    assert_eq!(setting, "listen");
    assert!(reason.contains("FileDescriptorName="), "{reason}");

    let mut spec = listening();
    spec.listen = vec![listener("unix:/run/web.sock ")];
    let (_, setting, reason) = unsupported(systemd::render(&spec, Scope::System));
    assert_eq!(setting, "listen");
    assert!(reason.contains("white space"), "{reason}");
}

#[test]
fn a_socket_units_show_reads_back_as_svckit_writes_addresses() {
    for (shown, written) in [
        ("[::]:8080 (Stream)", "tcp:[::]:8080"),
        ("127.0.0.1:9418 (Stream)", "tcp:127.0.0.1:9418"),
        ("127.0.0.1:5353 (Datagram)", "udp:127.0.0.1:5353"),
        (
            "/run/web sock/web.sock (Stream)",
            "unix:/run/web sock/web.sock",
        ),
        ("/run/log.sock (Datagram)", "unix-dgram:/run/log.sock"),
        ("@git (Stream)", "unix:@git"),
    ] {
        assert_eq!(systemd::listen_address(shown), written);
        // What it reads back is what a definition says.
        assert!(
            written.parse::<svckit_core::listen::Address>().is_ok(),
            "{written}"
        );
    }
    let socket = systemd::parse_show(
        "LoadState=loaded\nActiveState=active\nListen=[::]:8080 (Stream)\n\
         Listen=@git (Stream)\nNConnections=2\nNAccepted=17\n",
    );
    assert_eq!(socket.listen, ["tcp:[::]:8080", "unix:@git"]);
    assert_eq!(
        (socket.connections, socket.accepted, socket.refused),
        (Some(2), Some(17), None)
    );
    assert_eq!(socket.state(), svckit_core::State::Running);
}

#[test]
fn a_per_connection_service_is_an_xinetd_entry_under_sysv() {
    let mut spec = per_connection("inetd");
    spec.listen = vec![listener("tcp:127.0.0.1:9418")];
    spec.args = vec!["daemon".into(), "--inetd".into(), "--export-all".into()];
    spec.account = Some("nobody".into());
    spec.env = vec![("GIT_TRACE".into(), "0".into())];
    spec.description = Some("git's own protocol".into());
    let entry = sysv::render(&spec, Path::new(SVCKIT)).unwrap();
    insta::assert_snapshot!("xinetd_git", entry);
    for line in [
        "service git-daemon\n{\n",
        "\twait        = no\n",
        "\tport        = 9418\n",
        "\tbind        = 127.0.0.1\n",
        "\tuser        = nobody\n",
        "\tserver      = /usr/bin/git\n",
        "\tserver_args = daemon --inetd --export-all\n",
        "\tinstances   = 10\n",
        "\tper_source  = 2\n",
        "\tenv         = GIT_TRACE=0\n",
        "\tdisable     = no\n",
    ] {
        assert!(entry.contains(line), "no {line:?} in\n{entry}");
    }
    assert!(svckit_install::xinetd::enabled(&entry));
    let off = svckit_install::xinetd::with_disable(&entry, true);
    assert!(!svckit_install::xinetd::enabled(&off), "{off}");
    assert_eq!(svckit_install::xinetd::with_disable(&off, false), entry);
    // Every address, IPv6 and IPv4: no bind, xinetd's IPv6 flag.
    spec.listen = vec![listener("tcp:9418")];
    let entry = sysv::render(&spec, Path::new(SVCKIT)).unwrap();
    assert!(
        entry.contains("\tflags       = IPv6\n") && !entry.contains("bind"),
        "{entry}"
    );
}

#[test]
fn what_an_xinetd_entry_cannot_say_is_refused_naming_it() {
    let refused = |spec: &ServiceSpec| unsupported(sysv::render(spec, Path::new(SVCKIT)));
    let base = || {
        let mut spec = per_connection("inetd");
        spec.listen = vec![listener("tcp:127.0.0.1:9418")];
        spec.args = vec!["--inetd".into()];
        spec
    };
    // A program that accepts itself wants LISTEN_FDS, which xinetd does not give.
    let mut spec = base();
    spec.accept = svckit_core::listen::AcceptMode::No;
    let (backend, setting, reason) = refused(&spec);
    assert_eq!((backend, setting), ("sysv", "listen"));
    assert!(reason.contains("LISTEN_FDS"), "{reason}");
    let mut spec = base();
    spec.accept = svckit_core::listen::AcceptMode::Fd;
    assert_eq!(refused(&spec).1, "accept");
    let mut spec = base();
    spec.args = vec!["--base-path=/srv/my repos".into()];
    let (_, setting, reason) = refused(&spec);
    assert_eq!(setting, "args");
    assert!(reason.contains("white space"), "{reason}");
    let mut spec = base();
    spec.args = vec!["".into()];
    assert_eq!(refused(&spec).1, "args");
    let mut spec = base();
    spec.env = vec![("A".into(), "b c".into())];
    assert_eq!(refused(&spec).1, "env");
    let mut spec = base();
    spec.listen.push(listener("tcp:127.0.0.1:9419"));
    assert!(refused(&spec).2.contains("one port"));
    let mut spec = base();
    spec.listen = vec![listener("unix:/run/git.sock")];
    assert!(refused(&spec).2.contains("TCP connections only"));
    let mut spec = base();
    spec.working_dir = Some("/srv".into());
    assert_eq!(refused(&spec).1, "working_dir");
    let mut spec = base();
    spec.program = "/opt/my tools/git".into();
    assert_eq!(refused(&spec).1, "program");
}

/// A readiness probe is `svckit probe-wait` in the unit's first ExecStartPost= (its words
/// quoted as systemd reads them), with the start bounded by ready_timeout; without the svckit
/// executable it is refused, naming it; a liveness probe is refused by name.
#[test]
fn systemd_waits_for_a_readiness_probe_in_exec_start_post() {
    use svckit_core::health::{Check, HttpCheck, Probe};
    let mut spec = plain();
    let mut http = HttpCheck::parse("http://127.0.0.1:8080/health?full=1").unwrap();
    http.header = Some(("X-Ready".into(), "yes 100%".into()));
    let mut probe = Probe::new(Check::Http(http));
    probe.period = std::time::Duration::from_millis(1500);
    spec.readiness = Some(Box::new(probe));
    spec.exec_start_post = vec![vec!["/bin/true".into()]];
    let svckit = std::path::Path::new("/usr/bin/svckit");
    let unit = systemd::render_with(&spec, Scope::System, Some(svckit)).unwrap();
    let posts: Vec<&str> = unit
        .lines()
        .filter_map(|line| line.strip_prefix("ExecStartPost="))
        .collect();
    assert_eq!(
        posts,
        [
            "\"/usr/bin/svckit\" \"probe-wait\" \"--period\" \"1s 500ms\" \"--timeout\" \"1s\" \
             \"--initial-delay\" \"0s\" \"--success-threshold\" \"1\" \"--http\" \
             \"http://127.0.0.1:8080/health?full=1\" \"--header\" \"X-Ready: yes 100%%\"",
            "\"/bin/true\""
        ],
        "{unit}"
    );
    assert!(unit.contains("\nTimeoutStartSec=90s\n"), "{unit}");
    let (_, setting, reason) = unsupported(systemd::render(&spec, Scope::System));
    assert_eq!(setting, "readiness");
    assert!(reason.contains("svckit probe-wait"), "{reason}");
    let mut alive = plain();
    alive.liveness = Some(Box::new(Probe::new(Check::tcp("127.0.0.1:8080").unwrap())));
    let (_, setting, reason) =
        unsupported(systemd::render_with(&alive, Scope::System, Some(svckit)));
    assert_eq!(setting, "liveness");
    assert!(reason.contains("WATCHDOG=1"), "{reason}");
}

/// The keys real units need (issue 28): command prefixes, variables systemd expands itself,
/// post-stop commands, Before=, SendSIGKILL=, the restart policies named as systemd names
/// them, and every kind of directory with its mode; systemd's verifier reads it all.
#[test]
fn prefixes_variables_stop_post_before_and_directories_render_as_systemd_reads_them() {
    let mut spec = plain();
    spec.program_prefix = svckit_core::command::Prefix {
        privileged: true,
        ..Default::default()
    };
    spec.args = vec!["-f".into(), "$DAEMON_OPTS".into(), "${ONE}".into()];
    spec.expand_env = true;
    spec.exec_start_pre = vec![vec!["-/usr/bin/true".into(), "$$literal".into()]];
    spec.exec_stop_post = vec![vec![
        "@/usr/bin/true".into(),
        "cleanup".into(),
        "now".into(),
    ]];
    spec.reload.command = vec![":/usr/bin/true".into(), "$MAINPID".into()];
    spec.before = vec![name("db")];
    spec.send_sigkill = false;
    spec.restart.policy = Restart::OnAbnormal;
    spec.restart.max_delay = spec.restart.delay;
    spec.runtime_directory = vec!["demo".into()];
    let mut directories = svckit_core::Directories {
        runtime_mode: Some(0o2750),
        runtime_preserve: svckit_core::Preserve::Restart,
        ..Default::default()
    };
    for kind in svckit_core::DirectoryKind::ALL {
        directories.of_mut(kind).0.push("demo".into());
    }
    *directories.of_mut(svckit_core::DirectoryKind::State).1 = Some(0o750);
    spec.directories = Some(Box::new(directories));
    let unit = systemd::render(&spec, Scope::System).unwrap();
    for line in [
        "ExecStart=\"+/usr/bin/sleep\" \"-f\" \"$DAEMON_OPTS\" \"${ONE}\"\n",
        "ExecStartPre=\"-/usr/bin/true\" \"$$literal\"\n",
        "ExecStopPost=\"@/usr/bin/true\" \"cleanup\" \"now\"\n",
        // `:`: systemd expands nothing in it, so its `$` stays single.
        "ExecReload=\":/usr/bin/true\" \"$MAINPID\"\n",
        "Before=db.service\n",
        "SendSIGKILL=no\n",
        "Restart=on-abnormal\n",
        "RuntimeDirectoryMode=2750\n",
        "RuntimeDirectoryPreserve=restart\n",
        "StateDirectory=demo\nStateDirectoryMode=0750\n",
        "CacheDirectory=demo\nCacheDirectoryMode=0755\n",
        "LogsDirectory=demo\n",
        "ConfigurationDirectory=demo\n",
    ] {
        assert!(unit.contains(line), "no {line:?} in\n{unit}");
    }
    assert_eq!(verify(&spec, &unit), "", "systemd-analyze said something");
    // Without expand_env, a `$` is doubled: systemd passes it as it is, as svckit does.
    spec.expand_env = false;
    let unit = systemd::render(&spec, Scope::System).unwrap();
    assert!(unit.contains("\"$$DAEMON_OPTS\""), "{unit}");
    // An init script and the SCM refuse what they cannot do, by name.
    let (_, setting, _) = unsupported(sysv::render(&spec, Path::new(SVCKIT)));
    assert_eq!(setting, "program");
}
