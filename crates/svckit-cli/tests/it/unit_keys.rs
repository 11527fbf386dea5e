//! The definition keys real systemd units need, under the builtin supervisor, each on its
//! own: `before`, the `@` and `:` prefixes with `expand_env`, `send_sigkill = false`,
//! `restart.policy = "on-watchdog"`, and a kept directory that a symlink cannot turn against
//! the machine. (The daemons of tests/it/import_served.rs run the rest for real.)

use std::{fs, process::Stdio, time::Duration};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::{
    supervise::Sup,
    support::{eventually, is_gone, require_program, require_root},
};

fn install(sup: &Sup, name: &str, definition: &str) {
    let file = sup.dir.join(&format!("{name}.toml"));
    fs::write(&file, definition).unwrap();
    sup.ok(&["install", "--file", &file.display().to_string()]);
}

/// `before = ["web"]` orders web's start after this one's readiness when both start, as
/// web's own `after` would, and its stop after web's; neither starts the other.
#[test]
fn before_orders_starts_and_stops_as_the_other_s_after_would() {
    let test = "before_orders_starts_and_stops_as_the_other_s_after_would";
    if !require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let sup = Sup::new("before");
    let trace = sup.dir.join("trace");
    let t = trace.display();
    // db is ready only after 300 ms; web writes its line at once.
    let db = format!(
        "trap 'echo stop-db >> {t}; exit 0' TERM; sleep 0.3; echo db >> {t}; \
         systemd-notify --ready; while :; do sleep 0.02; done"
    );
    let web = format!(
        "trap 'echo stop-web >> {t}; exit 0' TERM; echo web >> {t}; \
         while :; do sleep 0.02; done"
    );
    install(
        &sup,
        "db",
        &format!(
            "program = \"/bin/sh\"\nargs = [\"-c\", {db:?}]\ntype = \"notify\"\n\
             notify_access = \"all\"\nbefore = [\"web\"]\n"
        ),
    );
    install(
        &sup,
        "web",
        &format!("program = \"/bin/sh\"\nargs = [\"-c\", {web:?}]\n"),
    );
    // Alone, web does not wait for (nor start) db.
    sup.ok(&["start", "web"]);
    assert!(eventually(Duration::from_secs(5), || fs::read_to_string(
        &trace
    )
    .is_ok_and(|text| text == "web\n")));
    assert_eq!(sup.status("db")["state"], "stopped");
    sup.ok(&["stop", "web"]);
    fs::write(&trace, "").unwrap();
    // Both: db first, web once db is ready; stopped the other way round.
    sup.ok(&["start", "--all"]);
    assert!(
        eventually(Duration::from_secs(5), || fs::read_to_string(&trace)
            .is_ok_and(|text| text.lines().count() == 2)),
        "{}",
        fs::read_to_string(&trace).unwrap()
    );
    assert_eq!(fs::read_to_string(&trace).unwrap(), "db\nweb\n");
    sup.ok(&["stop", "--all"]);
    assert_eq!(
        fs::read_to_string(&trace).unwrap(),
        "db\nweb\nstop-web\nstop-db\n"
    );
}

/// `@` gives the program an argv[0] of its own; with `expand_env`, `${X}` is the value of X
/// in its environment, `$X` alone its words, `$$` a `$`; a command prefixed `:` is passed as
/// written.
#[test]
fn argv0_and_variables_are_given_as_systemd_gives_them() {
    let sup = Sup::new("expand");
    let out = sup.dir.join("out");
    let o = out.display();
    let definition = format!(
        "program = \"@/bin/sh\"\n\
         args = [\"svckit-argv0\", \"-c\", \"tr '\\\\000' ' ' < /proc/$$$$/cmdline >> {o}; echo >> {o}; \
         printf '%s|' \\\"$$@\\\" >> {o}; echo >> {o}\", \"sh\", \"$X\", \"${{X}}\", \"$$X\"]\n\
         expand_env = true\n\
         env = {{ X = \"a  b\" }}\n\
         exec_start_pre = [[\"/bin/sh\", \"-c\", \"echo 'pre ${{X}}' >> {o}\"], \
         [\":/bin/sh\", \"-c\", \"echo 'verbatim ${{X}}' >> {o}\"]]\n\
         type = \"oneshot\"\n"
    );
    install(&sup, "expand", &definition);
    sup.ok(&["start", "expand"]);
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "pre a  b",
            "verbatim ${X}",
            // argv[0] as `@` gave it; its script's `$$` is the shell's own pid.
            &format!(
                "svckit-argv0 -c tr '\\000' ' ' < /proc/$$/cmdline >> {o}; echo >> {o}; \
                 printf '%s|' \"$@\" >> {o}; echo >> {o} sh a b a  b $X "
            ),
            // $X alone: two words; ${X}: one, as it is; $$X: `$X`, written.
            "a|b|a  b|$X|",
        ]
    );
}

