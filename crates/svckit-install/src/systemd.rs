//! systemd: a unit file rendered from the spec, then daemon-reload, enable, start.
//!
//! [`render`] is a pure function of the spec. Every value is written by systemd.syntax(7)'s
//! rules: ExecStart= arguments each in double quotes with `\` and `"` escaped, `%` doubled
//! (specifiers) and `$` doubled (variable expansion); Environment= assignments quoted the same
//! way (no `$` expansion there); a newline in an argument or a one-line setting is refused.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use svckit_core::{
    BackendKind, Key, ReloadAction, Restart, ServiceName, ServiceSpec, ServiceType, StartType,
};

use crate::{Error, honour};

/// Which systemd instance a unit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The system manager (`/etc/systemd/system`, WantedBy=multi-user.target).
    System,
    /// The calling user's manager (`~/.config/systemd/user`, WantedBy=default.target).
    User,
}

impl Scope {
    /// The target an enabled unit is wanted by.
    pub const fn target(self) -> &'static str {
        match self {
            Scope::System => "multi-user.target",
            Scope::User => "default.target",
        }
    }
}

/// The unit's file name: `NAME.service`.
pub fn unit_name(name: &ServiceName) -> String {
    format!("{name}.service")
}

/// The unit a dependency names: as written when it has a unit type (`network.target`,
/// `syslog.socket`), else a service's.
fn dependency_unit(name: &ServiceName) -> String {
    const TYPES: [&str; 10] = [
        ".service",
        ".target",
        ".socket",
        ".mount",
        ".path",
        ".timer",
        ".slice",
        ".device",
        ".swap",
        ".automount",
    ];
    match TYPES.iter().any(|suffix| name.as_str().ends_with(suffix)) {
        true => name.to_string(),
        false => unit_name(name),
    }
}

fn refuse(setting: &'static str, reason: impl Into<String>) -> Error {
    Error::Unsupported {
        backend: "systemd",
        setting,
        reason: reason.into(),
    }
}

/// What systemd cannot honour, as svckit writes its units: its column of the key × backend
/// table ([`crate::honour::refusal`]).
pub(crate) fn cannot_honour(key: Key, spec: &ServiceSpec) -> Option<&'static str> {
    let restarts = spec.restart.policy != Restart::Never;
    match key {
        Key::Password => Some("systemd runs User= without a password"),
        Key::Start if spec.start == StartType::Delayed => {
            Some("systemd has no delayed start (use auto, and dependencies for order)")
        }
        Key::RestartMaxDelay if restarts && spec.restart.max_delay != spec.restart.delay => Some(
            "systemd restarts after a fixed RestartSec= (no exponential backoff before \
             systemd 254); make it equal to restart.delay",
        ),
        Key::RestartResetAfter if restarts => {
            Some("systemd's restart delay does not grow, so there is no backoff to reset")
        }
        Key::LogsMaxSize | Key::LogsKeep => {
            Some("systemd sends output to the journal, which journald.conf sizes")
        }
        Key::Listen
        | Key::Accept
        | Key::MaxConnections
        | Key::MaxConnectionsPerSource
        | Key::IdleStop => Some(
            "svckit does not write a .socket unit for it yet; install it into the builtin              supervisor (--backend builtin)",
        ),
        _ => None,
    }
}

/// Renders the unit file for `spec`, section by section. Errors name the setting that cannot
/// be written or honoured.
pub fn render(spec: &ServiceSpec, scope: Scope) -> Result<String, Error> {
    spec.validate()?;
    honour::check(BackendKind::Systemd, spec)?;
    honour::file_name(BackendKind::Systemd, &spec.name)?;
    for dependency in spec.started_with().chain(&spec.after) {
        honour::file_name(BackendKind::Systemd, dependency)?;
    }
    let mut unit = Unit(format!(
        "# Written by svckit from the definition of {name} (svckit render {name} --backend systemd).\n",
        name = spec.name
    ));
    unit.section("Unit");
    unit_keys(&mut unit, spec)?;
    unit.section("Service");
    readiness(&mut unit, spec)?;
    commands(&mut unit, spec)?;
    process(&mut unit, spec)?;
    exits_restart_and_stop(&mut unit, spec)?;
    unit.section("Install");
    unit.set("WantedBy", scope.target());
    Ok(unit.0)
}

