//! Daemonization as daemon(7) describes it, every step, in order, with failures reported to the
//! launching process.
//!
//! The launcher (the process the user ran) performs steps 1 to 6 on itself, then waits on the
//! readiness pipe; the daemon performs 7 to 15 and reports its pid, then "ready" or the step
//! that failed with its errno. The launcher returns only once the daemon is ready, so a shell
//! script that runs it learns from the exit status whether the daemon really started.

use std::{
    env,
    ffi::{CString, OsStr, OsString},
    fs::{File, OpenOptions},
    io::{self, Read},
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::{ffi::OsStrExt, fs::OpenOptionsExt},
    },
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use nix::{
    errno::Errno,
    fcntl::{FcntlArg, FdFlag, OFlag, fcntl},
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::{
        signal::{SigSet, SigmaskHow, sigprocmask},
        stat::{Mode, umask},
    },
    unistd,
};
use svckit_core::{Pid, Signal};

use crate::{
    environment,
    error::{Error, Step},
    pidfile::{Pidfile, PidfileError},
    privileges::{self, Credentials},
    process,
    report::{Failure, Record},
    sys::{self, SingleThreaded},
};

/// The environment variable that tells an exec'd program which fd to write its readiness
/// newline to (with [`Daemonize::wait_ready`]).
pub const READY_FD_ENV: &str = "SVCKIT_READY_FD";

/// How long a daemon that failed to become ready gets between SIGTERM and SIGKILL.
const FAILED_START_GRACE: Duration = Duration::from_secs(2);

/// How long a program that daemonizes itself may take to leave its daemon, unless
/// [`Daemonize::ready_timeout`] says otherwise (systemd's default start timeout).
const FORKING_TIMEOUT: Duration = Duration::from_secs(90);

/// A daemon to be: the settings of daemon(7)'s steps, applied by [`Daemonize::start`] (this
/// program becomes the daemon) or [`Daemonize::exec`] (another program becomes the daemon).
///
/// The defaults are daemon(7)'s: every inherited fd but 0-2 closed, signal handlers and mask
/// reset, the environment reduced to [`environment::KEPT_BY_DEFAULT`], two forks, stdio on
/// `/dev/null`, umask 022, cwd `/`.
///
/// ```no_run
/// use svckit_unix::{Daemonize, Forked};
///
/// match Daemonize::new().pidfile("/run/mydaemon.pid").start()? {
///     Forked::Launcher(daemon) => println!("started as PID {}", daemon.pid),
///     Forked::Daemon(mut daemon) => {
///         // ... open sockets, load configuration ...
///         daemon.ready()?;
///         // ... serve ...
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Daemonize does nothing until start() or exec() is called"]
pub struct Daemonize {
    pidfile: Option<PathBuf>,
    chdir: Option<PathBuf>,
    umask: Option<u32>,
    user: Option<String>,
    group: Option<String>,
    stdio: Stdio,
    keep_env: Vec<OsString>,
    set_env: Vec<(OsString, OsString)>,
    sanitize_env: bool,
    close_fds: bool,
    single_fork: bool,
    reap_children: bool,
    wait_ready: bool,
    ready_timeout: Option<Duration>,
    forking: bool,
    program_pidfile: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum Stdio {
    Inherit,
    Redirect {
        stdout: Option<PathBuf>,
        stderr: Option<PathBuf>,
    },
}

/// The two sides of a successful [`Daemonize::start`].
#[derive(Debug)]
pub enum Forked {
    /// This is the launcher; the daemon is running and has reported ready. The launcher should
    /// report and exit.
    Launcher(Launched),
    /// This is the daemon. Call [`Daemon::ready`] once it can serve.
    Daemon(Daemon),
}

/// What the launcher knows of a daemon that reported ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    /// The daemon's pid.
    pub pid: svckit_core::Pid,
    /// The PID file holding that pid, if one was asked for.
    pub pidfile: Option<PathBuf>,
}

/// The daemon side of [`Daemonize::start`]: holds the PID file lock and the readiness pipe.
#[derive(Debug)]
pub struct Daemon {
    report: Option<File>,
    pidfile: Option<Pidfile>,
}

impl Daemon {
    /// Tells the launcher that the daemon is ready (daemon(7) step 14): the launcher returns
    /// [`Forked::Launcher`] and exits. Later calls do nothing.
    pub fn ready(&mut self) -> io::Result<()> {
        match self.report.take() {
            Some(mut pipe) => Record::Ready.send(&mut pipe),
            None => Ok(()),
        }
    }

    /// The PID file this daemon holds locked, if any. It is removed when the `Daemon` is dropped.
    pub fn pidfile(&self) -> Option<&Path> {
        self.pidfile.as_ref().map(Pidfile::path)
    }
}

impl Default for Daemonize {
    fn default() -> Self {
        Daemonize {
            pidfile: None,
            chdir: Some(PathBuf::from("/")),
            umask: Some(0o022),
            user: None,
            group: None,
            stdio: Stdio::Redirect {
                stdout: None,
                stderr: None,
            },
            keep_env: Vec::new(),
            set_env: Vec::new(),
            sanitize_env: true,
            close_fds: true,
            single_fork: false,
            reap_children: false,
            wait_ready: false,
            ready_timeout: None,
            forking: false,
            program_pidfile: None,
        }
    }
}

impl Daemonize {
    /// daemon(7)'s defaults; see the type's documentation.
    pub fn new() -> Daemonize {
        Daemonize::default()
    }

