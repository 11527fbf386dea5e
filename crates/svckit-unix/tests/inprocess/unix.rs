//! In-process daemons: `Daemonize::start` and `daemon()` turn *this* program into a daemon.
//!
//! libtest runs tests on threads, and svckit rightly refuses to fork a multi-threaded process,
//! so this test has its own single-threaded `main`: it re-executes itself with
//! `SVCKIT_TEST_ROLE` set, and the child plays one role (launcher and daemon) while the parent
//! checks the result through /proc. It ends with the line "N passed, M failed".

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    thread,
    time::{Duration, Instant},
};

use svckit_unix::{Daemonize, Error, Forked, daemon};

const ROLE: &str = "SVCKIT_TEST_ROLE";
const DIR: &str = "SVCKIT_TEST_DIR";

/// A named check, run in the parent with a fresh directory.
type Test = (&'static str, fn(&Path));

/// Runs every test role and prints "N passed, M failed".
pub fn main() -> ExitCode {
    if let Ok(role) = env::var(ROLE) {
        return play(&role, Path::new(&env::var(DIR).expect("role needs a dir")));
    }
    let tests: [Test; 7] = [
        (
            "reap_children_leaves_no_zombies",
            reap_children_leaves_no_zombies,
        ),
        (
            "without_reaping_workers_become_zombies",
            without_reaping_workers_become_zombies,
        ),
        (
            "classic_daemon_detaches_and_returns_in_the_daemon",
            classic_daemon_detaches,
        ),
        (
            "start_refuses_a_multithreaded_process",
            start_refuses_a_multithreaded_process,
        ),
        (
            "daemon_that_dies_before_ready_fails_the_launcher",
            dies_before_ready_fails_launcher,
        ),
        (
            "reap_children_is_never_passed_to_an_exec",
            reap_children_is_never_passed_to_an_exec,
        ),
        (
            "spawn_starts_a_program_born_in_its_cgroup_or_says_why_not",
            spawn_starts_a_program_born_in_its_cgroup_or_says_why_not,
        ),
    ];
    let filter: Vec<String> = env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let dir = env::temp_dir().join(format!("svckit-inprocess-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let outcome = std::panic::catch_unwind(|| test(&dir));
        let _ = fs::remove_dir_all(&dir);
        match outcome {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs this test binary in `role`, returning its exit code and stdout.
fn launch(role: &str, dir: &Path) -> (i32, String) {
    let out = Command::new(env::current_exe().unwrap())
        .env(ROLE, role)
        .env(DIR, dir)
        .output()
        .expect("re-execute the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

fn read_pid(path: &Path) -> i32 {
    fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

fn eventually(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    done()
}

/// Child pids of `pid` with their states (from /proc/PID/task/*/children and stat).
fn children(pid: i32) -> Vec<(i32, char)> {
    let children =
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|child| child.parse::<i32>().ok())
        .filter_map(|child| {
            let stat = fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some((child, state))
        })
        .collect()
}

fn stop(pid: i32) {
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
}

fn workers_after_start(dir: &Path, role: &str) -> Vec<(i32, char)> {
    let (code, stdout) = launch(role, dir);
    assert_eq!(code, 0, "launcher failed: {stdout}");
    let pid = read_pid(&dir.join("d.pid"));
    assert!(stdout.contains(&format!("launched {pid}")), "{stdout}");
    // The daemon spawns three short-lived workers after ready(), then sleeps; give them time to
    // exit (and, with reaping, be reaped).
    assert!(eventually(Duration::from_secs(5), || dir
        .join("spawned")
        .exists()));
    thread::sleep(Duration::from_millis(300));
    let workers = children(pid);
    stop(pid);
    workers
}

fn reap_children_leaves_no_zombies(dir: &Path) {
    let workers = workers_after_start(dir, "reaper");
    assert!(workers.is_empty(), "zombies left: {workers:?}");
}

/// The control case: the same daemon without `reap_children` leaves zombies, so the test above
/// can fail.
fn without_reaping_workers_become_zombies(dir: &Path) {
    let workers = workers_after_start(dir, "no-reaper");
    assert_eq!(
        workers.iter().filter(|(_, state)| *state == 'Z').count(),
        3,
        "{workers:?}"
    );
}

fn classic_daemon_detaches(dir: &Path) {
    let (code, stdout) = launch("classic", dir);
    assert_eq!(code, 0, "{stdout}");
    assert!(eventually(Duration::from_secs(5), || dir
        .join("classic")
        .exists()));
    let report = fs::read_to_string(dir.join("classic")).unwrap();
    let fields: Vec<&str> = report.split_whitespace().collect();
    let (pid, sid, cwd) = (fields[0], fields[1], fields[2]);
    assert_ne!(pid, sid, "not a session leader");
    assert_eq!(cwd, "/");
    let pid: i32 = pid.parse().unwrap();
    let fd0 = fs::read_link(format!("/proc/{pid}/fd/0")).unwrap();
    assert_eq!(fd0, PathBuf::from("/dev/null"));
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let tty = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(4)
        .unwrap()
        .to_owned();
    assert_eq!(tty, "0");
    stop(pid);
}

fn start_refuses_a_multithreaded_process(dir: &Path) {
    let (code, stdout) = launch("threads", dir);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout.trim(),
        "refusing to fork: the process has 2 threads (daemonize before starting any thread)"
    );
}

fn dies_before_ready_fails_launcher(dir: &Path) {
    let (code, stdout) = launch("dies", dir);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("launcher error: the daemon (PID "),
        "{stdout}"
    );
    assert!(
        stdout.trim().ends_with("exited before it reported ready"),
        "{stdout}"
    );
    assert!(!dir.join("d.pid").exists(), "no pid file left behind");
}

fn reap_children_is_never_passed_to_an_exec(dir: &Path) {
    let (code, stdout) = launch("reap-exec", dir);
    assert_eq!(code, 0, "{stdout}");
    let pid = read_pid(&dir.join("d.pid"));
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ignored = status
        .lines()
        .find(|l| l.starts_with("SigIgn:"))
        .unwrap()
        .to_owned();
    stop(pid);
    assert_eq!(
        ignored, "SigIgn:\t0000000000000000",
        "SIGCHLD must not reach the program"
    );
}

/// `ChildSetup::spawn` (this process is single-threaded: it may fork): the program runs in
/// its directory with its stdio and environment, born in its cgroup (its own
/// /proc/self/cgroup names it); a program or directory that is not there is the spawn's error,
/// with no child left.
fn spawn_starts_a_program_born_in_its_cgroup_or_says_why_not(dir: &Path) {
    use std::{io::Read, os::fd::OwnedFd};
    use svckit_unix::spawn::{ChildSetup, Run};
    let hierarchy = match svckit_unix::cgroup::Hierarchy::for_supervisor(&format!(
        "it{}",
        std::process::id()
    )) {
        Ok(hierarchy) => hierarchy,
        Err(err) => {
            assert!(env::var_os("CI").is_none(), "CI must not skip: {err}");
            println!("skipping the cgroup part: {err}");
            return;
        }
    };
    let cgroup = hierarchy.service("born").unwrap();
    let env = [(
        std::ffi::OsString::from("PATH"),
        std::ffi::OsString::from("/usr/bin:/bin"),
    )];
    let null = || OwnedFd::from(fs::File::open("/dev/null").unwrap());
    let (read, write) = nix::unistd::pipe().unwrap();
    let spawned = ChildSetup::default().spawn(Run {
        program: "sh".as_ref(),
        argv0: None,
        args: &["-c".into(), "pwd; cat /proc/self/cgroup".into()],
        env: &env,
        dir,
        stdio: [null(), write.try_clone().unwrap(), write],
        cgroup: Some(&cgroup),
    });
    let (pid, _) = spawned.expect("spawn sh");
    let mut said = String::new();
    fs::File::from(read).read_to_string(&mut said).unwrap();
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid.as_i32()), None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid.as_i32()), 0)
    );
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .unwrap();
    let wanted = Path::new(own)
        .join(format!("svckit-it{}", std::process::id()))
        .join("born");
    assert!(
        said.lines().next() == Some(dir.to_str().unwrap())
            && said
                .lines()
                .any(|line| line.strip_prefix("0::").map(Path::new) == Some(&wanted)),
        "{said} (wanted {})",
        wanted.display()
    );
    for (program, at) in [
        ("/nonexistent/program", dir),
        ("sh", Path::new("/nonexistent")),
    ] {
        let err = ChildSetup::default()
            .spawn(Run {
                program: program.as_ref(),
                argv0: None,
                args: &[],
                env: &env,
                dir: at,
                stdio: [null(), null(), null()],
                cgroup: Some(&cgroup),
            })
            .expect_err(program);
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{program}: {err}");
    }
    assert!(
        children(std::process::id() as i32).is_empty(),
        "no child is left"
    );
    hierarchy.prune();
    hierarchy.remove_if_empty();
}

/// The child side of each test.
fn play(role: &str, dir: &Path) -> ExitCode {
    match role {
        "reaper" | "no-reaper" => {
            let builder = Daemonize::new()
                .pidfile(dir.join("d.pid"))
                .reap_children(role == "reaper");
            match builder.start() {
                Ok(Forked::Launcher(launched)) => println!("launched {}", launched.pid),
                Ok(Forked::Daemon(mut daemon)) => {
                    daemon.ready().unwrap();
                    for _ in 0..3 {
                        // Dropped without wait(): only SIGCHLD = SIG_IGN keeps these from
                        // becoming zombies.
                        drop(Command::new("true").spawn().unwrap());
                    }
                    fs::write(dir.join("spawned"), "").unwrap();
                    thread::sleep(Duration::from_secs(30));
                }
                Err(err) => {
                    println!("error: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
        "classic" => {
            daemon(false, false).unwrap();
            let pid = nix::unistd::getpid();
            let sid = nix::unistd::getsid(None).unwrap();
            let cwd = env::current_dir().unwrap();
            fs::write(
                dir.join("classic.tmp"),
                format!("{pid} {sid} {}", cwd.display()),
            )
            .unwrap();
            fs::rename(dir.join("classic.tmp"), dir.join("classic")).unwrap();
            thread::sleep(Duration::from_secs(30));
        }
        "threads" => {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let worker = thread::spawn(move || rx.recv());
            match Daemonize::new().start() {
                Err(err @ Error::MultiThreaded { threads: 2 }) => println!("{err}"),
                Err(other) => println!("wrong error: {other}"),
                Ok(_) => println!("forked a multi-threaded process"),
            }
            drop(tx);
            let _ = worker.join();
        }
        "dies" => match Daemonize::new().pidfile(dir.join("d.pid")).start() {
            Ok(Forked::Launcher(_)) => println!("launcher returned ready"),
            Ok(Forked::Daemon(_daemon)) => std::process::exit(3),
            Err(err) => println!("launcher error: {err}"),
        },
        "reap-exec" => {
            let launched = Daemonize::new()
                .pidfile(dir.join("d.pid"))
                .reap_children(true)
                .exec("sleep", ["30"])
                .unwrap();
            println!("launched {}", launched.pid);
        }
        other => panic!("unknown role {other}"),
    }
    ExitCode::SUCCESS
}
