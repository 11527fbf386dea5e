//! The operator's day (issue 26): what a daily user of the CLI meets in the first hour, tested
//! as they would meet it.

use std::time::Duration;

use serde_json::Value;

use crate::supervise::Sup;
use crate::support::{Tmux, code, eventually, free_port, listening, require_program, stderr};

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
    // The SCM's own numbers are a Windows service's, not in a Linux service's status.
    for scm in [
        "win32_exit_code",
        "service_exit_code",
        "checkpoint",
        "wait_hint_ms",
    ] {
        assert!(status.get(scm).is_none(), "{scm}: {status}");
    }
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

/// Filtering as journalctl does: `--since`/`--until` take durations ago and human times
/// ("2 min ago", yesterday, 03:14), `--grep` a regular expression, `--stream events` the
/// events alone; `events` takes the same and `--json`. A Python program's lines.
#[test]
fn logs_and_events_filter_by_human_times_a_pattern_and_the_stream() {
    let test = "logs_and_events_filter_by_human_times_a_pattern_and_the_stream";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("filters");
    sup.ok(&[
        "install",
        "web",
        "--",
        "/usr/bin/python3",
        "-u",
        "-c",
        "import sys, time; print('alpha'); print('beta'); print('gamma', file=sys.stderr); \
         time.sleep(600)",
    ]);
    sup.ok(&["start", "web"]);
    assert!(eventually(Duration::from_secs(10), || sup
        .ok(&["logs", "web"])
        .contains("gamma")));
    let lines = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["logs", "web"];
        all.extend_from_slice(args);
        sup.ok(&all)
            .lines()
            .map(|line| line.get(24..).unwrap_or(line).to_owned())
            .collect()
    };
    assert_eq!(lines(&["--grep", "^b"]), ["[out] beta"]);
    assert_eq!(
        lines(&["-g", "a$", "-n", "2"]),
        ["[out] beta", "[err] gamma"]
    );
    let events = lines(&["--stream", "events"]);
    assert!(
        !events.is_empty() && events.iter().all(|line| line.starts_with("-- ")),
        "{events:?}"
    );
    assert_eq!(
        lines(&["--since", "2 min ago", "--grep", "alpha"]),
        ["[out] alpha"]
    );
    assert_eq!(
        lines(&["--since", "yesterday", "--grep", "alpha"]),
        ["[out] alpha"]
    );
    assert!(lines(&["--until", "2 min ago"]).is_empty());
    sup.ok(&["logs", "web", "--since", "03:14"]);
    let out = sup.run(&["logs", "web", "--since", "someday soon"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"someday soon\" is neither a duration ago"),
        "{}",
        stderr(&out)
    );
    let out = sup.run(&["logs", "web", "--grep", "("]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // One line naming the pattern and what is wrong with it (the regex crate's own message
    // spans three).
    assert_eq!(
        stderr(&out).trim_end().lines().count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("unclosed group"), "{}", stderr(&out));
    // Case-insensitive matching folds ASCII letters (no Unicode case tables built in).
    assert_eq!(lines(&["--grep", "(?i)^B"]), ["[out] beta"]);
    // events: the same filters, and JSON.
    let running = sup.ok(&["events", "web", "--grep", "running$"]);
    assert_eq!(running.lines().count(), 1, "{running}");
    assert!(running.trim_end().ends_with("web: running"), "{running}");
    let json: Vec<Value> = sup
        .ok(&["events", "web", "--json", "--since", "1 hour ago"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        json.iter().any(|event| event["event"] == "running"),
        "{json:?}"
    );
    assert!(
        json.iter()
            .all(|event| event["service"] == "web" && event["ms"].is_u64()),
        "{json:?}"
    );
    assert!(
        sup.ok(&["events", "web", "--until", "1 hour ago"])
            .trim()
            .is_empty()
    );
    sup.ok(&["stop", "web"]);
}

/// A shell that completes svckit's command line: how it starts bare, the line that
/// registers `svckit completions SHELL` and says when it is done, and the keys that list the
/// candidates.
struct Shell {
    name: &'static str,
    path: &'static str,
    /// Started with no rc files, its prompt `$ ` (bash from PS1 in its environment).
    start: &'static str,
    /// Typed at its first prompt: prints SOURCED-42 once the completion is registered.
    setup: &'static str,
    /// The keys that list several candidates (bash: TAB twice; zsh and fish: once).
    list: &'static [&'static str],
    /// The keys that close that list and clear the line.
    clear: &'static [&'static str],
}

