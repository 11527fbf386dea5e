//! Watching and ending processes that are not our children (a daemon is reparented away from
//! its launcher, so waitpid cannot be used).

use std::{
    fs, thread,
    time::{Duration, Instant},
};

use svckit_core::{Pid, Signal};

use crate::sys::{self, kill, killpg};

/// ESRCH: no such process (or group).
fn no_such_process(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(nix::libc::ESRCH)
}

/// The fields of `/proc/PID/stat` after the parenthesised command name (which may itself hold
/// `)` or spaces): `state ppid pgrp session …`, so field N of proc(5) is index N - 3 here.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = crate::files::read_proc(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Whether process `pid` is gone: no `/proc/PID` entry, or a zombie (it has exited and only
/// waits for its parent to reap it) with no thread left. The main thread of a multi-threaded
/// program shows as a zombie while its other threads still exit, holding its open files (and
/// so a PID file's lock): memcached's kill once removed nothing, its lock still held.
pub fn is_gone(pid: Pid) -> bool {
    match state(pid) {
        None | Some('X') => true,
        Some('Z') => fs::read_dir(format!("/proc/{}/task", pid.as_i32()))
            .map_or(true, |tasks| tasks.count() <= 1),
        Some(_) => false,
    }
}

/// Finds the file exec would run for `program`: relative to `cwd` when it contains a `/`,
/// else the first executable regular file named so in the `search` list (a `PATH` value).
/// The error says why, for a "program not found: …: REASON" message.
pub fn find_program(
    program: &std::ffi::OsStr,
    search: &std::ffi::OsStr,
    cwd: &std::path::Path,
) -> Result<std::path::PathBuf, &'static str> {
    if program.is_empty() {
        return Err("is empty");
    }
    if program.to_string_lossy().contains('/') {
        let path = cwd.join(program);
        check_executable(&path)?;
        return Ok(path);
    }
    std::env::split_paths(search)
        .map(|dir| cwd.join(dir).join(program))
        .find(|candidate| check_executable(candidate).is_ok())
        .ok_or("not found in PATH")
}

fn check_executable(path: &std::path::Path) -> Result<(), &'static str> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = path.metadata().map_err(|_| "does not exist")?;
    if !metadata.is_file() {
        return Err("is not a regular file");
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err("is not executable");
    }
    Ok(())
}

/// When process `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`). With
/// the pid, it names one process for good: a recycled pid has another start time.
pub fn start_time(pid: Pid) -> std::io::Result<u64> {
    stat_fields(pid.as_i32())
        .and_then(|fields| fields.get(19)?.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("cannot read the start time of {pid}")))
}

/// What the processes `pids` used, as /proc tells it without a cgroup: their CPU time (user
/// and system, fields 14 and 15 of `/proc/PID/stat`) in microseconds, and their resident
/// memory (`/proc/PID/statm`) in bytes. Processes gone meanwhile count for nothing.
pub fn usage_of(pids: &[Pid]) -> (u64, u64) {
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100) as u64;
    let page = page_size();
    let (mut cpu, mut memory) = (0u64, 0u64);
    for pid in pids {
        if let Some(fields) = stat_fields(pid.as_i32()) {
            let ticks: u64 = [11, 12]
                .iter()
                .filter_map(|at| fields.get(*at)?.parse::<u64>().ok())
                .sum();
            cpu = cpu.saturating_add(ticks.saturating_mul(1_000_000) / per_second);
        }
        if let Some(bytes) = resident_pages(*pid) {
            memory = memory.saturating_add(bytes.saturating_mul(page));
        }
    }
    (cpu, memory)
}

