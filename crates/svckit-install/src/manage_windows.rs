//! Management of installed services on Windows, where the Service Control Manager is the one
//! manager and keeps every service's configuration itself.

use std::{path::PathBuf, time::Duration};

use svckit_core::{BackendKind, ServiceName, ServiceSpec};

use crate::{Backend, Error, InstallOptions, InstallReport, windows::Scm};

/// The services of this machine's Service Control Manager.
#[derive(Debug, Clone, Default)]
pub struct Manager {
    _private: (),
}

impl Manager {
    /// The SCM of this machine.
    pub fn local() -> Result<Manager, Error> {
        Ok(Manager::default())
    }

    /// The backend of `kind`: the SCM for `auto` and `windows`.
    pub fn backend(
        &self,
        kind: BackendKind,
        _root: Option<&std::path::Path>,
    ) -> Result<Box<dyn Backend>, Error> {
        match kind {
            BackendKind::Auto | BackendKind::Windows => Ok(Box::new(Scm)),
            kind => Err(Error::NoBackend(format!(
                "the {kind} backend is not available on Windows"
            ))),
        }
    }

    /// The backend that runs the installed service `name`: the SCM.
    pub fn backend_of(&self, _name: &ServiceName) -> Result<Box<dyn Backend>, Error> {
        Ok(Box::new(Scm))
    }

    /// Installs `spec` into the SCM (`backend` auto or windows), the program made absolute
    /// against the current directory (the SCM starts it from its own). Over an existing
    /// service of that name: stopped, deleted and created anew.
    pub fn install(
        &self,
        mut spec: ServiceSpec,
        options: &InstallOptions,
    ) -> Result<InstallReport, Error> {
        if !matches!(spec.backend, BackendKind::Auto | BackendKind::Windows) {
            return Err(Error::NoBackend(format!(
                "the {} backend is not available on Windows",
                spec.backend
            )));
        }
        if options.root.is_some() {
            return Err(Error::Unsupported {
                backend: "windows",
                setting: "--root",
                reason: "only systemd units and init scripts are installed into another root"
                    .into(),
            });
        }
        spec.backend = BackendKind::Windows;
        if !spec.program.is_absolute() {
            let cwd = std::env::current_dir().map_err(|err| Error::os("getcwd", err))?;
            spec.program = cwd.join(&spec.program);
        }
        let installed = Scm.install(&spec)?;
        Ok(InstallReport {
            installed,
            backend: BackendKind::Windows,
            location: PathBuf::from(format!(
                r"HKLM\SYSTEM\CurrentControlSet\Services\{}",
                spec.name
            )),
            replaced: None,
        })
    }

    /// Stops `name` (waiting up to `timeout`) and deletes it; returns the backend it had.
    pub fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<BackendKind, Error> {
        Scm.uninstall(name, timeout)?;
        Ok(BackendKind::Windows)
    }
}