/// In tmux, as a person types: `svckit completions SHELL` registers svckit's own completion,
/// which knows the installed services (`svckit restart we<TAB>` → `web`; both offered for
/// `w<TAB>`), a flag's values (`--restart <TAB>`), and completes no file name where no path is
/// meant (`--stop-timeout <TAB>` leaves the one file of the directory out) but does where one
/// is (`--file a-fi<TAB>`).
fn completion_in(shell: &Shell) {
    let test = format!("completion_in_{}", shell.name);
    if !require_program(&test, "/usr/bin/tmux") || !require_program(&test, shell.path) {
        return;
    }
    let sup = Sup::new(&format!("complete-{}", shell.name));
    sup.ok(&[
        "install",
        "web",
        "--",
        "/usr/bin/python3",
        "-m",
        "http.server",
    ]);
    sup.ok(&["install", "worker", "--", "/usr/bin/python3", "-c", "pass"]);
    let here = sup.dir.join("cwd");
    std::fs::create_dir_all(&here).unwrap();
    std::fs::write(here.join("a-file-here"), "").unwrap();
    let home = sup.dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let svckit_dir = std::path::Path::new(env!("CARGO_BIN_EXE_svckit"))
        .parent()
        .unwrap();
    let command = format!(
        "cd {} && env -i HOME={} TERM=xterm PATH={}:/usr/bin:/bin SVCKIT_STATE_DIR={} PS1='$ ' \
         {}",
        here.display(),
        home.display(),
        svckit_dir.display(),
        sup.state(),
        shell.start
    );
    let tmux = Tmux::start(&format!("complete-{}", shell.name), 100, 30, &command);
    let screen = || tmux.screen();
    let keys = |keys: &[&str]| tmux.keys(keys);
    let wait = |what: &str, done: &dyn Fn(&str) -> bool| {
        assert!(
            eventually(Duration::from_secs(10), || done(&screen())),
            "{}: {what}: {}",
            shell.name,
            screen()
        );
    };
    let clear = || {
        keys(shell.clear);
        wait("a clear screen", &|shown| shown.trim() == "$");
    };
    // Keys typed before the shell reads the terminal are not completed: each step waits for
    // what the shell prints once it has done the one before.
    wait("a prompt", &|shown| !shown.trim().is_empty());
    keys(&[shell.setup, "Enter"]);
    wait("SOURCED-42", &|shown| shown.contains("SOURCED-42"));
    clear();
    // Completed in the line: a marker typed after TAB shows once the TAB is done.
    let mut marks = 0;
    let mut inline = |typed: &str, expected: &str| {
        marks += 1;
        let mark = format!("MARK{marks}");
        keys(&[typed, "Tab"]);
        keys(&[&mark]);
        wait(&mark, &|shown| shown.contains(&mark));
        let shown = screen();
        assert!(
            shown.contains(&format!("$ {expected}{mark}")),
            "{}: {typed}<TAB>: {shown}",
            shell.name
        );
        clear();
    };
    inline("svckit restart we", "svckit restart web ");
    // The directory's one file would be completed at once, were files offered.
    inline(
        "svckit install x --stop-timeout ",
        "svckit install x --stop-timeout ",
    );
    inline(
        "svckit install x --file a-fi",
        "svckit install x --file a-file-here ",
    );
    // Listed: waited for.
    let listed = |typed: &str, expected: &[&str]| -> String {
        keys(&[typed]);
        keys(shell.list);
        wait(&expected.join(", "), &|shown| {
            expected.iter().all(|word| shown.contains(word))
        });
        let shown = screen();
        clear();
        shown
    };
    listed(
        "svckit install x --restart ",
        &["never", "on-failure", "always"],
    );
    let shown = listed("svckit status w", &["web", "worker"]);
    eprintln!(
        "tmux, {} after `svckit status w<TAB>`:\n{shown}",
        shell.name
    );
}