/// [Unit]: the description, the dependencies and ordering, the start limit.
fn unit_keys(unit: &mut Unit, spec: &ServiceSpec) -> Result<(), Error> {
    let description = match (&spec.display_name, &spec.description) {
        (Some(display), Some(description)) => format!("{display}: {description}"),
        (Some(text), None) | (None, Some(text)) => text.clone(),
        (None, None) => spec.name.to_string(),
    };
    unit.set("Description", &plain("description", &description)?);
    // dependencies: Wants= + After=; requires: Requires= + After=; wants: Wants=; after:
    // After=.
    let units = |list: Vec<&ServiceName>| {
        list.into_iter()
            .map(dependency_unit)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let after: Vec<&ServiceName> = spec.ordered_after().collect();
    if !after.is_empty() {
        unit.set("After", &units(after));
    }
    let wants: Vec<&ServiceName> = spec.dependencies.iter().chain(&spec.wants).collect();
    if !wants.is_empty() {
        unit.set("Wants", &units(wants));
    }
    if !spec.requires.is_empty() {
        unit.set("Requires", &units(spec.requires.iter().collect()));
    }
    if spec.restart.limit == 0 {
        unit.set("StartLimitIntervalSec", "0");
    } else {
        unit.set(
            "StartLimitIntervalSec",
            &span("restart.window", spec.restart.window)?,
        );
        unit.set("StartLimitBurst", &spec.restart.limit.to_string());
    }
    if spec.start == StartType::Disabled {
        unit.set("RefuseManualStart", "yes");
    }
    Ok(())
}

/// [Service]'s type and what readiness means for it (notify access, start timeout, watchdog,
/// PID file).
fn readiness(unit: &mut Unit, spec: &ServiceSpec) -> Result<(), Error> {
    unit.set("Type", spec.service_type.name());
    match spec.service_type {
        ServiceType::Notify => {
            unit.set("NotifyAccess", spec.notify_access.name());
            unit.set(
                "TimeoutStartSec",
                &span("ready_timeout", spec.ready_timeout)?,
            );
            if !spec.watchdog.is_zero() {
                unit.set("WatchdogSec", &span("watchdog", spec.watchdog)?);
            }
        }
        ServiceType::Forking => {
            if let Some(pid_file) = &spec.pid_file {
                let pid_file = pid_file
                    .to_str()
                    .ok_or_else(|| refuse("pid_file", "the path is not UTF-8"))?;
                unit.set("PIDFile", &plain("pid_file", pid_file)?);
            }
            unit.set(
                "TimeoutStartSec",
                &span("ready_timeout", spec.ready_timeout)?,
            );
        }
        ServiceType::Oneshot => unit.set("RemainAfterExit", "yes"),
        ServiceType::Exec => {}
    }
    Ok(())
}

/// [Service]'s commands: ExecStart= and those around it, and how a reload is done.
fn commands(unit: &mut Unit, spec: &ServiceSpec) -> Result<(), Error> {
    let mut exec = exec_path(&spec.program)?;
    for (index, arg) in spec.args.iter().enumerate() {
        let arg = arg
            .to_str()
            .ok_or_else(|| refuse("args", format!("argument {} is not UTF-8", index + 1)))?;
        exec.push(' ');
        exec.push_str(&exec_word("args", arg)?);
    }
    for command in &spec.exec_start_pre {
        unit.set("ExecStartPre", &exec_command("exec_start_pre", command)?);
    }
    unit.set("ExecStart", &exec);
    for command in &spec.exec_start_post {
        unit.set("ExecStartPost", &exec_command("exec_start_post", command)?);
    }
    for command in &spec.exec_stop {
        unit.set("ExecStop", &exec_command("exec_stop", command)?);
    }
    // Reload as svckit's own supervisor does: the signal to the main process, or the command;
    // none (reload is refused) for a program that has neither.
    match spec.reload_action() {
        Some(ReloadAction::Signal(signal)) => {
            unit.set("ExecReload", &format!("/bin/kill -s {signal} $MAINPID"));
        }
        Some(ReloadAction::Command(command)) => {
            unit.set("ExecReload", &exec_command("reload.command", command)?);
        }
        None => {}
    }
    Ok(())
}

/// [Service]'s process: its directory, user and group, environment, runtime directories,
/// limits and nice.
fn process(unit: &mut Unit, spec: &ServiceSpec) -> Result<(), Error> {
    if let Some(dir) = &spec.working_dir {
        let dir = dir
            .to_str()
            .ok_or_else(|| refuse("working_dir", "the path is not UTF-8"))?;
        unit.set("WorkingDirectory", &plain("working_dir", dir)?);
    }
    if let Some(user) = &spec.account {
        unit.set("User", &plain("account", user)?);
    }
    if let Some(group) = &spec.group {
        unit.set("Group", &plain("group", group)?);
    }
    for (name, value) in &spec.env {
        let assignment = one_line("env", &format!("{name}={value}"))?;
        unit.set("Environment", &quoted(&specifiers(&assignment)));
    }
    for file in &spec.environment_file {
        unit.set("EnvironmentFile", &plain("environment_file", file)?);
    }
    if !spec.runtime_directory.is_empty() {
        let dirs = spec
            .runtime_directory
            .iter()
            .map(|dir| plain("runtime_directory", dir))
            .collect::<Result<Vec<_>, _>>()?;
        unit.set("RuntimeDirectory", &dirs.join(" "));
        unit.set("RuntimeDirectoryMode", "0755");
    }
    for (key, limit) in spec.limits.each() {
        let name = match key {
            "nofile" => "LimitNOFILE",
            "nproc" => "LimitNPROC",
            "core" => "LimitCORE",
            "memlock" => "LimitMEMLOCK",
            "as" => "LimitAS",
            _ => "LimitCPU",
        };
        unit.set(name, &limit.to_string());
    }
    if let Some(nice) = spec.nice {
        unit.set("Nice", &nice.to_string());
    }
    Ok(())
}

/// [Service]'s exits and what follows them: success and restart-preventing statuses, the OOM
/// score and umask, the restart policy, the stop.
fn exits_restart_and_stop(unit: &mut Unit, spec: &ServiceSpec) -> Result<(), Error> {
    let statuses = |list: &[svckit_core::ExitMatch]| {
        list.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !spec.success_exit_status.is_empty() {
        unit.set("SuccessExitStatus", &statuses(&spec.success_exit_status));
    }
    if !spec.restart_prevent_exit_status.is_empty() {
        unit.set(
            "RestartPreventExitStatus",
            &statuses(&spec.restart_prevent_exit_status),
        );
    }
    // (The process's last two keys, after the statuses, where units have always had them.)
    if let Some(adjust) = spec.oom_score_adjust {
        unit.set("OOMScoreAdjust", &adjust.to_string());
    }
    unit.set("UMask", &format!("{:04o}", spec.umask.unwrap_or(0o022)));
    unit.set(
        "Restart",
        match spec.restart.policy {
            Restart::Never => "no",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
        },
    );
    if spec.restart.policy != Restart::Never {
        unit.set("RestartSec", &span_or_zero(spec.restart.delay));
    }
    unit.set("TimeoutStopSec", &span("stop.timeout", spec.stop.timeout)?);
    unit.set("KillSignal", &format!("SIG{}", spec.stop.signal));
    unit.set("KillMode", spec.kill_mode.name());
    Ok(())
}

/// A command line for ExecStartPre= or ExecReload=: the program as ExecStart='s, each
/// argument quoted.
fn exec_command(setting: &'static str, command: &[String]) -> Result<String, Error> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| refuse(setting, "the command is empty"))?;
    let mut line = exec_path(Path::new(program))
        .map_err(|_| refuse(setting, format!("{program:?} cannot be run by systemd")))?;
    for arg in args {
        line.push(' ');
        line.push_str(&exec_word(setting, arg)?);
    }
    Ok(line)
}

/// A unit file being written.
struct Unit(String);

impl Unit {
    fn section(&mut self, name: &str) {
        let _ = write!(self.0, "\n[{name}]\n");
    }

    fn set(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.0, "{key}={value}");
    }
}

/// One ExecStart= word: always double-quoted, so no prefix (`-`, `@`, `+`, `!`, `:`), lone
/// `;` or white space can change its meaning.
fn exec_word(setting: &'static str, word: &str) -> Result<String, Error> {
    if word.contains('\n') {
        return Err(refuse(setting, format!("{word:?} contains a newline")));
    }
    Ok(quoted(&specifiers(&word.replace('$', "$$"))))
}

/// The executable: quoted against white space, `%` doubled, but `$` left alone (systemd does
/// not expand variables in it), and quotes and backslashes refused (systemd's
/// string_is_safe() rejects them in executable names).
fn exec_path(program: &Path) -> Result<String, Error> {
    let path = program
        .to_str()
        .ok_or_else(|| refuse("program", "the path is not UTF-8"))?;
    if let Some(c) = path.chars().find(|c| matches!(c, '"' | '\'' | '\\')) {
        return Err(refuse(
            "program",
            format!("systemd refuses executable paths with {c:?} in them: {path}"),
        ));
    }
    Ok(quoted(&specifiers(&one_line("program", path)?)))
}

/// `%` → `%%`: no specifier expansion.
fn specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// In double quotes, with C escapes for `\`, `"` and control characters.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An unquoted value (Description=, WorkingDirectory=, User=, Group=), written so systemd reads
/// back exactly it: on one line, `%` doubled, and refused when systemd would change it: a
/// trailing `\` continues the line (it once swallowed the `User=` line after a working
/// directory, and the unit ran as root), and white space at either end is stripped.
fn plain(setting: &'static str, text: &str) -> Result<String, Error> {
    let text = one_line(setting, text)?;
    if text.ends_with('\\') {
        return Err(refuse(
            setting,
            format!("{text:?} ends with a backslash, which systemd reads as a line continuation"),
        ));
    }
    if text.trim() != text {
        return Err(refuse(
            setting,
            format!("{text:?} starts or ends with white space, which systemd strips"),
        ));
    }
    Ok(specifiers(&text))
}

/// A value that must stay on one line.
fn one_line(setting: &'static str, text: &str) -> Result<String, Error> {
    if text.contains(['\n', '\r']) {
        return Err(refuse(setting, format!("{text:?} contains a line break")));
    }
    Ok(text.to_owned())
}

/// A time span as systemd reads it; zero is refused (systemd reads 0 as "no timeout").
fn span(setting: &'static str, duration: Duration) -> Result<String, Error> {
    if duration.is_zero() {
        return Err(refuse(
            setting,
            "0 means \"no limit\" to systemd; give a duration",
        ));
    }
    Ok(span_or_zero(duration))
}

fn span_or_zero(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros == 0 {
        "0".into()
    } else if micros.is_multiple_of(1_000_000) {
        format!("{}s", micros / 1_000_000)
    } else if micros.is_multiple_of(1000) {
        format!("{}ms", micros / 1000)
    } else {
        format!("{micros}us")
    }
}

/// Where unit files of `scope` go, under `root` (`/` for the running system).
pub fn unit_dir(root: &Path, scope: Scope) -> Result<PathBuf, Error> {
    match scope {
        Scope::System => Ok(root.join("etc/systemd/system")),
        Scope::User => {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .filter(|dir| dir.is_absolute())
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config"))
                })
                .ok_or_else(|| {
                    Error::NoBackend("HOME is not set: no user unit directory".into())
                })?;
            let relative = config.strip_prefix("/").unwrap_or(&config).to_path_buf();
            Ok(root.join(relative).join("systemd/user"))
        }
    }
}

