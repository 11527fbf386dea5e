//! Management of installed services on Windows, where the Service Control Manager is the one
//! manager and keeps every service's configuration itself.

use std::{path::PathBuf, time::Duration};

use svckit_core::{BackendKind, ServiceName, ServiceSpec};

use crate::{Backend, Error, InstallOptions, InstallReport, Installed, windows::Scm};

/// The services of this machine's Service Control Manager.
#[derive(Debug, Clone, Default)]
pub struct Manager {
    _private: (),
}

impl Manager {
    /// Where `svckit apply` records which file each service it applied came from (for
    /// `--prune`).
    pub fn applied_record(&self) -> PathBuf {
        data_dir().join("applied.toml")
    }

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

    /// The event logs of its services, for `svckit events`: each hosted program's
    /// (`%ProgramData%\svckit\logs\NAME.events.log`, written by its host).
    pub fn event_logs(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(data_dir().join("logs"))
            .into_iter()
            .flatten()
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.ends_with(".events.log"))
            })
            .collect();
        found.sort();
        found
    }

    /// Makes `name` start at boot (`StartType::Auto`: `svckit enable`) or only when asked
    /// (`svckit disable`), in the SCM and in a hosted program's definition. Returns whether it
    /// changed.
    pub fn set_start(
        &self,
        name: &ServiceName,
        start: svckit_core::StartType,
    ) -> Result<bool, Error> {
        let changed = Scm.set_start(name, start)?;
        if let Ok(mut spec) = stored_definition(&data_dir(), name)
            && spec.start != start
        {
            spec.start = start;
            let definition = definition_path(name);
            std::fs::write(&definition, spec.to_toml())
                .map_err(|err| Error::os(format!("write {}", definition.display()), err))?;
        }
        Ok(changed)
    }

    /// Every service svckit installed, hosted or on its service API (its definition in
    /// `%ProgramData%\svckit\registry`), sorted by name.
    pub fn list(&self) -> Result<Vec<(ServiceName, BackendKind)>, Error> {
        let registry = data_dir().join("registry");
        let entries = match std::fs::read_dir(&registry) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Error::os(format!("read {}", registry.display()), err)),
        };
        let mut names: Vec<ServiceName> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                ServiceName::new(name.strip_suffix(".toml")?).ok()
            })
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| (name, BackendKind::Windows))
            .collect())
    }

    /// The definition of `name`, as svckit installed it.
    pub fn definition(&self, name: &ServiceName) -> Result<ServiceSpec, Error> {
        stored_definition(&data_dir(), name)
    }

    /// [`Manager::statuses`]: the SCM's answer is the same for a table.
    pub fn statuses_for_table(&self) -> Result<Vec<crate::Listed>, Error> {
        self.statuses()
    }

    /// The status of every hosted program svckit installed, each as the SCM and its host say.
    pub fn statuses(&self) -> Result<Vec<crate::Listed>, Error> {
        Ok(self
            .list()?
            .into_iter()
            .map(|(name, backend)| crate::Listed {
                // With its start, as Manager::status fills it in.
                status: self.status(&name),
                name,
                backend,
            })
            .collect())
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
        // Over a service svckit installed: what changed (nothing: nothing is done), and
        // whether it runs (it is started again once replaced).
        let old = stored_definition(&data_dir(), &spec.name).ok();
        let changed = old
            .as_ref()
            .map(|old| crate::changed_keys(old, &spec))
            .unwrap_or_default();
        let location = PathBuf::from(format!(
            r"HKLM\SYSTEM\CurrentControlSet\Services\{}",
            spec.name
        ));
        if old.is_some() && changed.is_empty() && Scm.is_installed(&spec.name)? {
            return Ok(InstallReport {
                installed: Installed::Replaced,
                backend: BackendKind::Windows,
                location,
                replaced: None,
                changed,
                restarted: false,
            });
        }
        let was_running = old.is_some()
            && self
                .status(&spec.name)
                .is_ok_and(|status| status.state == svckit_core::State::Running);
        // A program on svckit's service API (`type = notify`: it reports its own state) is
        // the service itself; any other is hosted: svckit.exe is the service and runs it.
        let installed = match spec.service_type {
            svckit_core::ServiceType::Notify => {
                // Its definition is kept too (list, show, edit, apply); the SCM's record is
                // what runs it. A failure to keep it takes the install back.
                let definition = definition_path(&spec.name);
                let installed = Scm.install(&spec)?;
                let written = std::fs::create_dir_all(data_dir().join("registry"))
                    .and_then(|()| std::fs::write(&definition, spec.to_toml()));
                if let Err(err) = written {
                    let _ = Scm.uninstall(&spec.name, Duration::from_secs(30));
                    return Err(Error::os(format!("write {}", definition.display()), err));
                }
                installed
            }
            _ => {
                crate::honour::check(BackendKind::Windows, &spec)?;
                spec.validate()?;
                if !spec.program.is_file() {
                    return Err(Error::ProgramNotFound(spec.program.display().to_string()));
                }
                let definition = definition_path(&spec.name);
                // A new service: none of an old one's status (its restarts, its last exit),
                // and, under a name that was not installed, none of its logs.
                if !definition.is_file() {
                    // As on Unix: NAME.stdout.log, NAME.stderr.log and their rotated `.N` go to
                    // logs\uninstalled\NAME-SECONDS\.
                    let logs = data_dir().join("logs");
                    svckit_core::logfiles::archive(&logs, &spec.name, ".log").map_err(|err| {
                        Error::os(format!("move the old logs of {}", spec.name), err)
                    })?;
                }
                forget_status(&spec.name);
                let written = std::fs::create_dir_all(data_dir().join("registry"))
                    .and_then(|()| std::fs::write(&definition, spec.to_toml()));
                written.map_err(|err| Error::os(format!("write {}", definition.display()), err))?;
                let host = host_spec(&spec)?;
                match Scm.install(&host) {
                    Ok(installed) => installed,
                    Err(err) => {
                        let _ = std::fs::remove_file(&definition);
                        return Err(err);
                    }
                }
            }
        };
        if was_running {
            Scm.start(&spec.name, Some(Duration::from_secs(120)))?;
        }
        Ok(InstallReport {
            installed,
            backend: BackendKind::Windows,
            location,
            replaced: None,
            changed,
            restarted: was_running,
        })
    }

    /// Checks `spec` as [`install`](Manager::install) would, installing nothing: its
    /// settings, what the SCM cannot honour, its program.
    pub fn check(&self, spec: &ServiceSpec) -> Result<(), Error> {
        let mut spec = spec.clone();
        spec.backend = BackendKind::Windows;
        spec.validate()?;
        crate::honour::check(BackendKind::Windows, &spec)?;
        let program = resolve_program(&spec.program)?;
        if spec.service_type != svckit_core::ServiceType::Notify && !program.is_file() {
            return Err(Error::ProgramNotFound(program.display().to_string()));
        }
        Ok(())
    }

    /// What [`install`](Manager::install) would give the SCM for `spec`, in `sc qc`'s words,
    /// and for a hosted program the definition its host reads, without installing anything.
    pub fn render(&self, spec: &ServiceSpec, kind: BackendKind) -> Result<String, Error> {
        if !matches!(kind, BackendKind::Windows | BackendKind::Auto) {
            return Err(Error::NoBackend(format!(
                "the {kind} backend is not available on Windows: render takes --backend windows"
            )));
        }
        use std::fmt::Write as _;
        let mut spec = spec.clone();
        spec.backend = BackendKind::Windows;
        spec.validate()?;
        crate::honour::check(BackendKind::Windows, &spec)?;
        spec.program = resolve_program(&spec.program)?;
        let hosted = spec.service_type != svckit_core::ServiceType::Notify;
        let service = if hosted {
            host_spec(&spec)?
        } else {
            spec.clone()
        };
        let command_line = std::iter::once(service.program.as_os_str())
            .chain(service.args.iter().map(|arg| arg.as_os_str()))
            .map(|word| quote(&word.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let start = match service.start {
            svckit_core::StartType::Auto => "AUTO_START",
            svckit_core::StartType::Delayed => "AUTO_START (DELAYED)",
            svckit_core::StartType::Demand => "DEMAND_START",
            svckit_core::StartType::Disabled => "DISABLED",
        };
        let dependencies: Vec<&str> = service
            .dependencies
            .iter()
            .chain(&service.requires)
            .map(|name| name.as_str())
            .collect();
        let failure_actions = match (hosted, spec.restart.policy) {
            (true, policy) => format!(
                "none (svckit's host restarts the program itself: restart.policy = {policy})"
            ),
            (false, svckit_core::Restart::Never) => "none".to_owned(),
            (false, _) => (1..=3)
                .map(|attempt| {
                    format!(
                        "RESTART after {}",
                        svckit_core::parse::format_duration(spec.restart.backoff(attempt))
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# The SCM's record of {0} (HKLM\\SYSTEM\\CurrentControlSet\\Services\\{0}), as \
             `sc qc` shows it",
            spec.name
        );
        for (field, value) in [
            ("SERVICE_NAME", spec.name.to_string()),
            ("TYPE", "10  WIN32_OWN_PROCESS".to_owned()),
            ("START_TYPE", start.to_owned()),
            ("BINARY_PATH_NAME", command_line),
            ("DEPENDENCIES", dependencies.join(" / ")),
            (
                "DISPLAY_NAME",
                service
                    .display_name
                    .clone()
                    .unwrap_or_else(|| spec.name.to_string()),
            ),
            (
                "SERVICE_START_NAME",
                service
                    .account
                    .clone()
                    .unwrap_or_else(|| "LocalSystem".to_owned()),
            ),
            ("FAILURE_ACTIONS", failure_actions),
        ] {
            let _ = writeln!(out, "{field:<20}: {value}");
        }
        if hosted {
            let _ = write!(
                out,
                "\n# {}: the definition the host reads\n{}",
                definition_path(&spec.name).display(),
                spec.to_toml()
            );
        }
        Ok(out)
    }

    /// Stops `name` (waiting up to `timeout`) and deletes it; returns the backend it had.
    pub fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<BackendKind, Error> {
        Scm.uninstall(name, timeout)?;
        let _ = std::fs::remove_file(definition_path(name));
        forget_status(name);
        Ok(BackendKind::Windows)
    }

    /// Deletes `name` even when it cannot be stopped (see [`Scm::force_uninstall`]): its
    /// process is ended if a stop does not succeed within `timeout`.
    pub fn force_uninstall(
        &self,
        name: &ServiceName,
        timeout: Duration,
    ) -> Result<BackendKind, Error> {
        Scm.force_uninstall(name, timeout)?;
        let _ = std::fs::remove_file(definition_path(name));
        forget_status(name);
        Ok(BackendKind::Windows)
    }
}

/// Removes the host's record of `name` (`run\NAME.status`): a service installed anew, or one
/// uninstalled, has no status of an old one's.
fn forget_status(name: &ServiceName) {
    let _ = std::fs::remove_file(status_path(name));
}

/// The service svckit.exe is for a hosted program: `svckit.exe host NAME --data-dir DIR`,
/// with `spec`'s name, display name, description, start, account and dependencies. The host
/// restarts the program by its policy, so the SCM's failure actions must not restart the host
/// as well: it has none.
fn host_spec(spec: &ServiceSpec) -> Result<ServiceSpec, Error> {
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
    host.restart = svckit_core::RestartPolicy::default();
    host.stop = spec.stop;
    host.backend = BackendKind::Windows;
    Ok(host)
}

/// One word of a Windows command line, quoted as CommandLineToArgvW (and the windows-service
/// crate, which writes the SCM's command line) reads it back: as it is unless empty or with
/// blanks or quotes; else in quotes, with the backslashes before a quote doubled.
fn quote(word: &str) -> String {
    if !word.is_empty() && !word.contains([' ', '\t', '\n', '\x0b', '"']) {
        return word.to_owned();
    }
    let mut out = String::from('"');
    let mut backslashes = 0;
    for c in word.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', 2 * backslashes + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', 2 * backslashes));
    out.push('"');
    out
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

/// Where the host of the hosted service `name` keeps its record of the program:
/// `%ProgramData%\svckit\run\NAME.status`.
pub fn status_path(name: &ServiceName) -> PathBuf {
    data_dir().join("run").join(format!("{name}.status"))
}

/// The definition of the service `name` svckit installed (hosted or on svckit's service API),
/// as kept under `data` (svckit's directory).
pub fn stored_definition(data: &std::path::Path, name: &ServiceName) -> Result<ServiceSpec, Error> {
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

/// The definition of `name` when svckit.exe hosts it (any type but `notify`, whose program is
/// the service itself, on svckit's service API).
pub fn hosted_definition(data: &std::path::Path, name: &ServiceName) -> Result<ServiceSpec, Error> {
    let spec = stored_definition(data, name)?;
    if spec.service_type == svckit_core::ServiceType::Notify {
        return Err(Error::Unsupported {
            backend: "windows",
            setting: "hosting",
            reason: format!(
                "{name} is on svckit's service API (type notify): its program is the service, \
                 not hosted by svckit.exe"
            ),
        });
    }
    Ok(spec)
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
