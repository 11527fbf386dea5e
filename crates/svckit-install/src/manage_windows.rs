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
        spec.program = resolve_program(&spec.program)?;
        // A program on svckit's service API (`type = notify`: it reports its own state) is
        // the service itself; any other is hosted: svckit.exe is the service and runs it.
        let installed = match spec.service_type {
            svckit_core::ServiceType::Notify => Scm.install(&spec)?,
            _ => {
                crate::honour::check(BackendKind::Windows, &spec)?;
                spec.validate()?;
                if !spec.program.is_file() {
                    return Err(Error::ProgramNotFound(spec.program.display().to_string()));
                }
                let definition = definition_path(&spec.name);
                let written = std::fs::create_dir_all(data_dir().join("registry"))
                    .and_then(|()| std::fs::write(&definition, spec.to_toml()));
                written.map_err(|err| Error::os(format!("write {}", definition.display()), err))?;
                let mut host = ServiceSpec::new(
                    spec.name.clone(),
                    std::env::current_exe().map_err(|err| Error::os("find svckit.exe", err))?,
                );
                host.args = vec![
                    "host".into(),
                    spec.name.to_string().into(),
                    "--data-dir".into(),
                    data_dir().into_os_string(),
                ];
                host.display_name.clone_from(&spec.display_name);
                host.description.clone_from(&spec.description);
                host.start = spec.start;
                host.account.clone_from(&spec.account);
                host.password.clone_from(&spec.password);
                host.dependencies.clone_from(&spec.dependencies);
                host.requires.clone_from(&spec.requires);
                // The host restarts the program by its policy: the SCM's failure actions
                // must not restart the host as well.
                host.restart = svckit_core::RestartPolicy::default();
                host.stop = spec.stop;
                host.backend = BackendKind::Windows;
                match Scm.install(&host) {
                    Ok(installed) => installed,
                    Err(err) => {
                        let _ = std::fs::remove_file(&definition);
                        return Err(err);
                    }
                }
            }
        };
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
        let _ = std::fs::remove_file(definition_path(name));
        Ok(BackendKind::Windows)
    }
}

/// Where svckit keeps what it knows on this machine: `%ProgramData%\svckit`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("svckit")
}

/// Where the definition of a hosted service is: `%ProgramData%\svckit\registry\NAME.toml`.
pub fn definition_path(name: &ServiceName) -> PathBuf {
    data_dir().join("registry").join(format!("{name}.toml"))
}

/// The definition of the hosted service `name`, as installed under `data` (svckit's
/// directory).
pub fn hosted_definition(data: &std::path::Path, name: &ServiceName) -> Result<ServiceSpec, Error> {
    let path = data.join("registry").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => Error::NotInstalled(name.clone()),
        _ => Error::os(format!("read {}", path.display()), err),
    })?;
    ServiceSpec::from_toml(&text, Some(name.as_str())).map_err(|err| {
        Error::Invalid(svckit_core::ModelError::InvalidField {
            field: "definition",
            reason: err.in_file(path.display()).to_string(),
        })
    })
}

/// The program as the SCM will start it: absolute against the current directory, or, for a
/// bare name (`cmd.exe`), found in PATH as CreateProcess would.
fn resolve_program(program: &std::path::Path) -> Result<PathBuf, Error> {
    if program.is_absolute() {
        return Ok(program.to_owned());
    }
    let bare = program.components().count() == 1;
    if bare && let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            for candidate in [dir.join(program), dir.join(program).with_extension("exe")] {
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
    }
    let cwd = std::env::current_dir().map_err(|err| Error::os("getcwd", err))?;
    Ok(cwd.join(program))
}