    /// Creates, locks (flock(2), for the daemon's whole life) and writes a PID file. A locked
    /// file means the daemon is already running: the start is refused with
    /// [`Error::AlreadyRunning`].
    pub fn pidfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.pidfile = Some(path.into());
        self
    }

    /// The directory the daemon changes to (default `/`, so it pins no mount point).
    pub fn chdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.chdir = Some(dir.into());
        self
    }

    /// Keeps the launcher's working directory.
    pub fn no_chdir(mut self) -> Self {
        self.chdir = None;
        self
    }

    /// The daemon's umask (default 022). Values above 0777 are rejected by `start`/`exec`.
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Keeps the launcher's umask.
    pub fn keep_umask(mut self) -> Self {
        self.umask = None;
        self
    }

    /// Switches to this user (name or uid), with its groups, after the PID file is written.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Switches to this group (name or gid); without [`Daemonize::user`] only the group changes.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Appends the daemon's stdout to this file (created 0644) instead of `/dev/null`.
    /// Overrides an earlier [`Daemonize::inherit_stdio`] (the other fds then go to `/dev/null`).
    pub fn stdout(mut self, path: impl Into<PathBuf>) -> Self {
        self.redirect().0.replace(path.into());
        self
    }

    /// Appends the daemon's stderr to this file (created 0644) instead of `/dev/null`.
    /// Overrides an earlier [`Daemonize::inherit_stdio`] (the other fds then go to `/dev/null`).
    pub fn stderr(mut self, path: impl Into<PathBuf>) -> Self {
        self.redirect().1.replace(path.into());
        self
    }

    /// The stdout and stderr files, switching from inherited stdio to redirected if need be.
    fn redirect(&mut self) -> (&mut Option<PathBuf>, &mut Option<PathBuf>) {
        if let Stdio::Inherit = self.stdio {
            self.stdio = Stdio::Redirect {
                stdout: None,
                stderr: None,
            };
        }
        match &mut self.stdio {
            Stdio::Redirect { stdout, stderr } => (stdout, stderr),
            Stdio::Inherit => unreachable!("switched to Redirect above"),
        }
    }

    /// Leaves fds 0-2 as they are (the `noclose` of daemon(3)); overrides earlier
    /// [`Daemonize::stdout`] and [`Daemonize::stderr`] calls.
    pub fn inherit_stdio(mut self) -> Self {
        self.stdio = Stdio::Inherit;
        self
    }

    /// Keeps this variable of the launcher's environment, beside the default list.
    pub fn keep_env(mut self, name: impl Into<OsString>) -> Self {
        self.keep_env.push(name.into());
        self
    }

    /// Sets a variable in the daemon's environment.
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.set_env.push((name.into(), value.into()));
        self
    }

    /// Keeps the whole environment as it is (no step 4).
    pub fn keep_environment(mut self) -> Self {
        self.sanitize_env = false;
        self
    }

    /// Keeps inherited file descriptors open (no step 1), for code that opened what it needs
    /// (a listening socket) before daemonizing.
    pub fn keep_fds(mut self) -> Self {
        self.close_fds = false;
        self
    }

    /// The textbook's single fork: setsid, no second fork. The daemon is then a session leader
    /// and could acquire a controlling terminal by opening one.
    pub fn single_fork(mut self, single: bool) -> Self {
        self.single_fork = single;
        self
    }

    /// For [`Daemonize::start`] only: sets SIGCHLD to SIG_IGN in the daemon, so the kernel reaps
    /// the worker processes it forks and none becomes a zombie. Never applied by
    /// [`Daemonize::exec`]: an exec'd program's own waitpid calls would fail with ECHILD.
    pub fn reap_children(mut self, reap: bool) -> Self {
        self.reap_children = reap;
        self
    }

    /// For [`Daemonize::exec`] only: the daemon is ready not when exec succeeds but when the
    /// program says so, in either protocol: a newline to the fd named in `SVCKIT_READY_FD`
    /// (s6 readiness), or `READY=1` to the socket in `$NOTIFY_SOCKET` (sd_notify, from the
    /// daemon or a process of its session). The launcher returns then; it fails if the daemon
    /// ends first ([`Error::EndedBeforeReady`], with how it ended).
    pub fn wait_ready(mut self, wait: bool) -> Self {
        self.wait_ready = wait;
        self
    }

    /// For [`Daemonize::exec`] only: the program daemonizes itself (systemd's `Type=forking`):
    /// it forks, and the process svckit exec'd exits 0 once its daemon runs. The launcher
    /// waits for that exit, then for the daemon: the pid `program_pidfile` names (the
    /// program's own PID file), or without one the one process the program left. The launcher
    /// is a subreaper meanwhile, so the program's processes become its children: a pid that is
    /// not one of them (a PID file another user planted) is never taken. The daemon's pid is
    /// returned and written, with its record, to [`Daemonize::pidfile`], so `kill` and `probe`
    /// reach the daemon rather than the launcher that exited.
    ///
    /// With this or [`Daemonize::wait_ready`], the daemon is a child of the calling process
    /// once the call returns (it was a subreaper while it waited): the CLI exits at once; a
    /// long-lived caller of the library reaps it.
    pub fn forking(mut self, program_pidfile: Option<PathBuf>) -> Self {
        self.forking = true;
        self.program_pidfile = program_pidfile;
        self
    }

    /// How long the launcher waits for the daemon to be ready; past it the daemon is stopped
    /// (SIGTERM, then SIGKILL) and [`Error::ReadyTimeout`] returned. Default: no limit (90 s
    /// for a [forking](Daemonize::forking) program).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// Daemonizes this program. Returns [`Forked::Launcher`] in the launching process once the
    /// daemon called [`Daemon::ready`], and [`Forked::Daemon`] in the daemon. Errors are
    /// returned in the launcher only: a daemon whose step fails reports it and exits.
    ///
    /// The process must be single-threaded ([`Error::MultiThreaded`] otherwise). Step 1 closes
    /// every fd above 2, including those owned by Rust values: daemonize before opening anything
    /// you keep, or use [`Daemonize::keep_fds`].
    pub fn start(self) -> Result<Forked, Error> {
        let plan = self.plan(None)?;
        match self.run(&plan)? {
            Side::Launcher(launched) => Ok(Forked::Launcher(launched)),
            Side::Daemon(daemon) => Ok(Forked::Daemon(daemon)),
        }
    }

    /// Runs `program` with `args` as a daemon. Returns the daemon's pid once the program has
    /// been exec'd (a close-on-exec pipe reports a failed exec), or, with
    /// [`Daemonize::wait_ready`], once it wrote its readiness newline.
    ///
    /// `program` without a `/` is looked up in the daemon's `PATH`.
    pub fn exec(
        self,
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    ) -> Result<Launched, Error> {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let plan = self.plan(Some((program.as_ref(), &args)))?;
        match self.run(&plan)? {
            Side::Launcher(launched) => Ok(launched),
            Side::Daemon(_) => unreachable!("the exec'ing daemon never returns"),
        }
    }

    /// Checks and resolves every setting before anything is changed, so bad input fails with
    /// nothing done and nothing left behind.
    fn plan(&self, exec: Option<(&OsStr, &[OsString])>) -> Result<Plan, Error> {
        let proof = SingleThreaded::check().map_err(Error::not_single_threaded)?;
        if let Some(mask) = self.umask.filter(|mask| *mask > 0o777) {
            return Err(Error::InvalidSetting {
                setting: "umask",
                reason: format!("{mask:o} is not a mode between 000 and 777"),
            });
        }
        for (key, value) in &self.set_env {
            let key_bytes = key.as_bytes();
            if key_bytes.is_empty() || key_bytes.contains(&b'=') || key_bytes.contains(&0) {
                return Err(Error::InvalidSetting {
                    setting: "environment variable",
                    reason: format!("{key:?} is not a valid variable name"),
                });
            }
            if value.as_bytes().contains(&0) {
                return Err(Error::InvalidSetting {
                    setting: "environment variable",
                    reason: format!("the value of {key:?} contains a NUL byte"),
                });
            }
        }
        if self.forking && exec.is_none() {
            return Err(Error::InvalidSetting {
                setting: "type",
                reason: "forking is for a program that is exec'd (daemonize -- PROGRAM)".into(),
            });
        }
        if self.forking && self.wait_ready {
            return Err(Error::InvalidSetting {
                setting: "wait-ready",
                reason: "a forking program is ready when its first process exits 0; \
                         --wait-ready is for a program that says when it is ready"
                    .into(),
            });
        }
        let credentials = Credentials::resolve(self.user.as_deref(), self.group.as_deref())?;
        let env = if self.sanitize_env {
            environment::sanitized(
                env::vars_os(),
                &self.keep_env,
                &self.set_env,
                credentials.as_ref(),
            )
        } else {
            let mut vars: Vec<_> = env::vars_os().collect();
            vars.extend(self.set_env.iter().cloned());
            vars
        };
        let cwd = env::current_dir().map_err(|source| Error::Os {
            step: Step::Chdir,
            context: "getcwd".into(),
            source,
        })?;
        let absolute = |path: &Path| cwd.join(path);
        let stdio = match &self.stdio {
            Stdio::Inherit => None,
            Stdio::Redirect { stdout, stderr } => Some((
                stdout.as_deref().map(absolute),
                stderr.as_deref().map(absolute),
            )),
        };
        let exec = exec
            .map(|(program, args)| ExecPlan::new(program, args, &env, &cwd))
            .transpose()?;
        let pidfile = self.pidfile.as_deref().map(absolute);
        let cgroup = match &pidfile {
            Some(path) if unistd::geteuid().is_root() => {
                crate::cgroup::Cgroup::for_daemon(path).ok()
            }
            _ => None,
        };
        Ok(Plan {
            proof,
            cgroup,
            pidfile,
            program_pidfile: self.program_pidfile.as_deref().map(absolute),
            chdir: self.chdir.as_deref().map(absolute),
            stdio,
            credentials,
            env,
            exec,
        })
    }

    fn run(&self, plan: &Plan) -> Result<Side, Error> {
        let launcher_error = |step: Step, context: &str| {
            let context = context.to_owned();
            move |source: io::Error| Error::Os {
                step,
                context,
                source,
            }
        };
        // Step 1: close every inherited fd but stdio.
        if self.close_fds {
            sys::close_fds_from(3).map_err(launcher_error(Step::CloseFds, "close_range"))?;
        }
        // Step 2: every signal back to its default disposition (an ignored SIGHUP or SIGPIPE
        // inherited from the shell must not reach the daemon).
        sys::reset_signal_dispositions();
        // Step 3: an empty signal mask.
        sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
            .map_err(|errno| launcher_error(Step::ResetSignalMask, "sigprocmask")(errno.into()))?;
        // Step 4: the sanitized environment.
        if self.sanitize_env {
            sys::replace_environment(&plan.proof, &plan.env);
        }
        // Step 5: the readiness pipe (close-on-exec: EOF tells the launcher exec succeeded),
        // and for --wait-ready the program's own readiness pipe.
        let pipe = || {
            unistd::pipe2(OFlag::O_CLOEXEC)
                .map_err(|errno| launcher_error(Step::CreatePipe, "pipe2")(errno.into()))
        };
        let (report_read, report_write) = pipe()?;
        let ready_pipe = match &plan.exec {
            Some(_) if self.wait_ready => Some(pipe()?),
            _ => None,
        };
        // sd_notify beside it: a socket of the launcher's (close-on-exec, so only its
        // address reaches the program).
        let listener = match &plan.exec {
            Some(_) if self.wait_ready => Some(
                crate::notify::Listener::bind(&format!(
                    "svckit-daemonize-{}-{}",
                    Pid::this_process(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_nanos()
                ))
                .map_err(launcher_error(
                    Step::CreatePipe,
                    "bind the sd_notify socket",
                ))?,
            ),
            _ => None,
        };
        // A launcher that waits for the daemon's readiness or its fork is a subreaper: the
        // daemon (and, for a forking program, what it leaves) become its children, so it
        // learns how they end and which processes are the program's.
        if plan.exec.is_some() && (self.wait_ready || self.forking) {
            process::become_subreaper()
                .map_err(launcher_error(Step::Fork, "become a subreaper"))?;
        }
        let notify = listener.as_ref().map(|l| l.address().to_owned());
        // Step 6: fork. A daemon that execs is born in its cgroup (clone3's
        // `CLONE_INTO_CGROUP`, as the supervisor starts its services): moving itself in
        // afterwards waited for the kernel's cgroup migration lock, an RCU grace period (9.4 ms
        // of a 12 ms launch measured here, whenever no migration happened just before). Only
        // for exec: such a child skips glibc's fork bookkeeping, so it must not run on as the
        // library caller's daemon, which could use pthreads. Where the kernel cannot (before
        // 5.7), the child moves itself in as before.
        let born_in_cgroup = plan
            .cgroup
            .as_ref()
            .filter(|_| plan.exec.is_some())
            .and_then(|cgroup| cgroup.open_dir().ok())
            .and_then(|dir| sys::fork_into_cgroup(&plan.proof, dir.as_fd()).ok());
        let in_cgroup = born_in_cgroup.is_some();
        let fork = match born_in_cgroup {
            Some(fork) => fork,
            None => sys::fork(&plan.proof)
                .map_err(|errno| launcher_error(Step::Fork, "fork")(errno.into()))?,
        };
        match fork {
            sys::Fork::Parent { child } => {
                drop(report_write);
                let ready_read = ready_pipe.map(|(read, write)| {
                    drop(write);
                    read
                });
                let outcome = self.wait_for_daemon(
                    plan,
                    child,
                    File::from(report_read),
                    ready_read,
                    listener,
                );
                // Once the daemon is up (or failed): what other daemons left, cleared without
                // delaying this one.
                if let Some(cgroup) = &plan.cgroup {
                    cgroup.remove_ended_daemons_beside();
                }
                outcome.map(Side::Launcher)
            }
            sys::Fork::Child => {
                drop(report_read);
                let ready_write = ready_pipe.map(|(read, write)| {
                    drop(read);
                    write
                });
                drop(listener);
                let mut report = File::from(report_write);
                let readiness = Readiness {
                    pipe: ready_write,
                    notify,
                };
                match self.become_daemon(plan, &mut report, readiness, in_cgroup) {
                    Ok(pidfile) => Ok(Side::Daemon(Daemon {
                        report: Some(report),
                        pidfile,
                    })),
                    Err(failure) => {
                        let _ = Record::Failed(failure).send(&mut report);
                        sys::exit_now(1)
                    }
                }
            }
        }
    }

    /// Steps 7 and 8 in the forked child, then [`Daemonize::daemon_steps`] in the daemon.
    /// Returns only in the daemon of `start`; `exec` replaces the process or fails.
    fn become_daemon(
        &self,
        plan: &Plan,
        report: &mut File,
        readiness: Readiness,
        in_cgroup: bool,
    ) -> Result<Option<Pidfile>, Failure> {
        // Its cgroup before anything of it runs, unless it was born there (where there is
        // none, the session and the process group are what contains it).
        if let Some(cgroup) = plan.cgroup.as_ref().filter(|_| !in_cgroup) {
            let _ = cgroup.enter();
        }
        // Step 7: a new session, without the launcher's controlling terminal.
        unistd::setsid().map_err(os(Step::Setsid, 0))?;
        if self.single_fork {
            return self.daemon_steps(plan, report, readiness);
        }
        // Step 8: fork again; the session leader exits, so the daemon can never acquire a
        // terminal.
        if plan.exec.is_some() {
            // The session leader only exits after this, so the daemon may borrow its memory
            // until the exec instead of copying it (see sys::vfork_then_exit).
            let failed = sys::vfork_then_exit(&plan.proof, || {
                let failure = match self.daemon_steps(plan, report, readiness) {
                    Ok(_) => unreachable!("the exec'ing daemon never returns"),
                    Err(failure) => failure,
                };
                let _ = Record::Failed(failure).send(report);
                sys::exit_now(1)
            });
            return Err(io_os(Step::SecondFork, 0)(failed));
        }
        match sys::fork(&plan.proof).map_err(os(Step::SecondFork, 0))? {
            sys::Fork::Parent { .. } => sys::exit_now(0),
            sys::Fork::Child => self.daemon_steps(plan, report, readiness),
        }
    }

    /// Steps 9 to 13 (and 15 for exec), in the daemon itself.
    fn daemon_steps(
        &self,
        plan: &Plan,
        report: &mut File,
        readiness: Readiness,
    ) -> Result<Option<Pidfile>, Failure> {
        if !self.single_fork {
            // Lead a process group of its own (in the new session; still not a session
            // leader), so stopping the daemon can signal it and every worker it forks at once.
            sys::lead_own_group().map_err(os(Step::SecondFork, 0))?;
        }
        let pid = Pid::this_process();
        Record::Pid(pid.as_i32())
            .send(report)
            .map_err(io_os(Step::ReportReady, 0))?;
        // Step 9: stdio to /dev/null or the log files.
        if let Some((stdout, stderr)) = &plan.stdio {
            let null = OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(io_os(Step::RedirectStdio, DETAIL_DEVNULL))?;
            let log = |path: &Option<PathBuf>, detail: u8| -> Result<Option<File>, Failure> {
                path.as_ref()
                    .map(|path| {
                        OpenOptions::new()
                            .append(true)
                            .create(true)
                            .mode(0o644)
                            .open(path)
                            .map_err(io_os(Step::RedirectStdio, detail))
                    })
                    .transpose()
            };
            let out = log(stdout, DETAIL_STDOUT)?;
            let err = log(stderr, DETAIL_STDERR)?;
            unistd::dup2_stdin(&null).map_err(os(Step::RedirectStdio, DETAIL_DEVNULL))?;
            unistd::dup2_stdout(out.as_ref().map_or(null.as_fd(), AsFd::as_fd))
                .map_err(os(Step::RedirectStdio, DETAIL_STDOUT))?;
            unistd::dup2_stderr(err.as_ref().map_or(null.as_fd(), AsFd::as_fd))
                .map_err(os(Step::RedirectStdio, DETAIL_STDERR))?;
        }
        // Step 10: umask.
        if let Some(mask) = self.umask {
            umask(Mode::from_bits_truncate(mask));
        }
        // Step 11: chdir.
        if let Some(dir) = &plan.chdir {
            unistd::chdir(dir).map_err(os(Step::Chdir, 0))?;
        }
        // Step 12: the PID file, locked before it is written, written before the launcher
        // returns.
        let mut pidfile = plan
            .pidfile
            .as_ref()
            .map(|path| {
                let mut pidfile = Pidfile::acquire(path).map_err(pidfile_failure)?;
                pidfile.write_pid(pid).map_err(pidfile_failure)?;
                Ok(pidfile)
            })
            .transpose()?;
        // Step 13: drop privileges, verified.
        if let Some(credentials) = &plan.credentials {
            credentials.apply()?;
        }
        let Some(exec) = &plan.exec else {
            // Rust programs run with SIGPIPE ignored (std sets it at startup): the daemon keeps
            // running Rust code, so it keeps that convention rather than die on a closed socket.
            sys::ignore_signal(Signal::Pipe).map_err(os(Step::ResetSignalHandlers, 0))?;
            if self.reap_children {
                sys::ignore_signal(Signal::Chld).map_err(os(Step::ResetSignalHandlers, 0))?;
            }
            return Ok(pidfile);
        };
        // Step 15: exec. The lock and the readiness fd must survive it; the report pipe must not.
        if let Some(pidfile) = &mut pidfile {
            clear_cloexec(pidfile.file()).map_err(os(Step::Exec, 0))?;
            pidfile.keep_on_drop();
        }
        let mut envp = exec.envp.clone();
        let mut offer = |name: &str, value: String| {
            // Ours replaces one inherited (svckit daemonize run under systemd has one).
            let prefix = format!("{name}=");
            envp.retain(|pair| !pair.as_bytes().starts_with(prefix.as_bytes()));
            envp.push(cstring(format!("{prefix}{value}").as_bytes()));
        };
        if let Some(ready) = &readiness.pipe {
            clear_cloexec(ready).map_err(os(Step::Exec, 0))?;
            offer(READY_FD_ENV, ready.as_raw_fd().to_string());
        }
        if let Some(address) = readiness.notify {
            offer(crate::notify::NOTIFY_SOCKET_ENV, address);
        }
        let errno = match unistd::execve(&exec.path, &exec.argv, &envp) {
            Err(errno) => errno,
            Ok(never) => match never {},
        };
        // Keep the lock until the launcher has read the failure, then let the file go.
        std::mem::forget(pidfile);
        Err(os(Step::Exec, 0)(errno))
    }

    fn wait_for_daemon(
        &self,
        plan: &Plan,
        child: Pid,
        mut report: File,
        ready: Option<OwnedFd>,
        listener: Option<crate::notify::Listener>,
    ) -> Result<Launched, Error> {
        let deadline = self.ready_timeout.map(|timeout| Instant::now() + timeout);
        if !self.single_fork {
            // The first child exits right after the second fork (or after a failed setsid).
            let _ = sys::wait_for(child);
        }
        let outcome = self.wait_for_exec(plan, child, &mut report, ready, listener, deadline);
        if plan.exec.is_some() && (self.wait_ready || self.forking) {
            let _ = nix::sys::prctl::set_child_subreaper(false);
        }
        outcome
    }

    /// [`Daemonize::wait_for_daemon`] once the first child is reaped.
    fn wait_for_exec(
        &self,
        plan: &Plan,
        child: Pid,
        report: &mut File,
        ready: Option<OwnedFd>,
        listener: Option<crate::notify::Listener>,
        deadline: Option<Instant>,
    ) -> Result<Launched, Error> {
        let mut pid = None;
        let mut failure = None;
        let mut ready_reported = false;
        loop {
            if !readable_before(report, deadline) {
                return Err(self.abandon(
                    plan,
                    pid,
                    Error::ReadyTimeout {
                        timeout: self.ready_timeout.unwrap_or_default(),
                    },
                ));
            }
            match Record::receive(report) {
                Ok(Some(Record::Pid(daemon))) => pid = Pid::from_i32(daemon),
                Ok(Some(Record::Ready)) => {
                    ready_reported = true;
                    break;
                }
                Ok(Some(Record::Failed(f))) => failure = Some(f),
                Ok(None) => break,
                Err(source) => {
                    let err = Error::Os {
                        step: Step::ReportReady,
                        context: "read the readiness pipe".into(),
                        source,
                    };
                    return Err(self.abandon(plan, pid, err));
                }
            }
        }
        if let Some(failure) = failure {
            if self.single_fork {
                let _ = sys::wait_for(child);
            }
            remove_own_pidfile(plan, pid);
            return Err(plan.error_for(failure));
        }
        let Some(pid) = pid else {
            return Err(Error::ExitedBeforeReady { pid: None });
        };
        let launched = Launched {
            pid,
            pidfile: plan.pidfile.clone(),
        };
        if ready_reported {
            return Ok(launched);
        }
        if plan.exec.is_none() {
            // EOF without "ready": the daemon dropped its handle or died.
            return Err(self.abandon(
                plan,
                Some(pid),
                Error::ExitedBeforeReady {
                    pid: Some(pid.as_i32()),
                },
            ));
        }
        // EOF with no failure: the exec succeeded.
        if self.forking {
            let deadline = deadline.unwrap_or_else(|| Instant::now() + FORKING_TIMEOUT);
            let daemon = self.wait_for_fork(plan, pid, deadline)?;
            return Ok(Launched {
                pid: daemon,
                pidfile: plan.pidfile.clone(),
            });
        }
        if ready.is_none() && listener.is_none() {
            return Ok(launched);
        }
        match wait_until_ready(pid, ready.map(File::from), listener, deadline) {
            Ok(()) => Ok(launched),
            Err(Unready::TimedOut) => Err(self.abandon(
                plan,
                Some(pid),
                Error::ReadyTimeout {
                    timeout: self.ready_timeout.unwrap_or_default(),
                },
            )),
            Err(Unready::Ended(exit)) => {
                remove_own_pidfile(plan, Some(pid));
                Err(Error::EndedBeforeReady {
                    pid: pid.as_i32(),
                    exit,
                })
            }
        }
    }

    /// A forking program, exec'd as `first`: waits for `first` to exit 0, then for its daemon
    /// (see [`Daemonize::forking`]), until `deadline`. A failure stops what the program left.
    fn wait_for_fork(&self, plan: &Plan, first: Pid, deadline: Instant) -> Result<Pid, Error> {
        let me = Pid::this_process();
        let give_up = |error: Error| {
            for pid in process::live_children(me) {
                process::terminate(pid, FAILED_START_GRACE);
            }
            reap_children();
            remove_own_pidfile(plan, Some(first));
            error
        };
        // Its first process is our child (we are a subreaper): its end and its status.
        let ended = process::pidfd(first)
            .ok()
            .map(|fd| readable_before(&File::from(fd), Some(deadline)))
            .unwrap_or(true);
        if !ended {
            return Err(give_up(Error::ReadyTimeout {
                timeout: deadline.saturating_duration_since(Instant::now()),
            }));
        }
        let exit = sys::wait_for(first);
        if !exit.success() {
            return Err(give_up(Error::NoDaemon(format!(
                "the program ended with {exit} instead of exit code 0: it did not daemonize"
            ))));
        }
        loop {
            // The intermediate processes of a double fork.
            reap_children();
            let children = process::live_children(me);
            let found = match &plan.program_pidfile {
                // A pid the program's file names counts only if the program left it: a
                // child of ours. Anything else (a stale file, another daemon's pid, one a user
                // planted) is never taken.
                Some(path) => {
                    crate::pidfile::read_program_pid(path).filter(|pid| children.contains(pid))
                }
                None => match children.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                },
            };
            if let Some(daemon) = found {
                if let Some(path) = &plan.pidfile {
                    crate::pidfile::follow(path, daemon).map_err(|err| {
                        give_up(Error::Os {
                            step: Step::PidFile,
                            context: format!("point {} at the daemon", path.display()),
                            source: io::Error::other(err),
                        })
                    })?;
                }
                return Ok(daemon);
            }
            if Instant::now() >= deadline {
                let why = match &plan.program_pidfile {
                    Some(path) => format!(
                        "the program exited 0, but {} names no process it left",
                        path.display()
                    ),
                    None if children.is_empty() => {
                        "the program exited 0 and left no process running".to_owned()
                    }
                    None => format!(
                        "the program left {} processes, not one: name its PID file with \
                         --program-pidfile",
                        children.len()
                    ),
                };
                return Err(give_up(Error::NoDaemon(why)));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A daemon that will not become ready is stopped and its PID file removed, so a failed
    /// start leaves nothing behind.
    fn abandon(&self, plan: &Plan, pid: Option<Pid>, error: Error) -> Error {
        if let Some(pid) = pid {
            process::terminate(pid, FAILED_START_GRACE);
        }
        remove_own_pidfile(plan, pid);
        error
    }
}

/// daemon(3): detaches the calling program from its terminal and session and returns in the
/// daemon; the launching process exits 0 once the daemon is set up, as daemon(3)'s parent does.
///
/// Unlike glibc's daemon(3) it forks twice (the daemon can never reacquire a terminal), resets
/// signal handlers and the signal mask, and refuses a multi-threaded process. Like daemon(3)
/// it keeps open fds, the environment and the umask. `nochdir` keeps the working directory
/// (else `/`); `noclose` keeps fds 0-2 (else `/dev/null`).
///
/// ```no_run
/// svckit_unix::daemon(false, false)?;
/// // Now running as a daemon.
/// # Ok::<(), svckit_unix::Error>(())
/// ```
pub fn daemon(nochdir: bool, noclose: bool) -> Result<(), Error> {
    let mut builder = Daemonize::new().keep_fds().keep_environment().keep_umask();
    if nochdir {
        builder = builder.no_chdir();
    }
    if noclose {
        builder = builder.inherit_stdio();
    }
    match builder.start()? {
        Forked::Launcher(_) => sys::exit_now(0),
        Forked::Daemon(mut daemon) => {
            daemon.ready().map_err(|source| Error::Os {
                step: Step::ReportReady,
                context: "write the readiness pipe".into(),
                source,
            })?;
            Ok(())
        }
    }
}

enum Side {
    Launcher(Launched),
    Daemon(Daemon),
}

/// Everything resolved before the first step: absolute paths, credentials, environment, the
/// exec'd program.
struct Plan {
    proof: SingleThreaded,
    pidfile: Option<PathBuf>,
    program_pidfile: Option<PathBuf>,
    chdir: Option<PathBuf>,
    stdio: Option<(Option<PathBuf>, Option<PathBuf>)>,
    credentials: Option<Credentials>,
    env: Vec<(OsString, OsString)>,
    exec: Option<ExecPlan>,
    /// The daemon's cgroup (root, a writable cgroup2 and a PID file): every process it ever
    /// starts stays in it, so `svckit kill` reaches them all.
    cgroup: Option<crate::cgroup::Cgroup>,
}

/// What an exec'd program is offered to say it is ready with: the write end of the
/// `SVCKIT_READY_FD` pipe, and the `$NOTIFY_SOCKET` address.
struct Readiness {
    pipe: Option<OwnedFd>,
    notify: Option<String>,
}

struct ExecPlan {
    path: CString,
    display: String,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

const DETAIL_DEVNULL: u8 = 0;
const DETAIL_STDOUT: u8 = 1;
const DETAIL_STDERR: u8 = 2;
const DETAIL_PIDFILE_OPEN: u8 = 0;
const DETAIL_PIDFILE_LOCK: u8 = 1;
const DETAIL_PIDFILE_WRITE: u8 = 2;

/// Maps an errno of `step` to the failure the daemon reports.
fn os(step: Step, detail: u8) -> impl Fn(Errno) -> Failure {
    move |errno| Failure::Os {
        step,
        detail,
        errno: errno as i32,
    }
}

/// Maps an I/O error of `step` to the failure the daemon reports.
fn io_os(step: Step, detail: u8) -> impl Fn(io::Error) -> Failure {
    move |err| Failure::Os {
        step,
        detail,
        errno: err.raw_os_error().unwrap_or(0),
    }
}

fn pidfile_failure(err: PidfileError) -> Failure {
    let errno = |source: &io::Error| source.raw_os_error().unwrap_or(0);
    match err {
        PidfileError::Symlink(_) => Failure::Os {
            step: Step::PidFile,
            detail: DETAIL_PIDFILE_OPEN,
            errno: nix::libc::ELOOP,
        },
        PidfileError::Refused { why, .. } => Failure::PidfileRefused(why),
        PidfileError::Locked { pid, .. } => Failure::AlreadyRunning {
            pid: pid.map_or(0, Pid::as_i32),
        },
        PidfileError::Io { action, source, .. } => Failure::Os {
            step: Step::PidFile,
            detail: match action {
                "lock" => DETAIL_PIDFILE_LOCK,
                "write" => DETAIL_PIDFILE_WRITE,
                _ => DETAIL_PIDFILE_OPEN,
            },
            errno: errno(&source),
        },
    }
}

impl Plan {
    /// Turns a failure reported by the daemon into an error that names what failed.
    fn error_for(&self, failure: Failure) -> Error {
        let pidfile = || self.pidfile.clone().unwrap_or_default();
        let show =
            |path: Option<&PathBuf>| path.map(|p| p.display().to_string()).unwrap_or_default();
        match failure {
            Failure::AlreadyRunning { pid } => Error::AlreadyRunning {
                pid: Pid::from_i32(pid),
                path: pidfile(),
            },
            Failure::PidfileRefused(why) => Error::PidfileRefused {
                path: pidfile(),
                why,
            },
            Failure::PrivilegesRegainable { uid } => Error::PrivilegesRegainable { uid },
            Failure::Os {
                step: Step::PidFile,
                errno: nix::libc::ELOOP,
                ..
            } => Error::PidfileSymlink(pidfile()),
            Failure::Os {
                step,
                detail,
                errno,
            } => {
                let context = match step {
                    Step::RedirectStdio => match (detail, &self.stdio) {
                        (DETAIL_STDOUT, Some((Some(out), _))) => format!("open {}", out.display()),
                        (DETAIL_STDERR, Some((_, Some(err)))) => format!("open {}", err.display()),
                        _ => "open /dev/null".into(),
                    },
                    Step::Chdir => format!("chdir to {}", show(self.chdir.as_ref())),
                    Step::PidFile => {
                        let action = match detail {
                            DETAIL_PIDFILE_LOCK => "lock",
                            DETAIL_PIDFILE_WRITE => "write",
                            _ => "open",
                        };
                        format!("{action} {}", show(self.pidfile.as_ref()))
                    }
                    Step::DropPrivileges => {
                        let call = match detail {
                            privileges::DETAIL_SETGROUPS => "setgroups",
                            privileges::DETAIL_SETGID => "setgid",
                            _ => "setuid",
                        };
                        let target = self
                            .credentials
                            .as_ref()
                            .and_then(|c| c.user.as_ref().map(|u| u.name.clone()))
                            .unwrap_or_else(|| "the group".into());
                        format!("{call} for {target}")
                    }
                    Step::Exec => format!(
                        "exec {}",
                        self.exec.as_ref().map(|e| e.display.as_str()).unwrap_or("")
                    ),
                    other => other.name().to_owned(),
                };
                Error::Os {
                    step,
                    context,
                    source: io::Error::from_raw_os_error(errno),
                }
            }
        }
    }
}

impl ExecPlan {
    fn new(
        program: &OsStr,
        args: &[OsString],
        env: &[(OsString, OsString)],
        cwd: &Path,
    ) -> Result<ExecPlan, Error> {
        let display = program.to_string_lossy().into_owned();
        let not_found = |reason: &str| Error::ProgramNotFound {
            program: display.clone(),
            reason: reason.to_owned(),
        };
        let search = env
            .iter()
            .find(|(key, _)| key == "PATH")
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| environment::DEFAULT_PATH.into());
        let path = crate::process::find_program(program, &search, cwd).map_err(not_found)?;
        let nul = |what: &str| Error::InvalidSetting {
            setting: "argument",
            reason: format!("{what} contains a NUL byte"),
        };
        let mut argv = vec![CString::new(program.as_bytes()).map_err(|_| nul("the program"))?];
        for arg in args {
            argv.push(CString::new(arg.as_bytes()).map_err(|_| nul("an argument"))?);
        }
        let envp = env
            .iter()
            .map(|(key, value)| {
                let mut pair = key.as_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                CString::new(pair).map_err(|_| nul("an environment variable"))
            })
            .collect::<Result<_, _>>()?;
        Ok(ExecPlan {
            path: CString::new(path.as_os_str().as_bytes()).map_err(|_| nul("the program path"))?,
            display: path.display().to_string(),
            argv,
            envp,
        })
    }
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("svckit's own strings hold no NUL")
}

/// Lets `fd` survive exec.
fn clear_cloexec(fd: impl AsFd) -> Result<(), Errno> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map(drop)
}

fn readable_before(file: &File, deadline: Option<Instant>) -> bool {
    let Some(deadline) = deadline else {
        return true;
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}

/// Why a daemon did not become ready.
enum Unready {
    /// The deadline passed.
    TimedOut,
    /// It ended, this way.
    Ended(svckit_core::LastExit),
}

/// Waits until the daemon `pid` says it is ready, by a newline on `pipe` or READY=1 from it
/// (or a process of its session) on `listener`, until it ends or `deadline` passes. A pipe
/// closed without a newline is not an end: daemons close every inherited fd, and may still
/// say READY=1.
fn wait_until_ready(
    pid: Pid,
    mut pipe: Option<File>,
    listener: Option<crate::notify::Listener>,
    deadline: Option<Instant>,
) -> Result<(), Unready> {
    // The daemon is our child (we are a subreaper): its pidfd is readable once it ends.
    let ended = process::pidfd(pid).ok().map(File::from);
    let session = sys::session_of(pid);
    let mut buf = [0u8; 256];
    loop {
        let timeout = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Unready::TimedOut);
                }
                PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let sources = [
            pipe.as_ref().map(AsFd::as_fd),
            listener.as_ref().map(AsFd::as_fd),
            ended.as_ref().map(AsFd::as_fd),
        ];
        let mut fds: Vec<PollFd> = sources
            .iter()
            .flatten()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, timeout) {
            Ok(0) => return Err(Unready::TimedOut),
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => return Err(Unready::Ended(sys::wait_for(pid))),
        }
        let mut ready = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()));
        let [pipe_ready, listener_ready, ended_ready] =
            sources.map(|source| source.is_some() && ready.next().unwrap_or(false));
        drop(fds);
        if pipe_ready && let Some(file) = &mut pipe {
            match file.read(&mut buf) {
                Ok(n) if buf[..n].contains(&b'\n') => return Ok(()),
                Ok(0) | Err(_) => pipe = None,
                Ok(_) => {}
            }
        }
        if listener_ready && let Some(listener) = &listener {
            while let Ok(Some((sender, notices))) = listener.receive() {
                let of_daemon = sender == pid || sys::session_of(sender) == session;
                if of_daemon && notices.contains(&crate::notify::Notice::Ready) {
                    return Ok(());
                }
            }
        }
        if ended_ready {
            return Err(Unready::Ended(sys::wait_for(pid)));
        }
    }
}

