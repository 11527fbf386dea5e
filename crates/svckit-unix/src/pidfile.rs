//! PID files that are locked for the daemon's life and can never be turned against the machine.
//!
//! A PID file is opened with `O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK` (a symlink planted at the path
//! is refused, never followed; a FIFO cannot block us) and is only read, written or removed when
//! it *is* a PID file: a regular file holding nothing or a pid and a newline, with one link, owned
//! by the caller or by root. Anything else is [`PidfileError::Refused`], so `/etc/passwd` given as
//! a PID file is neither truncated nor removed.
//!
//! The daemon holds the flock(2) lock through a **read-only** descriptor: the writable one is
//! closed as soon as the pid is written, so a daemon that drops privileges keeps no way to rewrite
//! root's PID file.
//!
//! Beside the PID file, a record `FILE.svckit` (`PID START SPACE`) says which process the pid
//! meant: its start time (field 22 of `/proc/PID/stat`) and the boot and PID namespace
//! ([`process::pid_space`]). Liveness is decided by
//!
//! 1. the lock: every process holding the locked open file (found through
//!    `/proc/PID/fdinfo`, as lslocks does) belongs to the daemon, including the children of a
//!    program that forked itself (nginx) after its launcher exited;
//! 2. when nobody holds the lock (sshd and dnsmasq close every inherited fd), the record: the
//!    pid is the daemon only if a process with that pid *and* that start time runs in this boot.
//!
//! A pid that is alive but matches neither is never signalled ([`PidfileState::Unverified`]).

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::{self, Read, Seek, SeekFrom, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use nix::libc;
use svckit_core::Pid;

use crate::{dirs::Made, process};

/// The most bytes a PID file may hold: a pid of up to 10 digits, a newline and some slack.
const MAX_PIDFILE_LEN: u64 = 16;
/// The most bytes the identity record may hold.
const MAX_RECORD_LEN: u64 = 128;

/// Why a path is not accepted as a PID file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// It is not a regular file (a directory, FIFO, device, socket).
    NotRegular,
    /// Its content is not a pid and a newline.
    NotAPid,
    /// It has this many hard links: writing or removing it would reach another name.
    HardLinked(u64),
    /// It belongs to this uid, neither the caller nor root.
    ForeignOwner(u32),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotRegular => f.write_str("is not a regular file"),
            Refusal::NotAPid => f.write_str("does not hold a pid (digits and a newline)"),
            Refusal::HardLinked(links) => write!(f, "has {links} hard links"),
            Refusal::ForeignOwner(uid) => write!(f, "is owned by uid {uid}, not by this user"),
        }
    }
}

/// Why a PID file could not be acquired or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PidfileError {
    /// The path is a symbolic link.
    #[error("pid file {} is a symbolic link; refusing to follow it", .0.display())]
    Symlink(PathBuf),
    /// The path is not a PID file; nothing was written or removed.
    #[error("{} {why}; refusing to use it as a pid file", path.display())]
    Refused {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        why: Refusal,
    },
    /// Another process holds the lock, or the daemon the file names still runs though it let
    /// the lock go (it closed every inherited fd): its record matches it.
    #[error(
        "already running{} (pid file {} is locked)",
        pid.map(|pid| format!(" as PID {pid}")).unwrap_or_default(),
        path.display()
    )]
    Locked {
        /// The pid in the file (none while it is still empty).
        pid: Option<Pid>,
        /// The PID file.
        path: PathBuf,
    },
    /// An I/O error on the file.
    #[error("{action} pid file {}", path.display())]
    Io {
        /// What was being done: "open", "lock", "write", "read", "remove".
        action: &'static str,
        /// The PID file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl PidfileError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PidfileError + 'a {
        move |source| PidfileError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    fn refused(path: &Path, why: Refusal) -> PidfileError {
        PidfileError::Refused {
            path: path.to_owned(),
            why,
        }
    }

    /// Whether the error is about what is at the path (a symlink, not a PID file), rather than
    /// an OS failure or a running daemon: bad input.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            PidfileError::Symlink(_) | PidfileError::Refused { .. }
        )
    }
}