/// The part of `systemctl show` svckit reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    /// `LoadState`: loaded, not-found, masked, ….
    pub load_state: String,
    /// `ActiveState`: active, activating, deactivating, inactive, failed, reloading.
    pub active_state: String,
    /// `SubState`: running, exited, dead, auto-restart, ….
    pub sub_state: String,
    /// `MainPID` (0: none).
    pub main_pid: u32,
    /// `ExecMainCode`: how the main process ended (`CLD_EXITED` 1, `CLD_KILLED` 2,
    /// `CLD_DUMPED` 3; 0 while it runs or never ran).
    pub exec_main_code: i32,
    /// `ExecMainStatus`: the exit code, or the signal number.
    pub exec_main_status: i32,
    /// `ExecMainStartTimestampMonotonic`: when the main process started, µs of
    /// `CLOCK_MONOTONIC` (0: never).
    pub exec_main_start_us: u64,
    /// `NRestarts`.
    pub restarts: u32,
    /// `FreezerState`: running, frozen, ….
    pub freezer_state: String,
    /// `UnitFileState`: enabled, disabled, static, ….
    pub unit_file_state: String,
    /// `ControlGroup`: the unit's cgroup path (empty when it has none).
    pub control_group: String,
    /// `TasksCurrent` (none when systemd does not count).
    pub tasks: Option<usize>,
    /// `MemoryCurrent`, bytes (none when not accounted).
    pub memory: Option<u64>,
    /// `CPUUsageNSec` (none when not accounted).
    pub cpu_nsec: Option<u64>,
}

