//! Containment with cgroup v2: each service in a cgroup of its own, so every process of it —
//! one that called setsid, double-forked or was reparented — is found, signalled and killed
//! (`cgroup.kill`), and its processes, CPU time and memory can be shown.
//!
//! The supervisor makes its services' cgroups below its own (`/proc/self/cgroup`), in a
//! directory named after its state directory, so two supervisors never share one and a new
//! supervisor finds its services' cgroups again. Where it may not (no cgroup2 mount, no write
//! permission: a user without a delegated subtree), [`Hierarchy::for_supervisor`] says why and
//! the supervisor falls back to process groups.

use std::{
    fs,
    io::{self, Write},
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use svckit_core::{Pid, Signal};

/// Where the supervisor of one state directory makes its services' cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    base: PathBuf,
}

/// One service's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    dir: PathBuf,
}

/// What a cgroup holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Its processes.
    pub processes: usize,
    /// CPU time used by every process that was in it (`cpu.stat` `usage_usec`).
    pub cpu_usec: Option<u64>,
    /// Memory in use, bytes: `memory.current` where the memory controller is on, else the sum
    /// of its processes' resident sets.
    pub memory: Option<u64>,
}

/// The cgroup2 mount point, from `mountinfo` (the fifth field; the type after ` - `): the last
/// one, as a later mount hides an earlier one (a container that mounts its own cgroup2 over
/// /sys/fs/cgroup still lists the host's /sys/fs/cgroup/unified before it).
fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (fields, rest) = line.split_once(" - ")?;
            let fstype = rest.split_whitespace().next()?;
            let mount_point = fields.split_whitespace().nth(4)?;
            (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .next_back()
}

/// This process's cgroup2 path, from `/proc/self/cgroup` (the `0::PATH` line).
fn own_path(cgroups: &str) -> Option<PathBuf> {
    cgroups
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| PathBuf::from(path.trim_start_matches('/')))
}

/// The processes in the cgroup at `path` relative to the cgroup2 mount (systemd's
/// `ControlGroup=`, such as `/system.slice/nginx.service`); none for a path that leaves the
/// hierarchy (`..`) or where no cgroup2 is mounted.
pub fn processes_at(path: &str) -> Vec<Pid> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, std::path::Component::Normal(_)))
    {
        return Vec::new();
    }
    let Some(mount) = crate::files::read_proc("/proc/self/mountinfo")
        .ok()
        .and_then(|mountinfo| cgroup2_mount(&mountinfo))
    else {
        return Vec::new();
    };
    Cgroup {
        dir: mount.join(relative),
    }
    .pids()
}

/// `MOUNT/OWN-CGROUP/NAME`: the path of a cgroup below this process's own. An error says why
/// there is none (no cgroup2 mounted).
fn path_below_own(name: &str) -> io::Result<PathBuf> {
    let mount = cgroup2_mount(&crate::files::read_proc("/proc/self/mountinfo")?)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cgroup2 mounted"))?;
    let own = own_path(&crate::files::read_proc("/proc/self/cgroup")?).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup2 line in /proc/self/cgroup",
        )
    })?;
    Ok(mount.join(own).join(name))
}

/// [`path_below_own`], created if missing; an error says why none can be made (no cgroup2
/// mounted, no permission).
fn below_own(name: &str) -> io::Result<PathBuf> {
    let dir = path_below_own(name)?;
    match fs::create_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(dir),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!("create {}: {err}", dir.display()),
        )),
    }
}

/// rmdir(2) of the cgroup at `dir` after its child cgroups, deepest first: a cgroup with
/// processes (or children) left is refused by the kernel and stays.
fn remove_empty(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_empty(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

impl Hierarchy {
    /// The directory for the supervisor of the state directory with `id` (letters and
    /// digits, a short name of it), created if missing: `MOUNT/OWN-CGROUP/svckit-ID`. An error says why none
    /// can be used (no cgroup2 mounted, no permission), for the supervisor's log.
    pub fn for_supervisor(id: &str) -> io::Result<Hierarchy> {
        let base = below_own(&format!("svckit-{id}"))?;
        if !base.join("cgroup.procs").exists() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} is not a cgroup", base.display()),
            ));
        }
        Ok(Hierarchy { base })
    }

    /// The directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `name`'s cgroup, created if missing.
    pub fn service(&self, name: &str) -> io::Result<Cgroup> {
        Cgroup::made(self.base.join(name))
    }

    /// Removes every service cgroup with no process in it: what a killed supervisor left
    /// behind, or a forgotten service's.
    pub fn prune(&self) {
        if let Ok(entries) = fs::read_dir(&self.base) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    // rmdir(2) refuses a cgroup with processes: only empty ones go.
                    remove_empty(&entry.path());
                }
            }
        }
    }

    /// Removes the directory if no service's cgroup is left in it.
    pub fn remove_if_empty(&self) {
        let _ = fs::remove_dir(&self.base);
    }
}