/// The resident set of `pid`, in pages: the second field of `/proc/PID/statm` (the same sum
/// as VmRSS, from a file of a few bytes rather than /proc/PID/status's 1.5 KB).
fn resident_pages(pid: Pid) -> Option<u64> {
    std::fs::File::open(format!("/proc/{}/statm", pid.as_i32()))
        .and_then(crate::files::read_pseudo)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// The resident set of `pid`, in bytes.
pub fn resident_bytes(pid: Pid) -> Option<u64> {
    resident_pages(pid).map(|pages| pages.saturating_mul(page_size()))
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .filter(|size| *size > 0)
        .unwrap_or(4096) as u64
}

/// Now on `CLOCK_MONOTONIC` (the clock systemd's `…Monotonic` timestamps and `MONOTONIC_USEC`
/// use).
pub fn monotonic_now() -> Option<Duration> {
    clock(nix::time::ClockId::CLOCK_MONOTONIC)
}

/// How long process `pid` has run: `CLOCK_BOOTTIME` now, less its start time (which the kernel
/// keeps in boot-time clock ticks).
pub fn uptime(pid: Pid) -> std::io::Result<Duration> {
    let ticks = start_time(pid)?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|hz| *hz > 0)
        .unwrap_or(100) as u64;
    let started = Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second);
    let now = clock(nix::time::ClockId::CLOCK_BOOTTIME)
        .ok_or_else(|| std::io::Error::other("cannot read CLOCK_BOOTTIME"))?;
    Ok(now.saturating_sub(started))
}

fn clock(id: nix::time::ClockId) -> Option<Duration> {
    let ts = nix::time::clock_gettime(id).ok()?;
    Some(Duration::new(
        u64::try_from(ts.tv_sec()).ok()?,
        u32::try_from(ts.tv_nsec()).ok()?,
    ))
}

/// The one-letter state of process `pid` (`R`, `S`, `T` for stopped, `Z` for a zombie, …).
pub fn state(pid: Pid) -> Option<char> {
    stat_fields(pid.as_i32())?.first()?.chars().next()
}

/// How many threads this process has now (`Threads:` of /proc/self/status), when it can tell.
pub fn threads() -> Option<usize> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))?
        .trim()
        .parse()
        .ok()
}

/// Names this process as `ps`, `top` and `pgrep` show it: `title`'s words become its command
/// line (written over its original arguments, cut to their length) and the first word, cut to
/// 15 bytes, its name (prctl(2) `PR_SET_NAME`). A program forked into svckit's supervisor
/// shows as the supervisor, not as the command that started it. Refused, and nothing changed,
/// while the process has more than one thread.
pub fn set_title(title: &[&str]) -> Result<(), crate::Error> {
    let proof = crate::sys::SingleThreaded::check().map_err(crate::Error::not_single_threaded)?;
    let first = title.first().copied().unwrap_or_default();
    if let Ok(name) = std::ffi::CString::new(
        first
            .as_bytes()
            .iter()
            .take(15)
            .copied()
            .collect::<Vec<u8>>(),
    ) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    let fields = stat_fields(std::process::id() as i32).unwrap_or_default();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<usize>().ok())
    };
    // arg_start and arg_end are fields 48 and 49 of stat(5); the list starts at field 3.
    if let (Some(start), Some(end)) = (field(45), field(46)) {
        let joined = title.join("\0");
        crate::sys::overwrite_arguments(&proof, start, end, joined.as_bytes());
    }
    Ok(())
}

/// The session `pid` is in (`/proc/PID/stat`), while it lives.
pub fn session(pid: Pid) -> Option<Pid> {
    let sid: i32 = stat_fields(pid.as_i32())?.get(3)?.parse().ok()?;
    Pid::from_i32(sid)
}

/// The process group of `pid` (field 5 of its stat), while it lives.
pub fn group(pid: Pid) -> Option<Pid> {
    let pgrp: i32 = stat_fields(pid.as_i32())?.get(2)?.parse().ok()?;
    Pid::from_i32(pgrp)
}

/// Whether any process is left in process group `pgid` (kill(2) with signal 0 to the group).
/// A zombie still counts until it is reaped.
pub fn group_exists(pgid: Pid) -> bool {
    !matches!(killpg(pgid, None), Err(err) if no_such_process(&err))
}

