//! Definitions and records on disk. A definition is written atomically (a temporary file in
//! the same directory, then rename(2)); a record, rewritten at each change of its service, in
//! place by one pwrite(2) of at most a page when it can be ([`svckit_unix::files::rewrite`]).
//! Either way a crash of the writer never leaves half a file.

use std::{fs, io, path::Path};

use serde::{Deserialize, Serialize};
use svckit_core::{ServiceName, ServiceSpec};
use svckit_unix::process::Identity;

use crate::{
    Error,
    machine::{LastExit, UnitState},
    paths::StateDir,
};

/// Writes `contents` to `path` atomically, mode 0600 (no fsync: records change often).
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    svckit_unix::files::replace(path, contents, 0o600)
}

/// Reads a file of the state directory without following a symlink planted at its path.
fn read_nofollow(path: &Path) -> io::Result<String> {
    use std::{io::Read, os::unix::fs::OpenOptionsExt};
    let mut text = String::new();
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(nix::libc::ELOOP) => io::Error::new(
                io::ErrorKind::PermissionDenied,
                "is a symbolic link; refusing to follow it",
            ),
            _ => err,
        })?
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Reads the definition of `name`.
pub fn load(dir: &StateDir, name: &ServiceName) -> Result<ServiceSpec, Error> {
    load_file(&dir.definition(name), name)
}

/// Reads the definition of `name` at `path` (never through a symlink): [`Error::NotInstalled`]
/// when there is none.
pub fn load_file(path: &Path, name: &ServiceName) -> Result<ServiceSpec, Error> {
    let text = match read_nofollow(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotInstalled(name.clone()));
        }
        Err(source) => {
            return Err(Error::Io {
                context: format!("read {}", path.display()),
                source,
            });
        }
    };
    ServiceSpec::from_toml(&text, Some(name.as_str()))
        .map_err(|err| Error::Definition(err.in_file(path.display())))
}

/// Reads the definition of `name`, which the supervisor is to run: a service installed with
/// another backend is [`Error::OtherBackend`]. Without the text it was read from (kept to
/// write it again with its comments, which the supervisor never does): a copy of every
/// service's file, held for its whole life.
pub fn load_supervised(dir: &StateDir, name: &ServiceName) -> Result<ServiceSpec, Error> {
    let mut spec = load(dir, name)?;
    spec.source = svckit_core::SourceText::default();
    spec.shrink_to_fit();
    if !spec.backend.is_builtin() {
        return Err(Error::OtherBackend {
            name: spec.name,
            backend: spec.backend,
        });
    }
    Ok(spec)
}

/// Which version of a definition file is on disk: its inode, size and change time. Every
/// write of a definition is a rename over it (a new inode), so an equal stamp is the same
/// definition, and a start need not read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    len: u64,
    ctime: (i64, i64),
}

/// The stamp of `name`'s definition, when there is one (never through a symlink).
pub fn stamp(dir: &StateDir, name: &ServiceName) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(dir.definition(name)).ok()?;
    Some(Stamp {
        ino: meta.ino(),
        len: meta.len(),
        ctime: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// The names of every installed service, sorted.
pub fn names(dir: &StateDir) -> Result<Vec<ServiceName>, Error> {
    names_in(&dir.services_dir())
}

/// The names of the definitions (`NAME.toml`) in `folder`, sorted.
pub fn names_in(folder: &Path) -> Result<Vec<ServiceName>, Error> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                context: format!("read {}", folder.display()),
                source,
            });
        }
    };
    let mut names: Vec<ServiceName> = entries
        .filter_map(|entry| {
            let file_name = entry.ok()?.file_name();
            let stem = file_name.to_str()?.strip_suffix(".toml")?;
            ServiceName::new(stem).ok()
        })
        .collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(names)
}

/// Writes `spec` as `name`'s definition. Refused with [`Error::AlreadyInstalled`] when one
/// exists, unless `replace`.
pub fn save(dir: &StateDir, spec: &ServiceSpec, replace: bool) -> Result<bool, Error> {
    spec.validate()?;
    dir.create().map_err(|source| Error::Io {
        context: format!("create {}", dir.root().display()),
        source,
    })?;
    let path = dir.definition(&spec.name);
    let existed = path.exists();
    if existed && !replace {
        return Err(Error::AlreadyInstalled(spec.name.clone()));
    }
    svckit_unix::files::write_atomic(&path, spec.to_toml().as_bytes(), 0o600).map_err(
        |source| Error::Io {
            context: format!("install {}", spec.name),
            source,
        },
    )?;
    Ok(existed)
}

/// Removes `name`'s definition and record (its logs stay).
pub fn remove(dir: &StateDir, name: &ServiceName) -> Result<(), Error> {
    match fs::remove_file(dir.definition(name)) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotInstalled(name.clone()));
        }
        Err(source) => {
            return Err(Error::Io {
                context: format!("remove {}", dir.definition(name).display()),
                source,
            });
        }
    }
    let _ = fs::remove_file(dir.record(name));
    Ok(())
}

