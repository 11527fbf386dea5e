//! Directories made and removed beneath a trusted base (`/run`, `$XDG_RUNTIME_DIR`) for a
//! service, without ever following a symlink.
//!
//! A path like `evsec3/link/conf.d` is walked one component at a time from an fd on the base,
//! each opened `O_NOFOLLOW | O_DIRECTORY` relative to the one before: a symlink or file at any
//! component (one a service user planted where it may write) is refused, and the directory is
//! created, chowned and later emptied through those fds, never through a path the kernel
//! resolves again. [`make`] returns what it created ([`Made`], with each directory's device and
//! inode); [`remove`] removes only that, and only while the same directory is still reached
//! the same way: a directory that was there before is left, and so is anything swapped in since.
//!
//! This module must not follow a symlink, and must not remove what it did not create.

use std::{
    ffi::OsStr,
    fs, io,
    os::{
        fd::{AsFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::{Component, Path, PathBuf},
};

use nix::{
    dir::{Dir, Type},
    errno::Errno,
    fcntl::{AtFlags, OFlag, openat},
    sys::stat::{Mode, fchmod, fstat, fstatat, mkdirat},
    unistd::{Gid, Uid, UnlinkatFlags, fchown, unlinkat},
};

/// A directory [`make`] created: where, and which one (device and inode), so [`remove`]
/// removes that directory and no other that later took its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its path (the base joined with the components down to it).
    pub path: PathBuf,
    /// Its device.
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
    /// Whether it is the directory asked for (made with its contents for the service, removed
    /// with them), rather than a parent made on the way (removed only while empty).
    pub leaf: bool,
}

/// What [`make`] did to the file system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    /// The directories it created, outermost first.
    pub created: Vec<Created>,
}

/// Where runtime directories go: `/run` for root, else `$XDG_RUNTIME_DIR` (none without it).
pub fn runtime_base() -> Option<PathBuf> {
    match nix::unistd::geteuid().is_root() {
        true => Some(PathBuf::from("/run")),
        false => std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
    }
}

/// Where a service's state, cache, logs or configuration directories are: systemd's places
/// for root (/var/lib, /var/cache, /var/log, /etc), else the user's XDG directories
/// (`$XDG_STATE_HOME` or ~/.local/state, `$XDG_CACHE_HOME` or ~/.cache, the state home's
/// `log`, `$XDG_CONFIG_HOME` or ~/.config), as systemd's user manager has them.
pub fn kept_base(kind: svckit_core::DirectoryKind) -> Option<PathBuf> {
    use svckit_core::DirectoryKind;
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from(kind.system_base()));
    }
    let xdg = |variable: &str, fallback: &str| {
        std::env::var_os(variable)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|home| home.is_absolute())
                    .map(|home| home.join(fallback))
            })
    };
    match kind {
        DirectoryKind::State => xdg("XDG_STATE_HOME", ".local/state"),
        DirectoryKind::Cache => xdg("XDG_CACHE_HOME", ".cache"),
        DirectoryKind::Logs => xdg("XDG_STATE_HOME", ".local/state").map(|state| state.join("log")),
        DirectoryKind::Configuration => xdg("XDG_CONFIG_HOME", ".config"),
    }
}

impl Made {
    /// The record of what was made, one line each: device, inode, `leaf` or `parent`, path
    /// (for a launcher that exits, so that whoever stops the daemon removes exactly that).
    pub fn to_record(&self) -> io::Result<String> {
        let mut text = String::new();
        for dir in &self.created {
            let path = dir
                .path
                .to_str()
                .filter(|path| !path.contains('\n'))
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} cannot be recorded", dir.path.display()),
                    )
                })?;
            let kind = if dir.leaf { "leaf" } else { "parent" };
            text.push_str(&format!("{} {} {kind} {path}\n", dir.dev, dir.ino));
        }
        Ok(text)
    }

    /// What a record ([`Made::to_record`]) says; a line it cannot read is refused.
    pub fn from_record(text: &str) -> io::Result<Made> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a record of svckit's");
        let created = text
            .lines()
            .map(|line| {
                let mut fields = line.splitn(4, ' ');
                let dev = fields.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
                let ino = fields.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
                let leaf = match fields.next() {
                    Some("leaf") => true,
                    Some("parent") => false,
                    _ => return Err(bad()),
                };
                let path = PathBuf::from(fields.next().ok_or_else(bad)?);
                Ok(Created {
                    path,
                    dev,
                    ino,
                    leaf,
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Made { created })
    }
}

fn nofollow_dir(parent: impl AsFd, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn open_base(base: &Path) -> io::Result<OwnedFd> {
    let base = fs::File::open(base)
        .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", base.display())))?;
    Ok(base.into())
}

/// The components of `relative`, which must be plain names (no `..`, `.` or root).
fn components(relative: &Path) -> io::Result<Vec<&OsStr>> {
    let parts: Vec<&OsStr> = relative
        .components()
        .map(|part| match part {
            Component::Normal(name) => Ok(name),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a relative path of plain names",
                    relative.display()
                ),
            )),
        })
        .collect::<io::Result<_>>()?;
    if parts.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty directory name",
        ));
    }
    Ok(parts)
}

