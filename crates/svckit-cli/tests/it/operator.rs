//! The operator's day (issue 26): what a daily user of the CLI meets in the first hour, tested
//! as they would meet it.

use std::time::Duration;

use serde_json::Value;

use crate::supervise::Sup;
use crate::support::{code, eventually, free_port, listening, require_program, stderr};

/// A Python HTTP server on a free port, installed as `name`; its port.
fn install_http_server(sup: &Sup, name: &str) -> u16 {
    let port = free_port();
    sup.ok(&[
        "install",
        name,
        "--chdir",
        &sup.dir.str(""),
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
    ]);
    port
}

/// `enable --now` starts what it enables and `disable --now` stops what it disables; status
/// (its line and `start` in JSON) and `list` (and `list --json`) say which are enabled.
#[test]
fn enable_now_starts_disable_now_stops_and_list_says_which_are_enabled() {
    let test = "enable_now_starts_disable_now_stops_and_list_says_which_are_enabled";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("enable-now");
    let port = install_http_server(&sup, "web");
    assert_eq!(sup.status("web")["start"], "demand");
    let said = sup.ok(&["enable", "--now", "web"]);
    assert!(said.contains("web: started (running, PID "), "{said}");
    assert!(eventually(Duration::from_secs(10), || listening(port)));
    let status = sup.status("web");
    assert_eq!(status["start"], "auto", "{status}");
    assert_eq!(status["state"], "running", "{status}");
    let told = sup.ok(&["status", "web"]);
    assert!(told.contains("      start: auto (enabled)"), "{told}");
    let listed = sup.ok(&["list"]);
    assert!(
        listed.lines().any(|line| line
            .split_whitespace()
            .eq(["web", "builtin", "auto", "running"])),
        "{listed}"
    );
    let said = sup.ok(&["disable", "--now", "web"]);
    assert!(said.contains("web: stopped"), "{said}");
    assert!(!listening(port));
    let listed: Value = serde_json::from_str(&sup.ok(&["list", "--json"])).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([{
            "name": "web", "backend": "builtin", "start": "demand", "enabled": false,
            "state": "stopped"
        }])
    );
    // Without --now, nothing runs or stops: only the start type changes.
    sup.ok(&["enable", "web"]);
    assert_eq!(sup.status("web")["state"], "stopped");
    // An unknown name among others: the others are done, its failure said, exit 3.
    sup.ok(&["disable", "web"]);
    let out = sup.run(&["enable", "--now", "nosuch", "web"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("web: started"),
        "{out:?}"
    );
    assert_eq!(sup.status("web")["start"], "auto");
    sup.ok(&["stop", "web"]);
}