/// A PID file held under an exclusive flock(2) lock for as long as this value lives.
///
/// The lock is held through a read-only descriptor ([`Pidfile::file`]); the writable one exists
/// only until [`Pidfile::write_pid`]. Dropping it removes the file and its record (while the lock
/// is still held) unless [`Pidfile::keep_on_drop`] was called.
#[derive(Debug)]
pub struct Pidfile {
    lock: File,
    writer: Option<File>,
    path: PathBuf,
    remove_on_drop: bool,
}

impl Pidfile {
    /// Opens (creating with mode 0644) and locks the PID file at `path` without writing it.
    ///
    /// Refuses a symlink (`O_NOFOLLOW`) and anything that is not a PID file (see the module
    /// docs); a file locked by another process gives [`PidfileError::Locked`] with the pid it
    /// holds.
    pub fn acquire(path: impl AsRef<Path>) -> Result<Pidfile, PidfileError> {
        let path = path.as_ref();
        // The lock is taken through a read-only open (flock(2) does not care about the access
        // mode), which is all the daemon keeps; a second, writable open writes the pid once.
        let lock = open_checked(path, Access::CreateReadOnly, Kind::Pidfile)?;
        let writer = open_checked(path, Access::ReadWrite, Kind::Pidfile)?;
        let (a, b) = (stat(&writer, path)?, stat(&lock, path)?);
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            return Err(PidfileError::io("open", path)(io::Error::other(
                "the file was replaced while it was opened",
            )));
        }
        match lock.try_lock() {
            Ok(()) => {
                // Nobody holds the lock, but the daemon may still run: one that closed every
                // inherited fd (sshd, dnsmasq) dropped it. Its record says whether it does.
                if let Some(pid) = read_pid(&lock, path).ok().flatten()
                    && pid != Pid::this_process()
                    && !process::is_gone(pid)
                    && matches_record(path, pid)
                {
                    return Err(PidfileError::Locked {
                        pid: Some(pid),
                        path: path.to_owned(),
                    });
                }
                Ok(Pidfile {
                    lock,
                    writer: Some(writer),
                    path: path.to_owned(),
                    remove_on_drop: true,
                })
            }
            Err(TryLockError::WouldBlock) => Err(PidfileError::Locked {
                pid: read_pid(&lock, path).ok().flatten(),
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(err)) => Err(PidfileError::io("lock", path)(err)),
        }
    }

    /// Replaces the file's contents with `pid` and a newline, records which process that pid is
    /// (its start time and the boot, in `FILE.svckit`), then closes the writable descriptor: a
    /// PID file is written once.
    pub fn write_pid(&mut self, pid: Pid) -> Result<(), PidfileError> {
        let Some(mut file) = self.writer.take() else {
            return Err(PidfileError::io("write", &self.path)(io::Error::other(
                "the pid was already written",
            )));
        };
        write_pid_and_record(&mut file, &self.path, pid)
    }

    /// The PID file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open, locked, read-only file (for clearing `FD_CLOEXEC` before an exec, so the lock
    /// outlives it).
    pub fn file(&self) -> &File {
        &self.lock
    }

