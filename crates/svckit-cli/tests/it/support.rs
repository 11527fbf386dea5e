//! Shared helpers: running svckit, a hostile launching environment, and readers of `/proc`.
//!
//! The hostile parent needs a few calls between fork and exec (setsid, TIOCSCTTY, sigprocmask,
//! umask), which only `pre_exec` offers: those are this test suite's only `unsafe`.
#![allow(unsafe_code)]

use std::{
    collections::BTreeMap,
    fs,
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

use nix::{
    fcntl::{FcntlArg, FdFlag, fcntl},
    pty::openpty,
    sys::signal::{SigSet, SigmaskHow, Signal},
};

/// The svckit binary under test.
pub fn svckit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_svckit"))
}

/// `svckit-init`, the container init alone, built as the README builds it for an image
/// (`cargo build-init`: static-pie, release) from these sources, once per test run; `None` off
/// x86_64 Linux (the alias names that triple).
pub fn svckit_init() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| built_by("build-init", "svckit-init"))
        .clone()
}

/// svckit linked statically, built as the README builds it for installing (`cargo
/// build-static`: static-pie, release) from these sources, once per test run; `None` off
/// x86_64 Linux (the alias names that triple).
pub fn svckit_static() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| built_by("build-static", "svckit"))
        .clone()
}

/// The target triple `cargo ALIAS` builds for: svckit-init is linked with musl, svckit with
/// glibc (.cargo/config.toml says why).
fn built_for(alias: &str) -> &'static str {
    match alias {
        "build-init" => "x86_64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-gnu",
    }
}

/// Makes sure Rust's standard library for `triple` is installed (`rustup target add`, as
/// .ci/run does), so that the README's test command needs no set-up of its own.
fn add_rust_target(triple: &str) {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output();
    let installed = sysroot.is_ok_and(|out| {
        let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Path::new(&root).join("lib/rustlib").join(triple).is_dir()
    });
    if !installed {
        let added = Command::new("rustup")
            .args(["target", "add", triple])
            .status();
        assert!(
            added.is_ok_and(|status| status.success()),
            "Rust's {triple} target is missing and `rustup target add {triple}` failed"
        );
    }
}

/// Runs `cargo ALIAS` (one of .cargo/config.toml's static builds) into the tests' target
/// directory and returns the path of the `binary` it writes; `None` off x86_64 Linux.
fn built_by(alias: &str, binary: &str) -> Option<PathBuf> {
    if !cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    )) {
        return None;
    }
    // The target directory: CARGO_BIN_EXE_svckit is TARGET/PROFILE/svckit.
    let target = Path::new(env!("CARGO_BIN_EXE_svckit")).parent()?.parent()?;
    add_rust_target(built_for(alias));
    let out = Command::new(env!("CARGO"))
        .arg(alias)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap_or_else(|err| panic!("run cargo {alias}: {err}"));
    assert!(
        out.status.success(),
        "cargo {alias}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(target.join(built_for(alias)).join("release").join(binary))
}

/// Runs svckit with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    svckit().args(args).output().expect("run svckit")
}

/// The exit code of `output`, panicking on death by signal.
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {output:?}"))
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes `svckit-it-NAME-PID` under the system temp dir. Panics when NAME was taken
    /// before in this test run: two tests that shared a directory removed each other's files
    /// when they ran at once (regression: `Sup::new("many")` in two files, and a playbook
    /// that "could not be found").
    pub fn new(name: &str) -> TempDir {
        static TAKEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut taken = TAKEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(
            !taken.iter().any(|seen| seen == name),
            "the temporary directory {name:?} is taken by another test: give each its own"
        );
        taken.push(name.to_owned());
        drop(taken);
        let dir = std::env::temp_dir().join(format!("svckit-it-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The path as text.
    pub fn str(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A daemon found through its PID file; killed (group and all) on drop, so a failing test
/// leaves no process behind.
pub struct Daemon {
    /// Its pid.
    pub pid: i32,
}

impl Daemon {
    /// Reads the pid from `pidfile`.
    pub fn from_pidfile(pidfile: &Path) -> Daemon {
        let text =
            fs::read_to_string(pidfile).expect("the pid file exists once the launcher returns");
        Daemon {
            pid: text.trim().parse().expect("the pid file holds a pid"),
        }
    }

    /// `/proc/PID/status` as a map.
    pub fn status(&self) -> BTreeMap<String, String> {
        proc_status(self.pid)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.pid);
        if !is_gone(self.pid) {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        }
    }
}

/// Runs `svckit daemonize --pidfile DIR/d.pid ARGS...`, asserts it succeeded, and returns the
/// daemon named by the PID file.
pub fn start_daemon(dir: &TempDir, args: &[&str]) -> Daemon {
    let pidfile = dir.str("d.pid");
    let mut argv = vec!["daemonize", "--pidfile", &pidfile];
    argv.extend_from_slice(args);
    let out = run(&argv);
    assert_eq!(code(&out), 0, "{argv:?}: {}", stderr(&out));
    Daemon::from_pidfile(&dir.join("d.pid"))
}

/// `/proc/PID/status` as a map of field → value.
pub fn proc_status(pid: i32) -> BTreeMap<String, String> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|err| panic!("read /proc/{pid}/status: {err}"))
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.to_owned(), value.trim().to_owned()))
        .collect()
}

