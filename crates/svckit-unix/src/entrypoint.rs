//! `svckit run -- PROGRAM`: one program under a minimal init, as a container's entrypoint
//! (PID 1) or anywhere (a subreaper): what tini and dumb-init do.
//!
//! - The program keeps the invocation's stdio, directory and environment; it leads a process
//!   group of its own, which gets the terminal's foreground when stdin is one (so an
//!   interactive shell has job control).
//! - Every signal that can be caught is forwarded to that process group as it arrives —
//!   INT, QUIT, WINCH, the job-control signals TSTP/TTIN/TTOU/CONT, the real-time signals
//!   34-64, … — never rewritten.
//! - Orphans are reaped. When the program ends, what is left of its group (and, as PID 1, of
//!   the whole namespace) gets SIGTERM, then SIGKILL after the stop timeout; then the init
//!   exits with the program's status: its exit code, or 128 + the signal that killed it.

use std::{
    ffi::{CString, OsString},
    io,
    os::fd::{AsFd, OwnedFd},
    time::{Duration, Instant},
};

use nix::{
    errno::Errno,
    libc,
    unistd::{getpgrp, tcgetpgrp},
};
use svckit_core::{Pid, Signal};

use crate::{signals::SignalWaiter, sys};

/// The classic signals forwarded, by number: every one a process can catch but SIGCHLD (the
/// init's own), SIGSTKFLT included, which svckit's [`Signal`] has no name for.
/// The real-time signals (SIGRTMIN to SIGRTMAX, 34 to 64) are forwarded too.
pub const FORWARDED: [i32; 28] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGUSR1,
    libc::SIGSEGV,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGURG,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGWINCH,
    libc::SIGIO,
    libc::SIGPWR,
    libc::SIGSYS,
];

/// How the program runs under the init.
#[derive(Debug)]
pub struct Entrypoint {
    /// The program and its arguments.
    pub command: Vec<OsString>,
    /// Variables set on top of the invocation's environment.
    pub env: Vec<(OsString, OsString)>,
    /// How long leftovers get between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
    /// The program's stdout instead of the invocation's (a pipe, to capture it), closed here
    /// once the program runs.
    pub stdout: Option<OwnedFd>,
    /// The program's stderr instead of the invocation's, the same way.
    pub stderr: Option<OwnedFd>,
}