/// `send_sigkill = false`: a program that ignores the stop signal outlives the stop timeout
/// (the event log says it is waited for), and the stop ends when it does.
#[test]
fn without_send_sigkill_a_stop_waits_for_what_ignores_the_stop_signal() {
    let sup = Sup::new("no-sigkill");
    install(
        &sup,
        "stubborn",
        "program = \"/bin/sh\"\nargs = [\"-c\", \"trap '' TERM; while :; do sleep 0.05; done\"]\n\
         send_sigkill = false\n[stop]\ntimeout = \"1s\"\n",
    );
    sup.ok(&["start", "stubborn"]);
    let pid = sup.status("stubborn")["pid"].as_i64().unwrap() as i32;
    let mut stop = sup.command(&["stop", "stubborn"]);
    let mut stopping = stop.stdout(Stdio::null()).spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || sup
            .ok(&["events", "stubborn"])
            .contains("waited for (send_sigkill = false)")),
        "{}",
        sup.ok(&["events", "stubborn"])
    );
    assert!(!is_gone(pid), "killed though send_sigkill = false");
    assert_eq!(sup.status("stubborn")["state"], "stopping");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert!(stopping.wait().unwrap().success());
    assert_eq!(sup.status("stubborn")["state"], "stopped");
}

/// `restart.policy = "on-watchdog"`: a program whose watchdog goes unfed is killed as hung
/// and restarted; one that just fails is not.
#[test]
fn on_watchdog_restarts_a_hung_program_and_not_a_failed_one() {
    let test = "on_watchdog_restarts_a_hung_program_and_not_a_failed_one";
    if !require_program(test, "/usr/bin/systemd-notify") {
        return;
    }
    let sup = Sup::new("on-watchdog");
    let marker = sup.dir.join("fail");
    let m = marker.display();
    // Ready, then never a WATCHDOG=1; or, once the marker exists, an exit 3.
    let script = format!(
        "systemd-notify --ready; if [ -e {m} ]; then exit 3; fi; while :; do sleep 0.05; done"
    );
    install(
        &sup,
        "hangs",
        &format!(
            "program = \"/bin/sh\"\nargs = [\"-c\", {script:?}]\ntype = \"notify\"\n\
             notify_access = \"all\"\nwatchdog = \"500ms\"\n\
             [restart]\npolicy = \"on-watchdog\"\ndelay = \"0s\"\n"
        ),
    );
    sup.ok(&["start", "hangs"]);
    assert!(
        eventually(Duration::from_secs(10), || sup.status("hangs")["restarts"]
            == 1),
        "{}",
        sup.ok(&["events", "hangs"])
    );
    assert!(
        sup.ok(&["events", "hangs"])
            .contains("killed as hung (SIGABRT)")
    );
    // A plain failure is no watchdog's: not restarted.
    fs::write(&marker, "").unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            let status = sup.status("hangs");
            status["state"] == "exited" && status["last_exit"]["code"] == 3
        }),
        "{}",
        sup.ok(&["events", "hangs"])
    );
}

