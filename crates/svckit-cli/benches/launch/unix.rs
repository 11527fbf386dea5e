//! Launch latency, side by side with the peer tools from Debian's packages: the time from
//! invoking a launcher until it returns with the daemon running, for
//!
//! - `svckit daemonize --pidfile P -- /bin/sleep N` (all 15 steps, returns after the exec),
//! - `daemonize -p P /bin/sleep N` (daemonize 1.7),
//! - `start-stop-daemon --start --background --make-pidfile --pidfile P --exec /bin/sleep -- N`,
//! - `daemon --pidfile=P -- /bin/sleep N` (libslack daemon).
//!
//! Runs are interleaved (one run of each tool per round) so drift hits every tool alike; the
//! daemons are killed between runs, outside the timing. It also records how often the PID file
//! already held the daemon's pid when the launcher returned: a launcher that returns earlier may
//! simply be doing less. So it times a second race too, the fair one: from the invocation until
//! the PID file names the live daemon (watched with inotify), whenever the launcher returns.
//! svckit is timed twice: the test build (dynamic) and the build the README installs (`cargo
//! build-static`).
//!
//! `cargo bench -p svckit-cli --bench launch` (SVCKIT_BENCH_RUNS sets the rounds, default 300).
//! This reports; it asserts nothing about speed.

use nix::{
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::inotify::{AddWatchFlags, InitFlags, Inotify},
};
use std::os::fd::AsFd;
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};
use svckit::Pid;
use svckit_unix::process::is_gone;

struct Tool {
    name: &'static str,
    /// The argv, with `{pid}` for the PID file and `{secs}` for the marker duration.
    argv: &'static [&'static str],
    /// A sleep duration unique to this tool, so its daemons can be found and cleaned up.
    secs: &'static str,
    /// The path of a required program, to skip tools that are not installed.
    needs: &'static str,
}

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// `svckit daemonize --pidfile {pid} -- /bin/sleep {secs}` for the svckit binary at `svckit`.
const fn svckit_argv(svckit: &'static str) -> [&'static str; 7] {
    [
        svckit,
        "daemonize",
        "--pidfile",
        "{pid}",
        "--",
        "/bin/sleep",
        "{secs}",
    ]
}

/// Where svckit's time goes (with SVCKIT_BENCH_DIAGNOSE=1): its start-up alone, and the
/// textbook single fork.
const DIAGNOSTICS: [Tool; 2] = [
    Tool {
        name: "(svckit start-up only)",
        argv: &[SVCKIT, "kill", "--pidfile", "/nonexistent/{secs}"],
        secs: "1011",
        needs: SVCKIT,
    },
    Tool {
        name: "(svckit daemonize --single-fork)",
        argv: &[
            SVCKIT,
            "daemonize",
            "--single-fork",
            "--pidfile",
            "{pid}",
            "--",
            "/bin/sleep",
            "{secs}",
        ],
        secs: "1012",
        needs: SVCKIT,
    },
];

const TOOLS: [Tool; 4] = [
    Tool {
        name: "svckit daemonize",
        argv: &svckit_argv(SVCKIT),
        secs: "1001",
        needs: SVCKIT,
    },
    Tool {
        name: "daemonize(1)",
        argv: &["/usr/bin/daemonize", "-p", "{pid}", "/bin/sleep", "{secs}"],
        secs: "1002",
        needs: "/usr/bin/daemonize",
    },
    Tool {
        name: "start-stop-daemon --background",
        argv: &[
            "/usr/sbin/start-stop-daemon",
            "--start",
            "--background",
            "--make-pidfile",
            "--pidfile",
            "{pid}",
            "--exec",
            "/bin/sleep",
            "--",
            "{secs}",
        ],
        secs: "1003",
        needs: "/usr/sbin/start-stop-daemon",
    },
    Tool {
        name: "libslack daemon",
        argv: &[
            "/usr/bin/daemon",
            "--pidfile={pid}",
            "--",
            "/bin/sleep",
            "{secs}",
        ],
        secs: "1004",
        needs: "/usr/bin/daemon",
    },
];

struct Samples {
    times: Vec<Duration>,
    /// From the invocation until the PID file named the live daemon.
    named: Vec<Duration>,
    pidfile_ready: usize,
    failures: usize,
}

