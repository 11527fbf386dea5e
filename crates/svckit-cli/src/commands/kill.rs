//! `svckit kill --pidfile P`: signal the daemon's process group, wait until it is gone,
//! SIGKILL after the timeout.

use std::time::Duration;

use anyhow::Context;
use svckit::unix::{
    Pid, Signal,
    pidfile::{self, PidfileState},
    process,
};

use crate::{
    cli::{KillArgs, ProbeArgs},
    exit::{Exit, Failure},
};

/// How long to wait for the group to vanish after SIGKILL.
const AFTER_SIGKILL: Duration = Duration::from_secs(5);

/// Stops the daemon named by the PID file.
pub fn run(args: KillArgs) -> anyhow::Result<Exit> {
    let path = &args.pidfile;
    let pid = match pidfile::probe(path)? {
        PidfileState::Missing => {
            return Err(Failure::new(
                Exit::NotFound,
                format!("not running (no pid file {})", path.display()),
            )
            .into());
        }
        PidfileState::Stale => {
            pidfile::remove_stale(path)?;
            return Err(Failure::new(
                Exit::NotFound,
                format!("not running (removed stale pid file {})", path.display()),
            )
            .into());
        }
        PidfileState::Running(0) => {
            return Err(Failure::new(
                Exit::Failed,
                format!("pid file {} is locked but holds no pid", path.display()),
            )
            .into());
        }
        PidfileState::Running(pid) => Pid::from_raw(pid),
    };
    // The daemon leads its own process group: signal the group, so its workers go too.
    process::signal_group_or_process(pid, args.signal)
        .with_context(|| format!("send SIG{} to PID {pid}", signal_name(args.signal)))?;
    let gone =
        || process::is_gone(pid) && !matches!(pidfile::probe(path), Ok(PidfileState::Running(_)));
    if !process::wait_until(args.timeout, gone) {
        let _ = process::signal_group_or_process(pid, Signal::SIGKILL);
        if !process::wait_until(AFTER_SIGKILL, gone) {
            return Err(Failure::new(
                Exit::TimedOut,
                format!("PID {pid} is still running after SIGKILL"),
            )
            .into());
        }
    }
    pidfile::remove_stale(path)?;
    Ok(Exit::Ok)
}

fn signal_name(signal: Signal) -> &'static str {
    signal.as_str().trim_start_matches("SIG")
}

/// `svckit probe --pidfile P`: LSB status codes (0 running, 1 dead but the PID file exists,
/// 3 not running, 4 unknown).
pub fn probe(args: ProbeArgs) -> anyhow::Result<Exit> {
    let path = &args.pidfile;
    let (line, code) = match pidfile::probe(path) {
        Ok(PidfileState::Running(pid)) => (format!("running (PID {pid})"), 0),
        Ok(PidfileState::Stale) => (
            format!("dead, but the PID file {} remains", path.display()),
            1,
        ),
        Ok(PidfileState::Missing) => ("not running".to_owned(), 3),
        Err(err) => (format!("unknown: {err}"), 4),
    };
    println!("{line}");
    std::process::exit(code)
}