fn refused(path: &Path, err: Errno) -> io::Error {
    match err {
        // O_NOFOLLOW on a symlink, O_DIRECTORY on anything else.
        Errno::ELOOP | Errno::ENOTDIR => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} exists and is not a directory (a symlink or a file: refusing to follow it)",
                path.display()
            ),
        ),
        err => io::Error::new(
            io::Error::from(err).kind(),
            format!("{}: {err}", path.display()),
        ),
    }
}

/// Makes `base/relative` (mode `mode`, owned by `owner` when given; parents made on the way
/// are the caller's, mode 0755), reaching every component without following a symlink. A
/// directory already there is taken over (its owner and mode set); a symlink or file at any
/// component is refused with `PermissionDenied`, naming it, and what this call created is
/// removed again.
pub fn make(
    base: &Path,
    relative: &Path,
    mode: u32,
    owner: Option<(Option<Uid>, Option<Gid>)>,
) -> io::Result<Made> {
    let parts = components(relative)?;
    let mut made = Made::default();
    let result = (|| {
        let mut dir = open_base(base)?;
        let mut path = base.to_path_buf();
        for (i, name) in parts.iter().enumerate() {
            path.push(name);
            let leaf = i + 1 == parts.len();
            let created = match mkdirat(&dir, *name, Mode::from_bits_truncate(0o755)) {
                Ok(()) => true,
                Err(Errno::EEXIST) => false,
                Err(err) => return Err(refused(&path, err)),
            };
            let next = nofollow_dir(&dir, name).map_err(|err| refused(&path, err))?;
            if created {
                let stat = fstat(&next).map_err(|err| refused(&path, err))?;
                made.created.push(Created {
                    path: path.clone(),
                    dev: stat.st_dev,
                    ino: stat.st_ino,
                    leaf,
                });
            }
            if leaf {
                if let Some((uid, gid)) = owner {
                    fchown(&next, uid, gid).map_err(|err| refused(&path, err))?;
                }
                fchmod(&next, Mode::from_bits_truncate(mode as nix::libc::mode_t))
                    .map_err(|err| refused(&path, err))?;
            }
            dir = next;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(made),
        Err(err) => {
            let _ = remove(base, &made);
            Err(err)
        }
    }
}

/// [`make`] for each of `names` in turn; at the first that fails, what the others created is
/// removed again and the error names the path.
pub fn make_all(
    base: &Path,
    names: &[impl AsRef<Path>],
    mode: u32,
    owner: Option<(Option<Uid>, Option<Gid>)>,
) -> io::Result<Made> {
    let mut made = Made::default();
    for name in names {
        match make(base, name.as_ref(), mode, owner) {
            Ok(more) => made.created.extend(more.created),
            Err(err) => {
                let _ = remove(base, &made);
                return Err(io::Error::new(
                    err.kind(),
                    format!("{}: {err}", base.join(name).display()),
                ));
            }
        }
    }
    Ok(made)
}

/// Removes what [`make`] created, innermost first: the directory asked for with everything
/// in it, the parents made on the way only while empty. Each is reached again from `base`
/// without following a symlink and removed only while it is the same directory (device and
/// inode); anything else is left as it is, and the first such refusal is returned after the
/// rest was done.
pub fn remove(base: &Path, made: &Made) -> io::Result<()> {
    let mut first_error = None;
    for created in made.created.iter().rev() {
        if let Err(err) = remove_one(base, created)
            && first_error.is_none()
        {
            first_error = Some(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn remove_one(base: &Path, created: &Created) -> io::Result<()> {
    let relative = created.path.strip_prefix(base).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not beneath {}",
                created.path.display(),
                base.display()
            ),
        )
    })?;
    let parts = components(relative)?;
    let (name, parents) = parts.split_last().expect("components are never empty");
    let mut dir = open_base(base)?;
    let mut path = base.to_path_buf();
    for parent in parents {
        path.push(parent);
        dir = match nofollow_dir(&dir, parent) {
            Ok(next) => next,
            // Gone already: nothing of ours is left to remove.
            Err(Errno::ENOENT) => return Ok(()),
            Err(err) => return Err(refused(&path, err)),
        };
    }
    path.push(name);
    let target = match nofollow_dir(&dir, name) {
        Ok(target) => target,
        Err(Errno::ENOENT) => return Ok(()),
        Err(err) => return Err(refused(&path, err)),
    };
    let stat = fstat(&target).map_err(|err| refused(&path, err))?;
    if (stat.st_dev, stat.st_ino) != (created.dev, created.ino) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is no longer the directory svckit made there; leaving it",
                path.display()
            ),
        ));
    }
    if created.leaf {
        empty(target, &path)?;
    }
    match unlinkat(&dir, *name, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        // A parent that holds another's directory now stays.
        Err(Errno::ENOTEMPTY | Errno::EEXIST) if !created.leaf => Ok(()),
        Err(err) => Err(refused(&path, err)),
    }
}

