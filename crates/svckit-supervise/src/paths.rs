//! The state directory: everything one supervisor owns, in one owner-only tree.
//!
//! ```text
//! STATE/                    0700
//!   services/NAME.toml      definitions of the services it runs (written by install,
//!                           atomically)
//!   registry/NAME.toml      definitions of services another manager runs (systemd, SysV
//!                           init), kept by svckit-install's registry; the supervisor never
//!                           reads them
//!   run/NAME.json           what the supervisor knows of each service (desired state, pid and
//!                           start time, restarts, last exit), rewritten on every transition
//!   logs/NAME.stdout[.N]    captured output, rotated
//!   logs/NAME.stderr[.N]
//!   supervisor.pid          locked (flock) by the one supervisor of this directory
//!   supervisor.sock         its control socket (0600)
//!   supervisor.log          its own diagnostics
//! ```

use std::{
    env, fs, io,
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
};

use svckit_core::ServiceName;

/// The environment variable that names the state directory.
pub const STATE_DIR_ENV: &str = "SVCKIT_STATE_DIR";

pub use svckit_core::logfiles::Stream;

/// A supervisor's state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The directory at `root` (made absolute against the current directory).
    pub fn new(root: impl Into<PathBuf>) -> io::Result<StateDir> {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            env::current_dir()?.join(root)
        };
        Ok(StateDir { root })
    }

    /// The default: `$SVCKIT_STATE_DIR`; else `/var/lib/svckit` for root; else
    /// `$XDG_STATE_HOME/svckit`, or `~/.local/state/svckit`.
    pub fn default_location() -> io::Result<StateDir> {
        if let Some(dir) = env::var_os(STATE_DIR_ENV).filter(|dir| !dir.is_empty()) {
            return StateDir::new(dir);
        }
        if nix::unistd::geteuid().is_root() {
            return StateDir::new("/var/lib/svckit");
        }
        if let Some(dir) = env::var_os("XDG_STATE_HOME").filter(|d| Path::new(d).is_absolute()) {
            return StateDir::new(Path::new(&dir).join("svckit"));
        }
        match env::var_os("HOME").filter(|home| !home.is_empty()) {
            Some(home) => StateDir::new(Path::new(&home).join(".local/state/svckit")),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no state directory: set SVCKIT_STATE_DIR, XDG_STATE_HOME or HOME",
            )),
        }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks that the tree belongs to the user who runs this process and that nobody else can
    /// change it: the root, `services/`, `registry/`, `run/` and `logs/` are real directories (never a
    /// symlink) owned by the effective uid and writable by nobody else; the supervisor's
    /// socket, lock and log are not symlinks and are ours; every ancestor of the root is owned
    /// by root or us and, when others may write it, sticky (like `/tmp`). Parts that do not
    /// exist yet pass. The error (kind `PermissionDenied`) names the path, its owner and mode.
    pub fn check(&self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let euid = nix::unistd::geteuid().as_raw();
        let refuse = |path: &Path, meta: &fs::Metadata, why: &str| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} {} (owner uid {}, mode {:04o}) {why}; refusing it",
                    if path == self.root {
                        "state directory"
                    } else {
                        "in the state directory,"
                    },
                    path.display(),
                    meta.uid(),
                    meta.mode() & 0o7777
                ),
            )
        };
        let lstat = |path: &Path| match fs::symlink_metadata(path) {
            Ok(meta) => Ok(Some(meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io::Error::new(
                err.kind(),
                format!("inspect {}: {err}", path.display()),
            )),
        };
        for ancestor in self.root.ancestors().skip(1) {
            let Some(meta) = lstat(ancestor)? else {
                continue;
            };
            // A symlinked ancestor's owner is the owner of where it leads (a link's own mode
            // means nothing).
            let symlink = meta.file_type().is_symlink();
            let meta = if symlink {
                fs::metadata(ancestor)?
            } else {
                meta
            };
            if meta.uid() != 0 && meta.uid() != euid {
                return Err(refuse(ancestor, &meta, "is another user's"));
            }
            if !symlink && meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0 {
                return Err(refuse(
                    ancestor,
                    &meta,
                    "is writable by others and not sticky",
                ));
            }
        }
        for dir in self.tree() {
            let Some(meta) = lstat(&dir)? else {
                continue;
            };
            if meta.file_type().is_symlink() {
                return Err(refuse(&dir, &meta, "is a symbolic link"));
            }
            if !meta.is_dir() {
                return Err(refuse(&dir, &meta, "is not a directory"));
            }
            if meta.uid() != euid {
                return Err(refuse(&dir, &meta, "is another user's"));
            }
            if meta.mode() & 0o022 != 0 {
                return Err(refuse(&dir, &meta, "is writable by others"));
            }
        }
        for file in [self.socket(), self.pidfile(), self.supervisor_log()] {
            let Some(meta) = lstat(&file)? else {
                continue;
            };
            if meta.file_type().is_symlink() {
                return Err(refuse(&file, &meta, "is a symbolic link"));
            }
            if meta.uid() != euid {
                return Err(refuse(&file, &meta, "is another user's"));
            }
        }
        Ok(())
    }

    /// Creates the tree (owner-only) if it is missing, after [`StateDir::check`]ing what exists.
    pub fn create(&self) -> io::Result<()> {
        self.check()?;
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for dir in self.tree() {
            builder.create(&dir).map_err(|err| {
                io::Error::new(err.kind(), format!("create {}: {err}", dir.display()))
            })?;
        }
        // An existing root may have been made with a looser mode (group/others could only
        // read it: check() refuses anything writable by them).
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
        self.check()
    }

    /// The directories of the tree: the root and its subdirectories.
    fn tree(&self) -> [PathBuf; 5] {
        [
            self.root.clone(),
            self.services_dir(),
            self.registry_dir(),
            self.run_dir(),
            self.logs_dir(),
        ]
    }

    /// A short name for this state directory (16 hex digits, FNV-1a of its path): what the
    /// names of the things its supervisor makes outside it carry (its cgroups, its sd_notify
    /// socket), so two supervisors never share one and the next one finds them again.
    pub fn id(&self) -> String {
        let hash = svckit_core::hash::fnv1a(self.root.as_os_str().as_encoded_bytes());
        format!("{hash:016x}")
    }

    /// `services/`.
    pub fn services_dir(&self) -> PathBuf {
        self.root.join("services")
    }

    /// `services/NAME.toml`.
    pub fn definition(&self, name: &ServiceName) -> PathBuf {
        self.services_dir().join(format!("{name}.toml"))
    }

    /// `registry/`: the definitions of services other managers run.
    pub fn registry_dir(&self) -> PathBuf {
        self.root.join("registry")
    }

    /// `run/`.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// `run/NAME.json`.
    pub fn record(&self, name: &ServiceName) -> PathBuf {
        self.run_dir().join(format!("{name}.json"))
    }

    /// `logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `logs/NAME.stdout` or `logs/NAME.stderr`.
    pub fn log(&self, name: &ServiceName, stream: Stream) -> PathBuf {
        self.logs_dir().join(format!("{name}.{}", stream.name()))
    }

    /// `supervisor.pid`.
    pub fn pidfile(&self) -> PathBuf {
        self.root.join("supervisor.pid")
    }

    /// `supervisor.sock`.
    pub fn socket(&self) -> PathBuf {
        self.root.join("supervisor.sock")
    }

    /// `supervisor.log`.
    pub fn supervisor_log(&self) -> PathBuf {
        self.root.join("supervisor.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_has_a_short_stable_id_of_its_own() {
        let id = |root: &str| StateDir::new(root).unwrap().id();
        assert_eq!(id("/var/lib/svckit"), id("/var/lib/svckit"));
        assert_ne!(id("/var/lib/svckit"), id("/var/lib/svckit2"));
        assert!(
            id("/var/lib/svckit").len() == 16
                && id("/x").bytes().all(|byte| byte.is_ascii_hexdigit())
        );
    }
}
