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
    listen::{AcceptMode, Address, Listener},
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

/// The socket unit's file name: `NAME.socket`.
pub fn socket_name(name: &ServiceName) -> String {
    format!("{name}.socket")
}

/// The template of a per-connection service's instances: `NAME@.service` (systemd starts
/// `NAME@N-LOCAL-REMOTE.service` for each connection).
pub fn template_name(name: &ServiceName) -> String {
    format!("{name}@.service")
}

/// The file name of `spec`'s service unit: the template for a service with an instance per
/// connection, else `NAME.service`.
pub fn service_file_name(spec: &ServiceSpec) -> String {
    match spec.accept.per_connection() {
        true => template_name(&spec.name),
        false => unit_name(&spec.name),
    }
}

/// A unit file svckit writes: its file name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// The file name (`NAME.service`, `NAME@.service`, `NAME.socket`).
    pub name: String,
    /// What it says.
    pub text: String,
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
        Key::Liveness => Some(
            "systemd restarts a service only when its process ends or misses WATCHDOG=1; \
             svckit renders no helper that would judge it and restart it from outside (use \
             the builtin backend, or the watchdog)",
        ),
        Key::Conditions => Some(
            "systemd waits for a dependency's start job (After=) and nothing else: not for a \
             process alone, health, an exit or a log line (use the builtin backend)",
        ),
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
        Key::IdleStop => Some(
            "systemd stops no service when it is idle (only systemd-socket-proxyd's \
             --exit-idle-time=, which puts a proxy in the data path)",
        ),
        Key::Listen if !one_socket_unit(&spec.listen) => Some(
            "one .socket unit gives all its sockets one FileDescriptorName=, Backlog=, \
             SocketMode=, SocketUser= and SocketGroup=; give every listener the same name, \
             backlog, mode, user and group",
        ),
        _ => None,
    }
}

/// Whether `listeners` fit in one socket unit: the settings systemd has per unit, not per
/// socket, are the same for all that have them (a name for all, a backlog for stream sockets,
/// a mode and an owner for socket files).
fn one_socket_unit(listeners: &[Listener]) -> bool {
    fn same<T: PartialEq>(mut values: impl Iterator<Item = T>) -> bool {
        match values.next() {
            Some(first) => values.all(|value| value == first),
            None => true,
        }
    }
    same(listeners.iter().map(|l| &l.name))
        && same(
            listeners
                .iter()
                .filter(|l| l.address.is_stream())
                .map(|l| l.backlog),
        )
        && same(
            listeners
                .iter()
                .filter(|l| l.address.path().is_some())
                .map(|l| (l.mode, &l.user, &l.group)),
        )
}

/// Renders what installing `spec` writes, as one text: its service unit (the template, per
/// connection), then its socket unit when it has sockets. Errors name the setting that cannot
/// be written or honoured.
pub fn render(spec: &ServiceSpec, scope: Scope) -> Result<String, Error> {
    render_with(spec, scope, None)
}

