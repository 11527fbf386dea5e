//! `svckit kill --pidfile P`: signal every process of the daemon (its cgroup's, where
//! daemonize made one; else its processes' groups, session and descendants), wait until they
//! are gone, SIGKILL after the timeout.

use std::time::Duration;

use svckit_unix::{
    cgroup::Cgroup,
    pidfile::{self, PidfileState},
    process::{self, Terminated},
    signals::os_signal,
};

use crate::{
    cli::{KillArgs, ProbeArgs},
    exit::{Exit, Failure},
};

/// Stops the daemon named by the PID file: every process of it (see
/// [`pidfile::inspect`]), verified, never a pid that only happens to be in the file.
pub fn run(args: KillArgs) -> anyhow::Result<Exit> {
    let path = &args.pidfile;
    let inspection = pidfile::inspect(path)?;
    match inspection.state {
        PidfileState::Missing => {
            remove_runtime_directories(path);
            return Err(Failure::new(
                Exit::NotFound,
                format!("not running (no pid file {})", path.display()),
            )
            .into());
        }
        PidfileState::Stale => {
            pidfile::remove_stale(path)?;
            remove_runtime_directories(path);
            return Err(Failure::new(
                Exit::NotFound,
                format!("not running (removed stale pid file {})", path.display()),
            )
            .into());
        }
        PidfileState::Unverified(pid) => {
            return Err(Failure::new(
                Exit::Failed,
                format!(
                    "PID {pid} in {} is not the daemon that wrote it (no lock, no matching \
                     start time); not signalled",
                    path.display()
                ),
            )
            .into());
        }
        PidfileState::Running(_) if inspection.processes.is_empty() => {
            return Err(Failure::new(
                Exit::Failed,
                format!(
                    "pid file {} is locked by a process that cannot be seen",
                    path.display()
                ),
            )
            .into());
        }
        PidfileState::Running(_) => {}
    }
    let targets: Vec<_> = inspection
        .processes
        .iter()
        .map(|pid| process::os_pid(*pid))
        .collect();
    if args.no_wait {
        // The verified main process (the PID file's), else the oldest of the daemon's.
        let main = match inspection.state {
            PidfileState::Running(Some(pid)) => process::os_pid(pid),
            _ => targets[0],
        };
        nix::sys::signal::kill(main, os_signal(args.signal))?;
        return Ok(Exit::Ok);
    }
    // Where daemonize gave it a cgroup: everything in it, connection handlers that called
    // setsid and their children included (they once lived on after `kill` said 0).
    match targets.iter().find_map(|pid| Cgroup::of_daemon(*pid)) {
        Some(cgroup) => stop_cgroup(&cgroup, &args)?,
        None => stop_processes(targets, &args)?,
    }
    pidfile::remove_stale(path)?;
    remove_runtime_directories(path);
    Ok(Exit::Ok)
}

/// Stops everything in the daemon's `cgroup`: the signal, then SIGKILL (cgroup.kill) after
/// the timeout; the cgroup removed once it is empty.
fn stop_cgroup(cgroup: &Cgroup, args: &KillArgs) -> anyhow::Result<()> {
    cgroup.signal_all(os_signal(args.signal));
    if !process::wait_until(args.timeout, || cgroup.is_empty()) {
        cgroup.kill_all();
        if !process::wait_until(Duration::from_secs(5), || cgroup.is_empty()) {
            return Err(Failure::new(
                Exit::TimedOut,
                format!(
                    "{} still holds processes after SIGKILL",
                    cgroup.dir().display()
                ),
            )
            .into());
        }
    }
    cgroup.remove();
    Ok(())
}

/// Stops a daemon without a cgroup: `targets` (its verified processes), their session's
/// processes and the descendants of both, as the supervisor finds a service without a cgroup;
/// each with its group (a daemon leads its own, so its workers go too). Done once the PID
/// file's lock has no holder left either.
fn stop_processes(mut targets: Vec<nix::unistd::Pid>, args: &KillArgs) -> anyhow::Result<()> {
    let found: Vec<_> = targets
        .iter()
        .filter_map(|pid| process::session(*pid).map(|sid| (sid, *pid)))
        .flat_map(|(sid, pid)| process::session_members(sid, Some(pid)))
        .collect();
    for pid in found {
        if !targets.contains(&pid) {
            targets.push(pid);
        }
    }
    let path = &args.pidfile;
    let gone = || {
        targets.iter().all(|pid| process::is_gone(*pid))
            && pidfile::inspect(path).is_ok_and(|now| now.processes.is_empty())
    };
    match process::terminate_all(&targets, os_signal(args.signal), args.timeout, gone)? {
        Terminated::Gracefully | Terminated::Killed => Ok(()),
        Terminated::StillRunning => Err(Failure::new(
            Exit::TimedOut,
            format!("PID {} is still running after SIGKILL", targets[0]),
        )
        .into()),
    }
}

/// Once the daemon is gone: the runtime directories `daemonize` made for it, as it recorded
/// them beside the PID file, and nothing swapped in at their paths since; then the record.
fn remove_runtime_directories(path: &std::path::Path) {
    let (Ok(made), Some(base)) = (
        pidfile::read_runtime(path),
        svckit_unix::dirs::runtime_base(),
    ) else {
        return;
    };
    if let Err(err) = svckit_unix::dirs::remove(&base, &made) {
        eprintln!("svckit: warning: runtime directory left: {err}");
    }
    pidfile::forget_runtime(path);
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
