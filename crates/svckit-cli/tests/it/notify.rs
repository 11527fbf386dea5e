//! `type = notify` under the supervisor is sd_notify, as under systemd: the supervisor sets
//! NOTIFY_SOCKET, and programs that speak it — systemd's own systemd-notify, redis
//! `--supervised systemd`, haproxy -Ws — are running once they say READY=1, their STATUS= is
//! shown, and a watchdog that goes unfed makes them hung and restarted.

use std::{fs, net::TcpStream, time::Duration};

use crate::{
    supervise::{Sup, sleepers},
    support::{code, eventually, free_port, is_gone, listening, require_program, require_root},
};

const NOTIFY: &str = "/usr/bin/systemd-notify";

#[test]
fn systemd_notify_ready_and_status_make_it_running() {
    let test = "systemd_notify_ready_and_status_make_it_running";
    if !require_program(test, NOTIFY) {
        return;
    }
    let sup = Sup::new("notify-ready");
    let ready = sup.dir.join("ready");
    let script = format!(
        "sleep 0.3; touch {}; systemd-notify --ready --status='up and serving'; exec sleep 1000.51",
        ready.display()
    );
    sup.ok(&[
        "install", "n", "--type", "notify", "--", "/bin/sh", "-c", &script,
    ]);
    sup.ok(&["start", "n"]);
    assert!(ready.exists(), "start returned before READY=1");
    let status = sup.status("n");
    assert_eq!(status["state"], "running");
    assert_eq!(status["status_text"], "up and serving", "{status}");
    sup.ok(&["stop", "n"]);
    assert!(sleepers("1000.51").is_empty());
}

#[test]
fn regression_notify_access_main_hears_only_the_main_process() {
    let test = "regression_notify_access_main_hears_only_the_main_process";
    if !require_program(test, NOTIFY) {
        return;
    }
    let sup = Sup::new("notify-access");
    // READY=1 from a grandchild of the service, not its main process.
    let script = "(sh -c 'systemd-notify --ready') & exec sleep 1000.52";
    sup.ok(&[
        "install",
        "main-only",
        "--type",
        "notify",
        "--ready-timeout",
        "1s",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    let out = sup.run(&["start", "main-only"]);
    assert_ne!(code(&out), 0, "a READY=1 of another process was heard");
    assert!(
        sleepers("1000.52").is_empty(),
        "the unready service was not stopped"
    );
    sup.ok(&[
        "install",
        "all",
        "--type",
        "notify",
        "--notify-access",
        "all",
        "--ready-timeout",
        "5s",
        "--",
        "/bin/sh",
        "-c",
        "(sh -c 'systemd-notify --ready') & exec sleep 1000.53",
    ]);
    sup.ok(&["start", "all"]);
    assert_eq!(sup.status("all")["state"], "running");
    sup.ok(&["stop", "all"]);
}

#[test]
fn a_watchdog_that_goes_unfed_is_a_hung_service_restarted_by_policy() {
    let test = "a_watchdog_that_goes_unfed_is_a_hung_service_restarted_by_policy";
    if !require_program(test, NOTIFY) {
        return;
    }
    let sup = Sup::new("watchdog");
    // Ready, then silent.
    sup.ok(&[
        "install",
        "silent",
        "--type",
        "notify",
        "--watchdog",
        "400ms",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        "/bin/sh",
        "-c",
        "[ -n \"$WATCHDOG_USEC\" ] || exit 9; systemd-notify --ready; exec sleep 1000.54",
    ]);
    sup.ok(&["start", "silent"]);
    let first = sup.status("silent")["pid"].as_i64().unwrap() as i32;
    assert!(
        eventually(Duration::from_secs(10), || is_gone(first)),
        "a hung service was not killed"
    );
    assert!(
        eventually(Duration::from_secs(10), || sup.status("silent")["restarts"]
            == 1),
        "{}",
        sup.status("silent")
    );
    let status = sup.status("silent");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|why| why.contains("watchdog")),
        "{status}"
    );
    sup.ok(&["stop", "silent"]);

    // Fed, it lives on.
    sup.ok(&[
        "install",
        "fed",
        "--type",
        "notify",
        "--watchdog",
        "400ms",
        "--",
        "/bin/sh",
        "-c",
        "systemd-notify --ready; while :; do systemd-notify WATCHDOG=1; sleep 0.1; done",
    ]);
    sup.ok(&["start", "fed"]);
    let pid = sup.status("fed")["pid"].as_i64().unwrap() as i32;
    std::thread::sleep(Duration::from_millis(1500));
    let status = sup.status("fed");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["pid"], pid, "a fed watchdog must not restart it");
    sup.ok(&["stop", "fed"]);
}

