//! `svckit boot` through the other ways a host starts things at boot, each run for real in a
//! private mount and PID namespace (so the host's crontabs, /etc/init.d and /etc/rc?.d are
//! left alone): cron started afresh runs the `@reboot` line (for root and for a user), and
//! `service NAME start|status|stop` runs the init script. systemd's unit is in systemd.rs.

use std::{fs, path::Path, process::Command};

use crate::support::{TempDir, require_root};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// Runs `script` with sh as PID 1 of new PID and mount namespaces (private mounts); its
/// output, whatever its status.
fn contained(script: &str) -> String {
    let out = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--mount",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", script])
        .output()
        .expect("run unshare");
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn missing(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("{program} is missing under CI");
    }
    !found
}

/// `boot enable --via cron` writes the `@reboot` line; cron, started as at boot (a fresh
/// /run: no crond.reboot yet), runs it: the supervisor comes up and starts its auto service;
/// `boot disable` takes the line out. For root, and for a user (nobody) in their own crontab.
/// Regression: `boot status` and `boot disable` without `--via` looked only where this host's
/// own way is (systemd, or in a container the entrypoint): "does not start at boot", "was not
/// set up", the line left. They find the cron line, by its name even when the svckit path in
/// it is an older one.
#[test]
fn boot_via_cron_is_run_by_cron_at_its_start() {
    if !require_root("boot_via_cron_is_run_by_cron_at_its_start") || missing("cron") {
        return;
    }
    for user in ["root", "nobody"] {
        let dir = TempDir::new(&format!("boot-cron-{user}"));
        let state = dir.join("state");
        let marker = dir.join("marker");
        let crontabs = dir.join("crontabs");
        fs::create_dir_all(&crontabs).unwrap();
        fs::create_dir_all(&state).unwrap();
        let as_user = match user {
            "root" => String::new(),
            _ => "setpriv --reuid nobody --regid nogroup --clear-groups".to_owned(),
        };
        // The state directory is the user's; so is the marker's directory.
        let own = |path: &Path| {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), path.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        };
        own(&state);
        let markers = dir.join("markers");
        fs::create_dir_all(&markers).unwrap();
        own(&markers);
        let marker = markers.join(marker.file_name().unwrap());
        let state = state.display();
        let script = format!(
            "set -u
            mount -t tmpfs tmpfs /run
            chgrp crontab {crontabs} && chmod 1730 {crontabs}
            mount --bind {crontabs} /var/spool/cron/crontabs
            {as_user} {SVCKIT} install web --backend builtin --start auto --state-dir {state} \
                -- /bin/sh -c 'echo $$ > {marker}; exec sleep 1019.1' || exit 10
            {as_user} {SVCKIT} boot enable --via cron --state-dir {state} || exit 11
            {as_user} {SVCKIT} boot status --via cron --state-dir {state} || exit 12
            {as_user} {SVCKIT} boot status --state-dir {state} || exit 15
            echo TABLE; {as_user} crontab -l
            cron -f & cron=$!
            i=0; while [ ! -s {marker} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
            echo STATUS; {as_user} {SVCKIT} status web --state-dir {state}
            {as_user} {SVCKIT} supervisor stop --state-dir {state} || exit 13
            {as_user} crontab -l | sed 's|{SVCKIT}|/an/older/svckit|' | {as_user} crontab - || exit 16
            {as_user} {SVCKIT} boot status --state-dir {state} || exit 17
            {as_user} {SVCKIT} boot disable --state-dir {state} || exit 14
            {as_user} {SVCKIT} boot status --via cron --state-dir {state}; echo \"AFTER $?\"
            {as_user} crontab -l 2>/dev/null | grep -c @reboot
            kill $cron
            exit 0",
            crontabs = crontabs.display(),
            marker = marker.display(),
        );
        let said = contained(&script);
        assert!(said.starts_with("status Some(0)"), "{user}: {said}");
        let table = said.split("TABLE\n").nth(1).unwrap_or_default();
        assert!(
            table.starts_with(&format!(
                "@reboot {SVCKIT} supervise --state-dir {state} --daemon # svckit-"
            )),
            "{user}: {said}"
        );
        // Started by cron: the auto service ran, as the user.
        let pid = fs::read_to_string(&marker).unwrap_or_default();
        assert!(
            !pid.trim().is_empty(),
            "{user}: cron did not start it: {said}"
        );
        assert!(
            said.contains("state: running") || said.contains("running"),
            "{said}"
        );
        // Disabled: no line left, status 3.
        assert!(said.contains("AFTER 3\n0\n"), "{user}: {said}");
        assert!(crate::support::processes_with("1019.1").is_empty());
    }
}