/// The live (not zombie) processes in session `sid` or process group `pgid`, and every
/// descendant of those: what is left of a service the supervisor started with setsid, where
/// it has no cgroup. A process that called setsid itself is found while its parent in the
/// service lives; once it is orphaned (reparented to the supervisor), only a cgroup finds it.
pub fn session_members(sid: Pid, pgid: Option<Pid>) -> Vec<Pid> {
    // pid, ppid, in the service's session or group.
    let table: Vec<(i32, i32, bool)> = live_processes()
        .into_iter()
        .map(|p| {
            let ours =
                p.session == sid.as_i32() || pgid.is_some_and(|pgid| p.pgrp == pgid.as_i32());
            (p.pid, p.ppid, ours)
        })
        .collect();
    let mut members: Vec<i32> = table
        .iter()
        .filter(|(_, _, ours)| *ours)
        .map(|(pid, _, _)| *pid)
        .collect();
    loop {
        let before = members.len();
        for (pid, ppid, _) in &table {
            if members.contains(ppid) && !members.contains(pid) {
                members.push(*pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    members.into_iter().filter_map(Pid::from_i32).collect()
}

/// The live (not zombie) children of `parent`: for a subreaper, every orphan of its
/// descendants too.
pub fn live_children(parent: Pid) -> Vec<Pid> {
    live_processes()
        .into_iter()
        .filter(|p| p.ppid == parent.as_i32())
        .filter_map(|p| Pid::from_i32(p.pid))
        .collect()
}

/// One live process as /proc shows it.
struct Listed {
    pid: i32,
    ppid: i32,
    pgrp: i32,
    session: i32,
}

/// Every process in /proc that is not a zombie.
fn live_processes() -> Vec<Listed> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let fields = stat_fields(pid)?;
            let number = |index: usize| fields.get(index).and_then(|v| v.parse::<i32>().ok());
            (fields.first()? != "Z").then_some(Listed {
                pid,
                ppid: number(1)?,
                pgrp: number(2)?,
                session: number(3)?,
            })
        })
        .collect()
}

/// The command line of `pid` as status lists it: its arguments joined by spaces (at most 256
/// characters, control characters shown as `?`), or `[NAME]` for a process without one;
/// `None` once it is gone.
pub fn command_line(pid: Pid) -> Option<String> {
    let raw = fs::read(format!("/proc/{}/cmdline", pid.as_i32())).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let line: String = text
        .trim_end_matches('\0')
        .chars()
        .map(|c| match c {
            '\0' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .take(256)
        .collect();
    if !line.is_empty() {
        return Some(line);
    }
    let name = crate::files::read_proc(format!("/proc/{}/comm", pid.as_i32())).ok()?;
    Some(format!("[{}]", name.trim_end()))
}

/// `pids` as status lists them, `main` first, then by pid, at most `limit` (the count is
/// shown beside them): with their command lines, leaving out those already gone.
pub fn service_processes(
    pids: &[Pid],
    main: Option<Pid>,
    limit: usize,
) -> Vec<svckit_core::ServiceProcess> {
    let mut ordered: Vec<Pid> = pids.to_vec();
    ordered.sort_by_key(|pid| (Some(*pid) != main, pid.as_i32()));
    ordered.dedup();
    ordered
        .into_iter()
        .filter_map(|pid| {
            Some(svckit_core::ServiceProcess {
                pid,
                command: command_line(pid)?,
            })
        })
        .take(limit)
        .collect()
}

/// The parent of `pid` (field 4 of its stat), while it lives.
pub fn parent(pid: Pid) -> Option<Pid> {
    stat_fields(pid.as_i32())?
        .get(1)?
        .parse()
        .ok()
        .and_then(Pid::from_i32)
}

/// A pidfd for `pid` (pidfd_open(2), Linux 5.3): readable once the process has exited, for
/// watching a process that is not our child. Close-on-exec.
pub fn pidfd(pid: Pid) -> std::io::Result<std::os::fd::OwnedFd> {
    sys::pidfd_open(pid)
}

/// Marks this process as a child subreaper (prctl(2) `PR_SET_CHILD_SUBREAPER`): orphaned
/// descendants are reparented to it instead of to PID 1, so it can reap them and see when a
/// service's whole process group is gone.
pub fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

/// What a recorded pid means something in: this boot (`/proc/sys/kernel/random/boot_id`), this
/// PID namespace (`/proc/self/ns/pid`) and that namespace's life (the start time of its PID
/// 1: the kernel reuses a dead namespace's inode number, and a test caught a restarted
/// container trusting its predecessor's records that way), as `BOOT_ID/pid:[INODE]/TICKS`. A pid
/// recorded in another boot, or in another container on the same kernel (a `docker restart`
/// gives PID 1 a new namespace), names nothing here.
pub fn pid_space() -> String {
    let boot = crate::files::read_proc("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let namespace = fs::read_link("/proc/self/ns/pid")
        .map(|link| link.display().to_string())
        .unwrap_or_default();
    let init_started = Pid::new(1).map_or(0, |init| start_time(init).unwrap_or(0));
    format!("{}/{namespace}/{init_started}", boot.trim())
}

/// One process named for good: its pid, its start time and the pid space it ran in. A recycled
/// pid has another start time; a pid of another boot or container has another space. Written
/// as one line, `PID START SPACE`, in the records that name a process (a PID file's
/// `FILE.svckit`, the supervisor's `run/fdholder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The pid.
    pub pid: Pid,
    /// Its start time ([`start_time`]).
    pub start_ticks: u64,
    /// Where the pid means something ([`pid_space`]).
    pub space: String,
}

impl Identity {
    /// The identity of the running process `pid`.
    pub fn of(pid: Pid) -> std::io::Result<Identity> {
        Ok(Identity {
            pid,
            start_ticks: start_time(pid)?,
            space: pid_space(),
        })
    }

    /// Reads a record line: three fields, nothing more.
    pub fn parse(text: &str) -> Option<Identity> {
        let mut fields = text.split_ascii_whitespace();
        let (Some(pid), Some(start), Some(space), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        Some(Identity {
            pid: Pid::from_i32(pid.parse().ok()?)?,
            start_ticks: start.parse().ok()?,
            space: space.to_owned(),
        })
    }

    /// The record line, newline included.
    pub fn line(&self) -> String {
        format!("{} {} {}\n", self.pid, self.start_ticks, self.space)
    }

    /// Whether this very process still runs here: same pid space, and the pid's start time is
    /// the recorded one.
    pub fn is_running(&self) -> bool {
        self.space == pid_space() && start_time(self.pid).ok() == Some(self.start_ticks)
    }
}

/// Raises this process's soft limit on open files (RLIMIT_NOFILE, getrlimit(2)) to the hard
/// limit, as systemd does for itself, and returns the limits it had before (soft, hard): a
/// supervisor of thousands of services needs the fds, its services get the old soft limit back
/// (select(2) users break above 1024).
pub fn raise_open_file_limit() -> std::io::Result<(u64, u64)> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    // Root may raise the hard limit up to the kernel's (fs.nr_open): 10,000 services need
    // 20,000 descriptors and more.
    let ceiling = match nix::unistd::geteuid().is_root() {
        true => std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map_or(hard, |nr_open| nr_open.max(hard)),
        false => hard,
    };
    if soft < ceiling
        && setrlimit(Resource::RLIMIT_NOFILE, ceiling, ceiling).is_err()
        && soft < hard
    {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok((soft, hard))
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

/// Sends `signal` to the process group whose id is `pid` (killpg(2)), or, when there is no such
/// group, to `pid` alone (kill(2)). A daemon made by svckit leads its own group, so its workers
/// get the signal too, even after the daemon's main process has exited and been reaped: a group
/// lives as long as any member, and the kernel never reuses its id meanwhile.
pub fn signal_group_or_process(pid: Pid, signal: Signal) -> std::io::Result<()> {
    match killpg(pid, Some(signal)) {
        Err(err) if no_such_process(&err) => kill(pid, Some(signal)),
        other => other,
    }
}

/// Sends `signal` (svckit's name for it) to `pid`; a process already gone is fine.
pub fn send(pid: Pid, signal: svckit_core::Signal) {
    let _ = kill(pid, Some(signal));
}

/// Sends `signal` (svckit's name for it) to the process group `pgid`; a group already gone is
/// fine.
pub fn send_group(pgid: Pid, signal: svckit_core::Signal) {
    let _ = killpg(pgid, Some(signal));
}

/// A health check's command in a process group of its own, ended with the group (SIGKILL)
/// while its leader is a zombie not yet reaped, so that the group's id cannot be anyone
/// else's; what it started in another session escapes it (the supervisor's cgroups do not).
#[derive(Debug, Default, Clone, Copy)]
pub struct OwnGroup;

impl svckit_core::health::Contain for OwnGroup {
    fn spawn(
        &mut self,
        command: &mut std::process::Command,
    ) -> std::io::Result<std::process::Child> {
        std::os::unix::process::CommandExt::process_group(command, 0);
        command.spawn()
    }

    fn ended(&mut self, child: &mut std::process::Child) -> bool {
        Pid::new(child.id())
            .and_then(state)
            .is_none_or(|state| state == 'Z')
    }

    fn end(&mut self, child: &mut std::process::Child) {
        if let Some(leader) = Pid::new(child.id()) {
            send_group(leader, Signal::Kill);
        }
    }
}

/// Whether this process's terminal (its stdin) hung up: closed by the other end (a terminal
/// emulator, tmux, ssh gone). poll(2) says POLLHUP.
pub fn terminal_hung_up() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&stdin),
        PollFlags::POLLIN,
    )];
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0].revents().is_some_and(|revents| {
            revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
        })
}