/// [`render`], with the `svckit` executable a readiness probe's `ExecStartPost=` runs
/// (`svckit probe-wait`): without it, a readiness probe is refused.
pub fn render_with(
    spec: &ServiceSpec,
    scope: Scope,
    svckit: Option<&Path>,
) -> Result<String, Error> {
    Ok(units_with(spec, scope, svckit)?
        .into_iter()
        .map(|unit| unit.text)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The unit files of `spec`: its service unit (`NAME.service`, or `NAME@.service` per
/// connection) and, when it has sockets, `NAME.socket`.
pub fn units(spec: &ServiceSpec, scope: Scope) -> Result<Vec<UnitFile>, Error> {
    units_with(spec, scope, None)
}

/// [`units`], with the `svckit` executable a readiness probe's `ExecStartPost=` runs.
pub fn units_with(
    spec: &ServiceSpec,
    scope: Scope,
    svckit: Option<&Path>,
) -> Result<Vec<UnitFile>, Error> {
    let mut files = vec![UnitFile {
        name: service_file_name(spec),
        text: service_unit(spec, scope, svckit)?,
    }];
    if !spec.listen.is_empty() {
        files.push(UnitFile {
            name: socket_name(&spec.name),
            text: socket_unit(spec)?,
        });
    }
    Ok(files)
}

/// The service unit, section by section.
fn service_unit(spec: &ServiceSpec, scope: Scope, svckit: Option<&Path>) -> Result<String, Error> {
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
    if !spec.listen.is_empty() && !spec.accept.per_connection() {
        // Started directly (start = auto, `svckit start`), it still gets its sockets.
        let socket = socket_name(&spec.name);
        unit.set("Requires", &socket);
        unit.set("After", &socket);
    }
    unit.section("Service");
    readiness(&mut unit, spec)?;
    commands(&mut unit, spec, svckit)?;
    process(&mut unit, spec)?;
    exits_restart_and_stop(&mut unit, spec)?;
    match spec.accept {
        // Each instance is one connection's: on its stdin and stdout (inetd), its stderr the
        // service's log as svckit's supervisor keeps it; none is restarted.
        AcceptMode::Inetd => {
            unit.set("StandardInput", "socket");
            unit.set("StandardOutput", "socket");
            unit.set("StandardError", "journal");
        }
        // At fd 3, LISTEN_FDS=1 (systemd's own way for Accept=yes).
        AcceptMode::Fd | AcceptMode::No => {}
    }
    // A template is not enabled: its socket is.
    if !spec.accept.per_connection() {
        unit.section("Install");
        unit.set("WantedBy", scope.target());
    }
    Ok(unit.0)
}

/// The socket unit: where it listens, how, and what the service is handed.
fn socket_unit(spec: &ServiceSpec) -> Result<String, Error> {
    let mut unit = Unit(format!(
        "# Written by svckit from the definition of {name} (svckit render {name} --backend \
         systemd): its sockets.\n",
        name = spec.name
    ));
    unit.section("Unit");
    let description = spec.description.as_deref().unwrap_or(spec.name.as_str());
    unit.set(
        "Description",
        &plain("description", &format!("{description} (sockets)"))?,
    );
    if spec.start == StartType::Disabled {
        unit.set("RefuseManualStart", "yes");
    }
    unit.section("Socket");
    for listener in &spec.listen {
        let (key, value) = listen_line(&listener.address)?;
        unit.set(key, &value);
    }
    let dual_stack = spec.listen.iter().any(|listener| {
        matches!(&listener.address, Address::Tcp(addr) | Address::Udp(addr)
            if addr.ip() == std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
    });
    if dual_stack {
        // `tcp:PORT` is IPv6 and IPv4 whatever net.ipv6.bindv6only says, as svckit binds it.
        unit.set("BindIPv6Only", "both");
    }
    // One unit's settings are its sockets' (cannot_honour refused listeners that differ).
    if let Some(backlog) = spec.listen.iter().find_map(|l| l.backlog) {
        unit.set("Backlog", &backlog.to_string());
    }
    if let Some(mode) = spec.listen.iter().find_map(|l| l.mode) {
        unit.set("SocketMode", &format!("{mode:04o}"));
    }
    if let Some(user) = spec.listen.iter().find_map(|l| l.user.as_deref()) {
        unit.set("SocketUser", &plain("listen", user)?);
    }
    if let Some(group) = spec.listen.iter().find_map(|l| l.group.as_deref()) {
        unit.set("SocketGroup", &plain("listen", group)?);
    }
    let name = spec.listen[0].name.as_deref().unwrap_or(spec.name.as_str());
    unit.set("FileDescriptorName", &plain("listen", name)?);
    if spec.accept.per_connection() {
        unit.set("Accept", "yes");
        unit.set("MaxConnections", &spec.max_connections.to_string());
        if let Some(per_source) = spec.max_connections_per_source {
            unit.set("MaxConnectionsPerSource", &per_source.to_string());
        }
    }
    unit.section("Install");
    unit.set("WantedBy", "sockets.target");
    Ok(unit.0)
}

/// A listener as systemd's `ListenStream=`/`ListenDatagram=` takes it.
fn listen_line(address: &Address) -> Result<(&'static str, String), Error> {
    let path = |path: &Path| {
        path.to_str()
            .ok_or_else(|| refuse("listen", format!("{} is not UTF-8", path.display())))
            .and_then(|path| plain("listen", path))
    };
    Ok(match address {
        Address::Tcp(addr) => ("ListenStream", specifiers(&addr.to_string())),
        Address::Udp(addr) => ("ListenDatagram", specifiers(&addr.to_string())),
        Address::Unix(at) => ("ListenStream", path(at)?),
        Address::UnixDatagram(at) => ("ListenDatagram", path(at)?),
        Address::Abstract(name) => ("ListenStream", plain("listen", &format!("@{name}"))?),
        Address::AbstractDatagram(name) => {
            ("ListenDatagram", plain("listen", &format!("@{name}"))?)
        }
    })
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
    if !spec.before.is_empty() {
        unit.set("Before", &units(spec.before.iter().collect()));
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
            unit.set("TimeoutStartSec", &start_timeout(spec)?);
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
            unit.set("TimeoutStartSec", &start_timeout(spec)?);
        }
        ServiceType::Oneshot => {
            unit.set("RemainAfterExit", "yes");
            if spec.timeout_start.is_some() {
                unit.set("TimeoutStartSec", &start_timeout(spec)?);
            }
        }
        // A readiness probe's wait (ExecStartPost=) is part of the start, bounded as svckit's
        // supervisor bounds it.
        ServiceType::Exec if spec.readiness.is_some() || spec.timeout_start.is_some() => {
            unit.set("TimeoutStartSec", &start_timeout(spec)?)
        }
        ServiceType::Exec => {}
    }
    Ok(())
}

/// [Service]'s commands: ExecStart= and those around it (a readiness probe's wait the first
/// ExecStartPost=, so the start, and what is ordered after it, waits for it), and how a
/// reload is done.
fn commands(unit: &mut Unit, spec: &ServiceSpec, svckit: Option<&Path>) -> Result<(), Error> {
    let mut exec = exec_path(&spec.program, spec.program_prefix)?;
    // A `$` is systemd's to expand (expand_env), or passed as it is (`:`); else doubled.
    let as_written = spec.expand_env || spec.program_prefix.verbatim;
    for (index, arg) in spec.args.iter().enumerate() {
        let arg = arg
            .to_str()
            .ok_or_else(|| refuse("args", format!("argument {} is not UTF-8", index + 1)))?;
        exec.push(' ');
        exec.push_str(&exec_word("args", arg, as_written)?);
    }
    let line = |setting, command: &[String]| exec_command(setting, command, spec.expand_env);
    for command in &spec.exec_start_pre {
        unit.set("ExecStartPre", &line("exec_start_pre", command)?);
    }
    unit.set("ExecStart", &exec);
    if let Some(probe) = &spec.readiness {
        let svckit = svckit.ok_or_else(|| {
            refuse(
                "readiness",
                "its check runs as `svckit probe-wait` in ExecStartPost=, and the svckit \
                 executable was not given",
            )
        })?;
        let svckit = svckit
            .to_str()
            .ok_or_else(|| refuse("readiness", "the svckit executable's path is not UTF-8"))?;
        let mut command = vec![svckit.to_owned(), "probe-wait".to_owned()];
        command.extend(probe.wait_args());
        unit.set(
            "ExecStartPost",
            &exec_command("readiness", &command, false)?,
        );
    }
    for command in &spec.exec_start_post {
        unit.set("ExecStartPost", &line("exec_start_post", command)?);
    }
    for command in &spec.exec_stop {
        unit.set("ExecStop", &line("exec_stop", command)?);
    }
    for command in &spec.exec_stop_post {
        unit.set("ExecStopPost", &line("exec_stop_post", command)?);
    }
    // Reload as svckit's own supervisor does: the signal to the main process, or the command;
    // none (reload is refused) for a program that has neither.
    match spec.reload_action() {
        Some(ReloadAction::Signal(signal)) => {
            unit.set("ExecReload", &format!("/bin/kill -s {signal} $MAINPID"));
        }
        Some(ReloadAction::Command(command)) => {
            unit.set("ExecReload", &line("reload.command", command)?);
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
    let directories = spec.directories.as_deref().cloned().unwrap_or_default();
    if !spec.runtime_directory.is_empty() {
        let dirs = spec
            .runtime_directory
            .iter()
            .map(|dir| plain("runtime_directory", dir))
            .collect::<Result<Vec<_>, _>>()?;
        unit.set("RuntimeDirectory", &dirs.join(" "));
        let mode = directories.runtime_mode.unwrap_or(0o755);
        unit.set("RuntimeDirectoryMode", &format!("{mode:04o}"));
        if directories.runtime_preserve != svckit_core::Preserve::No {
            unit.set(
                "RuntimeDirectoryPreserve",
                directories.runtime_preserve.name(),
            );
        }
    }
    for kind in svckit_core::DirectoryKind::ALL {
        let (names, mode) = directories.of(kind);
        if names.is_empty() {
            continue;
        }
        let dirs = names
            .iter()
            .map(|dir| plain(kind.key(), dir))
            .collect::<Result<Vec<_>, _>>()?;
        let key = kind.unit_key();
        unit.set(key, &dirs.join(" "));
        unit.set(
            &format!("{key}Mode"),
            &format!("{:04o}", mode.unwrap_or(0o755)),
        );
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
    if spec.accept.per_connection() {
        // An instance is one connection's, gone with it: never restarted (as svckit's
        // supervisor runs them).
        unit.set("Restart", "no");
        unit.set("TimeoutStopSec", &span("stop.timeout", spec.stop.timeout)?);
        unit.set("KillSignal", &format!("SIG{}", spec.stop.signal));
        unit.set("KillMode", spec.kill_mode.name());
        return Ok(());
    }
    unit.set(
        "Restart",
        match spec.restart.policy {
            Restart::Never => "no",
            // systemd's own names.
            policy => policy.name(),
        },
    );
    if spec.restart.policy != Restart::Never {
        unit.set("RestartSec", &span_or_zero(spec.restart.delay));
    }
    unit.set("TimeoutStopSec", &span("stop.timeout", spec.stop.timeout)?);
    unit.set("KillSignal", &format!("SIG{}", spec.stop.signal));
    unit.set("KillMode", spec.kill_mode.name());
    if !spec.send_sigkill {
        unit.set("SendSIGKILL", "no");
    }
    Ok(())
}

/// TimeoutStartSec=: `timeout_start` when given (any whole start), else `ready_timeout`.
fn start_timeout(spec: &ServiceSpec) -> Result<String, Error> {
    match spec.timeout_start {
        Some(limit) => span("timeout_start", limit),
        None => span("ready_timeout", spec.ready_timeout),
    }
}

/// A command line for ExecStartPre= or ExecReload=: the program as ExecStart='s, each
/// argument quoted.
fn exec_command(setting: &'static str, command: &[String], expand: bool) -> Result<String, Error> {
    let parts = svckit_core::command::parts(command).map_err(|why| refuse(setting, why))?;
    let program = parts.program;
    let mut line = exec_path(Path::new(program), parts.prefix)
        .map_err(|_| refuse(setting, format!("{program:?} cannot be run by systemd")))?;
    let as_written = expand || parts.prefix.verbatim;
    for arg in parts
        .argv0
        .into_iter()
        .chain(parts.args.iter().map(String::as_str))
    {
        line.push(' ');
        line.push_str(&exec_word(setting, arg, as_written)?);
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
/// `;` or white space can change its meaning; its `$` doubled unless `as_written` (its
/// variables systemd's to expand, as svckit would with `expand_env`, or a command prefixed
/// `:`, in which systemd expands nothing).
fn exec_word(setting: &'static str, word: &str, as_written: bool) -> Result<String, Error> {
    if word.contains('\n') {
        return Err(refuse(setting, format!("{word:?} contains a newline")));
    }
    match as_written {
        true => Ok(quoted(&specifiers(word))),
        false => Ok(quoted(&specifiers(&word.replace('$', "$$")))),
    }
}

/// The executable: quoted against white space, `%` doubled, but `$` left alone (systemd does
/// not expand variables in it), and quotes and backslashes refused (systemd's
/// string_is_safe() rejects them in executable names).
fn exec_path(program: &Path, prefix: svckit_core::command::Prefix) -> Result<String, Error> {
    let path = program
        .to_str()
        .ok_or_else(|| refuse("program", "the path is not UTF-8"))?;
    // Its prefixes, which systemd reads in the word it unquoted.
    let prefixed;
    let path = match prefix.is_empty() {
        true => path,
        false => {
            prefixed = format!("{}{path}", prefix.text());
            prefixed.as_str()
        }
    };
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
    /// A socket unit's `Listen`, each written as svckit writes addresses (`tcp:[::]:8080`).
    pub listen: Vec<String>,
    /// A socket unit's `NConnections`: instances running now.
    pub connections: Option<u32>,
    /// A socket unit's `NAccepted`.
    pub accepted: Option<u64>,
    /// A socket unit's `NRefused` (systemd 254 and later).
    pub refused: Option<u64>,
}

/// The properties of a socket unit `systemctl show -p` is asked for.
pub const SOCKET_PROPERTIES: &str = "Listen,NConnections,NAccepted,NRefused";

/// A `Listen` value of `systemctl show` (`[::]:8080 (Stream)`, `/run/x.sock (Datagram)`) as
/// svckit writes the address (`tcp:[::]:8080`, `unix-dgram:/run/x.sock`).
pub fn listen_address(value: &str) -> String {
    let (address, kind) = match value.rsplit_once(" (") {
        Some((address, kind)) => (address, kind.trim_end_matches(')')),
        None => (value, ""),
    };
    let stream = kind == "Stream";
    let prefix = match (address.starts_with(['/', '@']), stream) {
        (true, true) => "unix",
        (true, false) => "unix-dgram",
        (false, true) => "tcp",
        (false, false) => "udp",
    };
    format!("{prefix}:{address}")
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
            "Listen" => shown.listen.push(listen_address(value)),
            "NConnections" => shown.connections = value.parse().ok(),
            "NAccepted" => shown.accepted = value.parse().ok(),
            "NRefused" => shown.refused = value.parse().ok(),
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

    use super::{
        SHOW_PROPERTIES, SOCKET_PROPERTIES, Scope, Shown, parse_show, socket_name, template_name,
        unit_dir, unit_name, units_with,
    };
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
        /// The svckit executable units run (a readiness probe's `svckit probe-wait`).
        svckit: Option<PathBuf>,
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
                svckit: None,
            })
        }

        /// Unit files under `root` (system scope), enabled with `systemctl --root`; nothing
        /// is started.
        pub fn at_root(root: impl Into<PathBuf>) -> Systemd {
            Systemd {
                root: Some(root.into()),
                scope: Scope::System,
                systemctl: PathBuf::from("systemctl"),
                svckit: None,
            }
        }

        /// The svckit executable its units run (`svckit probe-wait` for a readiness probe).
        pub fn with_svckit(mut self, svckit: Option<PathBuf>) -> Systemd {
            self.svckit = svckit;
            self
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
            let files = units_with(spec, self.scope, self.svckit.as_deref())?;
            let dir = self.unit_path(&spec.name)?.with_file_name("");
            let all = self.unit_files(&spec.name)?;
            let existed = all.iter().any(|path| path.exists());
            let service = unit_name(&spec.name);
            let socket = socket_name(&spec.name);
            if existed {
                // Over an existing unit: stop it first, like the SCM's reinstall, and take
                // it out of the boot (enabled again below as the new definition says).
                if self.root.is_none() {
                    let _ = self.stop_all(&spec.name);
                }
                let _ = self.disable_all(&spec.name);
            }
            // What it had and no longer has (sockets, a template) goes.
            for path in &all {
                let kept = files
                    .iter()
                    .any(|file| path.file_name() == Some(file.name.as_ref()));
                if !kept && path.exists() {
                    let _ = fs::remove_file(path);
                }
            }
            let written = (|| {
                for file in &files {
                    write_file(&dir.join(&file.name), &file.text, 0o644)?;
                }
                Ok(())
            })();
            let applied = written.and_then(|()| {
                self.reload_manager()?;
                // Its sockets listen whenever it may start (at boot too); the program starts
                // at boot only for start = auto. Per connection, listening is its running.
                let mut enable: Vec<&str> = Vec::new();
                if !spec.listen.is_empty() && spec.start != StartType::Disabled {
                    enable.push(&socket);
                }
                if spec.start == StartType::Auto && !spec.accept.per_connection() {
                    enable.push(&service);
                }
                if !enable.is_empty() {
                    let mut args = vec!["enable"];
                    if self.root.is_none() {
                        args.push("--now");
                    }
                    args.extend(&enable);
                    self.systemctl(&args)?;
                }
                Ok(())
            });
            if let Err(err) = applied {
                // No half-installed service: take the units away again.
                let _ = self.disable_all(&spec.name);
                if self.root.is_none() {
                    let _ = self.stop_all(&spec.name);
                }
                for path in &all {
                    let _ = fs::remove_file(path);
                }
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
            let paths: Vec<PathBuf> = self
                .unit_files(name)?
                .into_iter()
                .filter(|path| path.exists())
                .collect();
            if paths.is_empty() {
                return Err(Error::NotInstalled(name.clone()));
            }
            if self.root.is_none() {
                self.stop_all(name)?;
            }
            self.disable_all(name)?;
            for path in &paths {
                fs::remove_file(path)
                    .map_err(|err| Error::os(format!("remove {}", path.display()), err))?;
            }
            self.reload_manager()?;
            if self.root.is_none() {
                let (service, socket) = (unit_name(name), socket_name(name));
                let _ = self.systemctl(&["reset-failed", &service, &socket]);
            }
            Ok(())
        }

        fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error> {
            self.running_only()?;
            // Per connection, a start listens: its socket unit.
            let unit = match self.per_connection(name)? {
                true => socket_name(name),
                false => unit_name(name),
            };
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
            if self.per_connection(name)? {
                // Its instances are the connections': a stop ends them and listens no more.
                return match control {
                    Control::Stop => {
                        let socket = socket_name(name);
                        let instances = format!("{name}@*.service");
                        self.job(
                            name,
                            &["stop", &socket, &instances],
                            State::Stopped,
                            timeout,
                        )
                    }
                    other => Err(Error::NotAccepted {
                        name: name.clone(),
                        control: other,
                    }),
                };
            }
            match control {
                // A service with sockets listens on after a stop (the next connection starts
                // it again), as svckit's supervisor runs it.
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
            Ok(crate::Logs::Journal(match self.per_connection(name)? {
                true => format!("{name}@*.service"),
                false => unit_name(name),
            }))
        }

        fn status(&self, name: &ServiceName) -> Result<Status, Error> {
            let per_connection = self.per_connection(name)?;
            if self.root.is_some() {
                // No manager to ask: installed or not, and never running.
                if !self.unit_files(name)?.iter().any(|path| path.exists()) {
                    return Err(Error::NotInstalled(name.clone()));
                }
                return Ok(stopped(name));
            }
            // `run`, not `check`: an unknown unit is an answer here, not a failure. The
            // service's properties, then its socket's (a blank line between).
            let properties = format!("{SHOW_PROPERTIES},{SOCKET_PROPERTIES}");
            let ran = run(
                &self.systemctl,
                &self.scoped(&[
                    "show",
                    "-p",
                    &properties,
                    &unit_name(name),
                    &socket_name(name),
                ]),
            )?;
            let mut blocks = ran.stdout.split("\n\n");
            let shown = parse_show(blocks.next().unwrap_or_default());
            let socket = parse_show(blocks.next().unwrap_or_default());
            let has_socket = !matches!(socket.load_state.as_str(), "" | "not-found");
            let has_service = !matches!(shown.load_state.as_str(), "" | "not-found");
            if ran.code != 0 || !(has_service || per_connection && has_socket) {
                return Err(Error::NotInstalled(name.clone()));
            }
            let mut status = stopped(name);
            if has_socket {
                status.sockets = Some(svckit_core::listen::Activity {
                    listen: socket.listen.clone(),
                    accept: match per_connection {
                        false => "no".into(),
                        true => self.accept_mode(name).name().into(),
                    },
                    instances: socket.connections.unwrap_or(0),
                    accepted: socket.accepted.unwrap_or(0),
                    refused: socket.refused.unwrap_or(0),
                });
            }
            if per_connection {
                // Listening is its running; its instances are units of their own.
                status.state = socket.state();
                status.accept = match status.state {
                    State::Running => Accept::STOP,
                    _ => Accept::NONE,
                };
                return Ok(status);
            }
            service_status(&mut status, &shown);
            Ok(status)
        }
    }

    /// What `systemctl show` says of a service unit, as a status.
    fn service_status(status: &mut Status, shown: &Shown) {
        let state = shown.state();
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
    }

    impl Systemd {
        /// Its unit files, whether they exist or not: `NAME.service`, `NAME@.service` (per
        /// connection) and `NAME.socket`.
        fn unit_files(&self, name: &ServiceName) -> Result<Vec<PathBuf>, Error> {
            let service = self.unit_path(name)?;
            Ok(vec![
                service.with_file_name(template_name(name)),
                service.with_file_name(socket_name(name)),
                service,
            ])
        }

        /// Whether `name` runs an instance per connection: it has a template, not a service.
        fn per_connection(&self, name: &ServiceName) -> Result<bool, Error> {
            Ok(self
                .unit_path(name)?
                .with_file_name(template_name(name))
                .exists())
        }

        /// How a per-connection service's instances get their connection, as its template
        /// says.
        fn accept_mode(&self, name: &ServiceName) -> svckit_core::listen::AcceptMode {
            let template = self
                .unit_path(name)
                .map(|path| path.with_file_name(template_name(name)))
                .and_then(|path| {
                    fs::read_to_string(&path)
                        .map_err(|err| Error::os(format!("read {}", path.display()), err))
                })
                .unwrap_or_default();
            match template.contains("\nStandardInput=socket\n") {
                true => svckit_core::listen::AcceptMode::Inetd,
                false => svckit_core::listen::AcceptMode::Fd,
            }
        }

        /// Its units whose files exist: `NAME.service` or `NAME@.service`, and `NAME.socket`.
        fn existing_units(&self, name: &ServiceName) -> Result<Vec<String>, Error> {
            Ok(self
                .unit_files(name)?
                .iter()
                .filter(|path| path.exists())
                .filter_map(|path| path.file_name())
                .map(|file| file.to_string_lossy().into_owned())
                .collect())
        }

        /// Stops all of it: its sockets, its service, its instances.
        fn stop_all(&self, name: &ServiceName) -> Result<(), Error> {
            let mut args = vec!["stop".to_owned()];
            for unit in self.existing_units(name)? {
                // systemctl takes a template's instances by pattern.
                args.push(unit.replace("@.service", "@*.service"));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.systemctl(&args).map(drop)
        }

        /// Disables its units (a template has no [Install]: there is nothing to disable).
        fn disable_all(&self, name: &ServiceName) -> Result<(), Error> {
            let mut args = vec!["disable".to_owned()];
            args.extend(
                self.existing_units(name)?
                    .into_iter()
                    .filter(|unit| !unit.ends_with("@.service")),
            );
            if args.len() == 1 {
                return Ok(());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.systemctl(&args).map(drop)
        }

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