/// Removes everything inside the directory `dir` (at `path`, for errors), descending only
/// into real directories on the same device.
fn empty(dir: OwnedFd, path: &Path) -> io::Result<()> {
    let device = fstat(&dir).map_err(|err| refused(path, err))?.st_dev;
    let handle = dir.try_clone()?;
    let mut listing = Dir::from_fd(handle).map_err(|err| refused(path, err))?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let entry = entry.map_err(|err| refused(path, err))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push((name.to_vec(), entry.file_type()));
        }
    }
    drop(listing);
    for (name, kind) in names {
        let name = OsStr::from_bytes(&name);
        let child = path.join(name);
        let is_dir = match kind {
            Some(Type::Directory) => true,
            Some(_) => false,
            None => fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map(|stat| stat.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR)
                .map_err(|err| refused(&child, err))?,
        };
        if is_dir {
            let inner = nofollow_dir(&dir, name).map_err(|err| refused(&child, err))?;
            if fstat(&inner).map_err(|err| refused(&child, err))?.st_dev != device {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} is a mount point; leaving it", child.display()),
                ));
            }
            empty(inner, &child)?;
            unlinkat(&dir, name, UnlinkatFlags::RemoveDir).map_err(|err| refused(&child, err))?;
        } else {
            unlinkat(&dir, name, UnlinkatFlags::NoRemoveDir).map_err(|err| refused(&child, err))?;
        }
    }
    Ok(())
}

/// A daemon's runtime directories (`svckit daemonize --runtime-directory`, `svckit
/// runtime-dir`): made under [`runtime_base`], owned by its user and group, never through a
/// symlink; recorded beside its PID file for `svckit kill` to remove exactly them once it is
/// gone.
#[derive(Debug)]
pub struct DaemonDirs {
    base: PathBuf,
    made: Made,
}