/// Runs the benchmark.
pub fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let rounds: usize = std::env::var("SVCKIT_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(300);
    let dir = std::env::temp_dir().join(format!("svckit-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let diagnose = std::env::var_os("SVCKIT_BENCH_DIAGNOSE").is_some();
    // SVCKIT_BENCH_ALT=/path/to/other/svckit adds a row for another build, for A/B comparisons
    // of a change in the same interleaved run.
    let alternative = std::env::var("SVCKIT_BENCH_ALT").ok().map(|path| {
        let path: &'static str = Box::leak(path.into_boxed_str());
        Tool {
            name: "(SVCKIT_BENCH_ALT daemonize)",
            argv: Box::leak(Box::new(svckit_argv(path))),
            secs: "1013",
            needs: path,
        }
    });
    let static_build = crate::static_build::svckit_static(SVCKIT).map(|path| {
        let path: &'static str = Box::leak(path.into_boxed_str());
        Tool {
            name: "svckit daemonize (static)",
            argv: Box::leak(Box::new(svckit_argv(path))),
            secs: "1014",
            needs: path,
        }
    });
    let tools: Vec<&Tool> = TOOLS
        .iter()
        .chain(static_build.iter())
        .chain(DIAGNOSTICS.iter().filter(|_| diagnose))
        .chain(alternative.iter())
        .filter(|tool| Path::new(tool.needs).exists())
        .collect();
    for tool in TOOLS.iter().filter(|tool| !Path::new(tool.needs).exists()) {
        eprintln!("skipping {}: {} is not installed", tool.name, tool.needs);
    }
    let mut samples: Vec<Samples> = tools
        .iter()
        .map(|_| Samples {
            times: Vec::with_capacity(rounds),
            named: Vec::with_capacity(rounds),
            pidfile_ready: 0,
            failures: 0,
        })
        .collect();
    let watch = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).unwrap();
    watch
        .add_watch(
            &dir,
            AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_MODIFY
                | AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MOVED_TO,
        )
        .unwrap();
    // Warm the page cache and the dynamic loader for every tool.
    for tool in &tools {
        run_once(tool, &dir, &watch);
    }
    for _ in 0..rounds {
        for (tool, samples) in tools.iter().zip(&mut samples) {
            match run_once(tool, &dir, &watch) {
                Some(run) => {
                    samples.times.push(run.returned);
                    samples.named.extend(run.named);
                    samples.pidfile_ready += usize::from(run.ready_at_return);
                }
                None => samples.failures += 1,
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    report(&tools, &mut samples, rounds);
    entrypoint_overhead(rounds, static_build.as_ref().map(|tool| tool.needs));
}

/// `svckit run -- /bin/true` beside tini and dumb-init (and /bin/true alone): the time an
/// entrypoint adds to a program's start and end, interleaved rounds, medians, one run.
fn entrypoint_overhead(rounds: usize, static_svckit: Option<&str>) {
    let init = svckit_init();
    let init = init.as_deref().unwrap_or("/nonexistent/svckit-init");
    let static_svckit = static_svckit.unwrap_or("/nonexistent/svckit (static)");
    // tini -s: not PID 1 here, it would print a warning at every start without it.
    let inits: [(&str, &[&str]); 7] = [
        ("/bin/true alone", &[]),
        ("svckit-init (static, for images)", &[init, "--"]),
        ("svckit run", &[SVCKIT, "run", "--"]),
        ("svckit run (static)", &[static_svckit, "run", "--"]),
        ("tini", &["/usr/bin/tini", "-s", "--"]),
        ("tini-static", &["/usr/bin/tini-static", "-s", "--"]),
        ("dumb-init", &["/usr/bin/dumb-init", "--"]),
    ];
    let present: Vec<&(&str, &[&str])> = inits
        .iter()
        .filter(|(name, argv)| {
            let found = argv
                .first()
                .is_none_or(|program| Path::new(program).exists());
            if !found {
                println!("(no {name}: not installed)");
            }
            found
        })
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); present.len()];
    for _ in 0..rounds {
        for ((_, argv), times) in present.iter().zip(&mut times) {
            let mut command = match argv.split_first() {
                Some((program, rest)) => {
                    let mut command = std::process::Command::new(program);
                    command.args(rest).arg("/bin/true");
                    command
                }
                None => std::process::Command::new("/bin/true"),
            };
            let started = Instant::now();
            if command.status().is_ok_and(|status| status.success()) {
                times.push(started.elapsed());
            }
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times.get(times.len() / 2).copied().unwrap_or_default()
    };
    let medians: Vec<Duration> = times.iter_mut().map(median).collect();
    let alone = medians[0];
    let tini = present
        .iter()
        .position(|(name, _)| *name == "tini")
        .map(|at| medians[at].saturating_sub(alone));
    println!();
    println!("Entrypoint overhead over /bin/true, {rounds} interleaved rounds, medians, one run:");
    println!();
    println!("| entrypoint | median | overhead | overhead ÷ tini's |");
    println!("|---|---|---|---|");
    for ((name, _), median) in present.iter().zip(&medians) {
        let overhead = median.saturating_sub(alone);
        let ratio = tini
            .filter(|tini| !tini.is_zero())
            .map(|tini| format!("{:.2}", overhead.as_secs_f64() / tini.as_secs_f64()))
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "| {name} | {:.3} ms | {:.3} ms | {ratio} |",
            median.as_secs_f64() * 1e3,
            overhead.as_secs_f64() * 1e3
        );
    }
    pss_as_pid_1(&present);
}

/// Each entrypoint's PSS as PID 1 of a PID namespace of its own (`unshare --pid --fork`),
/// running `/bin/sleep` and waiting (measured after 1.5 s): what every container pays for its
/// init all along.
fn pss_as_pid_1(inits: &[&(&str, &[&str])]) {
    if !Path::new("/usr/bin/unshare").exists() || !nix::unistd::geteuid().is_root() {
        println!("(no PSS as PID 1: needs root and unshare)");
        return;
    }
    println!();
    println!("PSS as PID 1 of a PID namespace, running /bin/sleep, one run:");
    println!();
    println!("| entrypoint | PSS | ÷ tini's |");
    println!("|---|---|---|");
    let mut rows = Vec::new();
    for (n, (name, argv)) in inits.iter().enumerate() {
        let Some((program, rest)) = argv.split_first() else {
            continue;
        };
        let marker = format!("3021.{n}");
        let mut unshare = Command::new("/usr/bin/unshare")
            .args(["--pid", "--fork", "--kill-child"])
            .arg(program)
            .args(rest.iter())
            .args(["/bin/sleep", &marker])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The init is the sleep's parent; measured once both wait, all along: after 1.5 s
        // (svckit's inits let go of their executable's pages once the program has run 1 s).
        let settled = Instant::now() + Duration::from_millis(1500);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut pss = None;
        while pss.is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
            if Instant::now() < settled {
                continue;
            }
            let sleep = marked_processes(&marker).into_iter().find(|pid| {
                fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| cmdline.starts_with(b"/bin/sleep\0"))
            });
            pss = sleep.and_then(|sleep| {
                let stat = fs::read_to_string(format!("/proc/{sleep}/stat")).ok()?;
                let after = &stat[stat.rfind(')')? + 2..];
                let mut fields = after.split_whitespace();
                let (state, parent) = (fields.next()?, fields.next()?);
                let parent_state = fs::read_to_string(format!("/proc/{parent}/stat")).ok()?;
                let parent_state = parent_state[parent_state.rfind(')')? + 2..]
                    .split_whitespace()
                    .next()?
                    .to_owned();
                (state == "S" && parent_state == "S").then_some(())?;
                fs::read_to_string(format!("/proc/{parent}/smaps_rollup"))
                    .ok()?
                    .lines()
                    .find_map(|line| line.strip_prefix("Pss:"))?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            });
        }
        let _ = unshare.kill();
        let _ = unshare.wait();
        for pid in marked_processes(&marker) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        rows.push((*name, pss));
    }
    let tini = rows
        .iter()
        .find(|(name, _)| *name == "tini")
        .and_then(|(_, pss)| *pss);
    for (name, pss) in rows {
        let ratio = pss.zip(tini).map_or("-".into(), |(pss, tini)| {
            format!("{:.2}", pss as f64 / tini as f64)
        });
        let pss = pss.map_or("-".into(), |pss| format!("{pss} kB"));
        println!("| {name} | {pss} | {ratio} |");
    }
}