/// A state directory is made below /var/lib as its user's: a symlink planted at its path
/// (by whoever could write there) is refused by name, the start fails, and what it points
/// to is left as it was.
#[test]
fn a_symlink_at_a_state_directory_is_refused_and_not_followed() {
    let test = "a_symlink_at_a_state_directory_is_refused_and_not_followed";
    if !require_root(test) {
        return;
    }
    let sup = Sup::new("state-dir");
    let name = format!("svckit-test-state-{}", std::process::id());
    let target = sup.dir.join("target");
    fs::create_dir_all(&target).unwrap();
    let path = std::path::Path::new("/var/lib").join(&name);
    let _ = fs::remove_file(&path);
    std::os::unix::fs::symlink(&target, &path).unwrap();
    install(
        &sup,
        "state",
        &format!(
            "program = \"/bin/true\"\nuser = \"nobody\"\nstate_directory = [\"{name}\"]\n\
             state_directory_mode = \"0777\"\n"
        ),
    );
    let out = sup.run(&["start", "state"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    fs::remove_file(&path).unwrap();
    assert!(!out.status.success(), "{said}");
    assert!(said.contains(&name) && said.contains("symlink"), "{said}");
    let meta = fs::metadata(&target).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(meta.uid(), 0, "chowned through the symlink");
    assert_ne!(
        meta.permissions().mode() & 0o777,
        0o777,
        "chmodded through it"
    );
    // Without the symlink, made as asked: nobody's, 0777 (as a mode it is given).
    sup.ok(&["start", "state"]);
    let made = fs::symlink_metadata(&path).unwrap();
    assert!(made.is_dir());
    assert_eq!(made.permissions().mode() & 0o7777, 0o777);
    assert_eq!(
        made.uid(),
        nix::unistd::User::from_name("nobody")
            .unwrap()
            .unwrap()
            .uid
            .as_raw()
    );
    fs::remove_dir(&path).unwrap();
}

/// `svckit render --target`: the manifest on stdout, each key the engine has no place for on
/// a line of its own on stderr and exit 2, unless --lenient; a container engine without an
/// image is refused by name.
#[test]
fn render_for_an_engine_names_what_it_cannot_carry_and_exits_2_unless_lenient() {
    let sup = Sup::new("render-engines");
    let file = sup.dir.join("web.toml");
    fs::write(
        &file,
        "name = \"web\"\nprogram = \"/usr/sbin/nginx\"\nargs = [\"-g\", \"daemon off;\"]\n\
         exec_stop_post = [[\"/bin/true\"]]\n[restart]\npolicy = \"always\"\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let args = |target: &str, more: &[&str]| {
        let mut args = vec!["render", "--file", file.as_str(), "--target", target];
        args.extend(more);
        sup.run(&args)
    };
    let out = args("kubernetes", &["--image", "nginx:1.25"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        [
            "svckit: render: exec_stop_post: not mapped to kubernetes: the engine runs the program alone"
        ]
    );
    let manifest = String::from_utf8_lossy(&out.stdout);
    assert!(
        manifest.starts_with("apiVersion: \"apps/v1\"\nkind: \"Deployment\"\n"),
        "{manifest}"
    );
    let lenient = args("kubernetes", &["--image", "nginx:1.25", "--lenient"]);
    assert_eq!(lenient.status.code(), Some(0));
    assert_eq!(lenient.stdout, out.stdout);
    // Nomad without an image: the program on the client (raw_exec).
    let nomad = args("nomad", &["--lenient"]);
    assert_eq!(nomad.status.code(), Some(0));
    let job: serde_json::Value = serde_json::from_slice(&nomad.stdout).unwrap();
    assert_eq!(
        job["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"],
        "raw_exec"
    );
    let out = args("compose", &[]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("image") && said.contains("--image"), "{said}");
    assert!(out.stdout.is_empty());
    let out = args("swarm", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubernetes, compose or nomad"));
}

/// `timeout_start` bounds a whole start of any type: an exec service whose pre-start check
/// hangs fails its start at the timeout (the check killed, nothing of it left), where without
/// it the start would wait for ever.
#[test]
fn timeout_start_bounds_a_pre_start_command_that_hangs() {
    let sup = Sup::new("timeout-start");
    install(
        &sup,
        "hangs",
        "program = \"/bin/sleep\"\nargs = [\"1000\"]\n\
         exec_start_pre = [[\"/bin/sleep\", \"1001\"]]\ntimeout_start = \"1s\"\n",
    );
    let out = sup.run(&["start", "hangs"]);
    assert!(!out.status.success());
    let status = sup.status("hangs");
    assert!(
        matches!(status["state"].as_str(), Some("failed" | "exited")),
        "{status}"
    );
    assert!(
        eventually(Duration::from_secs(10), || crate::support::processes_with(
            "1001"
        )
        .is_empty()),
        "the hung check lives on"
    );
    assert!(
        sup.ok(&["events", "hangs"]).contains("exec_start_pre"),
        "{}",
        sup.ok(&["events", "hangs"])
    );
}
