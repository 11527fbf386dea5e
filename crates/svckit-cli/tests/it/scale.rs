//! Many services on one supervisor: the descriptors it holds per service, and what it says
//! when the open-file limit is reached. (The timings at 1,000 and 10,000 services are the
//! `scale` benchmark's: `cargo bench -p svckit-cli --bench supervise`.)

use std::{fs, path::Path, time::Duration};

use crate::supervise::Sup;
use crate::support::{code, eventually, require_root, stderr};

/// The supervisor's open descriptors, by what they are: (pipes, log files, everything).
fn descriptors(pid: u32) -> (usize, usize, usize) {
    let mut pipes = 0;
    let mut logs = 0;
    let mut all = 0;
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let Ok(target) = fs::read_link(entry.unwrap().path()) else {
            continue;
        };
        all += 1;
        let target = target.to_string_lossy().into_owned();
        if target.starts_with("pipe:") {
            pipes += 1;
        } else if target.contains("/logs/") {
            logs += 1;
        }
    }
    (pipes, logs, all)
}

fn supervisor_pid(sup: &Sup) -> u32 {
    fs::read_to_string(sup.dir.join("state/supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Writes `n` definitions of shell services that print a line on stdout and one on stderr,
/// then sleep: the directory to apply.
fn chatty_services(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        fs::write(
            dir.join(format!("s{i}.toml")),
            "program = \"/bin/sh\"\n\
             args = [\"-c\", \"echo out; echo err >&2; exec sleep 1000\"]\n\
             start = \"auto\"\n",
        )
        .unwrap();
    }
}

/// Regression: the supervisor held four descriptors per service (two pipes, two log files,
/// and a time index each once the service printed), so 10,000 services could not run under
/// a 20,000 limit. It holds the two output pipes per service and a bounded number of open
/// logs (the busiest; the others reopen at their next line): 300 services that all print
/// hold at most 2 × 300 pipes and 2 × 128 × 2 log descriptors (logs and indexes).
#[test]
fn regression_a_supervisor_holds_two_descriptors_per_service_and_a_bounded_set_of_logs() {
    const N: usize = 300;
    let sup = Sup::new("scale-fds");
    let dir = sup.dir.join("defs");
    chatty_services(&dir, N);
    sup.ok(&["apply", dir.to_str().unwrap()]);
    let logs = sup.dir.join("state/logs");
    assert!(
        eventually(Duration::from_secs(30), || (0..N).all(|i| {
            fs::read_to_string(logs.join(format!("s{i}.stderr"))).is_ok_and(|text| text == "err\n")
                && fs::read_to_string(logs.join(format!("s{i}.stdout")))
                    .is_ok_and(|text| text == "out\n")
        })),
        "not every service's output was stored"
    );
    let (pipes, log_fds, all) = descriptors(supervisor_pid(&sup));
    eprintln!("{N} services: {pipes} pipes, {log_fds} log descriptors, {all} in all");
    assert!(pipes <= 2 * N + 4, "{pipes} pipes for {N} services");
    assert!(
        log_fds <= 2 * 128 + 4,
        "{log_fds} log descriptors held open"
    );
    assert!(
        all <= 2 * N + 2 * 128 + 32,
        "{all} descriptors for {N} services"
    );
    // A log closed for want of room reopens at its end: a line after the rest is stored.
    sup.ok(&["restart", "s0"]);
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(
            logs.join("s0.stderr")
        )
        .is_ok_and(|text| text == "err\nerr\n")),
        "{:?}",
        fs::read_to_string(logs.join("s0.stderr"))
    );
    sup.ok(&["supervisor", "stop"]);
}