/// `svckit-init` as docs/containers.md builds it for an image (`cargo build-init`: static-pie), from
/// these sources; `None` (said) when it cannot be built here.
fn svckit_init() -> Option<String> {
    crate::static_build::built_by(SVCKIT, "build-init", "svckit-init")
}

/// What one launch took.
struct Run {
    /// Until the launcher exited.
    returned: Duration,
    /// Until the PID file named the live daemon (`None`: not within 2 s).
    named: Option<Duration>,
    /// Whether it already did when the launcher returned.
    ready_at_return: bool,
}

/// The live pid the PID file names, if any.
fn named_pid(pidfile: &Path) -> Option<i32> {
    fs::read_to_string(pidfile)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|pid| Pid::from_i32(*pid).is_some_and(|pid| !is_gone(pid)))
}

/// One launch: time until the launcher exits (a thread waits for it), and until the PID file
/// names the live daemon (checked at each change inotify reports in `dir`, and once the
/// launcher returned). Cleans up afterwards (untimed).
fn run_once(tool: &Tool, dir: &Path, watch: &Inotify) -> Option<Run> {
    let pidfile: PathBuf = dir.join(format!("{}.pid", tool.secs));
    let _ = fs::remove_file(&pidfile);
    let argv: Vec<String> = tool
        .argv
        .iter()
        .map(|arg| {
            arg.replace("{pid}", pidfile.to_str().unwrap())
                .replace("{secs}", tool.secs)
        })
        .collect();
    while watch.read_events().is_ok_and(|events| !events.is_empty()) {}
    let started = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let waiter = thread::spawn(move || {
        let status = child.wait();
        (Instant::now(), status)
    });
    let mut named = None;
    let checks_pidfile = tool.argv.iter().any(|arg| arg.contains("{pid}"));
    while checks_pidfile && started.elapsed() < Duration::from_secs(2) {
        if named_pid(&pidfile).is_some() {
            named = Some(started.elapsed());
            break;
        }
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(10u16));
        while watch.read_events().is_ok_and(|events| !events.is_empty()) {}
    }
    let (returned_at, status) = waiter.join().ok()?;
    let status = status.ok()?;
    let returned = returned_at - started;
    let ready = named.is_some_and(|named| named <= returned);
    cleanup(tool, &pidfile);
    (status.success() || tool.name.contains("start-up")).then_some(Run {
        returned,
        named,
        ready_at_return: ready,
    })
}