/// [`proc_stat`] of a process that may be gone by now: None then.
pub fn proc_stat_if_alive(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The fields of `/proc/PID/stat` after the command name: index 0 is the state, 1 ppid,
/// 2 pgrp, 3 session, 4 tty_nr (stat(5)'s fields 3 onwards).
pub fn proc_stat(pid: i32) -> Vec<String> {
    proc_stat_if_alive(pid).unwrap_or_else(|| panic!("read /proc/{pid}/stat"))
}

/// Open fds of `pid` and what they point to.
pub fn proc_fds(pid: i32) -> BTreeMap<i32, String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fd dir")
        .filter_map(|entry| {
            let entry = entry.unwrap();
            let fd = entry.file_name().to_str().unwrap().parse().unwrap();
            // An fd closed between the listing and the readlink (a program that opens its
            // locale files for a moment after exec) is not open: skip it, never panic.
            let target = fs::read_link(entry.path()).ok()?.display().to_string();
            Some((fd, target))
        })
        .collect()
}

/// The environment of `pid`.
pub fn proc_environ(pid: i32) -> BTreeMap<String, String> {
    fs::read(format!("/proc/{pid}/environ"))
        .expect("read environ")
        .split(|byte| *byte == 0)
        .filter_map(|pair| {
            let pair = String::from_utf8_lossy(pair);
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Whether `pid` has exited (gone, or a zombie). Reads `/proc/PID/stat` once: a process that
/// vanishes between two reads must not panic the caller (it did, in `stop_kills_grandchildren`).
pub fn is_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| matches!(state, "Z" | "X")),
    }
}

/// Polls `done` every 5 ms for up to `timeout`.
pub fn eventually(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

/// Pids of live processes whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(marker))
                .unwrap_or(false)
                && !is_gone(*pid)
        })
        .collect()
}

/// The parent of `pid`, from /proc/PID/stat (its fourth field, after the command in
/// parentheses).
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// Whether another process holds the flock on `path`.
pub fn is_locked(path: &Path) -> bool {
    let file = fs::File::open(path).expect("open pid file");
    matches!(file.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
}

/// Whether the tests run as root (the privilege-drop tests need it; in CI they must run).
pub fn require_root(test: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root, and CI must not skip it"
    );
    eprintln!("skipping {test}: needs root");
    false
}

/// The launching environment a new user's shell might give: a pty as controlling terminal,
/// SIGUSR1 blocked, SIGUSR2 and SIGHUP ignored, umask 077, an extra inherited fd, and stray
/// variables in the environment.
pub struct Hostile {
    /// The pty's master side; dropping it hangs the terminal up.
    pub master: Option<OwnedFd>,
    slave: OwnedFd,
    extra: fs::File,
}

impl Hostile {
    /// Opens the pty and the extra fd (`extra_path` is created).
    pub fn new(extra_path: &Path) -> Hostile {
        let pty = openpty(None, None).expect("openpty");
        let extra = fs::File::create(extra_path).expect("create the extra fd's file");
        // Inheritable, as a careless parent would leave it.
        fcntl(&extra, FcntlArg::F_SETFD(FdFlag::empty())).expect("clear FD_CLOEXEC");
        Hostile {
            master: Some(pty.master),
            slave: pty.slave,
            extra,
        }
    }

    /// The extra fd's number in the launcher.
    pub fn extra_fd(&self) -> i32 {
        self.extra.as_raw_fd()
    }