/// Regression: at its open-file limit the supervisor said "cannot set up a child of a
/// process with 0 threads" (its count of threads in /proc failed with EMFILE). Once a
/// quarter of the limit is all that is left, a service's stderr shares its stdout pipe (its
/// status says so, and its stderr lines are in its stdout log); a start that finds no room
/// at all names the limit, the services running and what to raise. The supervisor runs as
/// nobody under a hard limit of 40 (root would raise it).
#[test]
fn regression_the_open_file_limit_is_named_with_what_to_raise() {
    let test = "regression_the_open_file_limit_is_named_with_what_to_raise";
    if !require_root(test) {
        return;
    }
    let sup = Sup::new("scale-limit");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(
        &sup.dir.join(""),
        Some(nobody.uid),
        Some(nix::unistd::Gid::from_raw(nobody.gid.as_raw())),
    )
    .unwrap();
    let as_nobody = |args: &[&str]| {
        let mut command = std::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg("ulimit -n 40 && exec setpriv --reuid nobody --regid nogroup --clear-groups -- \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_svckit"))
            .args(args)
            .env("SVCKIT_STATE_DIR", sup.state())
            .env("HOME", "/nonexistent");
        command.output().unwrap()
    };
    const N: usize = 20;
    for i in 0..N {
        let name = format!("s{i:02}");
        let out = as_nobody(&[
            "install",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "echo out; echo err >&2; exec sleep 1000",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = as_nobody(&["start", "--all"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let said = stderr(&out);
    let line = said
        .lines()
        .find(|line| line.contains("failed to start"))
        .unwrap_or_else(|| panic!("no start failed: {said}"));
    assert!(
        line.contains("the supervisor is at its open-file limit (RLIMIT_NOFILE 40, ")
            && line.contains(" services running, 2 descriptors each): raise its hard limit"),
        "{line}"
    );
    // Started in order: the first with two pipes, then some with one, then none.
    let status = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&as_nobody(&["status", name, "--json"]).stdout).unwrap()
    };
    let states: Vec<(String, Option<String>)> = (0..N)
        .map(|i| {
            let status = status(&format!("s{i:02}"));
            (
                status["state"].as_str().unwrap_or_default().to_owned(),
                status["status_text"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let separate = states
        .iter()
        .take_while(|(state, notice)| state == "running" && notice.is_none())
        .count();
    let merged = states[separate..]
        .iter()
        .take_while(|(state, notice)| {
            state == "running"
                && notice
                    .as_deref()
                    .is_some_and(|n| n.contains("stderr goes to its stdout log"))
        })
        .count();
    assert!(separate >= 1 && merged >= 4, "{states:?}");
    assert!(
        states[separate + merged..]
            .iter()
            .all(|(state, _)| state == "failed"),
        "{states:?}"
    );
    let logs = sup.dir.join("state/logs");
    let first_merged = format!("s{separate:02}");
    assert!(
        eventually(Duration::from_secs(10), || fs::read_to_string(
            logs.join(format!("{first_merged}.stdout"))
        )
        .is_ok_and(|text| text.contains("out\n") && text.contains("err\n"))),
        "{first_merged}'s stderr is not in its stdout log"
    );
    assert!(
        fs::read_to_string(logs.join("s00.stderr")).is_ok_and(|text| text == "err\n"),
        "s00 has its own stderr log"
    );
    let out = as_nobody(&["supervisor", "stop"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// The times of `name`'s event-log lines that contain `what`, as they are written
/// (`YYYY-MM-DD HH:MM:SS.mmm NAME: …`, which sort as they happened).
fn event_times(events: &str, name: &str, what: &str) -> Vec<String> {
    events
        .lines()
        .filter(|line| line.contains(&format!(" {name}: ")) && line.contains(what))
        .map(|line| line[..23].to_owned())
        .collect()
}

/// A stop of several services is one request: the supervisor stops what depends on a service
/// first (web, after api, before api; api, which requires db, before db), and the rest side
/// by side: ten services that take 300 ms to stop and two memcached are all asked to stop
/// before any of the ten is gone (one after the other, each would be gone before the next is
/// asked). Every one is said stopped, and nothing of them is left.
#[test]
fn a_stop_of_many_stops_dependents_first_and_the_rest_side_by_side() {
    if !crate::support::require_program(
        "a_stop_of_many_stops_dependents_first_and_the_rest_side_by_side",
        "/usr/bin/memcached",
    ) {
        return;
    }
    let sup = Sup::new("scale-many-stop");
    let dir = sup.dir.join("defs");
    fs::create_dir_all(&dir).unwrap();
    let sh = |name: &str, extra: &str, marker: &str| {
        fs::write(
            dir.join(format!("{name}.toml")),
            format!(
                "program = \"/bin/sh\"\nargs = [\"-c\", \"trap 'sleep 0.3; exit 0' TERM; \
                 sleep {marker} & wait\"]\nstart = \"auto\"\n{extra}"
            ),
        )
        .unwrap();
    };
    sh("db", "", "1012.1");
    sh("api", "requires = [\"db\"]\n", "1012.2");
    sh("web", "after = [\"api\"]\n", "1012.3");
    for i in 0..10 {
        sh(&format!("slow{i}"), "", &format!("1012.4{i}"));
    }
    let mut ports = Vec::new();
    for i in 0..2 {
        let port = crate::support::free_port();
        // In the foreground (without its -d), as an exec service.
        let command: Vec<String> = crate::support::memcached_command(port)
            .into_iter()
            .filter(|arg| arg != "-d")
            .collect();
        let args: Vec<String> = command[1..].iter().map(|a| format!("{a:?}")).collect();
        fs::write(
            dir.join(format!("cache{i}.toml")),
            format!(
                "program = {:?}\nargs = [{}]\nstart = \"auto\"\n",
                command[0],
                args.join(", ")
            ),
        )
        .unwrap();
        ports.push(port);
    }
    sup.ok(&["apply", dir.to_str().unwrap()]);
    assert!(
        eventually(Duration::from_secs(20), || {
            ports
                .iter()
                .all(|port| std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok())
                && crate::supervise::sleepers("1012.").len() == 13
        }),
        "{}",
        sup.ok(&["status"])
    );
    let caches: Vec<i32> = (0..2)
        .map(|i| sup.status(&format!("cache{i}"))["pid"].as_i64().unwrap() as i32)
        .collect();
    let said = sup.ok(&["stop", "--all"]);
    assert_eq!(said.lines().count(), 15, "{said}");
    assert!(
        said.lines().all(|line| line.ends_with(": stopped")),
        "{said}"
    );
    assert!(crate::supervise::sleepers("1012.").is_empty());
    assert!(caches.iter().all(|pid| crate::support::is_gone(*pid)));
    let events = sup.ok(&["events", "-n", "1000"]);
    let first = |name: &str, what: &str| event_times(&events, name, what).pop().unwrap();
    assert!(
        first("web", ": stopped") <= first("api", "stopping"),
        "{events}"
    );
    assert!(
        first("api", ": stopped") <= first("db", "stopping"),
        "{events}"
    );
    let asked: Vec<String> = (0..10)
        .map(|i| first(&format!("slow{i}"), "stopping"))
        .collect();
    let gone: Vec<String> = (0..10)
        .map(|i| first(&format!("slow{i}"), ": stopped"))
        .collect();
    assert!(
        asked.iter().max() <= gone.iter().min(),
        "asked {asked:?}, gone {gone:?}"
    );
    sup.ok(&["supervisor", "stop"]);
}

/// The processes whose parent is `parent`.
fn children_of(parent: i32) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| crate::support::parent_of(*pid) == Some(parent))
        .collect()
}

/// Installs `broken`, `/bin/sleep MARKER` in a working directory removed since: its start
/// fails in the child, at its chdir.
fn install_broken(sup: &Sup, marker: &str) {
    let gone = sup.dir.join("gone");
    fs::create_dir_all(&gone).unwrap();
    sup.ok(&[
        "install",
        "broken",
        "--chdir",
        gone.to_str().unwrap(),
        "--",
        "/bin/sleep",
        marker,
    ]);
    fs::remove_dir(&gone).unwrap();
}

/// A start of several is one request too: a service that ran already is said so, one that
/// cannot start is named with why (the exit status is its failure's), and the others start.
#[test]
fn a_start_of_many_says_what_ran_already_and_what_failed() {
    let sup = Sup::new("scale-many-start");
    for (name, marker) in [("a", "1013.1"), ("b", "1013.2"), ("c", "1013.3")] {
        sup.ok(&["install", name, "--", "/bin/sleep", marker]);
    }
    install_broken(&sup, "1013.4");
    sup.ok(&["start", "b"]);
    let b = sup.status("b")["pid"].as_i64().unwrap();
    let out = sup.run(&["start", "--all"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains(&format!("b: already running (PID {b})")),
        "{said}"
    );
    assert!(said.contains("a: started (running, PID "), "{said}");
    assert!(said.contains("c: started (running, PID "), "{said}");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("service broken failed to start")
            && stderr(&out).contains("No such file or directory"),
        "{}",
        stderr(&out)
    );
    for marker in ["1013.1", "1013.2", "1013.3"] {
        assert_eq!(crate::supervise::sleepers(marker).len(), 1, "{marker}");
    }
    assert!(crate::supervise::sleepers("1013.4").is_empty());
    sup.ok(&["supervisor", "stop"]);
}

/// Regression: a client gone while its request for several waits (Ctrl-C on `stop --all`)
/// left its parts' waiters on the services. The supervisor forgets them, answers the next
/// requests, and the next stop of all stops what is left.
#[test]
fn regression_a_client_gone_during_a_stop_of_many_leaves_the_supervisor_answering() {
    let sup = Sup::new("scale-many-gone");
    for i in 0..20 {
        let marker = format!("1014.{i:02}");
        sup.ok(&[
            "install",
            &format!("s{i:02}"),
            "--stop-timeout",
            "2s",
            "--",
            "/bin/sh",
            "-c",
            &format!("trap 'sleep 0.5; exit 0' TERM; sleep {marker} & wait"),
        ]);
    }
    sup.ok(&["start", "--all"]);
    let mut client = sup.command(&["stop", "--all"]).spawn().unwrap();
    // Gone once the supervisor has its request: some service is stopping.
    assert!(eventually(Duration::from_secs(10), || {
        sup.ok(&["status", "--json"]).contains("\"stopping\"")
    }));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(client.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = client.wait();
    let said = sup.ok(&["stop", "--all"]);
    assert_eq!(said.lines().count(), 20, "{said}");
    assert!(crate::supervise::sleepers("1014.").is_empty());
    sup.ok(&["supervisor", "stop"]);
}

/// The services' processes are forked by the forker (a small process forked from the
/// supervisor when it starts: forking the supervisor itself copied every descriptor it holds,
/// two a service, at each start), yet they are the supervisor's children, in their cgroups.
/// The forker holds nothing of the services. Killed, it is not needed: the next start forks
/// from the supervisor, and a start that fails in the child (its directory gone) is named
/// with why, leaving no zombie.
#[test]
fn services_are_forked_by_the_forker_as_the_supervisors_children() {
    let sup = Sup::new("scale-forker");
    for (name, marker) in [("a", "1015.1"), ("b", "1015.2")] {
        sup.ok(&["install", name, "--", "/bin/sleep", marker]);
    }
    install_broken(&sup, "1015.3");
    sup.ok(&["start", "a"]);
    let supervisor = supervisor_pid(&sup) as i32;
    let forker = children_of(supervisor)
        .into_iter()
        .find(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm == "svckit-forker\n")
        })
        .expect("a forker");
    let a = sup.status("a")["pid"].as_i64().unwrap() as i32;
    assert_eq!(crate::support::parent_of(a), Some(supervisor));
    let (_, _, forker_fds) = descriptors(forker as u32);
    assert!(forker_fds <= 4, "the forker holds {forker_fds} descriptors");
    assert!(
        sup.start_fails("broken", "No such file or directory")
            .contains("broken")
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(forker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        crate::support::is_gone(forker)
    }));
    sup.ok(&["start", "b"]);
    let b = sup.status("b")["pid"].as_i64().unwrap() as i32;
    assert_eq!(crate::support::parent_of(b), Some(supervisor));
    sup.start_fails("broken", "No such file or directory");
    // No child of the supervisor is a zombie (the failed ones were reaped).
    let zombies: Vec<i32> = children_of(supervisor)
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, s)| s.starts_with('Z'))
            })
        })
        .collect();
    assert!(zombies.is_empty(), "zombies {zombies:?}");
    sup.ok(&["supervisor", "stop"]);
    assert!(crate::supervise::sleepers("1015.").is_empty());
}