/// Why a daemon's runtime directories were not made.
#[derive(Debug, thiserror::Error)]
pub enum DaemonDirsError {
    /// Refused: no base for a user who is not root, a name that leaves the base, a symlink
    /// or a foreign owner on the way, no permission.
    #[error("runtime-directory: {0}")]
    Refused(String),
    /// The user or group is not known.
    #[error(transparent)]
    Account(#[from] crate::Error),
    /// Making them failed otherwise.
    #[error("runtime-directory: {0}")]
    Io(#[source] io::Error),
}

impl DaemonDirs {
    /// Makes `names` (none: `None`) for a daemon running as `user` and `group`.
    pub fn make(
        names: &[PathBuf],
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<DaemonDirs>, DaemonDirsError> {
        if names.is_empty() {
            return Ok(None);
        }
        let base = runtime_base().ok_or_else(|| {
            DaemonDirsError::Refused("no $XDG_RUNTIME_DIR for a user who is not root".into())
        })?;
        let owner = crate::privileges::Credentials::resolve(user, group)?
            .map(|credentials| (credentials.user.map(|user| user.uid), Some(credentials.gid)));
        let made = make_all(&base, names, 0o755, owner).map_err(|err| match err.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput => {
                DaemonDirsError::Refused(err.to_string())
            }
            _ => DaemonDirsError::Io(err),
        })?;
        Ok(Some(DaemonDirs { base, made }))
    }

    /// Records them beside the PID file at `pidfile`, for `svckit kill`.
    pub fn record(&self, pidfile: &Path) -> Result<(), crate::pidfile::PidfileError> {
        crate::pidfile::add_runtime(pidfile, &self.made)
    }

    /// Removes them (a start that failed, a record that could not be written).
    pub fn remove(&self) {
        let _ = remove(&self.base, &self.made);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svckit-dirs-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn makes_parents_and_removes_only_what_it_made() {
        let base = scratch("parents");
        fs::create_dir(base.join("there")).unwrap();
        fs::write(base.join("there/keep"), "x").unwrap();
        let made = make(&base, Path::new("there/a/b"), 0o750, None).unwrap();
        let paths: Vec<_> = made.created.iter().map(|c| c.path.clone()).collect();
        assert_eq!(paths, [base.join("there/a"), base.join("there/a/b")]);
        assert_eq!(
            fs::metadata(base.join("there/a/b"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o750
        );
        fs::create_dir_all(base.join("there/a/b/deep/er")).unwrap();
        fs::write(base.join("there/a/b/deep/er/file"), "x").unwrap();
        remove(&base, &made).unwrap();
        assert!(!base.join("there/a").exists());
        assert!(
            base.join("there/keep").exists(),
            "a directory it found stays"
        );
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_symlink_at_any_component_is_refused_and_left() {
        let base = scratch("symlink");
        let victim = scratch("symlink-victim");
        fs::create_dir(base.join("user")).unwrap();
        std::os::unix::fs::symlink(&victim, base.join("user/link")).unwrap();
        let err = make(&base, Path::new("user/link/conf.d"), 0o755, None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("user/link"), "{err}");
        assert!(!victim.join("conf.d").exists());
        assert!(fs::symlink_metadata(base.join("user/link")).is_ok());
        // The leaf itself a symlink: refused, the symlink left.
        std::os::unix::fs::symlink(&victim, base.join("leaf")).unwrap();
        make(&base, Path::new("leaf"), 0o755, None).unwrap_err();
        assert!(fs::symlink_metadata(base.join("leaf")).is_ok());
        fs::remove_dir_all(&base).unwrap();
        fs::remove_dir_all(&victim).unwrap();
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_after_make_is_never_followed() {
        let base = scratch("swap");
        let victim = scratch("swap-victim");
        fs::create_dir(victim.join("conf.d")).unwrap();
        fs::write(victim.join("conf.d/precious"), "x").unwrap();
        let made = make(&base, Path::new("svc/conf.d"), 0o755, None).unwrap();
        fs::rename(base.join("svc"), base.join("moved")).unwrap();
        std::os::unix::fs::symlink(&victim, base.join("svc")).unwrap();
        remove(&base, &made).unwrap_err();
        assert!(victim.join("conf.d/precious").exists());
        // A real directory put in its place is not the one made either.
        fs::remove_file(base.join("svc")).unwrap();
        fs::create_dir_all(base.join("svc/conf.d")).unwrap();
        fs::write(base.join("svc/conf.d/theirs"), "x").unwrap();
        remove(&base, &made).unwrap_err();
        assert!(base.join("svc/conf.d/theirs").exists());
        // A symlink inside the directory made is removed, not followed.
        fs::remove_dir_all(base.join("svc")).unwrap();
        fs::rename(base.join("moved"), base.join("svc")).unwrap();
        std::os::unix::fs::symlink(&victim, base.join("svc/conf.d/link")).unwrap();
        remove(&base, &made).unwrap();
        assert!(!base.join("svc").exists());
        assert!(victim.join("conf.d/precious").exists());
        assert_eq!(
            fs::metadata(&victim).unwrap().uid(),
            nix::unistd::geteuid().as_raw()
        );
        fs::remove_dir_all(&base).unwrap();
        fs::remove_dir_all(&victim).unwrap();
    }

    #[test]
    fn a_record_reads_back_and_a_bad_one_is_refused() {
        let base = scratch("record");
        let made = make(&base, Path::new("a b/c"), 0o755, None).unwrap();
        let record = made.to_record().unwrap();
        assert_eq!(Made::from_record(&record).unwrap(), made);
        Made::from_record("1 2 other /x\n").unwrap_err();
        Made::from_record("x 2 leaf /x\n").unwrap_err();
        remove(&base, &Made::from_record(&record).unwrap()).unwrap();
        assert!(!base.join("a b").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn bad_names_are_refused() {
        let base = scratch("names");
        for bad in ["", "../x", "/etc", "a/../b", "./a"] {
            assert!(make(&base, Path::new(bad), 0o755, None).is_err(), "{bad:?}");
        }
        fs::remove_dir_all(&base).unwrap();
    }
}
