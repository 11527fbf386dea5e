//! Watching and ending processes that are not our children (a daemon is reparented away from
//! its launcher, so waitpid cannot be used).

use std::{
    fs, thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill, killpg},
    unistd::{Pid, getpgid},
};

/// Whether process `pid` is gone: no `/proc/PID` entry, or a zombie (it has exited and only
/// waits for its parent to reap it).
pub fn is_gone(pid: Pid) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name, which may itself hold ')'.
        Ok(stat) => matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X') | None
        ),
    }
}

/// Polls until `done()` is true or `timeout` passes; the poll interval grows from 1 ms to 20 ms.
/// Returns whether `done()` became true.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Sends `signal` to the process group `pid` leads (kill(2) with `-pid`), or to `pid` alone when
/// it leads no group. A daemon made by svckit leads its own group, so its workers get the signal
/// too.
pub fn signal_group_or_process(pid: Pid, signal: Signal) -> std::io::Result<()> {
    let result = match getpgid(Some(pid)) {
        Ok(group) if group == pid => killpg(pid, signal),
        _ => kill(pid, signal),
    };
    result.map_err(std::io::Error::from)
}

/// Sends SIGTERM to `pid` (its group, if it leads one), waits up to `grace` for it to be gone, then sends SIGKILL and waits
/// up to 5 s more. Returns whether it is gone.
pub fn terminate(pid: Pid, grace: Duration) -> bool {
    if signal_group_or_process(pid, Signal::SIGTERM).is_err() {
        return is_gone(pid);
    }
    if wait_until(grace, || is_gone(pid)) {
        return true;
    }
    let _ = signal_group_or_process(pid, Signal::SIGKILL);
    wait_until(Duration::from_secs(5), || is_gone(pid))
}