/// Regression guard for records written in place (one pwrite of at most a page, padded with
/// spaces): a supervisor SIGKILLed at thirty moments of starts and stops of forty services
/// never leaves a record that does not read, and the next supervisor runs each service once.
#[test]
fn records_written_in_place_survive_a_sigkill_at_any_moment() {
    let sup = Sup::new("scale-records");
    for i in 0..40 {
        sup.ok(&[
            "install",
            &format!("s{i:02}"),
            "--",
            "/bin/sleep",
            &format!("1016.{i:02}"),
        ]);
    }
    let run = sup.dir.join("state/run");
    // A fixed pseudo-random sequence of moments, 0 to 29 ms, so runs are alike.
    let mut seed: u64 = 0x5eed;
    for round in 0..30 {
        let action = if round % 2 == 0 { "start" } else { "stop" };
        sup.bring_up();
        let supervisor = supervisor_pid(&sup) as i32;
        let mut client = sup.command(&[action, "--all"]).spawn().unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis((seed >> 33) % 30));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(supervisor),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = client.wait();
        assert!(eventually(Duration::from_secs(5), || {
            crate::support::is_gone(supervisor)
        }));
        for entry in fs::read_dir(&run).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let bytes = fs::read(&path).unwrap();
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                    "round {round}: {} reads {:?}",
                    path.display(),
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
    sup.bring_up();
    sup.ok(&["start", "--all"]);
    for i in 0..40 {
        let marker = format!("1016.{i:02}");
        assert_eq!(crate::supervise::sleepers(&marker).len(), 1, "{marker}");
    }
    sup.ok(&["supervisor", "stop"]);
    assert!(crate::supervise::sleepers("1016.").is_empty());
}