/// The properties `systemctl show -p` is asked for.
pub const SHOW_PROPERTIES: &str = "LoadState,ActiveState,SubState,MainPID,ExecMainCode,\
     ExecMainStatus,ExecMainStartTimestampMonotonic,NRestarts,FreezerState,UnitFileState,\
     ControlGroup,TasksCurrent,MemoryCurrent,CPUUsageNSec";

/// Parses `systemctl show` output (`Key=Value` lines; unknown keys are skipped).
pub fn parse_show(text: &str) -> Shown {
    let mut shown = Shown::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key {
            "LoadState" => shown.load_state = value.into(),
            "ActiveState" => shown.active_state = value.into(),
            "SubState" => shown.sub_state = value.into(),
            "MainPID" => shown.main_pid = value.parse().unwrap_or(0),
            "ExecMainCode" => shown.exec_main_code = value.parse().unwrap_or(0),
            "ExecMainStatus" => shown.exec_main_status = value.parse().unwrap_or(0),
            "ExecMainStartTimestampMonotonic" => {
                shown.exec_main_start_us = value.parse().unwrap_or(0)
            }
            "NRestarts" => shown.restarts = value.parse().unwrap_or(0),
            "FreezerState" => shown.freezer_state = value.into(),
            "UnitFileState" => shown.unit_file_state = value.into(),
            "ControlGroup" => shown.control_group = value.into(),
            // systemd prints [not set] (or u64::MAX) for what it does not account.
            "TasksCurrent" => shown.tasks = value.parse().ok().filter(|n| *n != usize::MAX),
            "MemoryCurrent" => shown.memory = value.parse().ok().filter(|n| *n != u64::MAX),
            "CPUUsageNSec" => shown.cpu_nsec = value.parse().ok().filter(|n| *n != u64::MAX),
            _ => {}
        }
    }
    shown
}