    /// Prepares `command` to run in the hostile environment.
    pub fn apply(&self, command: &mut Command) {
        let slave = self.slave.as_raw_fd();
        let mut blocked = SigSet::empty();
        blocked.add(Signal::SIGUSR1);
        command
            .env("STRAY_VARIABLE", "from-the-shell")
            .env("LD_LIBRARY_PATH", "/nonexistent")
            .stdin(self.slave.try_clone().unwrap())
            .stdout(self.slave.try_clone().unwrap())
            .stderr(self.slave.try_clone().unwrap());
        // SAFETY: the closure runs between fork and exec in the child and makes only
        // async-signal-safe system calls (setsid, ioctl, sigprocmask, sigaction, umask) on
        // values prepared before the fork; it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                nix::unistd::setsid()?;
                if nix::libc::ioctl(slave, nix::libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
                nix::sys::signal::signal(Signal::SIGUSR2, nix::sys::signal::SigHandler::SigIgn)?;
                nix::sys::signal::signal(Signal::SIGHUP, nix::sys::signal::SigHandler::SigIgn)?;
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
                Ok(())
            });
        }
    }
}

/// The number of MemoryStatus lines ("memory load ...") in a demo's log.
pub fn memory_lines(log: &Path) -> usize {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("memory load "))
        .count()
}

/// Whether the program at `path` (a Debian package's) is installed; in CI it must be (`.ci/run`
/// installs it), elsewhere the test says so and passes.
pub fn require_program(test: &str, path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs {path}, and CI must not skip it"
    );
    eprintln!("skipping {test}: {path} is not installed");
    false
}

/// The pids of the cgroup at `dir` and of every cgroup below it.
pub fn cgroup_tree_pids(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.parse().ok())
        .collect();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            pids.extend(cgroup_tree_pids(&entry.path()));
        }
    }
    pids
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind an ephemeral port")
}

/// Whether a socket listens on TCP 127.0.0.1:`port`, read from /proc/net/tcp: connecting to
/// find out would make sshd and dnsmasq fork a child for the connection, which can outlive the
/// check (and the daemon's stop) by a moment.
pub fn listening(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
    })
}

/// `svckit` run as user nobody (group nogroup, no supplementary groups), through setpriv.
pub fn svckit_as_nobody() -> Command {
    as_nobody(env!("CARGO_BIN_EXE_svckit"))
}

/// `program` run as user nobody (group nogroup, no supplementary groups), through setpriv.
pub fn as_nobody(program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            "--",
        ])
        .arg(program);
    command
}

