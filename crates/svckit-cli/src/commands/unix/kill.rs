//! `svckit kill --pidfile P`: stop the daemon a PID file names ([`svckit_unix::kill`]); and
//! `svckit probe --pidfile P`: whether it runs.

use svckit_unix::{
    kill::{self, KillError, Stop, Stopped},
    pidfile::{self, PidfileState},
};

use crate::{
    cli::{KillArgs, ProbeArgs},
    exit::{Exit, Failure},
};

/// Stops the daemon named by the PID file: every process of it, verified; exit 3 (not
/// found) when it was not running.
pub fn run(args: KillArgs) -> anyhow::Result<Exit> {
    let path = &args.pidfile;
    let stop = Stop {
        signal: args.signal,
        timeout: args.timeout,
        no_wait: args.no_wait,
    };
    let outcome = kill::stop_daemon(path, &stop).map_err(|err| {
        let exit = match err {
            KillError::Unverified { .. } | KillError::Unseen(_) => Exit::Failed,
            KillError::CgroupNotEmpty(_) | KillError::StillRunning(_) => Exit::TimedOut,
            // Its exit code is the PID file error's own.
            KillError::Pidfile(err) => return anyhow::Error::from(err),
            KillError::Signal { .. } => return anyhow::Error::from(err),
        };
        Failure::new(exit, err.to_string()).into()
    })?;
    if let Some(left) = &outcome.left {
        eprintln!("svckit: warning: {left}");
    }
    let gone = match outcome.stopped {
        Stopped::NotRunning => format!("not running (no pid file {})", path.display()),
        Stopped::StaleRemoved => {
            format!("not running (removed stale pid file {})", path.display())
        }
        Stopped::Signalled | Stopped::Gone => return Ok(Exit::Ok),
    };
    Err(Failure::new(Exit::NotFound, gone).into())
}

/// `svckit probe --pidfile P`: LSB status codes (0 running, 1 dead but the PID file exists,
/// 3 not running, 4 unknown).
pub fn probe(args: ProbeArgs) -> anyhow::Result<Exit> {
    let path = &args.pidfile;
    let (line, code) = match pidfile::probe(path) {
        Ok(PidfileState::Running(Some(pid))) => (format!("running (PID {pid})"), 0),
        Ok(PidfileState::Running(None)) => ("running (its PID file is still empty)".into(), 0),
        Ok(PidfileState::Stale) => (
            format!("dead, but the PID file {} remains", path.display()),
            1,
        ),
        Ok(PidfileState::Missing) => ("not running".to_owned(), 3),
        Ok(PidfileState::Unverified(pid)) => (
            format!(
                "unknown: PID {pid} in {} runs but is not the daemon that wrote it",
                path.display()
            ),
            4,
        ),
        Err(err) => (format!("unknown: {err}"), 4),
    };
    outln!("{line}");
    std::process::exit(code)
}
