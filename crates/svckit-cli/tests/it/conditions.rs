//! What a start waits for in its dependencies (`[conditions]`, `--condition`), with real
//! programs: redis's "Ready to accept connections" line, a Python HTTP server's first passing
//! liveness check, a gzip run to completion, a notify program that has only started.

use std::{fs, time::Duration};

use crate::supervise::Sup;
use crate::support::{code, eventually, free_port, processes_with, require_program, stderr};

/// Installs `name` from the definition `text`.
pub(crate) fn install(sup: &Sup, name: &str, text: &str) {
    let path = sup.dir.join(&format!("{name}.toml"));
    fs::write(&path, text).unwrap();
    sup.ok(&["install", name, "--file", path.to_str().unwrap()]);
}

/// TOML's list of `words`.
fn toml_list(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|word| format!("{word:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Installs `redis`: redis-server in the foreground on a free port (its data in the test's
/// directory), its definition ending with what `extra` says for its port. The port, or None
/// (said) where redis is not installed.
pub(crate) fn install_redis(
    sup: &Sup,
    test: &str,
    extra: impl FnOnce(u16) -> String,
) -> Option<u16> {
    if !require_program(test, "/usr/bin/redis-server")
        || !require_program(test, "/usr/bin/redis-cli")
    {
        return None;
    }
    let port = free_port();
    let data = sup.dir.join("redis");
    fs::create_dir_all(&data).unwrap();
    let redis = crate::support::redis_command(port, &data, &["--daemonize", "no"]);
    let (program, args) = redis.split_first().unwrap();
    install(
        sup,
        "redis",
        &format!(
            "program = {program:?}\nargs = {}\n{}",
            toml_list(args),
            extra(port)
        ),
    );
    Some(port)
}

/// Installs `name`, a client of redis on `port` that requires it and asks it for a PONG
/// first thing (its answer appended to `pings`), then sleeps; its definition ends with
/// `extra`.
pub(crate) fn install_redis_client(
    sup: &Sup,
    name: &str,
    port: u16,
    pings: &std::path::Path,
    extra: &str,
) {
    install(
        sup,
        name,
        &format!(
            "program = \"/bin/sh\"\n\
             args = [\"-c\", \"redis-cli -p {port} ping >> {} 2>&1; exec sleep 600\"]\n\
             requires = [\"redis\"]\n{extra}",
            pings.display()
        ),
    );
}

/// `rounds` cold starts of `client` (which starts redis), each seen to ask redis for its PONG
/// (in `pings`), then redis stopped, which stops its client. For each, the time from redis's
/// event saying `since` to the client's start, in the supervisor's own clock (ms).
pub(crate) fn cold_starts(
    sup: &Sup,
    rounds: usize,
    pings: &std::path::Path,
    since: &str,
) -> Vec<u64> {
    let mut gaps = Vec::new();
    for round in 1..=rounds {
        sup.ok(&["start", "client"]);
        assert!(
            eventually(Duration::from_secs(10), || fs::read_to_string(pings)
                .is_ok_and(|text| text.lines().count() == round)),
            "round {round}: the client did not ask: {:?}",
            fs::read_to_string(pings)
        );
        let events = sup.ok(&["events", "-n", "8"]);
        let at = |what: &str| {
            events
                .lines()
                .rfind(|line| line.contains(what))
                .and_then(crate::health::event_ms)
        };
        if let (Some(since), Some(started)) = (at(since), at(" client: started /bin/sh")) {
            gaps.push(started.saturating_sub(since));
        }
        // Stopping redis stops what requires it.
        sup.ok(&["stop", "redis"]);
        assert_eq!(sup.status("client")["state"], "stopped");
    }
    gaps
}

/// `log_ready`: redis, with no probe at all, counts for its client once it printed "Ready to
/// accept connections": twenty cold starts of both, and the client (which asks redis for a
/// PONG first thing) never finds it not listening. A redis that printed the line before the
/// client's start was asked for counts at once; a text it never prints fails the client's
/// start at its ready timeout, naming what it waited for.
#[test]
fn log_ready_a_client_waits_for_redis_to_say_it_accepts_connections() {
    let sup = Sup::new("condition-log");
    let test = "log_ready_a_client_waits_for_redis_to_say_it_accepts_connections";
    let Some(port) = install_redis(&sup, test, |_| String::new()) else {
        return;
    };
    let pings = sup.dir.join("pings");
    let client = |name: &str, text: &str, timeout: &str| {
        let extra =
            format!("ready_timeout = \"{timeout}\"\n[conditions]\nredis = \"log_ready:{text}\"\n");
        install_redis_client(&sup, name, port, &pings, &extra);
    };
    client("client", "Ready to accept connections", "30s");
    let waits = cold_starts(&sup, 20, &pings, " redis: started ");
    eprintln!("redis's start to its client's, waiting for its line (ms): {waits:?}");
    let said = fs::read_to_string(&pings).unwrap();
    let premature: Vec<&str> = said.lines().filter(|line| *line != "PONG").collect();
    assert!(premature.is_empty(), "premature starts: {premature:?}");
    // Redis up for a while, its line printed before the client's start: found in its log.
    sup.ok(&["start", "redis"]);
    assert!(
        eventually(Duration::from_secs(10), || sup
            .ok(&["logs", "redis"])
            .contains("Ready to accept connections")),
        "{}",
        sup.ok(&["logs", "redis"])
    );
    sup.ok(&["start", "client"]);
    assert!(eventually(Duration::from_secs(10), || {
        fs::read_to_string(&pings).is_ok_and(|text| text.lines().count() == 21)
    }));
    sup.ok(&["stop", "client"]);
    // A line redis never prints: the start fails at its ready timeout, saying what for.
    client("typo", "Ready to accept conections", "1s");
    let said = sup.start_fails("typo", "it waits for redis to print");
    assert!(said.contains("\"Ready to accept conections\""), "{said}");
    assert!(said.contains("not started within 1s"), "{said}");
    assert_eq!(sup.status("redis")["state"], "running");
    sup.ok(&["stop", "redis"]);
}

/// `healthy`, `started` and `completed_successfully`, each against the program's real state:
/// a client of a Python HTTP server starts only after the server's first passing liveness
/// check (five rounds: the check leaves a mark the client looks for); a service starts beside
/// a notify program that has started and is not ready; an archive is read only once gzip made
/// it, and a gzip that fails fails the reader's start, named.
#[test]
fn healthy_started_and_completed_successfully_gate_a_start_as_named() {
    let test = "healthy_started_and_completed_successfully_gate_a_start_as_named";
    if !require_program(test, "/usr/bin/python3") || !require_program(test, "/usr/bin/gzip") {
        return;
    }
    let sup = Sup::new("condition-kinds");
    let port = free_port();
    let checked = sup.dir.join("checked");
    let sleeper = format!("600.{}", std::process::id());
    // The server's liveness check: a GET of it that, once it passes, leaves a mark.
    install(
        &sup,
        "web",
        &format!(
            "program = \"/usr/bin/python3\"\n\
             args = [\"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n\
             [liveness]\n\
             exec = [\"/bin/sh\", \"-c\", \"python3 -c 'import urllib.request; \
             urllib.request.urlopen(\\\"http://127.0.0.1:{port}/\\\")' && touch {}\"]\n\
             initial_delay = \"500ms\"\nperiod = \"200ms\"\n",
            checked.display()
        ),
    );
    install(
        &sup,
        "reader",
        &format!(
            "program = \"/bin/sh\"\nargs = [\"-c\", \"test -e {} && exec sleep {sleeper}\"]\n\
             requires = [\"web\"]\nready_timeout = \"30s\"\n[conditions]\nweb = \"healthy\"\n",
            checked.display()
        ),
    );
    for round in 1..=5 {
        let _ = fs::remove_file(&checked);
        sup.ok(&["start", "reader"]);
        assert!(
            eventually(Duration::from_secs(10), || processes_with(&sleeper).len()
                == 1),
            "round {round}: the reader found no passing check: {}",
            sup.ok(&["events", "-n", "20"])
        );
        sup.ok(&["stop", "web"]);
        assert!(eventually(Duration::from_secs(10), || processes_with(
            &sleeper
        )
        .is_empty()));
    }

    // started: beside a notify program that never says it is ready.
    let pending = format!("601.{}", std::process::id());
    sup.ok(&[
        "install",
        "pending",
        "--type",
        "notify",
        "--ready-timeout",
        "10min",
        "--",
        "/bin/sleep",
        &pending,
    ]);
    sup.ok(&[
        "install",
        "beside",
        "--depends",
        "pending",
        "--condition",
        "pending=started",
        "--",
        "/bin/sleep",
        &format!("602.{}", std::process::id()),
    ]);
    sup.ok(&["start", "beside"]);
    assert_eq!(sup.status("beside")["state"], "running");
    assert_eq!(sup.status("pending")["state"], "starting");
    sup.ok(&["stop", "beside", "pending"]);

    // completed_successfully: a service (not a oneshot: running, it is not done) that gzips.
    let archive = sup.dir.join("data");
    fs::write(&archive, "x".repeat(100_000)).unwrap();
    let gzip = |name: &str, what: &str| {
        install(
            &sup,
            name,
            &format!(
                "program = \"/bin/sh\"\nargs = [\"-c\", \"sleep 0.3; exec gzip -kf {what}\"]\n\
                 restart.policy = \"never\"\n"
            ),
        );
    };
    gzip("pack", &archive.display().to_string());
    let reader = |name: &str, dependency: &str| {
        install(
            &sup,
            name,
            &format!(
                "program = \"/bin/sh\"\n\
                 args = [\"-c\", \"gzip -t {}.gz && exec sleep {sleeper}\"]\n\
                 requires = [\"{dependency}\"]\nready_timeout = \"30s\"\n\
                 [conditions]\n{dependency} = \"completed_successfully\"\n",
                archive.display()
            ),
        );
    };
    reader("unpack", "pack");
    sup.ok(&["start", "unpack"]);
    assert!(
        eventually(Duration::from_secs(10), || processes_with(&sleeper).len()
            == 1),
        "the reader did not find the archive: {}",
        sup.ok(&["events", "-n", "20"])
    );
    assert_eq!(sup.status("pack")["state"], "exited");
    sup.ok(&["stop", "unpack"]);
    gzip("broken", "/nonexistent/file");
    reader("unbroken", "broken");
    sup.start_fails(
        "unbroken",
        "it waits for broken to complete successfully, which ended unsuccessfully",
    );
}

/// Conditions that cannot be: refused before anything is installed, naming the bad value.
#[test]
fn bad_conditions_are_refused_by_name() {
    let sup = Sup::new("condition-bad");
    for (args, says) in [
        (
            &["--depends", "db", "--condition", "db=sometimes"][..],
            "\"sometimes\" is not a condition",
        ),
        (&["--condition", "db"], "\"db\" is not NAME=CONDITION"),
        (
            &["--depends", "db", "--condition", "db=log_ready:"],
            "log_ready",
        ),
        (
            &["--condition", "db=healthy"],
            "db is not a service it waits for",
        ),
    ] {
        let mut command = vec!["install", "app"];
        command.extend_from_slice(args);
        command.extend(["--", "/bin/sleep", "1"]);
        let out = sup.run(&command);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(!sup.dir.join("state/services/app.toml").exists());
    }
    let long = format!("db=log_ready:{}", "x".repeat(2000));
    let out = sup.run(&[
        "install",
        "app",
        "--depends",
        "db",
        "--condition",
        &long,
        "--",
        "/bin/sleep",
        "1",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("at most 1024"), "{}", stderr(&out));
}

/// Regression: a dependency installed while the supervisor ran, and first started by its
/// dependent's start, failed that start ("it requires db, which did not start (now
/// stopped)"): loaded by the start itself, its state's since was later than the wait's
/// beginning, which read as an end since the wait began. Only a change of state under this
/// supervisor counts now.
#[test]
fn regression_a_dependency_first_loaded_by_its_dependents_start_is_waited_for() {
    if !require_program(
        "regression_a_dependency_first_loaded_by_its_dependents_start_is_waited_for",
        "/usr/bin/python3",
    ) {
        return;
    }
    let sup = Sup::new("condition-fresh");
    // The supervisor runs before either is installed.
    sup.ok(&["install", "other", "--", "/bin/sleep", "603.5"]);
    sup.ok(&["start", "other"]);
    let port = free_port();
    install(
        &sup,
        "db",
        &format!(
            "program = \"/usr/bin/python3\"\n\
             args = [\"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n\
             [readiness]\ntcp = \"127.0.0.1:{port}\"\nperiod = \"100ms\"\n"
        ),
    );
    install(
        &sup,
        "api",
        "program = \"/bin/sleep\"\nargs = [\"603.6\"]\nrequires = [\"db\"]\n",
    );
    sup.ok(&["start", "api"]);
    assert_eq!(sup.status("db")["state"], "running");
    assert_eq!(sup.status("api")["state"], "running");
    sup.ok(&["stop", "db", "other"]);
    assert_eq!(sup.status("api")["state"], "stopped");
}