    /// Leaves the file in place on drop (the lock is still released): for an exec'd program,
    /// whose PID file outlives this process image.
    pub fn keep_on_drop(&mut self) {
        self.remove_on_drop = false;
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        if self.remove_on_drop {
            // Removed while the lock is still held, so no other process can have taken it over.
            let _ = fs::remove_file(record_path(&self.path));
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The state of a PID file as seen by someone who does not hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidfileState {
    /// No file at the path.
    Missing,
    /// The file exists but no process of the daemon is left: it is gone.
    Stale,
    /// The daemon runs: this is the pid in the file when that process is verified, else the
    /// oldest process holding the lock (the one a self-forking program left running). None
    /// when the file is locked but still empty.
    Running(Option<Pid>),
    /// The pid in the file is alive, but neither holds the lock nor matches the record of the
    /// process that wrote it (a recycled pid, or a PID file svckit did not write): it is never
    /// signalled.
    Unverified(Pid),
}

/// What a PID file says, verified: its state and every process of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The state.
    pub state: PidfileState,
    /// The daemon's processes: the pid in the file when verified, and every holder of the lock,
    /// in ascending start time. Empty unless the state is [`PidfileState::Running`].
    pub processes: Vec<Pid>,
}

/// Reports whether the daemon named by the PID file at `path` is running, without creating the
/// file and without following a symlink.
pub fn probe(path: impl AsRef<Path>) -> Result<PidfileState, PidfileError> {
    inspect(path).map(|inspection| inspection.state)
}

/// Like [`probe`], with the daemon's processes (for signalling them all).
pub fn inspect(path: impl AsRef<Path>) -> Result<Inspection, PidfileError> {
    let path = path.as_ref();
    let file = match open_checked(path, Access::ReadOnly, Kind::Pidfile) {
        Ok(file) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(Inspection {
                state: PidfileState::Missing,
                processes: Vec::new(),
            });
        }
        Err(err) => return Err(err),
    };
    let pid = read_pid(&file, path)?;
    let locked = match file.try_lock_shared() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(err)) => return Err(PidfileError::io("lock", path)(err)),
    };
    let mut processes = Vec::new();
    if locked {
        let meta = stat(&file, path)?;
        processes = lock_holders(meta.dev(), meta.ino());
    }
    let verified = pid.filter(|pid| {
        !process::is_gone(*pid) && (processes.contains(pid) || matches_record(path, *pid))
    });
    if let Some(pid) = verified
        && !processes.contains(&pid)
    {
        processes.push(pid);
    }
    processes.sort_by_cached_key(|pid| process::start_time(*pid).unwrap_or(u64::MAX));
    let state = if let Some(pid) = verified {
        PidfileState::Running(Some(pid))
    } else if let Some(first) = processes.first() {
        PidfileState::Running(Some(*first))
    } else if locked {
        // Locked, yet no holder is visible (another pid namespace): trust the lock.
        PidfileState::Running(pid)
    } else {
        match pid {
            Some(pid) if !process::is_gone(pid) => PidfileState::Unverified(pid),
            _ => PidfileState::Stale,
        }
    };
    Ok(Inspection { state, processes })
}

/// Whether the PID file at `path` names `pid`: read as [`Pidfile::acquire`] reads it (never
/// through a symlink, never blocking on a FIFO, only a PID file); false for anything else.
pub fn names(path: &Path, pid: Pid) -> bool {
    open_checked(path, Access::ReadOnly, Kind::Pidfile)
        .and_then(|file| read_pid(&file, path))
        .is_ok_and(|named| named == Some(pid))
}

/// Removes the PID file at `path` (and its record) if it is stale: nobody holds its lock and the
/// process it names is gone. It is taken under an exclusive lock first, so a daemon that is
/// starting right now cannot lose its file. Returns whether a file was removed. A path that is
/// not a PID file is refused, never removed.
pub fn remove_stale(path: impl AsRef<Path>) -> Result<bool, PidfileError> {
    let path = path.as_ref();
    let file = match open_checked(path, Access::ReadOnly, Kind::Pidfile) {
        Ok(file) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(false);
        }
        Err(err) => return Err(err),
    };
    if file.try_lock().is_err() {
        return Ok(false);
    }
    let alive = read_pid(&file, path)?
        .is_some_and(|pid| !process::is_gone(pid) && matches_record(path, pid));
    if alive {
        return Ok(false);
    }
    let _ = fs::remove_file(record_path(path));
    fs::remove_file(path).map_err(PidfileError::io("remove", path))?;
    Ok(true)
}