impl Shown {
    /// How the main process last ended, once it has (`ExecMainCode` is 0 while it runs).
    pub fn last_exit(&self) -> Option<crate::LastExit> {
        match self.exec_main_code {
            1 => Some(crate::LastExit::Code(self.exec_main_status)),
            2 | 3 => Some(crate::LastExit::Signal(self.exec_main_status)),
            _ => None,
        }
    }

    /// The SCM state this amounts to.
    pub fn state(&self) -> svckit_core::State {
        use svckit_core::State;
        match (self.active_state.as_str(), self.freezer_state.as_str()) {
            ("active" | "reloading", "frozen" | "freezing") => State::Paused,
            (_, "thawing") => State::ContinuePending,
            ("active" | "reloading", _) => State::Running,
            ("activating", _) => State::StartPending,
            ("deactivating", _) => State::StopPending,
            _ => State::Stopped,
        }
    }
}

#[cfg(unix)]
pub use manager::Systemd;

#[cfg(unix)]
mod manager {
    use std::{
        fs,
        path::{Path, PathBuf},
        time::Duration,
    };

    use svckit_core::{Accept, Control, ExitCode, ServiceName, ServiceSpec, StartType, State};

    use super::{SHOW_PROPERTIES, Scope, parse_show, render, unit_dir, unit_name};
    use crate::{
        Backend, Error, Installed, Status,
        run::{check, check_within, run, write_file},
    };

    /// The systemd backend: the running manager, or files under an alternate root (as
    /// packagers install, with `systemctl --root` for enabling).
    #[derive(Debug, Clone)]
    pub struct Systemd {
        root: Option<PathBuf>,
        scope: Scope,
        systemctl: PathBuf,
    }

    impl Systemd {
        /// The running systemd (system manager for root, else the user's). A clear error when
        /// systemd is not running as init.
        pub fn running() -> Result<Systemd, Error> {
            if !Path::new("/run/systemd/system").is_dir() {
                return Err(Error::NoBackend(
                    "systemd is not running as init (no /run/systemd/system); use --root DIR \
                     to install into an image, or another --backend"
                        .into(),
                ));
            }
            let scope = if nix::unistd::geteuid().is_root() {
                Scope::System
            } else {
                Scope::User
            };
            Ok(Systemd {
                root: None,
                scope,
                systemctl: PathBuf::from("systemctl"),
            })
        }