/// Reaps every child that has ended, without waiting (how they ended does not matter here).
fn reap_children() {
    process::reap_children(|_, _| {});
}

/// Removes the PID file if it still names the daemon that failed (never another instance's).
fn remove_own_pidfile(plan: &Plan, pid: Option<Pid>) {
    let (Some(path), Some(pid)) = (&plan.pidfile, pid) else {
        return;
    };
    // Read as a PID file is read: a FIFO planted there once hung the launcher here.
    if crate::pidfile::names(path, pid) {
        // Wait for the dying daemon to release its lock, then remove the file under our lock.
        process::wait_until(Duration::from_secs(2), || {
            crate::pidfile::remove_stale(path).unwrap_or(false) || !path.exists()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(daemon: &Daemonize) -> Option<(Option<PathBuf>, Option<PathBuf>)> {
        match &daemon.stdio {
            Stdio::Inherit => None,
            Stdio::Redirect { stdout, stderr } => Some((stdout.clone(), stderr.clone())),
        }
    }

    #[test]
    fn the_last_stdio_setting_wins() {
        let log = PathBuf::from("out.log");
        let redirected = Daemonize::new().inherit_stdio().stdout(&log);
        assert_eq!(files(&redirected), Some((Some(log.clone()), None)));
        let inherited = Daemonize::new().stdout(&log).stderr(&log).inherit_stdio();
        assert_eq!(files(&inherited), None);
        assert_eq!(files(&Daemonize::new()), Some((None, None)));
    }
}