/// The pid a program wrote to its own PID file (nginx's `pid`, redis's `pidfile`): digits on
/// the first line (postgres's `postmaster.pid` has more lines after it), at most 64 bytes read. The file is the program's, not svckit's, so it is
/// only read — never followed through a symlink, never a FIFO to block on — and the pid it
/// names is a claim: the caller must check that the process is the program's before it is
/// signalled or written to a PID file of svckit's.
pub fn read_program_pid(path: &Path) -> Option<Pid> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(64).read_to_string(&mut text).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Points svckit's PID file at `pid`, the daemon a program that forked itself left running
/// (the pid written before the exec was its launcher's): its pid and its record are rewritten.
/// The caller has verified that `pid` is the program's daemon.
pub fn follow(path: &Path, pid: Pid) -> Result<(), PidfileError> {
    let mut file = open_checked(path, Access::ReadWrite, Kind::Pidfile)?;
    write_pid_and_record(&mut file, path, pid)
}

/// Replaces the contents of the PID file open as `file` with `pid` and a newline, and records
/// which process that pid is (its start time and the boot, in `FILE.svckit`).
fn write_pid_and_record(file: &mut File, path: &Path, pid: Pid) -> Result<(), PidfileError> {
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()))
        .map_err(PidfileError::io("write", path))?;
    let record = record_path(path);
    let identity = process::Identity::of(pid).map_err(PidfileError::io("write", &record))?;
    let mut record_file = open_checked(
        &record,
        Access::CreateReadWrite,
        Kind::Record(MAX_RECORD_LEN),
    )?;
    record_file
        .set_len(0)
        .and_then(|()| record_file.write_all(identity.line().as_bytes()))
        .map_err(PidfileError::io("write", &record))
}

/// Where `svckit daemonize --runtime-directory` and `svckit runtime-dir` record the
/// directories they made for the daemon of the PID file at `path` (`FILE.svckit-run`).
fn runtime_record_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".svckit-run");
    PathBuf::from(name)
}

/// The longest runtime record read.
const MAX_RUNTIME_RECORD_LEN: u64 = 64 * 1024;

/// The runtime directories recorded beside the PID file at `path` ([`add_runtime`]), read as
/// the PID file itself is (never through a symlink or from a FIFO; a regular file of one link,
/// owned by the caller or root; at most 64 KiB): none when there is no record.
pub fn read_runtime(path: &Path) -> Result<Made, PidfileError> {
    let record = runtime_record_path(path);
    let file = match open_checked(
        &record,
        Access::ReadOnly,
        Kind::Record(MAX_RUNTIME_RECORD_LEN),
    ) {
        Ok(file) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(Made::default());
        }
        Err(err) => return Err(err),
    };
    let mut text = String::new();
    file.take(MAX_RUNTIME_RECORD_LEN)
        .read_to_string(&mut text)
        .map_err(PidfileError::io("read", &record))?;
    Made::from_record(&text).map_err(PidfileError::io("read", &record))
}

/// Adds `made` to the runtime record beside the PID file at `path`, for `svckit kill` to
/// remove exactly that once the daemon is gone; the record is written whole, never through a
/// symlink (one that cannot be read, or is no record, is replaced).
pub fn add_runtime(path: &Path, made: &Made) -> Result<(), PidfileError> {
    let record = runtime_record_path(path);
    let mut all = read_runtime(path).unwrap_or_default();
    all.created.extend(made.created.iter().cloned());
    let text = all
        .to_record()
        .map_err(PidfileError::io("write", &record))?;
    crate::files::write_atomic(&record, text.as_bytes(), 0o600)
        .map_err(PidfileError::io("write", &record))
}

/// Removes the runtime record beside the PID file at `path`.
pub fn forget_runtime(path: &Path) {
    let _ = fs::remove_file(runtime_record_path(path));
}