/// `boot enable --via sysv` writes an LSB init script and links it with update-rc.d;
/// `service NAME start` (as init would at boot) brings the supervisor up with its auto service,
/// `status` says so, `stop` stops both; `boot disable` removes script and links.
#[test]
fn boot_via_sysv_is_an_init_script_that_service_runs() {
    if !require_root("boot_via_sysv_is_an_init_script_that_service_runs")
        || missing("update-rc.d")
        || missing("service")
    {
        return;
    }
    let dir = TempDir::new("boot-sysv");
    let state = dir.join("state");
    let marker = dir.join("marker");
    let etc = dir.join("etc");
    let mut binds = String::new();
    for sub in [
        "init.d", "rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d", "rcS.d",
    ] {
        fs::create_dir_all(etc.join(sub)).unwrap();
        binds.push_str(&format!(
            "mount --bind {} /etc/{sub}\n",
            etc.join(sub).display()
        ));
    }
    let script = format!(
        "set -u
        {binds}
        {SVCKIT} install web --backend builtin --start auto --state-dir {state} \
            -- /bin/sh -c 'echo $$ > {marker}; exec sleep 1019.2' || exit 10
        {SVCKIT} boot enable --via sysv --state-dir {state} || exit 11
        {SVCKIT} boot status --via sysv --state-dir {state} || exit 12
        name=$(ls /etc/init.d)
        echo LINKS; ls /etc/rc2.d /etc/rc0.d
        service $name start || exit 13
        i=0; while [ ! -s {marker} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
        service $name status; echo \"RUNNING $?\"
        {SVCKIT} status web --state-dir {state} | head -1
        service $name stop || exit 14
        service $name status; echo \"STOPPED $?\"
        {SVCKIT} boot disable --via sysv --state-dir {state} || exit 15
        echo LEFT; ls /etc/init.d /etc/rc2.d",
        state = state.display(),
        marker = marker.display(),
    );
    let said = contained(&script);
    assert!(said.starts_with("status Some(0)"), "{said}");
    let links = said.split("LINKS\n").nth(1).unwrap_or_default();
    assert!(
        links.contains("S01svckit-"),
        "started in runlevel 2: {said}"
    );
    assert!(
        links.contains("K01svckit-"),
        "stopped in runlevel 0: {said}"
    );
    assert!(
        fs::read_to_string(&marker).is_ok_and(|pid| !pid.trim().is_empty()),
        "{said}"
    );
    assert!(said.contains("RUNNING 0"), "{said}");
    assert!(said.contains("STOPPED 3"), "{said}");
    // Regression: named as systemd-escape does (`\x2d`), the script's links were left behind:
    // update-rc.d took the backslashes for glob escapes.
    let left = said
        .split("LEFT\n")
        .nth(1)
        .and_then(|rest| rest.split("stderr:").next())
        .unwrap_or_default();
    assert!(!left.contains("svckit-"), "{said}");
    assert!(crate::support::processes_with("1019.2").is_empty());
    // As a user: refused by name (an init script is root's), exit 5.
    let theirs = dir.join("nobody-state");
    fs::create_dir_all(&theirs).unwrap();
    let owned = Command::new("chown")
        .args(["nobody:", theirs.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(owned.success());
    let out = crate::support::svckit_as_nobody()
        .args(["boot", "enable", "--via", "sysv", "--state-dir"])
        .arg(&theirs)
        .output()
        .unwrap();
    let said = crate::support::stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(
        said.contains("--via sysv: an init script is root's"),
        "{said}"
    );
}