/// Whether this process's stdout is a pipe whose reader went away (poll(2) says POLLERR on
/// the write end): a command cut short by `| head` ends quietly, a socket's EPIPE does not.
pub fn stdout_reader_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&stdout),
        PollFlags::POLLOUT,
    )];
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0]
            .revents()
            .is_some_and(|revents| revents.contains(PollFlags::POLLERR))
}

/// Reaps every child of this process that has ended (waitpid(-1, WNOHANG) until none is
/// left to reap), telling `each` its pid and how it ended; returns at once when none has.
pub fn reap_children(mut each: impl FnMut(Pid, svckit_core::LastExit)) {
    while let sys::Reaped::Ended(pid, exit) = sys::reap_one() {
        each(pid, exit);
    }
}

/// How [`terminate_all`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminated {
    /// Gone after the first signal, within the grace period.
    Gracefully,
    /// Gone only after SIGKILL.
    Killed,
    /// Still there 5 s after SIGKILL.
    StillRunning,
}

/// Stops `targets`: sends each `signal` (to the process group with its id, if there is one;
/// see [`signal_group_or_process`]), waits up to `grace` for `gone()`, then sends SIGKILL the
/// same way and waits up to 5 s more. A target that has already vanished (ESRCH) is fine; any
/// other error to signal one is returned.
pub fn terminate_all(
    targets: &[Pid],
    signal: Signal,
    grace: Duration,
    mut gone: impl FnMut() -> bool,
) -> std::io::Result<Terminated> {
    let send = |signal: Signal| -> std::io::Result<()> {
        for pid in targets {
            match signal_group_or_process(*pid, signal) {
                Err(err) if !no_such_process(&err) => {
                    return Err(std::io::Error::new(
                        err.kind(),
                        format!("send SIG{signal} to PID {pid}: {err}"),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    };
    send(signal)?;
    if wait_until(grace, &mut gone) {
        return Ok(Terminated::Gracefully);
    }
    let _ = send(Signal::Kill);
    Ok(match wait_until(Duration::from_secs(5), gone) {
        true => Terminated::Killed,
        false => Terminated::StillRunning,
    })
}

/// Sends SIGTERM to `pid` (to the process group with that id, if there is one; see
/// [`signal_group_or_process`]), waits up to `grace` for `pid` to be gone, then sends SIGKILL the
/// same way and waits up to 5 s more. Returns whether it is gone.
pub fn terminate(pid: Pid, grace: Duration) -> bool {
    match terminate_all(&[pid], Signal::Term, grace, || is_gone(pid)) {
        Ok(Terminated::Gracefully | Terminated::Killed) => true,
        Ok(Terminated::StillRunning) | Err(_) => is_gone(pid),
    }
}

#[cfg(test)]
mod tests {
    use std::{os::unix::process::CommandExt, process::Command};

    use super::*;

    fn sleepers(marker: &str) -> usize {
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                cmdline.starts_with(b"sleep\0")
                    && String::from_utf8_lossy(&cmdline).contains(marker)
                    && !Pid::from_i32(*pid).is_none_or(is_gone)
            })
            .count()
    }

    /// A process's uptime from /proc: at least the time we waited since spawning it (less one
    /// clock tick of rounding), at most the time since before the spawn.
    #[test]
    fn uptime_counts_from_the_processes_start() {
        let before = Instant::now();
        let mut child = Command::new("sleep").arg("70.5").spawn().unwrap();
        thread::sleep(Duration::from_millis(300));
        let uptime = uptime(Pid::new(child.id()).unwrap()).unwrap();
        let bound = before.elapsed();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(uptime >= Duration::from_millis(290), "{uptime:?}");
        assert!(
            uptime <= bound + Duration::from_millis(10),
            "{uptime:?} > {bound:?}"
        );
    }

    /// Regression: with the group leader (the daemon's main process) exited and reaped, its
    /// worker still held the PID file lock, and `svckit kill` signalled the dead pid, got ESRCH
    /// and gave up instead of signalling the group.
    #[test]
    fn signal_reaches_the_group_after_its_leader_was_reaped() {
        let mut leader = Command::new("sh")
            .args(["-c", "sleep 70.25 & exit 0"])
            .process_group(0)
            .spawn()
            .unwrap();
        let leader_pid = Pid::new(leader.id()).unwrap();
        leader.wait().unwrap();
        assert!(wait_until(Duration::from_secs(5), || sleepers("70.25") == 1));
        signal_group_or_process(leader_pid, Signal::Kill).unwrap();
        assert!(wait_until(Duration::from_secs(5), || sleepers("70.25") == 0));
    }

    #[test]
    fn an_identity_reads_back_and_knows_a_recycled_pid() {
        let me = Identity::of(Pid::this_process()).unwrap();
        assert_eq!(Identity::parse(&me.line()), Some(me.clone()));
        assert!(me.is_running());
        let earlier = Identity {
            start_ticks: me.start_ticks - 1,
            ..me.clone()
        };
        assert!(
            !earlier.is_running(),
            "another start time is another process"
        );
        let elsewhere = Identity {
            space: "another-boot".into(),
            ..me.clone()
        };
        assert!(!elsewhere.is_running());
        for bad in ["", "1 2", "1 2 x y", "0 2 x", "-1 2 x", "a 2 x"] {
            assert_eq!(Identity::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn start_time_tells_processes_apart() {
        let mut first = Command::new("sleep").arg("70.75").spawn().unwrap();
        let pid = Pid::new(first.id()).unwrap();
        let started = start_time(pid).unwrap();
        assert!(started > 0);
        assert_eq!(start_time(pid).unwrap(), started);
        kill(pid, Some(Signal::Stop)).unwrap();
        assert!(wait_until(Duration::from_secs(5), || state(pid) == Some('T')));
        assert!(start_time(Pid::this_process()).unwrap() <= started);
        first.kill().unwrap();
        first.wait().unwrap();
        assert!(start_time(pid).is_err());
    }

    #[test]
    fn group_exists_until_its_last_member_is_reaped() {
        let mut leader = Command::new("sleep")
            .arg("70.8")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::new(leader.id()).unwrap();
        assert!(group_exists(pgid));
        leader.kill().unwrap();
        leader.wait().unwrap();
        assert!(!group_exists(pgid));
    }

    #[test]
    fn signal_to_a_pid_without_a_group_reaches_the_pid() {
        let mut child = Command::new("sleep").arg("70.5").spawn().unwrap();
        let pid = Pid::new(child.id()).unwrap();
        signal_group_or_process(pid, Signal::Kill).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }
}