/// The prefix of the cgroups `svckit daemonize` makes: [`Cgroup::of_daemon`] believes no
/// other.
const DAEMON_PREFIX: &str = "svckit-daemon-";

impl Cgroup {
    /// A cgroup for the daemon whose PID file is `pidfile` (an absolute path), created if
    /// missing, below this process's own: `MOUNT/OWN-CGROUP/svckit-daemon-STEM-HASH` (the same
    /// PID file in the same mount namespace, the same cgroup). Only where this process may make one (root, a writable
    /// cgroup2); the error says why not.
    pub fn for_daemon(pidfile: &Path) -> io::Result<Cgroup> {
        let stem: String = pidfile
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        // Of the whole path (two PID files of one name in two directories differ), and of the
        // mount namespace: one path in two of them (two containers on the host's cgroup tree,
        // each with its /run) is two daemons, which must not share a cgroup and kill each
        // other's processes.
        let mut key = std::fs::read_link("/proc/self/ns/mnt")
            .map(|ns| ns.into_os_string().into_encoded_bytes())
            .unwrap_or_default();
        key.push(0);
        key.extend_from_slice(pidfile.as_os_str().as_encoded_bytes());
        let hash = svckit_core::hash::fnv1a(&key);
        let name = format!("{DAEMON_PREFIX}{stem}-{:08x}", hash as u32);
        // One a daemon of this PID file left empty is made anew: its change time is then this
        // launch's, which keeps it from another launch's sweep (below).
        let dir = path_below_own(&name)?;
        let _ = fs::remove_dir(&dir);
        Cgroup::made(dir)
    }

    /// Removes the cgroups beside this one that `svckit daemonize` made for daemons that have
    /// all ended (empty: rmdir(2) refuses one with a process) and that no launch made or
    /// renewed within the last minute (one being made now is left to its launcher). Nothing
    /// else removes them: a daemon that ends by itself, or is stopped by anything but `svckit
    /// kill`, left one behind for each PID file ever used (4,729 under this machine's root
    /// cgroup after a few weeks of tests).
    pub fn remove_ended_daemons_beside(&self) {
        let Some(parent) = self.dir.parent() else {
            return;
        };
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        let own = self.dir.file_name();
        let settled = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for entry in entries.flatten() {
            let name = entry.file_name();
            if Some(name.as_os_str()) == own
                || !name
                    .as_encoded_bytes()
                    .starts_with(DAEMON_PREFIX.as_bytes())
            {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|changed| changed < settled);
            if old {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }

    /// The cgroup `svckit daemonize` made that process `pid` is in, if it is in one.
    pub fn of_daemon(pid: Pid) -> Option<Cgroup> {
        let path = own_path(&crate::files::read_proc(format!("/proc/{pid}/cgroup")).ok()?)?;
        if !path
            .file_name()?
            .to_string_lossy()
            .starts_with(DAEMON_PREFIX)
        {
            return None;
        }
        let mount = cgroup2_mount(&crate::files::read_proc("/proc/self/mountinfo").ok()?)?;
        Some(Cgroup {
            dir: mount.join(path),
        })
    }

    /// Moves the calling process in: what it starts from now on starts in it.
    pub fn enter(&self) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.procs"))?
            .write_all(b"0")
    }

    /// A cgroup below this one named `name`, created if missing (its processes count as this
    /// one's: [`Cgroup::pids`], [`Cgroup::kill_all`]).
    pub fn child(&self, name: &str) -> io::Result<Cgroup> {
        Cgroup::made(self.dir.join(name))
    }

    /// The cgroup at `dir`, created if missing.
    fn made(dir: PathBuf) -> io::Result<Cgroup> {
        match fs::create_dir(&dir) {
            Ok(()) => Ok(Cgroup { dir }),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(Cgroup { dir }),
            Err(err) => Err(io::Error::new(
                err.kind(),
                format!("create {}: {err}", dir.display()),
            )),
        }
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup's directory, opened for clone3's `CLONE_INTO_CGROUP`.
    pub fn open_dir(&self) -> io::Result<OwnedFd> {
        use std::os::unix::fs::OpenOptionsExt;
        Ok(fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
            .open(&self.dir)?
            .into())
    }

    /// `cgroup.procs` opened for writing: a child writes `0` to it between fork and exec to
    /// move itself in, before the program (or anything it starts) runs.
    pub fn procs_for_writing(&self) -> io::Result<OwnedFd> {
        Ok(fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.procs"))?
            .into())
    }

    /// Moves process `pid` in (a process adopted from before the supervisor used cgroups).
    pub fn adopt(&self, pid: Pid) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.procs"))?
            .write_all(pid.to_string().as_bytes())
    }

    /// Its processes, those of the cgroups below it included (a service that ran `svckit
    /// daemonize` as root has its daemon in a cgroup of its own below the service's).
    pub fn pids(&self) -> Vec<Pid> {
        match open_path(&self.dir) {
            Ok(dir) => pids_at(&dir, &self.dir),
            Err(_) => Vec::new(),
        }
    }

    /// Whether no process is left in it (`populated 0` in `cgroup.events`).
    pub fn is_empty(&self) -> bool {
        match fs::read_to_string(self.dir.join("cgroup.events")) {
            Ok(events) => events.lines().any(|line| line.trim() == "populated 0"),
            Err(_) => self.pids().is_empty(),
        }
    }

    /// Sends `signal` to every process in it.
    pub fn signal_all(&self, signal: Signal) {
        for pid in self.pids() {
            crate::process::send(pid, signal);
        }
    }

    /// Kills every process in it, those forked meanwhile too: `cgroup.kill` (Linux 5.14), else
    /// SIGKILL to each until none is left (bounded: a fork bomb outruns a loop, not the kernel).
    ///
    /// A cgroup killed so is not started in again with clone3's `CLONE_INTO_CGROUP`: kernels
    /// that count kills (`kill_seq`, 6.14 on) SIGKILL every child born into a cgroup whose count
    /// differs from its parent's, measured here on 6.18. It is removed once empty and made
    /// anew (a service's at its ClearGroup, a probe's check in a cgroup of its own).
    pub fn kill_all(&self) {
        let killed = fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.kill"))
            .and_then(|mut file| file.write_all(b"1"));
        if killed.is_ok() {
            return;
        }
        for _ in 0..100 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                let _ = crate::sys::kill(pid, Some(Signal::Kill));
            }
        }
    }

    /// What it holds: its processes, CPU time and memory.
    pub fn usage(&self) -> Usage {
        // Each file is opened relative to the directory: one walk of the long path, not four
        // (the walk through kernfs was the most of a reading, and a status of 10,000 services
        // after two idle seconds reads them all).
        let Ok(dir) = open_path(&self.dir) else {
            return Usage::default();
        };
        let pids = pids_at(&dir, &self.dir);
        let cpu_usec = read_at(&dir, "cpu.stat").ok().and_then(|stat| {
            stat.lines()
                .find_map(|line| line.strip_prefix("usage_usec "))
                .and_then(|value| value.trim().parse().ok())
        });
        let memory = read_at(&dir, "memory.current")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .or_else(|| {
                let rss: u64 = pids
                    .iter()
                    .filter_map(|pid| crate::process::resident_bytes(*pid))
                    .sum();
                (!pids.is_empty()).then_some(rss)
            });
        Usage {
            processes: pids.len(),
            cpu_usec,
            memory,
        }
    }

    /// Removes the cgroup once it is empty, the empty cgroups below it first (a daemon's that
    /// `svckit daemonize` made); a failure (not empty yet) leaves it.
    pub fn remove(&self) {
        remove_empty(&self.dir);
    }
}