#[test]
fn completion_in_bash_knows_the_services_and_the_flag_values() {
    completion_in(&Shell {
        name: "bash",
        path: "/usr/bin/bash",
        start: "bash --norc --noprofile",
        setup: "source <(svckit completions bash); echo SOURCED-$((40+2))",
        list: &["Tab", "Tab"],
        clear: &["C-u", "C-l"],
    });
}

#[test]
fn completion_in_zsh_knows_the_services_and_the_flag_values() {
    completion_in(&Shell {
        name: "zsh",
        path: "/usr/bin/zsh",
        start: "zsh -f",
        setup: "PS1='$ '; autoload -U compinit; compinit -u; source <(svckit completions zsh); \
                echo SOURCED-$((40+2))",
        list: &["Tab"],
        clear: &["C-u", "C-l"],
    });
}

#[test]
fn completion_in_fish_knows_the_services_and_the_flag_values() {
    completion_in(&Shell {
        name: "fish",
        path: "/usr/bin/fish",
        start: "fish --no-config",
        setup: "function fish_prompt; echo -n '$ '; end; svckit completions fish | source; \
                echo SOURCED-(math 40+2)",
        list: &["Tab"],
        // Escape closes fish's pager.
        clear: &["Escape", "C-u", "C-l"],
    });
}

/// `apply` brings the state about: `--dry-run` prints the plan and changes nothing; applying
/// starts what is `auto` and does not run; `--prune` removes the services applied from that
/// directory whose files are gone from it (and nothing else). Python HTTP servers.
#[test]
fn apply_converges_plans_with_dry_run_and_prunes_what_left_the_directory() {
    let test = "apply_converges_plans_with_dry_run_and_prunes_what_left_the_directory";
    if !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("converge");
    let dir = sup.dir.join("defs");
    std::fs::create_dir_all(&dir).unwrap();
    let server = |name: &str, port: u16, start: &str| {
        std::fs::write(
            dir.join(format!("{name}.toml")),
            format!(
                "program = \"/usr/bin/python3\"\n\
                 args = [\"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n\
                 working_dir = {:?}\nstart = \"{start}\"\n",
                sup.dir.str("")
            ),
        )
        .unwrap();
    };
    let (web, api) = (free_port(), free_port());
    server("web", web, "auto");
    server("api", api, "demand");
    // Something installed by hand, not from the directory: never pruned.
    sup.ok(&["install", "manual", "--", "/usr/bin/python3", "-c", "pass"]);
    let plan = sup.ok(&["apply", "--dry-run", dir.to_str().unwrap()]);
    assert_eq!(
        plan.lines().collect::<Vec<_>>(),
        [
            "api: would be installed",
            "web: would be installed and started"
        ],
        "{plan}"
    );
    assert_eq!(
        code(&sup.run(&["show", "web"])),
        3,
        "a dry run installs nothing"
    );
    let applied = sup.ok(&["apply", dir.to_str().unwrap()]);
    assert!(applied.contains("web: started (running, PID "), "{applied}");
    assert!(eventually(Duration::from_secs(10), || listening(web)));
    assert!(!listening(api), "api is demand: not started");
    // A change that reaches the process: the plan says it restarts.
    server("web", web, "auto");
    let text = std::fs::read_to_string(dir.join("web.toml")).unwrap();
    std::fs::write(
        dir.join("web.toml"),
        format!("{text}env = {{ GREETING = \"hi\" }}\n"),
    )
    .unwrap();
    let plan = sup.ok(&["apply", "--dry-run", dir.to_str().unwrap()]);
    assert!(
        plan.lines()
            .any(|line| line == "web: would change env.GREETING; would restart"),
        "{plan}"
    );
    assert!(plan.lines().any(|line| line == "api: unchanged"), "{plan}");
    // api's file leaves the directory: --prune removes it, and only it.
    std::fs::remove_file(dir.join("api.toml")).unwrap();
    let plan = sup.ok(&["apply", "--dry-run", "--prune", dir.to_str().unwrap()]);
    assert!(plan.contains("api: would be removed"), "{plan}");
    assert!(!plan.contains("manual"), "{plan}");
    let applied = sup.ok(&["apply", "--prune", dir.to_str().unwrap()]);
    assert!(applied.contains("api: removed"), "{applied}");
    assert_eq!(code(&sup.run(&["show", "api"])), 3);
    assert_eq!(code(&sup.run(&["show", "manual"])), 0);
    sup.ok(&["stop", "web"]);
}

