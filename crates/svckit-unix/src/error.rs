use std::{fmt, io, path::PathBuf, time::Duration};

/// One step of daemonization, numbered as in svckit's design (daemon(7)'s SysV list).
///
/// Errors name the step that failed, so the launching shell learns *where* a daemon died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Step {
    /// 1: close every inherited file descriptor but 0, 1 and 2.
    CloseFds = 1,
    /// 2: reset every signal handler to its default.
    ResetSignalHandlers = 2,
    /// 3: reset the signal mask.
    ResetSignalMask = 3,
    /// 4: sanitize the environment.
    SanitizeEnvironment = 4,
    /// 5: create the readiness pipe.
    CreatePipe = 5,
    /// 6: fork.
    Fork = 6,
    /// 7: setsid, leaving the launcher's session and terminal.
    Setsid = 7,
    /// 8: fork again, so the daemon is not a session leader and can never reacquire a terminal.
    SecondFork = 8,
    /// 9: connect stdio to /dev/null or the log files.
    RedirectStdio = 9,
    /// 10: set the umask.
    Umask = 10,
    /// 11: change directory.
    Chdir = 11,
    /// 12: create, lock and write the PID file.
    PidFile = 12,
    /// 13: drop privileges.
    DropPrivileges = 13,
    /// 14: report readiness to the launcher.
    ReportReady = 14,
    /// 15: exec the program (for `daemonize -- PROGRAM`).
    Exec = 15,
}

impl Error {
    /// The error of a fork that [`SingleThreaded::check`](crate::sys::SingleThreaded) could
    /// not prove sound.
    pub(crate) fn not_single_threaded(why: crate::sys::NotSingleThreaded) -> Error {
        match why {
            crate::sys::NotSingleThreaded::Threads(threads) => Error::MultiThreaded { threads },
            crate::sys::NotSingleThreaded::Unknown(source) => Error::Os {
                step: Step::Fork,
                context: "count the process's threads in /proc/self/task".into(),
                source,
            },
        }
    }
}

impl Step {
    const ALL: [Step; 15] = [
        Step::CloseFds,
        Step::ResetSignalHandlers,
        Step::ResetSignalMask,
        Step::SanitizeEnvironment,
        Step::CreatePipe,
        Step::Fork,
        Step::Setsid,
        Step::SecondFork,
        Step::RedirectStdio,
        Step::Umask,
        Step::Chdir,
        Step::PidFile,
        Step::DropPrivileges,
        Step::ReportReady,
        Step::Exec,
    ];

    /// The step's number, 1 to 15.
    pub fn number(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_number(number: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.number() == number)
    }

    /// A short name: `"pid file"`, `"drop privileges"`.
    pub fn name(self) -> &'static str {
        match self {
            Step::CloseFds => "close inherited fds",
            Step::ResetSignalHandlers => "reset signal handlers",
            Step::ResetSignalMask => "reset signal mask",
            Step::SanitizeEnvironment => "sanitize environment",
            Step::CreatePipe => "readiness pipe",
            Step::Fork => "fork",
            Step::Setsid => "setsid",
            Step::SecondFork => "second fork",
            Step::RedirectStdio => "stdio",
            Step::Umask => "umask",
            Step::Chdir => "chdir",
            Step::PidFile => "pid file",
            Step::DropPrivileges => "drop privileges",
            Step::ReportReady => "report ready",
            Step::Exec => "exec",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} ({})", self.number(), self.name())
    }
}

/// An error from daemonizing, from the PID file or from privilege handling.
///
/// Errors that happen in the daemon after the fork travel back to the launcher through the
/// readiness pipe, so the launcher (the process the user ran) is the one that returns them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The process had other threads; forking it would copy only the calling one.
    #[error(
        "refusing to fork: the process has {threads} threads (daemonize before starting any thread)"
    )]
    MultiThreaded {
        /// How many threads were counted.
        threads: usize,
    },
    /// `--user` named no user in the password database.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// `--group` named no group in the group database.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    /// The program to exec does not exist or is not executable.
    #[error("program {program:?} {reason}")]
    ProgramNotFound {
        /// The program as given.
        program: String,
        /// Why it cannot be run.
        reason: String,
    },
    /// A setting that cannot be used as given.
    #[error("invalid {setting}: {reason}")]
    InvalidSetting {
        /// The setting, as the CLI names it.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A system call of one daemonization step failed.
    #[error("{step}: {context}")]
    Os {
        /// The step that failed.
        step: Step,
        /// What the step was doing, naming the path or id involved.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The PID file is locked by a running daemon.
    #[error(
        "already running{} (pid file {} is locked)",
        pid.map(|pid| format!(" as PID {pid}")).unwrap_or_default(),
        path.display()
    )]
    AlreadyRunning {
        /// The pid the PID file holds (none while it was still empty).
        pid: Option<svckit_core::Pid>,
        /// The PID file.
        path: PathBuf,
    },
    /// The PID file path is a symbolic link, which svckit never follows.
    #[error("pid file {} is a symbolic link; refusing to follow it", .0.display())]
    PidfileSymlink(PathBuf),
    /// The PID file path is not a PID file (not regular, not a pid, hard-linked, owned by
    /// another user): nothing was written to it.
    #[error("{} {why}; refusing to use it as a pid file", path.display())]
    PidfileRefused {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        why: crate::pidfile::Refusal,
    },
    /// After dropping privileges the process could still become root again.
    #[error("step 13 (drop privileges): root could be regained after switching to uid {uid}")]
    PrivilegesRegainable {
        /// The uid the process switched to.
        uid: u32,
    },
    /// The daemon exited (or closed its readiness pipe) before it reported ready.
    #[error("the daemon{} exited before it reported ready", pid_suffix(*.pid))]
    ExitedBeforeReady {
        /// The daemon's pid, when it was known.
        pid: Option<i32>,
    },
    /// The daemon ended before it said it was ready.
    #[error("the daemon (PID {pid}) ended before it said it was ready: {exit}")]
    EndedBeforeReady {
        /// The daemon's pid.
        pid: i32,
        /// How it ended.
        exit: svckit_core::LastExit,
    },
    /// A program that daemonizes itself left no daemon (see [`crate::Daemonize::forking`]):
    /// what went wrong. Whatever it left was stopped.
    #[error("{0}")]
    NoDaemon(String),
    /// The daemon did not report ready in time; it was stopped.
    #[error("the daemon did not report ready within {}; it was stopped", svckit_core::parse::format_duration(*.timeout))]
    ReadyTimeout {
        /// The timeout that ran out.
        timeout: Duration,
    },
}

fn pid_suffix(pid: Option<i32>) -> String {
    pid.map(|pid| format!(" (PID {pid})")).unwrap_or_default()
}

impl Error {
    /// The OS error number behind this error, if one is.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the OS refused for lack of permission (EACCES or EPERM).
    pub fn is_permission_denied(&self) -> bool {
        matches!(
            self.raw_os_error(),
            Some(nix::libc::EACCES | nix::libc::EPERM)
        )
    }

    /// Whether the error is bad input (a setting, user, group, program or PID file path that
    /// can never work), as opposed to an operation that failed.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::UnknownUser(_)
                | Error::UnknownGroup(_)
                | Error::ProgramNotFound { .. }
                | Error::InvalidSetting { .. }
                | Error::PidfileSymlink(_)
                | Error::PidfileRefused { .. }
        )
    }
}