#[test]
fn redis_supervised_systemd_is_a_notify_service() {
    let test = "redis_supervised_systemd_is_a_notify_service";
    if !require_program(test, "/usr/bin/redis-server") {
        return;
    }
    let sup = Sup::new("redis-notify");
    let dir = sup.dir.join("redis");
    fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let redis = crate::support::redis_command(port, &dir, &["--supervised", "systemd"]);
    sup.install_restarted("redis", &["--type", "notify"], &redis);
    sup.ok(&["start", "redis"]);
    // READY=1 comes once it accepts connections: no waiting here.
    assert!(listening(port), "start returned before redis listened");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    let status = sup.status("redis");
    assert!(
        status["status_text"]
            .as_str()
            .is_some_and(|text| text.contains("Ready to accept connections")),
        "{status}"
    );
    let main = status["pid"].as_i64().unwrap() as i32;
    crate::daemons::restarted_after_sigkill(&sup, "redis", main);
    assert!(eventually(Duration::from_secs(10), || listening(port)));
    let pid = sup.status("redis")["pid"].as_i64().unwrap() as i32;
    sup.ok(&["stop", "redis"]);
    assert!(is_gone(pid) && !listening(port));
}

#[test]
fn haproxy_master_worker_is_a_notify_service() {
    let test = "haproxy_master_worker_is_a_notify_service";
    if !require_root(test) || !require_program(test, "/usr/sbin/haproxy") {
        return;
    }
    let sup = Sup::new("haproxy");
    let port = free_port();
    let conf = sup.dir.join("haproxy.cfg");
    fs::write(
        &conf,
        format!(
            "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 1s\n  \
             timeout client 1s\n  timeout server 1s\nfrontend web\n  bind 127.0.0.1:{port}\n  \
             http-request return status 200 content-type text/plain string ok\n"
        ),
    )
    .unwrap();
    let command = [
        "/usr/sbin/haproxy".to_owned(),
        "-Ws".into(),
        "-f".into(),
        conf.display().to_string(),
    ];
    sup.install_restarted(
        "haproxy",
        &["--type", "notify", "--notify-access", "all"],
        &command,
    );
    sup.ok(&["start", "haproxy"]);
    assert!(listening(port), "start returned before haproxy listened");
    let status = sup.status("haproxy");
    let master = status["pid"].as_i64().unwrap() as i32;
    let tasks = status["tasks"].as_u64().unwrap_or(0);
    assert!(tasks >= 2, "a master and a worker: {status}");
    let old: Vec<i32> = crate::daemons::cgroup_pids(&status)
        .into_iter()
        .filter(|pid| *pid != master)
        .collect();
    // Reloaded its own way (SIGUSR2 to the master, as Debian's unit does): a new worker,
    // the same master, running again once it said READY=1.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGUSR2,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || old
            .iter()
            .all(|pid| is_gone(*pid))),
        "the old worker lives on after the reload"
    );
    assert!(eventually(Duration::from_secs(5), || {
        let now = sup.status("haproxy");
        now["state"] == "running" && now["pid"] == master
    }));
    assert!(eventually(Duration::from_secs(5), || listening(port)));
    sup.ok(&["stop", "haproxy"]);
    crate::daemons::lives_its_life(&sup, "haproxy", port, None);
}

#[test]
fn reloading_1_shows_reloading_until_ready_1() {
    let test = "reloading_1_shows_reloading_until_ready_1";
    if !require_program(test, NOTIFY) {
        return;
    }
    let sup = Sup::new("notify-reloading");
    let go_on = sup.dir.join("reloaded");
    // On SIGHUP it says RELOADING=1, and READY=1 only once the test lets it.
    let script = format!(
        "trap 'systemd-notify RELOADING=1; while [ ! -e {go} ]; do sleep 0.02; done; \
         systemd-notify --ready' HUP; systemd-notify --ready; \
         while :; do sleep 0.02; done",
        go = go_on.display()
    );
    sup.install_notify("r", &script);
    sup.ok(&["start", "r"]);
    sup.ok(&["reload", "r"]);
    assert!(
        eventually(Duration::from_secs(5), || sup.status("r")["state"]
            == "reloading"),
        "{}",
        sup.status("r")
    );
    fs::write(&go_on, "").unwrap();
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("r")["state"] == "running"
    ));
    sup.ok(&["stop", "r"]);
}

#[test]
fn stopping_1_is_a_stop_of_its_own_decided_by_the_restart_policy() {
    let test = "stopping_1_is_a_stop_of_its_own_decided_by_the_restart_policy";
    if !require_program(test, NOTIFY) {
        return;
    }
    let sup = Sup::new("notify-stopping");
    let go_on = sup.dir.join("go-on");
    let script = format!(
        "systemd-notify --ready; sleep 0.2; systemd-notify STOPPING=1; \
         while [ ! -e {go} ]; do sleep 0.02; done; exit 0",
        go = go_on.display()
    );
    sup.ok(&[
        "install",
        "s",
        "--type",
        "notify",
        "--notify-access",
        "all",
        "--restart",
        "on-failure",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    sup.ok(&["start", "s"]);
    assert!(
        eventually(Duration::from_secs(5), || sup.status("s")["state"]
            == "stopping"),
        "{}",
        sup.status("s")
    );
    fs::write(&go_on, "").unwrap();
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("s")["state"] == "exited"
    ));
    assert_eq!(sup.status("s")["last_exit"]["code"], 0);
}