/// `svckit top` in tmux at 80×24, as a person uses it: the table of two Python services with
/// CPU% and memory and the selected one's live lines; ↓ selects the next, x stops it and s
/// starts it again (each seen by `svckit status` too); a resize redraws at the new size; q
/// gives the shell back; so does SIGTERM.
#[test]
fn top_shows_the_services_and_acts_on_the_selected_one_in_tmux() {
    let test = "top_shows_the_services_and_acts_on_the_selected_one_in_tmux";
    if !require_program(test, "/usr/bin/tmux") || !require_program(test, "/usr/bin/python3") {
        return;
    }
    let sup = Sup::new("top");
    let port = install_http_server(&sup, "web");
    sup.ok(&[
        "install",
        "api",
        "--",
        "/usr/bin/python3",
        "-u",
        "-c",
        "import time\nwhile True: print('api says hello'); time.sleep(0.2)",
    ]);
    sup.ok(&["start", "web", "api"]);
    let svckit_dir = std::path::Path::new(env!("CARGO_BIN_EXE_svckit"))
        .parent()
        .unwrap();
    let shell = format!(
        "env -i HOME=/tmp TERM=xterm-256color PATH={}:/usr/bin:/bin SVCKIT_STATE_DIR={} PS1='$ ' \
         bash --norc --noprofile",
        svckit_dir.display(),
        sup.state()
    );
    let tmux = Tmux::start("top", 80, 24, &shell);
    let screen = || tmux.screen();
    let keys = |keys: &[&str]| tmux.keys(keys);
    let shows = |text: &str| {
        assert!(
            eventually(Duration::from_secs(15), || screen().contains(text)),
            "{text:?} never shown:\n{}",
            screen()
        );
    };
    // (capture-pane drops the prompt's trailing space.)
    let prompt = || screen().trim_end().ends_with('$');
    assert!(eventually(Duration::from_secs(10), prompt), "{}", screen());
    // The shell's screen back as it was (the alternate screen left), its prompt there.
    let gave_back = || {
        assert!(
            eventually(Duration::from_secs(10), || !screen()
                .contains("svckit top ·")
                && prompt()),
            "{}",
            screen()
        );
    };
    keys(&["svckit top --interval 300ms", "Enter"]);
    shows("svckit top · every 300ms");
    shows("CPU%");
    shows("[out] api says hello");
    let first = screen();
    assert!(first.lines().count() == 24 && first.lines().all(|line| line.chars().count() <= 80));
    keys(&["Down"]);
    shows("┌ web ");
    keys(&["x"]);
    shows("web: stopped");
    assert_eq!(sup.status("web")["state"], "stopped");
    assert!(!listening(port));
    keys(&["s"]);
    shows("web: started");
    assert!(eventually(
        Duration::from_secs(10),
        || sup.status("web")["state"] == "running"
    ));
    // A resize is drawn at once, at the new size.
    assert!(
        tmux.run(&["resize-window", "-t", "t", "-x", "100", "-y", "30"])
            .status
            .success()
    );
    assert!(
        eventually(Duration::from_secs(10), || screen()
            .lines()
            .next()
            .is_some_and(|top| top.chars().count() == 100)),
        "{}",
        screen()
    );
    eprintln!("svckit top in tmux (100×30):\n{}", screen());
    // q, then SIGTERM, give the shell back.
    keys(&["q"]);
    gave_back();
    keys(&["svckit top --interval 310ms", "Enter"]);
    shows("svckit top · every 310ms");
    let pids = crate::support::processes_with("310ms");
    assert_eq!(pids.len(), 1, "{pids:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0]),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    gave_back();
    // The terminal gone (tmux's server killed: SIGHUP, a hung-up terminal): it ends too.
    keys(&["svckit top --interval 320ms", "Enter"]);
    shows("svckit top · every 320ms");
    assert_eq!(crate::support::processes_with("320ms").len(), 1);
    drop(tmux);
    assert!(
        eventually(Duration::from_secs(10), || crate::support::processes_with(
            "320ms"
        )
        .is_empty()),
        "top outlived its terminal"
    );
    sup.ok(&["stop", "web", "api"]);
}
