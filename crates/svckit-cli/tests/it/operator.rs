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

/// Names as people type them: a typo gets "did you mean web?" (exit 3, as not installed), in
/// a single command and among several (the others done, each told); a program given without
/// `--` gets the command line with it; `status` takes several names; a start of what runs
/// says it already runs rather than "started" with its old pid.
#[test]
fn typos_get_did_you_mean_and_a_missing_dash_dash_gets_the_line_to_type() {
    let test = "typos_get_did_you_mean_and_a_missing_dash_dash_gets_the_line_to_type";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("typos");
    let port = install_http_server(&sup, "web");
    install_http_server(&sup, "api");
    let out = sup.run(&["start", "wbe"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "svckit: error: service wbe is not installed; did you mean web?"
    );
    let out = sup.run(&["start", "postgres"]);
    assert_eq!(
        stderr(&out).trim(),
        "svckit: error: service postgres is not installed",
        "nothing is like it"
    );
    let out = sup.run(&["start", "wbe", "web"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean web?"),
        "{}",
        stderr(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("web: started (running, PID "),
        "{out:?}"
    );
    assert!(eventually(Duration::from_secs(10), || listening(port)));
    let pid = sup.status("web")["pid"].clone();
    let again = sup.ok(&["start", "web"]);
    assert_eq!(again.trim(), format!("web: already running (PID {pid})"));
    // Several at once: each described; the first not running decides the exit status.
    let out = sup.run(&["status", "web", "api"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let told = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(told.contains("● web") && told.contains("○ api"), "{told}");
    let out = sup.run(&["status", "web", "api", "--json"]);
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(both[0]["state"], "running", "{both}");
    assert_eq!(both[1]["state"], "stopped", "{both}");
    let out = sup.run(&["status", "web", "wbe"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean web?"),
        "{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("● web"));
    // The program without `--`: refused (exit 2) with the line to type; nothing installed.
    let out = sup.run(&["install", "web2", "/bin/sleep", "100"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // (The test's svckit gives --backend builtin: the line is the one that was typed.)
    assert!(
        stderr(&out).contains("the program and its arguments go after `--`: svckit install ")
            && stderr(&out).trim().ends_with(" web2 -- /bin/sleep 100"),
        "{}",
        stderr(&out)
    );
    assert!(sup.run(&["show", "web2"]).status.code() == Some(3));
    sup.ok(&["stop", "web"]);
}

/// Regression: `logs --all -f` showed nothing of a service installed and started while it
/// followed (`svckit logs late` had its lines). Services that appear are followed from their
/// start, their events too, and the names are padded to the longest so the text lines up.
#[test]
fn regression_logs_all_follow_shows_a_service_installed_while_it_follows() {
    let test = "regression_logs_all_follow_shows_a_service_installed_while_it_follows";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("follow-late");
    install_http_server(&sup, "early-service");
    sup.ok(&["start", "early-service"]);
    // Once its last line is out, what comes is followed.
    let follower =
        crate::support::Following::new(&mut sup.command(&["logs", "--all", "-f", "-n", "1"]));
    assert!(
        follower.until(" early-service ", Duration::from_secs(10)),
        "{}",
        follower.seen()
    );
    sup.ok(&[
        "install",
        "late",
        "--",
        "/usr/bin/python3",
        "-u",
        "-c",
        "import time; print('late line one'); time.sleep(600)",
    ]);
    sup.ok(&["start", "late"]);
    assert!(
        follower.until("late line one", Duration::from_secs(10)),
        "{}",
        follower.seen()
    );
    let seen = follower.seen();
    let padded = format!(" {:<13} [out] late line one", "late");
    assert!(seen.contains(&padded), "{seen}");
    assert!(
        seen.lines()
            .any(|line| line.contains(" late ") && line.contains("-- started /usr/bin/python3")),
        "{seen}"
    );
    drop(follower);
    sup.ok(&["stop", "late", "early-service"]);
}

/// Regression: `install --file`, `edit` and `apply` dropped a definition's comments
/// (`# owner: team-web, ticket OPS-42` vanished). The text is kept through each (and through
/// a flag given beside --file), only what changed written anew.
#[test]
fn regression_definitions_keep_their_comments_through_install_edit_and_apply() {
    let sup = Sup::new("comments");
    let port = free_port();
    let text = format!(
        "# owner: team-web, ticket OPS-42\n\
         program = \"/usr/bin/python3\"   # Debian's\n\
         args = [\"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n\n\
         # Restarted when it crashes.\n\
         restart.policy = \"on-failure\"\n"
    );
    let dir = sup.dir.join("defs");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("web.toml");
    std::fs::write(&file, &text).unwrap();
    sup.ok(&[
        "install",
        "web",
        "--file",
        file.to_str().unwrap(),
        "--restart-delay",
        "3s",
    ]);
    let shown = sup.ok(&["show", "web"]);
    assert!(
        shown.starts_with("# owner: team-web, ticket OPS-42\n"),
        "{shown}"
    );
    assert!(
        shown.contains("program = \"/usr/bin/python3\"   # Debian's\n"),
        "{shown}"
    );
    assert!(shown.contains("# Restarted when it crashes.\n"), "{shown}");
    assert!(shown.contains("restart.delay = \"3s\""), "{shown}");
    // edit: the editor changes a value; the comments stay.
    let out = sup
        .command(&["edit", "web"])
        .env("VISUAL", "sed -i s/on-failure/always/")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = sup.ok(&["show", "web"]);
    assert!(
        shown.contains("# Restarted when it crashes.\nrestart.policy = \"always\""),
        "{shown}"
    );
    assert!(
        shown.contains("# owner: team-web, ticket OPS-42"),
        "{shown}"
    );
    // apply: the directory's file, with a comment of its own.
    std::fs::write(&file, format!("# applied from the repository\n{text}")).unwrap();
    let out = sup.ok(&["apply", dir.to_str().unwrap()]);
    assert!(out.contains("web: changed"), "{out}");
    let shown = sup.ok(&["show", "web"]);
    assert!(
        shown.starts_with("# applied from the repository\n# owner: team-web"),
        "{shown}"
    );
}