/// redis-server serving 127.0.0.1:`port`, its files in `dir`, nothing saved, then `mode`
/// (`--supervised systemd`, or `--daemonize yes` with its pid file): the command line.
pub fn redis_command(port: u16, dir: &Path, mode: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = [
        "/usr/bin/redis-server",
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.display().to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .map(str::to_owned)
    .into();
    argv.extend(mode.iter().map(|arg| (*arg).to_owned()));
    argv
}

/// memcached -d (it forks itself) as nobody on 127.0.0.1:`port`, TCP only: the command line.
pub fn memcached_command(port: u16) -> Vec<String> {
    let port = port.to_string();
    [
        "/usr/bin/memcached",
        "-d",
        "-u",
        "nobody",
        "-l",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "0",
    ]
    .map(str::to_owned)
    .into()
}

/// Held by every test that runs sshd: sshd needs /run/sshd, which a service with
/// `runtime_directory = ["sshd"]` (Debian's ssh.service) removes when it stops.
static SSHD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`SSHD`] for the rest of the test (a test that failed with it still lets the others
/// run).
pub fn sshd_alone() -> std::sync::MutexGuard<'static, ()> {
    SSHD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A command whose stdout is read as it comes (`svckit logs -f`, under Wine too), killed when
/// dropped: a failed test leaves no follower behind holding the test runner's pipes.
pub struct Following {
    child: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Following {
    /// Spawns `command` with its stdout piped (its stderr dropped) and reads it on a thread.
    pub fn new(command: &mut Command) -> Following {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let into = seen.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut chunk) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Following { child, seen }
    }

    /// Whether `text` was shown within `timeout`.
    pub fn until(&self, text: &str, timeout: Duration) -> bool {
        eventually(timeout, || self.seen.lock().unwrap().contains(text))
    }

    /// What it wrote so far, line ends as `\n` (a Windows program's `\r\n` too).
    pub fn seen(&self) -> String {
        self.seen.lock().unwrap().replace("\r\n", "\n")
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Panics unless `told` has a line for each chapter of `story`, in that order (a chapter: the
/// parts one line holds), other lines between them allowed.
pub fn tells_in_order(told: &str, story: &[&[&str]]) {
    let lines: Vec<&str> = told.lines().collect();
    let mut at = 0;
    for chapter in story {
        let says = |line: &&str| chapter.iter().all(|part| line.contains(part));
        match lines[at..].iter().position(says) {
            Some(found) => at += found + 1,
            None => panic!("no {chapter:?} after line {at}:\n{told}"),
        }
    }
}

/// A bare repository of one commit under `dir/repos/project.git`, for `git daemon` to serve;
/// the base path. Its README says `readme`.
pub fn git_repository(dir: &Path, readme: &str) -> PathBuf {
    let work = dir.join("git-work");
    let base = dir.join("repos");
    fs::create_dir_all(&work).unwrap();
    fs::create_dir_all(&base).unwrap();
    let git = |at: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=svckit",
                "-c",
                "user.email=svckit@localhost",
            ])
            .args(["-c", "safe.directory=*", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(at)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&work, &["init", "-q"]);
    fs::write(work.join("README"), readme).unwrap();
    git(&work, &["add", "README"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(
        &base,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            "project.git",
        ],
    );
    base
}

/// `git clone git://127.0.0.1:PORT/project.git` into `into`: what its README says.
pub fn clone_readme(port: u16, into: &Path) -> String {
    let out = Command::new("git")
        .args(["-c", "safe.directory=*", "clone", "-q"])
        .arg(format!("git://127.0.0.1:{port}/project.git"))
        .arg(into)
        .output()
        .unwrap();
    assert!(out.status.success(), "git clone: {out:?}");
    fs::read_to_string(into.join("README")).unwrap()
}

/// GET `path` from 127.0.0.1:`port` (HTTP/1.1, the connection closed after): the whole answer.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Python's http.server written for socket activation: it serves its directory on the socket
/// it is handed at fd 3 (`socket.fromfd`), binding nothing itself.
pub const LAZY_HTTP_SERVER: &str = r#"
import http.server, socket
class Handed(http.server.HTTPServer):
    def server_bind(self):
        self.socket = socket.fromfd(3, socket.AF_INET, socket.SOCK_STREAM)
        self.server_address = self.socket.getsockname()
    def server_activate(self):
        pass
Handed(("", 0), http.server.SimpleHTTPRequestHandler).serve_forever()
"#;

/// A tmux server of its own running one session `t` of `width`×`height` with `command`;
/// killed on drop (its terminal hangs up for what runs in it).
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts the session; `name` tells this test's server from the others'.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("svckit-{name}-{}", std::process::id()),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let started = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width,
            "-y",
            &height,
            command,
        ]);
        assert!(started.status.success(), "{started:?}");
        tmux
    }

    /// `tmux ARGS` on this server.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    /// What the session's screen shows now.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Types `keys` (tmux send-keys: words, or names such as Enter, Tab, C-u).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Makes `command`, and everything it starts, find clone3(2) refused with ENOSYS, by a
/// seccomp filter: what a kernel before 5.3 answers, and what container runtimes' seccomp
/// profiles answered so that glibc falls back to clone(2) (Docker's default did). The filter
/// names x86_64's call; it refuses nothing for another architecture.
pub fn without_clone3(command: &mut Command) {
    use nix::libc::{self, sock_filter, sock_fprog};
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const CLONE3: u32 = 435;
    let op = |code: u16, jt: u8, jf: u8, k: u32| sock_filter { code, jt, jf, k };
    let (load, jump_if_equal, ret) = (0x20, 0x15, 0x06);
    let filter = [
        // seccomp_data.arch: another architecture's calls are all allowed.
        op(load, 0, 0, 4),
        op(jump_if_equal, 0, 3, AUDIT_ARCH_X86_64),
        // seccomp_data.nr.
        op(load, 0, 0, 0),
        op(jump_if_equal, 0, 1, CLONE3),
        op(ret, 0, 0, SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        op(ret, 0, 0, SECCOMP_RET_ALLOW),
    ];
    // SAFETY: the closure runs between fork and exec in the child and makes two prctl calls
    // (async-signal-safe) on a filter built before the fork, which the kernel copies; it
    // allocates nothing. The program is the array above, alive in the closure's copy.
    unsafe {
        command.pre_exec(move || {
            let program = sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &program as *const sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Regression: two tests (many.rs and supervise.rs) both made `Sup::new("many")`, and one
/// removed the other's directory when they ran at once. A name is now refused the second time.
#[test]
fn regression_two_tests_never_share_a_temporary_directory() {
    let _first = TempDir::new("shared-by-two");
    let second = std::panic::catch_unwind(|| TempDir::new("shared-by-two"));
    assert!(
        second.is_err(),
        "a second TempDir::new of one name was allowed"
    );
}