        /// Unit files under `root` (system scope), enabled with `systemctl --root`; nothing
        /// is started.
        pub fn at_root(root: impl Into<PathBuf>) -> Systemd {
            Systemd {
                root: Some(root.into()),
                scope: Scope::System,
                systemctl: PathBuf::from("systemctl"),
            }
        }

        /// Where `name`'s unit file goes.
        pub fn unit_path(&self, name: &ServiceName) -> Result<PathBuf, Error> {
            let root = self.root.as_deref().unwrap_or(Path::new("/"));
            Ok(unit_dir(root, self.scope)?.join(unit_name(name)))
        }

        /// `args` after the scope's own (`--root=DIR`, `--user`).
        fn scoped(&self, args: &[&str]) -> Vec<String> {
            let mut all: Vec<String> = Vec::new();
            if let Some(root) = &self.root {
                all.push(format!("--root={}", root.display()));
            } else if self.scope == Scope::User {
                all.push("--user".into());
            }
            all.extend(args.iter().map(|arg| (*arg).to_owned()));
            all
        }

        fn systemctl(&self, args: &[&str]) -> Result<crate::run::Ran, Error> {
            check(&self.systemctl, &self.scoped(args))
        }

        /// A blocking systemctl job (start, stop, freeze, thaw) that may take up to `timeout`;
        /// past it, a [`Error::Timeout`] naming the state the unit is in (the job goes on).
        fn job(
            &self,
            name: &ServiceName,
            args: &[&str],
            wanted: State,
            timeout: Duration,
        ) -> Result<Status, Error> {
            match check_within(&self.systemctl, &self.scoped(args), timeout)? {
                Some(_) => self.status(name),
                None => Err(Error::Timeout {
                    name: name.clone(),
                    wanted,
                    state: self.status(name)?.state,
                    waited: timeout,
                }),
            }
        }

        fn reload_manager(&self) -> Result<(), Error> {
            if self.root.is_none() {
                self.systemctl(&["daemon-reload"])?;
            }
            Ok(())
        }
    }

    impl Backend for Systemd {
        fn name(&self) -> &'static str {
            "systemd"
        }

        fn install(&self, spec: &ServiceSpec) -> Result<Installed, Error> {
            let unit = render(spec, self.scope)?;
            let path = self.unit_path(&spec.name)?;
            let existed = path.exists();
            if existed && self.root.is_none() {
                // Over an existing unit: stop it first, like the SCM's reinstall.
                let _ = self.systemctl(&["stop", &unit_name(&spec.name)]);
            }
            write_file(&path, &unit, 0o644)?;
            let applied = (|| {
                self.reload_manager()?;
                let unit = unit_name(&spec.name);
                match (spec.start, self.root.is_some()) {
                    (StartType::Auto, true) => drop(self.systemctl(&["enable", &unit])?),
                    (StartType::Auto, false) => drop(self.systemctl(&["enable", "--now", &unit])?),
                    (_, _) if existed => {
                        let _ = self.systemctl(&["disable", &unit]);
                    }
                    _ => {}
                }
                Ok(())
            })();
            if let Err(err) = applied {
                // No half-installed service: take the unit away again.
                let _ = self.systemctl(&["disable", &unit_name(&spec.name)]);
                let _ = fs::remove_file(&path);
                let _ = self.reload_manager();
                return Err(err);
            }
            Ok(if existed {
                Installed::Replaced
            } else {
                Installed::Created
            })
        }

        fn uninstall(&self, name: &ServiceName, _timeout: Duration) -> Result<(), Error> {
            let path = self.unit_path(name)?;
            if !path.exists() {
                return Err(Error::NotInstalled(name.clone()));
            }
            let unit = unit_name(name);
            if self.root.is_none() {
                self.systemctl(&["stop", &unit])?;
            }
            self.systemctl(&["disable", &unit])?;
            fs::remove_file(&path)
                .map_err(|err| Error::os(format!("remove {}", path.display()), err))?;
            self.reload_manager()?;
            if self.root.is_none() {
                let _ = self.systemctl(&["reset-failed", &unit]);
            }
            Ok(())
        }

        fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error> {
            self.running_only()?;
            let unit = unit_name(name);
            match wait {
                Some(timeout) => self.job(name, &["start", &unit], State::Running, timeout),
                None => {
                    self.systemctl(&["start", "--no-block", &unit])?;
                    self.status(name)
                }
            }
        }

        fn control(
            &self,
            name: &ServiceName,
            control: Control,
            timeout: Duration,
        ) -> Result<Status, Error> {
            self.running_only()?;
            let unit = unit_name(name);
            match control {
                Control::Stop => self.job(name, &["stop", &unit], State::Stopped, timeout),
                Control::Pause => self.job(name, &["freeze", &unit], State::Paused, timeout),
                Control::Continue => self.job(name, &["thaw", &unit], State::Running, timeout),
                // systemd runs the unit's ExecReload= (the reload signal or command svckit
                // rendered) and waits for it; a unit without one cannot reload.
                Control::ParamChange => {
                    let can = self.systemctl(&["show", "-p", "CanReload", "--value", &unit])?;
                    if can.stdout.trim() == "no" {
                        return Err(Error::Unsupported {
                            backend: "systemd",
                            setting: "reload",
                            reason: format!(
                                "{unit} has no ExecReload= (reinstall it with --reload-signal \
                                 or --reload-command)"
                            ),
                        });
                    }
                    self.job(name, &["reload", &unit], State::Running, timeout)
                }
                other => Err(Error::NotAccepted {
                    name: name.clone(),
                    control: other,
                }),
            }
        }

        fn logs(&self, name: &ServiceName) -> Result<crate::Logs, Error> {
            Ok(crate::Logs::Journal(unit_name(name)))
        }

        fn status(&self, name: &ServiceName) -> Result<Status, Error> {
            let unit = unit_name(name);
            if self.root.is_some() {
                // No manager to ask: installed or not, and never running.
                if !self.unit_path(name)?.exists() {
                    return Err(Error::NotInstalled(name.clone()));
                }
                return Ok(stopped(name));
            }
            // `run`, not `check`: an unknown unit is an answer here, not a failure.
            let ran = run(
                &self.systemctl,
                &self.scoped(&["show", "-p", SHOW_PROPERTIES, &unit]),
            )?;
            let shown = parse_show(&ran.stdout);
            if ran.code != 0 || shown.load_state == "not-found" {
                return Err(Error::NotInstalled(name.clone()));
            }
            let state = shown.state();
            let mut status = stopped(name);
            status.state = state;
            status.pid = svckit_core::Pid::new(shown.main_pid);
            status.exit_code = ExitCode::Win32(shown.exec_main_status.max(0) as u32);
            status.restarts = Some(shown.restarts);
            status.last_exit = shown.last_exit();
            if status.pid.is_some() {
                status.cgroup = Some(shown.control_group.clone()).filter(|path| !path.is_empty());
                status.tasks = shown.tasks;
                status.memory = shown.memory;
                status.cpu = shown.cpu_nsec.map(Duration::from_nanos);
                let pids = svckit_unix::cgroup::processes_at(&shown.control_group);
                // Without the pids controller systemd has no TasksCurrent: count them.
                if status.tasks.is_none() && !pids.is_empty() {
                    status.tasks = Some(pids.len());
                }
                status.processes = svckit_unix::process::service_processes(&pids, status.pid, 64);
            }
            if status.pid.is_some() && shown.exec_main_start_us != 0 {
                status.uptime = svckit_unix::process::monotonic_now()
                    .map(|now| now.saturating_sub(Duration::from_micros(shown.exec_main_start_us)));
            }
            status.accept = match state {
                State::Running | State::Paused => {
                    Accept::STOP | Accept::PAUSE_CONTINUE | Accept::PARAMCHANGE
                }
                _ => Accept::NONE,
            };
            status.start = Some(if shown.unit_file_state == "enabled" {
                StartType::Auto
            } else {
                StartType::Demand
            });
            Ok(status)
        }
    }

    impl Systemd {
        fn running_only(&self) -> Result<(), Error> {
            match &self.root {
                Some(root) => Err(Error::NoBackend(format!(
                    "units under --root {} are not run by any systemd",
                    root.display()
                ))),
                None => Ok(()),
            }
        }
    }

    fn stopped(name: &ServiceName) -> Status {
        Status::new(
            name.clone(),
            svckit_core::BackendKind::Systemd,
            svckit_core::State::Stopped,
        )
    }
}
