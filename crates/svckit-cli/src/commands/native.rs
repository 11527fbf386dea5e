//! Services installed into the host's init system (systemd units, SysV init scripts) rather
//! than the supervisor. Their definitions sit in the same state directory, with a `backend`
//! key, so every command finds them by name and hands them to their backend.

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use svckit::{BackendKind, ServiceName, ServiceSpec};
use svckit_install::{
    Backend, Installed, LastExit, Status,
    systemd::{self, Systemd},
    sysv::{self, Sysv},
};
use svckit_supervise::{StateDir, state::ExitInfo, store};

use super::supervised::short_duration;

use crate::exit::{Exit, Failure};

/// The backend object for `kind` (systemd or sysv), under `root` when given.
pub fn backend(kind: BackendKind, root: Option<&Path>) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match kind {
        BackendKind::Systemd => match root {
            Some(root) => Box::new(Systemd::at_root(root)),
            None => Box::new(Systemd::running()?),
        },
        BackendKind::Sysv => Box::new(Sysv::new(root.unwrap_or(Path::new("/")), svckit_binary()?)),
        other => {
            return Err(Failure::new(
                Exit::Usage,
                format!("the {other} backend is not available here"),
            )
            .into());
        }
    })
}

/// The running svckit binary, by its absolute path (baked into init scripts).
pub fn svckit_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find the svckit executable")?;
    Ok(exe.canonicalize().unwrap_or(exe))
}

/// `name`'s definition when it is installed with a backend other than the supervisor.
pub fn lookup(dir: &StateDir, name: &ServiceName) -> Option<ServiceSpec> {
    store::load(dir, name)
        .ok()
        .filter(|spec| !spec.backend.is_builtin())
}

/// Installs `spec` (its `backend` already resolved to systemd or sysv) and records its
/// definition; a failure to record takes the installed unit or script away again.
pub fn install(
    dir: &StateDir,
    spec: &ServiceSpec,
    root: Option<&Path>,
    force: bool,
) -> anyhow::Result<()> {
    let backend = backend(spec.backend, root)?;
    if !force && backend.is_installed(&spec.name)? {
        let what = match spec.backend {
            BackendKind::Systemd => format!("systemd unit {}", systemd::unit_name(&spec.name)),
            _ => format!(
                "init script {}",
                sysv::script_path(root.unwrap_or(Path::new("/")), &spec.name).display()
            ),
        };
        return Err(svckit_install::Error::AlreadyInstalled { what }.into());
    }
    let installed = backend.install(spec)?;
    dir.create()
        .with_context(|| format!("create {}", dir.root().display()))?;
    if let Err(err) = store::save(dir, spec, true) {
        let _ = backend.uninstall(&spec.name, Duration::from_secs(30));
        return Err(err.into());
    }
    outln!(
        "{} {} ({}{})",
        match installed {
            Installed::Created => "installed",
            Installed::Replaced => "reinstalled",
        },
        spec.name,
        spec.backend,
        root.map(|root| format!(" under {}", root.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// What a management command asks of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
    /// `pause`.
    Pause,
    /// `continue`.
    Continue,
    /// `reload`.
    Reload,
}

impl Action {
    /// What is printed once it is done.
    pub fn done(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Stop => "stopped",
            Action::Restart => "restarted",
            Action::Pause => "paused",
            Action::Continue => "continued",
            Action::Reload => "asked to reload",
        }
    }
}

/// The status of a natively installed service.
pub fn status(spec: &ServiceSpec) -> anyhow::Result<Status> {
    Ok(backend(spec.backend, None)?.status(&spec.name)?)
}

/// One service's status as JSON (the supervisor's keys where they apply; null where the
/// backend does not know).
pub fn json(spec: &ServiceSpec, status: &Status) -> serde_json::Value {
    serde_json::json!({
        "name": spec.name.to_string(),
        "backend": spec.backend.name(),
        "state": status.state_name(),
        "pid": status.pid,
        "uptime_ms": status.uptime.map(|uptime| uptime.as_millis() as u64),
        "restarts": status.restarts,
        "last_exit": last_exit(status),
    })
}

/// How the main process last ended, in the supervisor's terms (same JSON, same wording).
pub fn last_exit(status: &Status) -> Option<ExitInfo> {
    status.last_exit.map(|exit| match exit {
        LastExit::Code(code) => ExitInfo::Code(code),
        LastExit::Signal(signal) => ExitInfo::Signal(signal),
    })
}

fn uptime(status: &Status) -> Option<String> {
    status
        .uptime
        .map(|uptime| short_duration(uptime.as_millis() as u64))
}

/// The status table's UPTIME, RESTARTS and LAST EXIT cells ("-" where unknown).
pub fn table_cells(status: &Status) -> (String, String, String) {
    (
        uptime(status).unwrap_or_else(|| "-".into()),
        status
            .restarts
            .map_or("-".into(), |restarts| restarts.to_string()),
        last_exit(status).map_or("-".into(), |exit| exit.to_string()),
    )
}

/// One service's status for people.
pub fn describe(out: &mut impl Write, spec: &ServiceSpec, status: &Status) -> std::io::Result<()> {
    let mark = if status.pid.is_some() { "●" } else { "○" };
    writeln!(out, "{mark} {}", spec.name)?;
    writeln!(out, "    backend: {}", spec.backend)?;
    writeln!(out, "      state: {}", status.state_name())?;
    if let Some(pid) = status.pid {
        writeln!(out, "        pid: {pid}")?;
    }
    if let Some(uptime) = uptime(status) {
        writeln!(out, "     uptime: {uptime}")?;
    }
    if let Some(restarts) = status.restarts {
        writeln!(out, "   restarts: {restarts}")?;
    }
    if let Some(exit) = last_exit(status) {
        writeln!(out, "  last exit: {exit}")?;
    }
    match spec.backend {
        BackendKind::Systemd => writeln!(
            out,
            "       unit: {} (journalctl -u {} for its output)",
            systemd::unit_name(&spec.name),
            systemd::unit_name(&spec.name)
        ),
        _ => writeln!(
            out,
            "     script: {} (output in {})",
            sysv::script_path(Path::new("/"), &spec.name).display(),
            sysv::log_file(&spec.name).display()
        ),
    }
}

/// `svckit render`: what `install` would write for `spec` with `kind`.
pub fn render(spec: &ServiceSpec, kind: BackendKind) -> anyhow::Result<String> {
    Ok(match kind {
        BackendKind::Systemd => systemd::render(spec, systemd::Scope::System)?,
        BackendKind::Sysv => sysv::render(spec, &svckit_binary()?)?,
        BackendKind::Builtin => {
            svckit_install::honour::check(BackendKind::Builtin, spec)?;
            let mut spec = spec.clone();
            spec.backend = BackendKind::Builtin;
            spec.to_toml()
        }
        other => {
            return Err(Failure::new(
                Exit::Usage,
                format!("render takes --backend systemd, sysv or builtin, not {other}"),
            )
            .into());
        }
    })
}