/// Where the identity record of the PID file at `path` is: `FILE.svckit`.
pub fn record_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".svckit");
    PathBuf::from(name)
}

/// Whether the record beside `path` names `pid` with its current start time, in this boot.
fn matches_record(path: &Path, pid: Pid) -> bool {
    let record = record_path(path);
    let Ok(file) = open_checked(&record, Access::ReadOnly, Kind::Record(MAX_RECORD_LEN)) else {
        return false;
    };
    let mut text = String::new();
    if file.take(MAX_RECORD_LEN).read_to_string(&mut text).is_err() {
        return false;
    }
    process::Identity::parse(&text)
        .is_some_and(|identity| identity.pid == pid && identity.is_running())
}

/// The processes holding the flock(2) lock on the file `dev`:`ino`: those with an fd to the open
/// file that holds it (its `/proc/PID/fdinfo/FD` has a `lock:` line).
fn lock_holders(dev: u64, ino: u64) -> Vec<Pid> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
                return false;
            };
            fds.filter_map(Result::ok).any(|fd| {
                fs::metadata(fd.path()).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
                    && fs::read_to_string(format!(
                        "/proc/{pid}/fdinfo/{}",
                        fd.file_name().to_string_lossy()
                    ))
                    .is_ok_and(|info| info.lines().any(|line| line.starts_with("lock:")))
            })
        })
        .filter_map(Pid::from_i32)
        .filter(|pid| !process::is_gone(*pid))
        .collect()
}

fn stat(file: &File, path: &Path) -> Result<fs::Metadata, PidfileError> {
    file.metadata().map_err(PidfileError::io("stat", path))
}

/// Opens `path` without following a symlink or blocking on a FIFO, then checks, on the open
/// file, that it is a PID file: regular, one link, owned by us or root, holding at most a pid.
fn open_checked(path: &Path, access: Access, kind: Kind) -> Result<File, PidfileError> {
    let mut options = OpenOptions::new();
    options.read(true);
    match access {
        Access::ReadOnly => {}
        Access::ReadWrite => {
            options.write(true);
        }
        Access::CreateReadWrite => {
            options.write(true).create(true);
        }
        // std refuses create() without write access: O_CREAT goes in with the custom flags.
        Access::CreateReadOnly => {}
    }
    let creates = matches!(access, Access::CreateReadOnly);
    let file = options
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | if creates { libc::O_CREAT } else { 0 })
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::ELOOP) {
                PidfileError::Symlink(path.to_owned())
            } else {
                PidfileError::io("open", path)(err)
            }
        })?;
    let meta = stat(&file, path)?;
    if !meta.is_file() {
        return Err(PidfileError::refused(path, Refusal::NotRegular));
    }
    if meta.nlink() > 1 {
        return Err(PidfileError::refused(
            path,
            Refusal::HardLinked(meta.nlink()),
        ));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid && meta.uid() != 0 {
        return Err(PidfileError::refused(
            path,
            Refusal::ForeignOwner(meta.uid()),
        ));
    }
    match kind {
        Kind::Pidfile => {
            read_pid(&file, path)?;
        }
        Kind::Record(max) if meta.len() > max => {
            return Err(PidfileError::refused(path, Refusal::NotAPid));
        }
        Kind::Record(_) => {}
    }
    Ok(file)
}

/// How [`open_checked`] opens.
#[derive(Clone, Copy)]
enum Access {
    ReadOnly,
    ReadWrite,
    CreateReadOnly,
    CreateReadWrite,
}

/// What [`open_checked`] opens: the PID file, or its identity record.
#[derive(Clone, Copy)]
enum Kind {
    Pidfile,
    /// A record beside it, of at most this many bytes.
    Record(u64),
}

