//! Management of installed services, whichever manager runs them: the one place that
//! resolves a backend (`auto`, or the one a service was installed with), installs over another
//! backend's service, takes a failed install back, and gathers status and logs.

use std::{
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use svckit_core::{BackendKind, ModelError, ServiceName, ServiceSpec};
use svckit_supervise::{
    StateDir,
    client::{self, Launch},
    protocol::Op,
};

use crate::{
    Backend, Error, InstallOptions, InstallReport, Listed, Status,
    builtin::{self, Builtin},
    detect::{Host, detect_kind},
    honour,
    registry::Registry,
    systemd::{self, Systemd},
    sysv::{self, Sysv},
};

/// How long an uninstall (or a replacement) waits for the service to stop.
const STOP_WAIT: Duration = Duration::from_secs(120);

/// The services of one state directory, whichever manager runs them.
#[derive(Debug, Clone)]
pub struct Manager {
    registry: Registry,
    svckit: Option<PathBuf>,
}

impl Manager {
    /// The services recorded in `dir`.
    pub fn new(dir: StateDir) -> Manager {
        Manager {
            registry: Registry::new(dir),
            svckit: None,
        }
    }

    /// The `svckit` executable: what SysV init scripts run, and what starts a supervisor
    /// when none answers (without one, the supervisor must be running).
    pub fn with_svckit(mut self, svckit: impl Into<PathBuf>) -> Manager {
        self.svckit = Some(svckit.into());
        self
    }

    /// The state directory.
    pub fn dir(&self) -> &StateDir {
        self.registry.dir()
    }

    /// Where `svckit apply` records which file each service it applied came from (for
    /// `--prune`).
    pub fn applied_record(&self) -> PathBuf {
        self.dir().root().join("applied.toml")
    }

    /// The event logs of its services, for `svckit events`: the supervisor's one log (the
    /// other managers keep their own: journalctl, syslog).
    pub fn event_logs(&self) -> Vec<PathBuf> {
        vec![svckit_supervise::events::path(self.dir())]
    }

    /// The registry of which manager runs which service.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The builtin supervisor of this state directory, started when none runs: by the
    /// `svckit` executable when one was given; else, from a program with threads (any tokio
    /// main), by the `svckit` in PATH, as a fresh process (a threaded process is not forked);
    /// else by forking this single-threaded process.
    pub fn builtin(&self) -> Builtin {
        let launch = match &self.svckit {
            Some(svckit) => Launch::Exec(svckit.clone()),
            None if svckit_unix::process::threads().is_some_and(|threads| threads > 1) => {
                let path = std::env::var_os("PATH").unwrap_or_default();
                match svckit_unix::process::find_program("svckit".as_ref(), &path, Path::new("/")) {
                    Ok(svckit) => Launch::Exec(svckit),
                    // Forking refuses, saying why (and what to do: Launch's error).
                    Err(_) => Launch::Fork,
                }
            }
            None => Launch::Fork,
        };
        Builtin::new(self.dir().clone(), launch)
    }

    fn svckit(&self) -> Result<&Path, Error> {
        self.svckit.as_deref().ok_or_else(|| {
            Error::NoBackend("init scripts need the svckit executable, and none was given".into())
        })
    }

    /// The backend of `kind` (systemd, sysv or builtin; `auto` as [`detect_kind`] resolves
    /// it), under `root` when given (systemd and sysv only).
    pub fn backend(
        &self,
        kind: BackendKind,
        root: Option<&Path>,
    ) -> Result<Box<dyn Backend>, Error> {
        let kind = match kind {
            BackendKind::Auto => detect_kind(&Host::current()),
            kind => kind,
        };
        Ok(match (kind, root) {
            (BackendKind::Systemd, Some(root)) => {
                Box::new(Systemd::at_root(root).with_svckit(self.svckit.clone()))
            }
            (BackendKind::Systemd, None) => {
                Box::new(Systemd::running()?.with_svckit(self.svckit.clone()))
            }
            (BackendKind::Sysv, root) => {
                Box::new(Sysv::new(root.unwrap_or(Path::new("/")), self.svckit()?))
            }
            (BackendKind::Builtin, None) => Box::new(self.builtin()),
            (kind, Some(_)) if kind != BackendKind::Windows => return Err(no_root(kind)),
            (kind, _) => {
                return Err(Error::NoBackend(format!(
                    "the {kind} backend is not available on this host"
                )));
            }
        })
    }

    /// The manager of the state directory `SVCKIT_STATE_DIR` names, else root's
    /// `/var/lib/svckit`, else the user's (see [`StateDir::default_location`]).
    pub fn local() -> Result<Manager, Error> {
        let dir = StateDir::default_location()
            .map_err(|err| Error::os("find the state directory", err))?;
        dir.check().map_err(svckit_supervise::Error::state_dir)?;
        Ok(Manager::new(dir))
    }

    /// The backend that runs the installed service `name`.
    pub fn backend_of(&self, name: &ServiceName) -> Result<Box<dyn Backend>, Error> {
        self.backend(self.registry.owner(name)?, None)
    }

    /// Refuses `spec` if its dependencies, followed through the installed definitions, lead
    /// back to it: no manager can start such services (the error names the cycle).
    fn refuse_a_cycle(&self, spec: &ServiceSpec) -> Result<(), Error> {
        let dependencies_of = |name: &ServiceName| -> Vec<ServiceName> {
            if *name == spec.name {
                spec.ordered_after().cloned().collect()
            } else {
                self.definition(name)
                    .map(|installed| installed.ordered_after().cloned().collect())
                    .unwrap_or_default()
            }
        };
        // Depth first from the new service, each name visited once.
        let mut path = vec![spec.name.clone()];
        let mut next = vec![dependencies_of(&spec.name)];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(pending) = next.last_mut() {
            let Some(name) = pending.pop() else {
                next.pop();
                path.pop();
                continue;
            };
            // Back to it, or to one it says it starts before.
            if name == spec.name || spec.before.contains(&name) {
                if name != spec.name {
                    path.push(name);
                }
                path.push(spec.name.clone());
                let cycle: Vec<&str> = path.iter().map(ServiceName::as_str).collect();
                return Err(ModelError::InvalidField {
                    field: "dependencies",
                    reason: format!("form a cycle: {}", cycle.join(" → ")),
                }
                .into());
            }
            if seen.insert(name.clone()) {
                next.push(dependencies_of(&name));
                path.push(name);
            }
        }
        Ok(())
    }

    /// `name`'s definition.
    pub fn definition(&self, name: &ServiceName) -> Result<ServiceSpec, Error> {
        self.registry.definition(name)
    }

    /// Every installed service with its backend, sorted by name.
    pub fn list(&self) -> Result<Vec<(ServiceName, BackendKind)>, Error> {
        self.registry.names()
    }

    /// Installs `spec` with its backend (`auto`: the one this host runs). On this host the
    /// program is looked up in PATH and must be executable, and the user, group and working
    /// directory must exist, so nothing fails only at the first start; under `root` the
    /// program must be an absolute path. A service of that name with another backend is
    /// uninstalled first (with `force`); a failure to record the new one takes it away again.
    pub fn install(
        &self,
        mut spec: ServiceSpec,
        options: &InstallOptions,
    ) -> Result<InstallReport, Error> {
        let root = options.root.as_deref();
        self.prepare(&mut spec, root)?;
        let backend = self.backend(spec.backend, root)?;
        let replaced = match self.registry.owner(&spec.name) {
            Ok(old) if old != spec.backend => {
                if !options.force {
                    return Err(Error::AlreadyInstalled {
                        what: format!("service {} (with the {old} backend)", spec.name),
                    });
                }
                // Under another root, a service of this host stays where it is.
                if old.is_builtin() || root.is_none() {
                    self.take_away(&spec.name, STOP_WAIT)?;
                    Some(old)
                } else {
                    None
                }
            }
            _ => None,
        };
        if !options.force && backend.is_installed(&spec.name)? {
            let what = match spec.backend {
                BackendKind::Builtin => format!("service {}", spec.name),
                _ => self.location(&spec, root)?.display().to_string(),
            };
            return Err(Error::AlreadyInstalled { what });
        }
        // Replacing the supervisor's definition of a service: what changed decides whether a
        // running service is restarted (a key that shapes its process), told (the others), or
        // left alone (nothing changed).
        let before = match spec.backend {
            BackendKind::Builtin => svckit_supervise::store::load(self.dir(), &spec.name).ok(),
            _ => None,
        };
        let installed = backend.install(&spec)?;
        if !spec.backend.is_builtin()
            && let Err(err) = self.registry.record(&spec)
        {
            let _ = backend.uninstall(&spec.name, Duration::from_secs(30));
            return Err(err);
        }
        let changed = before
            .as_ref()
            .map(|old| crate::changed_keys(old, &spec))
            .unwrap_or_default();
        let mut restarted = false;
        if before.is_some() && !changed.is_empty() {
            let running = backend
                .status(&spec.name)
                .is_ok_and(|status| status.state != svckit_core::State::Stopped);
            if running && changed.iter().any(|key| crate::shapes_the_process(key)) {
                backend.restart(&spec.name, STOP_WAIT)?;
                restarted = true;
            } else if running {
                // Its new policies (restart, stop, logs) apply at once.
                backend.start(&spec.name, None)?;
            }
        }
        Ok(InstallReport {
            installed,
            backend: spec.backend,
            location: self.location(&spec, root)?,
            replaced,
            changed,
            restarted,
        })
    }

    /// What [`install`](Manager::install) would refuse of `spec` on this host, checked without
    /// changing anything: its keys, its backend (`auto`: this host's), its program (found and
    /// executable), user, group and directory, a dependency cycle, and every key its backend
    /// cannot honour. `svckit apply` checks every definition first, so one bad file installs
    /// none.
    pub fn check(&self, spec: &ServiceSpec) -> Result<(), Error> {
        spec.validate()?;
        let mut spec = spec.clone();
        self.prepare(&mut spec, None)?;
        match spec.backend {
            BackendKind::Builtin | BackendKind::Systemd | BackendKind::Sysv => {
                crate::honour::check(spec.backend, &spec)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// What install does before it writes anything: `auto` resolved to this host's backend
    /// (refused under `root`), `--root`'s rules, or on this host the program looked up in PATH
    /// and its user, group and directory checked; then a dependency cycle refused.
    fn prepare(&self, spec: &mut ServiceSpec, root: Option<&Path>) -> Result<(), Error> {
        if spec.backend == BackendKind::Auto {
            spec.backend = match root {
                Some(_) => {
                    return Err(unsupported(
                        BackendKind::Auto,
                        "--root",
                        "say which init system the image has: --backend systemd or sysv",
                    ));
                }
                None => detect_kind(&Host::current()),
            };
        }
        match root {
            Some(_) if !matches!(spec.backend, BackendKind::Systemd | BackendKind::Sysv) => {
                return Err(no_root(spec.backend));
            }
            Some(_) if !spec.program.is_absolute() => {
                return Err(ModelError::InvalidField {
                    field: "program",
                    reason: format!(
                        "with --root, it must be an absolute path (where the image has it), not {}",
                        spec.program.display()
                    ),
                }
                .into());
            }
            Some(_) => {}
            None => {
                check_on_this_host(spec)?;
                spec.program = resolve_program(&spec.program)?;
            }
        }
        self.refuse_a_cycle(spec)?;
        Ok(())
    }

    /// Where `spec`'s definition, unit or script is (under `root`).
    fn location(&self, spec: &ServiceSpec, root: Option<&Path>) -> Result<PathBuf, Error> {
        let root_or_slash = root.unwrap_or(Path::new("/"));
        Ok(match spec.backend {
            BackendKind::Systemd => match root {
                Some(root) => Systemd::at_root(root).unit_path(&spec.name)?,
                None => Systemd::running()?.unit_path(&spec.name)?,
            }
            .with_file_name(systemd::service_file_name(spec)),
            BackendKind::Sysv if !spec.listen.is_empty() => {
                crate::xinetd::entry_path(root_or_slash, &spec.name)
            }
            BackendKind::Sysv => sysv::script_path(root_or_slash, &spec.name),
            _ => self.dir().definition(&spec.name),
        })
    }

    /// Stops `name` (waiting up to `timeout`) and removes it from its manager and the
    /// registry (its logs stay); returns the backend it had.
    pub fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<BackendKind, Error> {
        let owner = self.registry.owner(name).or_else(|err| match err {
            // A registry entry that cannot be read: the supervisor's backend takes it away.
            Error::Supervisor(_) => Ok(BackendKind::Builtin),
            err => Err(err),
        })?;
        self.take_away(name, timeout)?;
        Ok(owner)
    }

    /// [`uninstall`](Manager::uninstall): on Unix a stop always ends a service's processes
    /// (SIGKILL after its stop timeout), so there is nothing more to force.
    pub fn force_uninstall(
        &self,
        name: &ServiceName,
        timeout: Duration,
    ) -> Result<BackendKind, Error> {
        self.uninstall(name, timeout)
    }

    /// Uninstalls `name` through its backend (already gone there is fine), then forgets it.
    fn take_away(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error> {
        let backend = match self.backend_of(name) {
            Ok(backend) => backend,
            Err(Error::Supervisor(_)) => self.backend(BackendKind::Builtin, None)?,
            Err(err) => return Err(err),
        };
        match backend.uninstall(name, timeout) {
            Ok(()) | Err(Error::NotInstalled(_)) => {}
            Err(err) => return Err(err),
        }
        self.registry.forget(name)
    }

    /// The pid of the supervisor of this state directory, when one runs (it answers on its
    /// socket; the pid is the one its locked PID file names).
    pub fn supervisor(&self) -> Option<svckit_core::Pid> {
        if !client::is_running(self.dir()) {
            return None;
        }
        let text = std::fs::read_to_string(self.dir().pidfile()).ok()?;
        text.trim().parse::<svckit_core::Pid>().ok()
    }

    /// Stops the supervisor of this state directory: its services stop first (in reverse
    /// dependency order), then it exits; returns once it is gone, with the services it
    /// stopped. False when none ran.
    pub fn stop_supervisor(&self, timeout: Duration) -> Result<Option<Vec<Status>>, Error> {
        let Some(pid) = self.supervisor() else {
            return Ok(None);
        };
        // What runs now is what the shutdown stops.
        let all = Op::Status {
            name: None,
            brief: true,
        };
        let running: Vec<Status> =
            client::request(self.dir(), all, Duration::from_secs(30), &Launch::Never)
                .unwrap_or_default()
                .into_iter()
                .map(builtin::status_of)
                .filter(|status| status.state != svckit_core::State::Stopped)
                .collect();
        match client::request(self.dir(), Op::Shutdown, timeout, &Launch::Never) {
            Ok(_) => {}
            // It exited before answering: gone is what was asked.
            Err(_) if !client::is_running(self.dir()) => {}
            Err(err) => return Err(err.into()),
        }
        let deadline = std::time::Instant::now() + timeout;
        while !svckit_unix::process::is_gone(pid) {
            if std::time::Instant::now() >= deadline {
                return Err(Error::Os {
                    operation: format!("the supervisor (pid {pid}) did not exit"),
                    source: "timed out".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Some(running))
    }

    /// The status of every installed service: the supervisor's in one request (a supervisor
    /// that does not run is not started to answer: its services are stopped, and say why),
    /// the others' from their managers.
    pub fn statuses(&self) -> Result<Vec<Listed>, Error> {
        self.listed(false)
    }

    /// [`Manager::statuses`] with only what a table of them shows from the supervisor: no
    /// command lines, cgroups, processes, probes, reasons or notices (a status of 100
    /// services is about half the bytes to encode and read).
    pub fn statuses_for_table(&self) -> Result<Vec<Listed>, Error> {
        self.listed(true)
    }

    fn listed(&self, brief: bool) -> Result<Vec<Listed>, Error> {
        let names = self.list()?;
        // Sized once: grown by pushes, the list was copied at each doubling (9 of a status of
        // 100's 185 page faults).
        let mut listed = Vec::with_capacity(names.len());
        let answered = client::request_if_running(
            self.dir(),
            Op::Status { name: None, brief },
            Duration::from_secs(30),
        )?;
        let running = answered.is_some();
        if let Some(all) = answered {
            for service in all {
                let status = builtin::status_of(service);
                listed.push(Listed {
                    name: status.name.clone(),
                    backend: BackendKind::Builtin,
                    status: Ok(status),
                });
            }
        }
        // (A set: a scan of the list per name was 10⁸ comparisons at 10,000 services.)
        let answered: std::collections::HashSet<ServiceName> =
            listed.iter().map(|one| one.name.clone()).collect();
        for (name, backend) in names {
            if answered.contains(&name) {
                continue;
            }
            if backend.is_builtin() {
                let status = match running {
                    true => Status::new(
                        name.clone(),
                        BackendKind::Builtin,
                        svckit_core::State::Stopped,
                    ),
                    false => builtin::not_running(self.dir(), &name),
                };
                listed.push(Listed {
                    status: Ok(status),
                    name,
                    backend,
                });
                continue;
            }
            let status = self.backend(backend, None).and_then(|b| b.status(&name));
            listed.push(Listed {
                name,
                backend,
                status,
            });
        }
        for one in &mut listed {
            if let Ok(status) = &mut one.status {
                self.with_start(status);
            }
        }
        Ok(listed)
    }

    /// What installing `spec` with `kind` would write: a unit file, an init script, or the
    /// supervisor's definition.
    pub fn render(&self, spec: &ServiceSpec, kind: BackendKind) -> Result<String, Error> {
        Ok(match kind {
            BackendKind::Systemd => {
                systemd::render_with(spec, systemd::Scope::System, self.svckit.as_deref())?
            }
            BackendKind::Sysv => sysv::render(spec, self.svckit()?)?,
            BackendKind::Builtin => {
                honour::check(BackendKind::Builtin, spec)?;
                let mut spec = spec.clone();
                spec.backend = BackendKind::Builtin;
                spec.to_toml()
            }
            other => {
                return Err(unsupported(
                    other,
                    "render",
                    "render takes --backend systemd, sysv or builtin",
                ));
            }
        })
    }
}

/// The state directory of an image being built under `root`: `ROOT/var/lib/svckit`.
pub fn image_state_dir(root: &Path) -> io::Result<StateDir> {
    StateDir::new(root.join("var/lib/svckit"))
}

/// `--root` with a backend that has no files to write into an image.
fn no_root(backend: BackendKind) -> Error {
    unsupported(
        backend,
        "--root",
        "only systemd units and init scripts are installed into another root",
    )
}

fn unsupported(backend: BackendKind, setting: &'static str, reason: &str) -> Error {
    Error::Unsupported {
        backend: backend.name(),
        setting,
        reason: reason.to_owned(),
    }
}

/// What would only fail at the first start, refused at install: an unknown user or group, a
/// working directory that is not one (it used to be blamed on the program: "cannot start
/// /usr/bin/sleep: spawn: No such file or directory").
fn check_on_this_host(spec: &ServiceSpec) -> Result<(), Error> {
    svckit_unix::privileges::Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())?;
    if let Some((key, why)) = svckit_unix::spawn::limits_refused(&spec.limits) {
        return Err(ModelError::InvalidField {
            field: "limits",
            reason: format!("{key}: {why}"),
        }
        .into());
    }
    if let Some(dir) = &spec.working_dir
        && !dir.is_dir()
    {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(ModelError::InvalidField {
            field: "working_dir (--chdir)",
            reason: format!("{} {why}", dir.display()),
        }
        .into());
    }
    Ok(())
}

/// The program as an absolute path (looked up in PATH when it has no `/`), checked to be an
/// executable file now rather than at the first start: the lookup `daemonize` makes too.
fn resolve_program(program: &Path) -> Result<PathBuf, Error> {
    let search =
        std::env::var_os("PATH").unwrap_or_else(|| svckit_unix::environment::DEFAULT_PATH.into());
    let cwd = std::env::current_dir().map_err(|err| Error::os("getcwd", err))?;
    let found = svckit_unix::process::find_program(program.as_os_str(), &search, &cwd).map_err(
        |reason| svckit_supervise::Error::ProgramNotFound {
            path: program.to_owned(),
            reason: reason.to_owned(),
        },
    )?;
    std::path::absolute(found).map_err(|err| Error::os("resolve the program's path", err))
}