impl Entrypoint {
    /// Runs the program to its end, forwarding signals and reaping; returns the status to
    /// exit with.
    pub fn run(mut self) -> io::Result<i32> {
        let Some((program, args)) = self.command.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no program"));
        };
        let pid1 = std::process::id() == 1;
        if !pid1 {
            // Orphans of the program come to us, to be reaped and stopped with it.
            crate::process::become_subreaper()?;
        }
        let mut all = FORWARDED.to_vec();
        all.push(libc::SIGCHLD);
        // Blocked before the fork, so none is lost; the child unblocks them.
        let mut signals = SignalWaiter::with_realtime(&all)?;
        // The terminal, when ours is the foreground group on it: the program's group gets it.
        let stdin = std::io::stdin();
        let terminal = tcgetpgrp(stdin.as_fd()).ok() == Some(getpgrp());
        // vfork-style: no page table copied, as its start is every container's.
        let main = self.spawn(program, args, terminal)?;
        // The program has them: ours would keep a capture from ever seeing its end.
        self.stdout = None;
        self.stderr = None;
        // From here on it only waits. Once the program has run a while, the executable's pages
        // start-up mapped are let go (its PSS as PID 1 is every container's cost); a program
        // that ends sooner never pays for the reading of smaps that takes.
        let mut release_at = Some(Instant::now() + crate::memory::IDLE_BEFORE_RELEASE);
        let mut status: Option<i32> = None;
        let mut deadline: Option<Instant> = None;
        loop {
            let wake = [deadline, release_at].into_iter().flatten().min();
            let timeout = wake.map(|at| at.saturating_duration_since(Instant::now()));
            let signal = match signals.wait_number(timeout) {
                Ok(Some(libc::SIGCHLD)) => true,
                Ok(None) => false,
                // To the program's group; once it has ended, to what is left of it.
                Ok(Some(signal)) => {
                    let _ = sys::killpg_raw(main, signal);
                    true
                }
                Err(Errno::EINTR) => false,
                Err(errno) => return Err(errno.into()),
            };
            if release_at.is_some_and(|at| Instant::now() >= at) {
                release_at = None;
                if deadline.is_none() && status.is_none() && !signal {
                    // Nothing to do until a signal comes: the pages go and the wait for it
                    // follows without running code that would fault them back in.
                    sys::release_executable_pages_until_readable(signals.as_fd());
                } else {
                    sys::release_executable_pages();
                }
            } else if signal && status.is_none() {
                // Woken (an orphan reaped, a signal forwarded): what that ran came back in,
                // and goes again once the program has run another quiet second.
                release_at = Some(Instant::now() + crate::memory::IDLE_BEFORE_RELEASE);
            }
            // Reap whatever ended: the program, its orphans.
            let gone = loop {
                match sys::reap_one() {
                    sys::Reaped::Ended(pid, exit) if pid == main => {
                        status = Some(exit.shell_status());
                    }
                    sys::Reaped::Ended(..) => {}
                    sys::Reaped::Running => break false,
                    sys::Reaped::NoChildren => break true,
                }
            };
            let Some(code) = status else {
                continue;
            };
            if gone {
                return Ok(code);
            }
            match deadline {
                // The program ended: what it left is asked to stop, then killed.
                None => {
                    deadline = Some(Instant::now() + self.stop_timeout);
                    leftovers(main, pid1, Signal::Term);
                }
                Some(at) if Instant::now() >= at => {
                    leftovers(main, pid1, Signal::Kill);
                    // Killed: reaped at the next wake.
                    deadline = Some(Instant::now() + Duration::from_millis(100));
                }
                Some(_) => {}
            }
        }
    }

    /// Starts the program: a process group of its own, with the terminal's foreground when
    /// `terminal` (so it never reads the terminal from the background), every signal at its
    /// default and none blocked, the invocation's environment with `env` on top.
    fn spawn(&self, program: &OsString, args: &[OsString], terminal: bool) -> io::Result<Pid> {
        let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(key, _)| !self.env.iter().any(|(set, _)| set == key))
            .collect();
        vars.extend(self.env.iter().cloned());
        // Looked up as execvp would, in the PATH the program gets.
        let (found, argv, envp) = crate::spawn::exec_strings(program, None, args, &vars)?;
        let stdin = std::io::stdin();
        let dups: Vec<(std::os::fd::BorrowedFd<'_>, u8)> = [(&self.stdout, 1), (&self.stderr, 2)]
            .into_iter()
            .filter_map(|(fd, to)| Some((fd.as_ref()?.as_fd(), to)))
            .collect();
        let spawn = |program: &CString, argv: &[CString]| {
            let plan = sys::ExecPlan {
                program,
                argv,
                envp: &envp,
                foreground: terminal.then(|| stdin.as_fd()),
                dups: &dups,
            };
            sys::spawn_exec(&plan)
        };
        match spawn(&found, &argv) {
            // A script without `#!`: run by /bin/sh, as execvp, tini and dumb-init run it.
            Err(err) if err.raw_os_error() == Some(libc::ENOEXEC) => {
                let shell = CString::from(c"/bin/sh");
                let mut argv = argv;
                argv[0] = found.clone();
                argv.insert(0, shell.clone());
                spawn(&shell, &argv)
            }
            spawned => spawned,
        }
    }
}

/// The status a shell gives a program that could not be started, for `err` from
/// [`Entrypoint::run`]: 127 when it was not found, 126 when it was found but cannot be run;
/// `None` for any other failure.
pub fn start_status(err: &io::Error) -> Option<i32> {
    use libc::{EACCES, EISDIR, ENOENT, ENOEXEC, ENOTDIR, ETXTBSY};
    match err.raw_os_error()? {
        ENOENT | ENOTDIR => Some(127),
        EACCES | ENOEXEC | EISDIR | ETXTBSY => Some(126),
        _ => None,
    }
}

/// `signal` to what is left of the program's group and, as PID 1, to every process of the
/// namespace (all of them are the program's leftovers); else to every child this subreaper
/// has (orphans that left the group with setsid would otherwise be waited for forever).
fn leftovers(main: Pid, pid1: bool, signal: Signal) {
    let _ = sys::killpg(main, Some(signal));
    if pid1 {
        let _ = sys::kill_everyone(signal);
    } else {
        for child in crate::process::live_children(Pid::this_process()) {
            let _ = sys::kill(child, Some(signal));
        }
    }
}