/// Kills every process of this tool's run (found by its unique sleep duration, and the pid in
/// its PID file for tools whose daemon is a supervisor), and waits until they are gone.
fn cleanup(tool: &Tool, pidfile: &Path) {
    // svckit's own way first: as root its daemon has a cgroup of its own, which `svckit kill`
    // removes once empty (SIGKILL alone left one per run behind).
    if tool.argv.get(1) == Some(&"daemonize") {
        let _ = Command::new(tool.argv[0])
            .arg("kill")
            .arg("--pidfile")
            .arg(pidfile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut pids = marked_processes(tool.secs);
        if let Some(pid) = fs::read_to_string(pidfile)
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok())
            .filter(|pid| Pid::from_i32(*pid).is_some_and(|pid| !is_gone(pid)))
        {
            pids.push(pid);
        }
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        thread::sleep(Duration::from_millis(1));
    }
    let _ = fs::remove_file(pidfile);
}

/// Live processes with `secs` as one of their arguments: the daemon (`/bin/sleep SECS`) and any
/// launcher process still on its way to it. A launcher may return before its forked child has
/// started the daemon or written the PID file (libslack `daemon` does); matching only the sleep
/// then found nothing, and the daemon it started a moment later outlived the benchmark.
fn marked_processes(secs: &str) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| cmdline.split(|&b| b == 0).any(|arg| arg == secs.as_bytes()))
                .unwrap_or(false)
                && Pid::from_i32(*pid).is_some_and(|pid| !is_gone(pid))
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn report(tools: &[&Tool], samples: &mut [Samples], rounds: usize) {
    let medians: Vec<Option<Duration>> = samples
        .iter_mut()
        .map(|s| {
            s.times.sort();
            s.named.sort();
            (!s.times.is_empty()).then(|| percentile(&s.times, 0.5))
        })
        .collect();
    let fastest_peer = medians
        .iter()
        .take(TOOLS.len())
        .skip(1)
        .flatten()
        .min()
        .copied();
    // The fair race's reference: daemonize(1), the peer.
    let daemonize_named = tools
        .iter()
        .zip(samples.iter())
        .find(|(tool, _)| tool.name == "daemonize(1)")
        .and_then(|(_, s)| (!s.named.is_empty()).then(|| percentile(&s.named, 0.5)));
    println!(
        "launch latency, {rounds} interleaved runs each, {} cores ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    println!();
    println!(
        "| launcher | median | p10 | p90 | pid file ready at return | failures | ÷ fastest peer \
         | until the PID file names the daemon (median) | ÷ daemonize(1)'s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((tool, samples), median) in tools.iter().zip(samples.iter()).zip(&medians) {
        let Some(median) = median else {
            println!(
                "| {} | - | - | - | - | {} | - | - | - |",
                tool.name, samples.failures
            );
            continue;
        };
        let ratio = fastest_peer
            .map(|peer| format!("{:.2}×", median.as_secs_f64() / peer.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        let named = (!samples.named.is_empty()).then(|| percentile(&samples.named, 0.5));
        let named_ratio = named
            .zip(daemonize_named)
            .map(|(named, peer)| format!("{:.2}×", named.as_secs_f64() / peer.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        println!(
            "| {} | {:.3} ms | {:.3} ms | {:.3} ms | {}/{} | {} | {} | {} | {} |",
            tool.name,
            median.as_secs_f64() * 1e3,
            percentile(&samples.times, 0.1).as_secs_f64() * 1e3,
            percentile(&samples.times, 0.9).as_secs_f64() * 1e3,
            samples.pidfile_ready,
            samples.times.len(),
            samples.failures,
            ratio,
            named.map_or("-".into(), |named| format!(
                "{:.3} ms ({}/{})",
                named.as_secs_f64() * 1e3,
                samples.named.len(),
                samples.times.len()
            )),
            named_ratio
        );
    }
}
