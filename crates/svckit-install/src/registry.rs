//! The registry: which manager runs each installed service. The supervisor's own services are
//! its definitions (`STATE/services/NAME.toml`, read by the supervisor); a service installed
//! into systemd or SysV init has its definition in `STATE/registry/NAME.toml`, with its
//! `backend` key, which the supervisor never reads. A name is in one or the other.

use std::{fs, io, path::PathBuf};

use svckit_core::{BackendKind, ServiceName, ServiceSpec};
use svckit_supervise::{StateDir, store};

use crate::Error;

/// The registry of one state directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: StateDir,
}

impl Registry {
    /// The registry kept in `dir`.
    pub fn new(dir: StateDir) -> Registry {
        Registry { dir }
    }

    /// Its state directory.
    pub fn dir(&self) -> &StateDir {
        &self.dir
    }

    fn path(&self, name: &ServiceName) -> PathBuf {
        self.dir.registry_dir().join(format!("{name}.toml"))
    }

    /// The manager of `name`: the backend its registry entry names, or the builtin
    /// supervisor when the supervisor has a definition of it (even one it cannot read: the
    /// supervisor then says why). [`Error::NotInstalled`] when neither has it.
    pub fn owner(&self, name: &ServiceName) -> Result<BackendKind, Error> {
        self.move_misplaced(name);
        let entry = self.path(name);
        if fs::symlink_metadata(&entry).is_ok() {
            return Ok(store::load_file(&entry, name)?.backend);
        }
        if fs::symlink_metadata(self.dir.definition(name)).is_ok() {
            return Ok(BackendKind::Builtin);
        }
        Err(Error::NotInstalled(name.clone()))
    }

    /// `name`'s definition, whichever manager runs it.
    pub fn definition(&self, name: &ServiceName) -> Result<ServiceSpec, Error> {
        self.move_misplaced(name);
        match store::load_file(&self.path(name), name) {
            Err(svckit_supervise::Error::NotInstalled(_)) => Ok(store::load(&self.dir, name)?),
            other => Ok(other?),
        }
    }

    /// Every installed service with its manager, sorted by name.
    pub fn names(&self) -> Result<Vec<(ServiceName, BackendKind)>, Error> {
        let mut all = Vec::new();
        let mut builtin = store::names(&self.dir)?;
        // A state directory from before the registry kept every definition in services/: they
        // are moved once, and a stamp in the registry says so (reading every definition at
        // each listing was most of `status`'s time for 100 services).
        let stamp = self.dir.registry_dir().join(".moved");
        if !builtin.is_empty() && fs::symlink_metadata(&stamp).is_err() {
            for name in &builtin {
                self.move_misplaced(name);
            }
            let _ = svckit_unix::files::write_atomic(&stamp, b"", 0o600);
            // What moved is no longer the supervisor's.
            builtin = store::names(&self.dir)?;
        }
        // Listed from the directory itself: no stat of each (10,000 at 10,000 services).
        all.extend(builtin.into_iter().map(|name| (name, BackendKind::Builtin)));
        for name in store::names_in(&self.dir.registry_dir())? {
            let backend = store::load_file(&self.path(&name), &name)
                .map_or(BackendKind::Auto, |spec| spec.backend);
            all.push((name, backend));
        }
        all.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(all)
    }

    /// Records `spec` (installed into another manager than the supervisor) as its entry.
    pub fn record(&self, spec: &ServiceSpec) -> Result<(), Error> {
        spec.validate()?;
        self.dir
            .create()
            .map_err(svckit_supervise::Error::state_dir)?;
        let path = self.path(&spec.name);
        svckit_unix::files::write_atomic(&path, spec.to_toml().as_bytes(), 0o600)
            .map_err(|err| Error::os(format!("write {}", path.display()), err))
    }

    /// Removes `name`'s entry (absent already is fine) and the supervisor's definition of it.
    pub fn forget(&self, name: &ServiceName) -> Result<(), Error> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::os(format!("remove {}", path.display()), err)),
        }
        match store::remove(&self.dir, name) {
            Ok(()) | Err(svckit_supervise::Error::NotInstalled(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Moves a definition of another manager's service out of the supervisor's `services/`
    /// (where svckit 0.1 kept every definition) into the registry.
    fn move_misplaced(&self, name: &ServiceName) {
        if let Ok(spec) = store::load(&self.dir, name)
            && !spec.backend.is_builtin()
            && fs::symlink_metadata(self.path(name)).is_err()
            && self.record(&spec).is_ok()
        {
            let _ = fs::remove_file(self.dir.definition(name));
        }
    }
}