/// Regression: the forker's link sat at fd 3 without close-on-exec (dup2 clears it), so every
/// service it started held the forker's end of the link: a service could have sent the forker
/// orders (as the supervisor's user: root's, for a service of nobody), and a forker that died
/// seemed to live on (the next start waited a minute for its answer). A service started
/// through the forker has its stdio and nothing else.
#[test]
fn regression_a_service_holds_no_descriptor_of_the_forker() {
    let sup = Sup::new("scale-forker-fds");
    sup.ok(&["install", "a", "--", "/bin/sleep", "1017.1"]);
    sup.ok(&["start", "a"]);
    let a = sup.status("a")["pid"].as_i64().unwrap();
    let mut fds: Vec<String> = fs::read_dir(format!("/proc/{a}/fd"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"]);
    sup.ok(&["supervisor", "stop"]);
}

/// A large order through the forker: a service whose environment is 150 KB (two variables of
/// 75 KB, each under the kernel's limit for one string) gets all of it, and the forker that
/// started it is the same process afterwards (an order too large for the link on some host
/// is forked by the supervisor itself; it does not end the forker).
#[test]
fn a_large_environment_goes_through_the_forker_whole() {
    let sup = Sup::new("scale-forker-large");
    let big = "x".repeat(75_000);
    let seen = sup.dir.join("seen");
    sup.ok(&[
        "install",
        "big",
        "--env",
        &format!("BIG1={big}"),
        "--env",
        &format!("BIG2={big}"),
        "--",
        "/bin/sh",
        "-c",
        &format!(
            "printf %s \"$BIG1$BIG2\" | wc -c > {}; exec sleep 1018.1",
            seen.display()
        ),
    ]);
    sup.bring_up();
    let supervisor = supervisor_pid(&sup) as i32;
    let forker = || {
        children_of(supervisor).into_iter().find(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm == "svckit-forker\n")
        })
    };
    let before = forker().expect("a forker");
    sup.ok(&["start", "big"]);
    assert!(eventually(Duration::from_secs(10), || {
        fs::read_to_string(&seen).is_ok_and(|text| text.trim() == "150000")
    }));
    let big_pid = sup.status("big")["pid"].as_i64().unwrap() as i32;
    assert_eq!(crate::support::parent_of(big_pid), Some(supervisor));
    assert_eq!(forker(), Some(before), "the same forker");
    sup.ok(&["supervisor", "stop"]);
}