/// What the supervisor keeps on disk of a service, so that a new supervisor (after a crash or
/// SIGKILL) can find its process again or restart it per its desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The boot and PID namespace this record is from ([`boot_id`]): a record of another
    /// boot names no live process.
    pub boot_id: String,
    /// Whether the service should run.
    pub wanted: bool,
    /// Its state when written.
    pub state: UnitState,
    /// Its main process.
    pub pid: Option<svckit_core::Pid>,
    /// That process's start time (clock ticks since boot), to tell it from a recycled pid.
    pub start_ticks: Option<u64>,
    /// When it started (Unix ms).
    pub started_ms: Option<u64>,
    /// When the state was entered (Unix ms).
    pub since_ms: u64,
    /// Automatic restarts.
    pub restarts: u32,
    /// How its last process ended.
    pub last_exit: Option<LastExit>,
    /// Why svckit sent the signal that ended it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit_why: Option<String>,
    /// The inodes of its stdout and stderr pipes, to find them again.
    pub pipes: Option<(u64, u64)>,
    /// The runtime directories svckit made for this run (the only ones it removes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<MadeDir>,
}

/// A directory svckit made for a service ([`svckit_unix::dirs::Created`]), as its record
/// keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeDir {
    /// Its path.
    pub path: std::path::PathBuf,
    /// Its device.
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
    /// It is the runtime directory itself, not a parent made on the way.
    pub leaf: bool,
}

impl From<&svckit_unix::dirs::Created> for MadeDir {
    fn from(dir: &svckit_unix::dirs::Created) -> MadeDir {
        MadeDir {
            path: dir.path.clone(),
            dev: dir.dev,
            ino: dir.ino,
            leaf: dir.leaf,
        }
    }
}

impl From<&MadeDir> for svckit_unix::dirs::Created {
    fn from(dir: &MadeDir) -> svckit_unix::dirs::Created {
        svckit_unix::dirs::Created {
            path: dir.path.clone(),
            dev: dir.dev,
            ino: dir.ino,
            leaf: dir.leaf,
        }
    }
}

/// Reads `name`'s record, if there is a readable one.
pub fn read_record(dir: &StateDir, name: &ServiceName) -> Option<Record> {
    let text = fs::read(dir.record(name)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes `name`'s record: in place when it can be ([`svckit_unix::files::rewrite`]: JSON
/// reads past the spaces that pad a shorter record), never torn by a kill of the writer.
pub fn write_record(dir: &StateDir, name: &ServiceName, record: &Record) -> io::Result<()> {
    write_record_bytes(dir, name, &record_bytes(record)?)
}

/// `record` as its file holds it.
pub fn record_bytes(record: &Record) -> io::Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(io::Error::other)
}

/// Writes the record of `name`, given as [`record_bytes`] made it.
pub fn write_record_bytes(dir: &StateDir, name: &ServiceName, bytes: &[u8]) -> io::Result<()> {
    svckit_unix::files::rewrite(&dir.record(name), bytes, 0o600)
}

/// This boot's id and PID namespace ([`svckit_unix::process::pid_space`]): a record of another
/// boot or another container's namespace names no process here, and its services start afresh.
pub fn boot_id() -> String {
    svckit_unix::process::pid_space()
}

fn holder_path(dir: &StateDir) -> std::path::PathBuf {
    dir.run_dir().join("fdholder")
}

/// Records this supervisor's fd holder (its [`Identity`]).
pub fn write_holder(dir: &StateDir, pid: svckit_core::Pid) {
    if let Ok(identity) = Identity::of(pid) {
        let _ = write_atomic(&holder_path(dir), identity.line().as_bytes());
    }
}

/// The fd holder a previous supervisor recorded.
pub fn read_holder(dir: &StateDir) -> Option<Identity> {
    Identity::parse(&read_nofollow(&holder_path(dir)).ok()?)
}

/// Ends a previous supervisor's fd holder: only the process the record names (still running,
/// same start time and pid space, and named `svckit-holder`), never a recycled pid.
pub fn end_holder(holder: &Identity) {
    let named = fs::read_to_string(format!("/proc/{}/comm", holder.pid))
        .is_ok_and(|comm| comm.trim() == "svckit-holder");
    if holder.is_running() && named {
        svckit_unix::process::send(holder.pid, svckit_core::Signal::Kill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_record_written_over_a_longer_one_reads_back_as_itself() {
        let root = std::env::temp_dir().join(format!("svckit-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = StateDir::new(&root).unwrap();
        dir.create().unwrap();
        let name = ServiceName::new("web").unwrap();
        let long = Record {
            boot_id: "boot".into(),
            wanted: true,
            state: UnitState::Running,
            pid: Some(svckit_core::Pid::new(4242).unwrap()),
            start_ticks: Some(123_456),
            started_ms: Some(1),
            since_ms: 2,
            restarts: 3,
            last_exit: None,
            last_exit_why: Some("svckit sent SIGTERM: a stop was asked for".into()),
            pipes: Some((10, 11)),
            runtime: Vec::new(),
        };
        write_record(&dir, &name, &long).unwrap();
        let short = Record {
            wanted: false,
            state: UnitState::Stopped,
            pid: None,
            last_exit_why: None,
            ..long.clone()
        };
        write_record(&dir, &name, &short).unwrap();
        assert!(
            fs::metadata(dir.record(&name)).unwrap().len() > 100,
            "padded"
        );
        assert_eq!(read_record(&dir, &name), Some(short));
        fs::remove_dir_all(&root).unwrap();
    }
}
