//! PID files that are locked for the daemon's life.
//!
//! A PID file is opened with `O_NOFOLLOW | O_CLOEXEC` (a symlink planted at the path is refused,
//! never followed), locked with flock(2), and only then truncated and written. A held lock means
//! "running as PID n"; an unlocked file is stale and taken over. The lock, not the pid written
//! in the file, is the truth: a pid can be recycled, a lock dies with its holder.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::{self, Read, Seek, SeekFrom, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use nix::libc;

/// Why a PID file could not be acquired or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PidfileError {
    /// The path is a symbolic link.
    #[error("pid file {} is a symbolic link; refusing to follow it", .0.display())]
    Symlink(PathBuf),
    /// The path is not a regular file.
    #[error("pid file {} is not a regular file", .0.display())]
    NotRegular(PathBuf),
    /// Another process holds the lock.
    #[error("already running as PID {pid} (pid file {} is locked)", path.display())]
    Locked {
        /// The pid in the file (0 when it is still empty).
        pid: i32,
        /// The PID file.
        path: PathBuf,
    },
    /// An I/O error on the file.
    #[error("{action} pid file {}", path.display())]
    Io {
        /// What was being done: "open", "lock", "write", "read".
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
}

/// A PID file held under an exclusive flock(2) lock for as long as this value lives.
///
/// Dropping it removes the file (while the lock is still held) unless [`Pidfile::keep_on_drop`]
/// was called.
#[derive(Debug)]
pub struct Pidfile {
    file: File,
    path: PathBuf,
    remove_on_drop: bool,
}

impl Pidfile {
    /// Opens (creating with mode 0644) and locks the PID file at `path` without writing it.
    ///
    /// Refuses a symlink (`O_NOFOLLOW`) and anything that is not a regular file; a file locked
    /// by another process gives [`PidfileError::Locked`] with the pid it holds.
    pub fn acquire(path: impl AsRef<Path>) -> Result<Pidfile, PidfileError> {
        let path = path.as_ref();
        let file = open_nofollow(path, true)?;
        match file.try_lock() {
            Ok(()) => Ok(Pidfile {
                file,
                path: path.to_owned(),
                remove_on_drop: true,
            }),
            Err(TryLockError::WouldBlock) => Err(PidfileError::Locked {
                pid: read_pid(&file).unwrap_or(0),
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(err)) => Err(PidfileError::io("lock", path)(err)),
        }
    }

    /// Replaces the file's contents with `pid` and a newline.
    pub fn write_pid(&mut self, pid: i32) -> Result<(), PidfileError> {
        let mut file = &self.file;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()))
            .map_err(PidfileError::io("write", &self.path))
    }

    /// The PID file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open, locked file (for clearing `FD_CLOEXEC` before an exec, so the lock outlives it).
    pub fn file(&self) -> &File {
        &self.file
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
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The state of a PID file as seen by someone who does not hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidfileState {
    /// No file at the path.
    Missing,
    /// The file exists but nobody holds its lock: the daemon is gone.
    Stale,
    /// The file is locked by a live daemon whose pid it holds (0 when it is still empty).
    Running(i32),
}

/// Reports whether the daemon named by the PID file at `path` is running, without creating the
/// file and without following a symlink.
pub fn probe(path: impl AsRef<Path>) -> Result<PidfileState, PidfileError> {
    let path = path.as_ref();
    let file = match open_nofollow(path, false) {
        Ok(file) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(PidfileState::Missing);
        }
        Err(err) => return Err(err),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(PidfileState::Stale),
        Err(TryLockError::WouldBlock) => Ok(PidfileState::Running(read_pid(&file).unwrap_or(0))),
        Err(TryLockError::Error(err)) => Err(PidfileError::io("lock", path)(err)),
    }
}

/// Removes the PID file at `path` if nobody holds its lock: it is taken under an exclusive lock
/// first, so a daemon that is starting right now cannot lose its file. Returns whether a file
/// was removed.
pub fn remove_stale(path: impl AsRef<Path>) -> Result<bool, PidfileError> {
    let path = path.as_ref();
    let file = match open_nofollow(path, false) {
        Ok(file) => file,
        Err(PidfileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(false);
        }
        Err(err) => return Err(err),
    };
    match file.try_lock() {
        Ok(()) => {
            fs::remove_file(path).map_err(PidfileError::io("remove", path))?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

fn open_nofollow(path: &Path, create: bool) -> Result<File, PidfileError> {
    let file = OpenOptions::new()
        .read(true)
        .write(create)
        .create(create)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::ELOOP) {
                PidfileError::Symlink(path.to_owned())
            } else {
                PidfileError::io("open", path)(err)
            }
        })?;
    let metadata = file.metadata().map_err(PidfileError::io("stat", path))?;
    if !metadata.is_file() {
        return Err(PidfileError::NotRegular(path.to_owned()));
    }
    Ok(file)
}

fn read_pid(mut file: &File) -> Option<i32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok().filter(|pid| *pid > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("svckit-pidfile-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn pidfile_refuses_second_acquire_and_names_the_holder() {
        let dir = temp_dir("second");
        let path = dir.join("x.pid");
        let mut first = Pidfile::acquire(&path).unwrap();
        first.write_pid(1234).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1234\n");
        match Pidfile::acquire(&path) {
            Err(PidfileError::Locked { pid, .. }) => assert_eq!(pid, 1234),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(probe(&path).unwrap(), PidfileState::Running(1234));
        assert!(!remove_stale(&path).unwrap(), "a locked file is not stale");
        drop(first);
        assert!(!path.exists(), "dropping the holder removes the file");
        assert_eq!(probe(&path).unwrap(), PidfileState::Missing);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stale_pidfile_is_taken_over_and_rewritten() {
        let dir = temp_dir("stale");
        let path = dir.join("x.pid");
        fs::write(&path, "999999999\nrubbish").unwrap();
        assert_eq!(probe(&path).unwrap(), PidfileState::Stale);
        let mut pidfile = Pidfile::acquire(&path).unwrap();
        pidfile.write_pid(42).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "42\n");
        drop(pidfile);
        fs::write(&path, "7\n").unwrap();
        assert!(remove_stale(&path).unwrap());
        assert!(!path.exists());
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
            matches!(err, PidfileError::Io { .. } | PidfileError::NotRegular(_)),
            "{err:?}"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