/// The pid in the file: `None` when it is empty, an error when it holds anything but digits and
/// a newline.
fn read_pid(mut file: &File, path: &Path) -> Result<Option<Pid>, PidfileError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.take(MAX_PIDFILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(PidfileError::io("read", path))?;
    parse_pid(&bytes).ok_or_else(|| PidfileError::refused(path, Refusal::NotAPid))
}

/// `Some(None)` for an empty file, `Some(Some(pid))` for digits (a positive pid) with an optional
/// newline, `None` for anything else.
fn parse_pid(bytes: &[u8]) -> Option<Option<Pid>> {
    if bytes.is_empty() {
        return Some(None);
    }
    let digits = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(Some(std::str::from_utf8(digits).ok()?.parse::<Pid>().ok()?))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("svckit-pidfile-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_runtime_record_adds_up_and_is_never_read_through_a_symlink() {
        let dir = temp_dir("runtime");
        let pidfile = dir.join("d.pid");
        assert_eq!(read_runtime(&pidfile).unwrap(), Made::default());
        let made = |path: &str, ino| Made {
            created: vec![crate::dirs::Created {
                path: PathBuf::from(path),
                dev: 1,
                ino,
                leaf: true,
            }],
        };
        add_runtime(&pidfile, &made("/run/a", 2)).unwrap();
        add_runtime(&pidfile, &made("/run/b", 3)).unwrap();
        let mut both = made("/run/a", 2);
        both.created.extend(made("/run/b", 3).created);
        assert_eq!(read_runtime(&pidfile).unwrap(), both);
        forget_runtime(&pidfile);
        std::os::unix::fs::symlink("/etc/passwd", runtime_record_path(&pidfile)).unwrap();
        assert!(matches!(
            read_runtime(&pidfile),
            Err(PidfileError::Symlink(_))
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_programs_pid_file_is_read_from_its_first_line_and_never_through_a_symlink() {
        let dir = temp_dir("program");
        let path = dir.join("postmaster.pid");
        fs::write(
            &path,
            "4242\n/var/lib/postgresql/15/main\n1764374400\n5432\n",
        )
        .unwrap();
        assert_eq!(read_program_pid(&path), Pid::new(4242));
        fs::write(&path, "4242").unwrap();
        assert_eq!(read_program_pid(&path), Pid::new(4242));
        for bad in ["", "\n4242\n", "-1\n", "0\n", "42x\n", "99999999999\n"] {
            fs::write(&path, bad).unwrap();
            assert_eq!(read_program_pid(&path), None, "{bad:?}");
        }
        let link = dir.join("link.pid");
        fs::write(&path, "4242\n").unwrap();
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read_program_pid(&link), None, "followed a symlink");
        assert_eq!(read_program_pid(&dir), None, "read a directory");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn pidfile_refuses_second_acquire_and_names_the_holder() {
        let dir = temp_dir("second");
        let path = dir.join("x.pid");
        let mut first = Pidfile::acquire(&path).unwrap();
        let me = Pid::this_process();
        first.write_pid(me).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{me}\n"));
        match Pidfile::acquire(&path) {
            Err(PidfileError::Locked { pid, .. }) => assert_eq!(pid, Some(me)),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(probe(&path).unwrap(), PidfileState::Running(Some(me)));
        assert!(!remove_stale(&path).unwrap(), "a locked file is not stale");
        drop(first);
        assert!(!path.exists(), "dropping the holder removes the file");
        assert!(!record_path(&path).exists(), "and its record");
        assert_eq!(probe(&path).unwrap(), PidfileState::Missing);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_pidfile_is_taken_over_and_rewritten() {
        let dir = temp_dir("stale");
        let path = dir.join("x.pid");
        fs::write(&path, "999999999\n").unwrap();
        assert_eq!(probe(&path).unwrap(), PidfileState::Stale);
        let mut pidfile = Pidfile::acquire(&path).unwrap();
        pidfile.write_pid(Pid::this_process()).unwrap();
        pidfile.keep_on_drop();
        drop(pidfile);
        fs::write(&path, "999999999\n").unwrap();
        assert!(remove_stale(&path).unwrap());
        assert!(!path.exists());
        assert!(!record_path(&path).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pidfile_symlink_is_refused_and_its_target_untouched() {
        let dir = temp_dir("symlink");
        let target = dir.join("target");
        let link = dir.join("x.pid");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            Pidfile::acquire(&link),
            Err(PidfileError::Symlink(_))
        ));
        assert!(matches!(probe(&link), Err(PidfileError::Symlink(_))));
        assert!(!target.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pidfile_that_is_a_directory_is_refused() {
        let dir = temp_dir("dir");
        let err = Pidfile::acquire(&dir).unwrap_err();
        assert!(
            matches!(err, PidfileError::Io { .. } | PidfileError::Refused { .. }),
            "{err:?}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regression: `svckit kill --pidfile /etc/passwd` removed /etc/passwd as a "stale pid
    /// file", and `daemonize --pidfile` truncated any regular file to write a pid into it.
    #[test]
    fn regression_a_file_that_is_not_a_pid_is_never_written_or_removed() {
        let dir = temp_dir("notapid");
        let path = dir.join("passwd");
        let content = "root:x:0:0:root:/root:/bin/bash\n";
        fs::write(&path, content).unwrap();
        for err in [
            Pidfile::acquire(&path).unwrap_err(),
            remove_stale(&path).unwrap_err(),
            probe(&path).unwrap_err(),
        ] {
            assert!(
                matches!(
                    err,
                    PidfileError::Refused {
                        why: Refusal::NotAPid,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.is_bad_input());
            assert!(err.to_string().contains("passwd"), "{err}");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), content);
        for bad in ["12 34\n", "-5\n", "0\n", "12\n\n", "99999999999\n", "1\0"] {
            assert_eq!(parse_pid(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse_pid(b"4242\n"), Some(Pid::new(4242)));
        assert_eq!(parse_pid(b"4242"), Some(Pid::new(4242)));
        assert_eq!(parse_pid(b""), Some(None));
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regression: a PID file hard-linked to another name was written and removed through it.
    #[test]
    fn regression_a_hard_linked_pidfile_is_refused() {
        let dir = temp_dir("hardlink");
        let other = dir.join("shadow");
        fs::write(&other, "1\n").unwrap();
        let path = dir.join("x.pid");
        fs::hard_link(&other, &path).unwrap();
        for err in [
            Pidfile::acquire(&path).unwrap_err(),
            remove_stale(&path).unwrap_err(),
        ] {
            assert!(
                matches!(
                    err,
                    PidfileError::Refused {
                        why: Refusal::HardLinked(2),
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        assert_eq!(fs::read_to_string(&other).unwrap(), "1\n");
        assert!(path.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regression: the daemon kept a read-write descriptor to root's PID file across the
    /// privilege drop and could write another pid into it.
    #[test]
    fn regression_the_lock_is_held_through_a_read_only_descriptor() {
        let dir = temp_dir("readonly");
        let path = dir.join("x.pid");
        let mut pidfile = Pidfile::acquire(&path).unwrap();
        pidfile.write_pid(Pid::this_process()).unwrap();
        let flags = nix::fcntl::fcntl(pidfile.file(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
        assert_eq!(flags & libc::O_ACCMODE, libc::O_RDONLY);
        let mut file = pidfile.file();
        assert!(file.write_all(b"1\n").is_err());
        assert!(
            pidfile.write_pid(Pid::new(1).unwrap()).is_err(),
            "written once"
        );
        drop(pidfile);
        fs::remove_dir_all(dir).unwrap();
    }

    /// A FIFO at the path neither blocks the open nor is used.
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = temp_dir("fifo");
        let path = dir.join("x.pid");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert!(matches!(
            probe(&path),
            Err(PidfileError::Refused {
                why: Refusal::NotRegular,
                ..
            })
        ));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }
}