/// The directory at `path`, opened only to find files in it and stat it (`O_PATH`).
fn open_path(path: &Path) -> io::Result<OwnedFd> {
    use nix::fcntl::OFlag;
    Ok(nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?)
}

/// The file `name` of the directory `dir`, read whole.
fn read_at(dir: &OwnedFd, name: &str) -> io::Result<String> {
    use nix::fcntl::OFlag;
    let fd = nix::fcntl::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    crate::files::read_pseudo(fs::File::from(fd))
}

/// The processes of the cgroup `dir` (at `path`) and of the cgroups below it. A cgroup
/// directory's link count is 2 plus its subdirectories (kernfs keeps it so), so the listing is
/// read only where there are some: the common service has none.
fn pids_at(dir: &OwnedFd, path: &Path) -> Vec<Pid> {
    let mut pids: Vec<Pid> = read_at(dir, "cgroup.procs")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| Pid::from_i32(line.trim().parse().ok()?))
        .collect();
    let has_children = nix::sys::stat::fstat(dir).map_or(true, |stat| stat.st_nlink > 2);
    if has_children && let Ok(entries) = fs::read_dir(path) {
        for child in entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .map(|entry| entry.path())
        {
            if let Ok(child_dir) = open_path(&child) {
                pids.extend(pids_at(&child_dir, &child));
            }
        }
    }
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mount_and_own_path_are_read_off_proc() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                         41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(mountinfo),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup2_mount("31 23 0:28 / /x rw - tmpfs tmpfs rw\n"), None);
        // A container's own cgroup2 over /sys/fs/cgroup hides the host's mount listed before.
        let shadowed = format!("{mountinfo}90 80 0:50 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert_eq!(
            cgroup2_mount(&shadowed),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(
            own_path("4:memory:/a\n0::/system.slice/x.service\n"),
            Some(PathBuf::from("system.slice/x.service"))
        );
        assert_eq!(own_path("0::/\n"), Some(PathBuf::new()));
    }
}
