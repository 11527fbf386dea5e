//! The management commands for svckit's own supervisor: install, uninstall, list, show,
//! start, stop, restart, pause, continue, reload, status, logs, and `supervise` itself.

use std::{
    fs,
    io::{self, Read, Seek, SeekFrom, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use svckit::{BackendKind, Control, ServiceName, ServiceSpec};
use svckit_install::{Backend, builtin::Builtin};
use svckit_supervise::{
    StateDir, Stream, client,
    protocol::{Op, ServiceStatus},
    store,
    supervisor::{self, Config},
};

use super::native::{self, Action};
use crate::{
    cli::{
        LogsArgs, NameArgs, RenderArgs, StateDirArg, SuperviseArgs, SupervisedInstallArgs,
        SupervisedStartArgs, SupervisedStatusArgs, WaitArgs,
    },
    exit::{Exit, Failure},
};

fn state_dir(arg: &StateDirArg) -> anyhow::Result<StateDir> {
    let dir = match &arg.state_dir {
        Some(dir) => StateDir::new(dir),
        None => StateDir::default_location(),
    };
    let dir = dir.context("find the state directory")?;
    dir.check().map_err(svckit_supervise::Error::state_dir)?;
    Ok(dir)
}

fn name(text: &str) -> anyhow::Result<ServiceName> {
    Ok(ServiceName::new(text)?)
}

/// `name`'s definition when another backend than the supervisor has it (`None`: the
/// supervisor's, or unreadable, for the supervisor to say why). A service that is not
/// installed fails at once, without starting a supervisor to say so.
fn native_or_known(dir: &StateDir, name: &ServiceName) -> anyhow::Result<Option<ServiceSpec>> {
    match store::load(dir, name) {
        Err(err @ svckit_supervise::Error::NotInstalled(_)) => Err(err.into()),
        Ok(spec) if !spec.backend.is_builtin() => Ok(Some(spec)),
        _ => Ok(None),
    }
}

fn this_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("find the svckit executable")
}

fn ask(dir: &StateDir, op: Op, timeout: Duration) -> anyhow::Result<Vec<ServiceStatus>> {
    Ok(client::request(dir, op, timeout, Some(&this_exe()?))?)
}

/// `svckit install`.
pub fn install(args: SupervisedInstallArgs) -> anyhow::Result<Exit> {
    let mut spec = match &args.file {
        Some(file) => read_definition(file, args.name.as_deref())?,
        None => {
            let name = name(args.name.as_deref().unwrap_or_default())?;
            let Some((program, rest)) = args.command.split_first() else {
                return Err(Failure::new(
                    Exit::Usage,
                    "missing PROGRAM: svckit install NAME [flags] -- PROGRAM [ARGS...]",
                )
                .into());
            };
            let mut spec = ServiceSpec::new(name, program);
            spec.args = rest.to_vec();
            spec
        }
    };
    apply_flags(&mut spec, &args);
    if let Some(kind) = args.backend {
        spec.backend = kind;
    }
    let root = args.root.as_deref();
    if root.is_some() && !matches!(spec.backend, BackendKind::Systemd | BackendKind::Sysv) {
        return Err(Failure::new(
            Exit::Usage,
            "--root needs --backend systemd or --backend sysv",
        )
        .into());
    }
    if spec.backend == BackendKind::Auto {
        spec.backend = svckit_install::detect_kind(&svckit_install::Host::current());
    }
    let dir = match (&args.state.state_dir, root) {
        (None, Some(root)) => {
            StateDir::new(root.join("var/lib/svckit")).context("find the state directory")?
        }
        _ => state_dir(&args.state)?,
    };
    spec.program = match root {
        // The program is where the image will have it, perhaps not on this host yet.
        Some(_) if spec.program.is_absolute() => spec.program.clone(),
        Some(_) => {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "with --root, the program must be an absolute path, not {}",
                    spec.program.display()
                ),
            )
            .into());
        }
        None => {
            check_on_this_host(&spec)?;
            resolve_program(&spec.program)?
        }
    };
    // A service of this name with another backend goes first (with --force).
    let old = store::load(&dir, &spec.name).ok();
    if let Some(old) = &old
        && !(old.backend == spec.backend || old.backend.is_builtin() && spec.backend.is_builtin())
    {
        if !args.force {
            return Err(svckit_supervise::Error::AlreadyInstalled(spec.name.clone()).into());
        }
        if old.backend.is_builtin() || root.is_none() {
            take_away(&dir, &spec.name)?;
            if !old.backend.is_builtin() {
                outln!("uninstalled {} ({})", spec.name, old.backend);
            }
        }
    }
    match spec.backend {
        BackendKind::Systemd | BackendKind::Sysv => {
            native::install(&dir, &spec, root, args.force)?;
            return Ok(Exit::Ok);
        }
        BackendKind::Windows => {
            return Err(Failure::new(Exit::Usage, "the windows backend needs Windows").into());
        }
        BackendKind::Auto | BackendKind::Builtin => {}
    }
    if !args.force && dir.definition(&spec.name).exists() {
        return Err(svckit_supervise::Error::AlreadyInstalled(spec.name.clone()).into());
    }
    let installed = Builtin::new(dir.clone(), Some(this_exe()?)).install(&spec)?;
    outln!(
        "{} {} ({})",
        match installed {
            svckit_install::Installed::Created => "installed",
            svckit_install::Installed::Replaced => "reinstalled",
        },
        spec.name,
        dir.definition(&spec.name).display()
    );
    Ok(Exit::Ok)
}

/// Reads a definition file. The name key wins (`name`, when given, must agree); without one,
/// `name` or else the file's stem names it.
fn read_definition(file: &Path, name: Option<&str>) -> anyhow::Result<ServiceSpec> {
    let bytes = fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        Failure::new(
            Exit::Usage,
            format!(
                "{}: not UTF-8 text (invalid byte at offset {})",
                file.display(),
                err.utf8_error().valid_up_to()
            ),
        )
    })?;
    let stem = file.file_stem().and_then(|s| s.to_str());
    let has_name_key = text
        .parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key("name"));
    let default = if has_name_key { name } else { name.or(stem) };
    Ok(ServiceSpec::from_toml(&text, default).map_err(|err| err.in_file(file.display()))?)
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn apply_flags(spec: &mut ServiceSpec, args: &SupervisedInstallArgs) {
    if args.display_name.is_some() {
        spec.display_name.clone_from(&args.display_name);
    }
    if args.description.is_some() {
        spec.description.clone_from(&args.description);
    }
    if args.chdir.is_some() {
        spec.working_dir.clone_from(&args.chdir);
    }
    for (key, value) in &args.env {
        let key = key.to_string_lossy().into_owned();
        spec.env.retain(|(k, _)| *k != key);
        spec.env.push((key, value.to_string_lossy().into_owned()));
    }
    if args.user.is_some() {
        spec.account.clone_from(&args.user);
    }
    if args.group.is_some() {
        spec.group.clone_from(&args.group);
    }
    if args.umask.is_some() {
        spec.umask = args.umask;
    }
    set(&mut spec.start, args.start);
    spec.notify |= args.notify;
    set(&mut spec.ready_timeout, args.ready_timeout);
    set(&mut spec.restart.policy, args.restart);
    set(&mut spec.restart.delay, args.restart_delay);
    set(&mut spec.restart.max_delay, args.restart_max_delay);
    set(&mut spec.restart.reset_after, args.reset_after);
    set(&mut spec.restart.limit, args.start_limit);
    set(&mut spec.restart.window, args.start_window);
    set(&mut spec.stop.signal, args.stop_signal);
    set(&mut spec.stop.timeout, args.stop_timeout);
    set(&mut spec.logs.max_size, args.log_max_size);
    set(&mut spec.logs.keep, args.log_keep);
}

/// What would only fail at the first start, refused at install: an unknown user or group, a
/// working directory that is not one (it used to be blamed on the program: "cannot start
/// /usr/bin/sleep: spawn: No such file or directory").
fn check_on_this_host(spec: &ServiceSpec) -> anyhow::Result<()> {
    svckit::unix::privileges::Credentials::resolve(spec.account.as_deref(), spec.group.as_deref())?;
    if let Some(dir) = &spec.working_dir
        && !dir.is_dir()
    {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(Failure::new(
            Exit::Usage,
            format!("working_dir (--chdir) {} {why}", dir.display()),
        )
        .into());
    }
    Ok(())
}

/// The program as an absolute path (looked up in PATH when it has no `/`), checked to be an
/// executable file now rather than at the first start: the lookup `daemonize` makes too.
fn resolve_program(program: &Path) -> anyhow::Result<PathBuf> {
    let search =
        std::env::var_os("PATH").unwrap_or_else(|| svckit::unix::environment::DEFAULT_PATH.into());
    let cwd = std::env::current_dir().context("getcwd")?;
    let found = svckit::unix::process::find_program(program.as_os_str(), &search, &cwd).map_err(
        |reason| svckit_supervise::Error::ProgramNotFound {
            path: program.to_owned(),
            reason: reason.to_owned(),
        },
    )?;
    std::path::absolute(found).context("resolve the program's path")
}

/// `svckit uninstall`: through the service's backend, then its definition goes (a broken
/// definition can still be uninstalled: the supervisor's backend takes it).
pub fn uninstall(args: NameArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let name = name(&args.name)?;
    let native = native::lookup(&dir, &name);
    take_away(&dir, &name)?;
    match native {
        Some(spec) => outln!("uninstalled {name} ({})", spec.backend),
        None => outln!("uninstalled {name}"),
    }
    Ok(Exit::Ok)
}

/// Uninstalls `name` through its backend (already gone there is fine), then removes its
/// definition (the supervisor's backend has removed it already).
fn take_away(dir: &StateDir, name: &ServiceName) -> anyhow::Result<()> {
    match backend_of(dir, name)?.uninstall(name, Duration::from_secs(120)) {
        Ok(()) | Err(svckit_install::Error::NotInstalled(_)) => {}
        Err(err) => return Err(err.into()),
    }
    match store::remove(dir, name) {
        Ok(()) | Err(svckit_supervise::Error::NotInstalled(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// `svckit list`.
pub fn list(args: crate::cli::ListArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    for name in store::names(&dir)? {
        let backend = store::load(&dir, &name).map_or("?", |spec| match spec.backend {
            BackendKind::Auto => "builtin",
            other => other.name(),
        });
        outln!("{name:<24} {backend}");
    }
    Ok(Exit::Ok)
}

/// `svckit show`.
pub fn show(args: NameArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let spec = store::load(&dir, &name(&args.name)?)?;
    out!("{}", spec.to_toml());
    Ok(Exit::Ok)
}

/// `svckit render`.
pub fn render(args: RenderArgs) -> anyhow::Result<Exit> {
    let spec = match (&args.file, &args.name) {
        (Some(file), _) => read_definition(file, None)?,
        (None, name_arg) => {
            let dir = state_dir(&args.state)?;
            store::load(&dir, &name(name_arg.as_deref().unwrap_or_default())?)?
        }
    };
    out!("{}", native::render(&spec, args.backend)?);
    Ok(Exit::Ok)
}

/// The manager of the installed service `name`, whatever its backend: systemd, SysV init, or
/// the supervisor (also for a definition it cannot read, so the supervisor says why). A
/// service that is not installed fails at once, without starting a supervisor to say so.
fn backend_of(dir: &StateDir, name: &ServiceName) -> anyhow::Result<Box<dyn Backend>> {
    match native_or_known(dir, name)? {
        Some(spec) => native::backend(spec.backend, None),
        None => Ok(Box::new(Builtin::new(dir.clone(), Some(this_exe()?)))),
    }
}

/// Carries out `action` on the installed service `name` through its backend and prints the
/// outcome: `NAME: started (running, PID n)`.
fn act(
    state: &StateDirArg,
    name_arg: &str,
    action: Action,
    timeout: Duration,
    wait: bool,
) -> anyhow::Result<Exit> {
    let dir = state_dir(state)?;
    let name = name(name_arg)?;
    let backend = backend_of(&dir, &name)?;
    let status = match action {
        Action::Start => backend.start(&name, wait.then_some(timeout))?,
        Action::Stop => backend.control(&name, Control::Stop, timeout)?,
        Action::Restart => backend.restart(&name, timeout)?,
        Action::Pause => backend.control(&name, Control::Pause, timeout)?,
        Action::Continue => backend.control(&name, Control::Continue, timeout)?,
        Action::Reload => backend.control(&name, Control::ParamChange, timeout)?,
    };
    let done = action.done();
    let state = status.state_name();
    match status.pid {
        Some(pid) => outln!("{name}: {done} ({state}, PID {pid})"),
        None => outln!("{name}: {done} ({state})"),
    }
    Ok(Exit::Ok)
}

/// `svckit start`.
pub fn start(args: SupervisedStartArgs) -> anyhow::Result<Exit> {
    act(
        &args.state,
        &args.name,
        Action::Start,
        args.timeout,
        !args.no_wait,
    )
}

/// `svckit stop`.
pub fn stop(args: WaitArgs) -> anyhow::Result<Exit> {
    act(&args.state, &args.name, Action::Stop, args.timeout, true)
}

/// `svckit restart`.
pub fn restart(args: WaitArgs) -> anyhow::Result<Exit> {
    act(&args.state, &args.name, Action::Restart, args.timeout, true)
}

/// `svckit pause`, `continue`, `reload`.
pub fn control(args: NameArgs, action: Action) -> anyhow::Result<Exit> {
    act(
        &args.state,
        &args.name,
        action,
        Duration::from_secs(30),
        true,
    )
}

/// `svckit status`.
pub fn status(args: SupervisedStatusArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let one = args.name.as_deref().map(name).transpose()?;
    let native = match &one {
        Some(name) => native_or_known(&dir, name)?,
        None => None,
    };
    if let Some(spec) = native {
        let status = native::status(&spec)?;
        if args.json {
            outln!("{}", native::json(&spec, &status));
            return Ok(Exit::Ok);
        }
        let mut out = io::stdout().lock();
        native::describe(&mut out, &spec, &status)?;
        if spec.backend == BackendKind::Sysv {
            let log = svckit_install::sysv::log_file(&spec.name);
            let lines = svckit_supervise::logs::tail(&log, args.lines, 0).unwrap_or_default();
            if !lines.is_empty() {
                writeln!(out, "\noutput (last {}):", lines.len())?;
                for line in lines {
                    writeln!(out, "  {line}")?;
                }
            }
        }
        return Ok(Exit::Ok);
    }
    let names = match one {
        Some(_) => Vec::new(),
        None => store::names(&dir)?,
    };
    // No supervisor running and none of the services its own: nothing to ask (and no
    // supervisor to start for it).
    let ask_supervisor = one.is_some()
        || client::is_running(&dir)
        || names
            .iter()
            .any(|name| store::load(&dir, name).map_or(true, |spec| spec.backend.is_builtin()));
    let services = if ask_supervisor {
        ask(
            &dir,
            Op::Status {
                name: one.as_ref().map(ToString::to_string),
            },
            Duration::from_secs(30),
        )?
    } else {
        Vec::new()
    };
    // The names the supervisor did not report are installed with another backend: ask it.
    let reported: std::collections::HashSet<&str> = services
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    let natives: Vec<(ServiceSpec, anyhow::Result<svckit_install::Status>)> = names
        .iter()
        .filter(|name| !reported.contains(name.as_str()))
        .filter_map(|name| native::lookup(&dir, name))
        .map(|spec| {
            let status = native::status(&spec);
            (spec, status)
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    if args.json {
        let json: Vec<serde_json::Value> = services
            .iter()
            .map(|service| {
                let mut value = serde_json::to_value(service).unwrap_or_default();
                value["uptime_ms"] = service.started_ms.map(|at| now.saturating_sub(at)).into();
                value["backend"] = "builtin".into();
                value
            })
            .chain(natives.iter().map(|(spec, status)| match status {
                Ok(status) => native::json(spec, status),
                Err(err) => serde_json::json!({
                    "name": spec.name.to_string(),
                    "backend": spec.backend.name(),
                    "error": format!("{err:#}"),
                }),
            }))
            .collect();
        let json = match (&one, json.as_slice()) {
            (Some(_), [single]) => single.clone(),
            _ => serde_json::Value::Array(json),
        };
        outln!("{json}");
        return Ok(Exit::Ok);
    }
    let mut out = io::stdout().lock();
    match (&one, services.as_slice()) {
        (Some(name), [service]) => {
            describe(&mut out, service, now)?;
            let keep = store::load(&dir, name).map(|s| s.logs.keep).unwrap_or(5);
            for stream in [Stream::Stdout, Stream::Stderr] {
                let lines = svckit_supervise::logs::tail(&dir.log(name, stream), args.lines, keep)
                    .unwrap_or_default();
                if !lines.is_empty() {
                    writeln!(out, "\n{} (last {}):", stream.name(), lines.len())?;
                    for line in lines {
                        writeln!(out, "  {line}")?;
                    }
                }
            }
        }
        _ => {
            writeln!(
                out,
                "{:<24} {:<8} {:<9} {:>8} {:>10} {:>8}  LAST EXIT",
                "NAME", "BACKEND", "STATE", "PID", "UPTIME", "RESTARTS"
            )?;
            for service in &services {
                writeln!(
                    out,
                    "{:<24} {:<8} {:<9} {:>8} {:>10} {:>8}  {}",
                    service.name,
                    "builtin",
                    service.state.name(),
                    service.pid.map_or("-".into(), |pid| pid.to_string()),
                    service
                        .started_ms
                        .map_or("-".into(), |at| short_duration(now.saturating_sub(at))),
                    service.restarts,
                    service
                        .last_exit
                        .map_or("-".into(), |exit| exit.to_string()),
                )?;
            }
            for (spec, status) in &natives {
                let (state, pid, (uptime, restarts, last_exit)) = match status {
                    Ok(status) => (
                        status.state_name(),
                        status.pid.map_or("-".into(), |pid| pid.to_string()),
                        native::table_cells(status),
                    ),
                    Err(err) => (
                        format!("unknown ({err:#})"),
                        "-".into(),
                        ("-".into(), "-".into(), "-".into()),
                    ),
                };
                writeln!(
                    out,
                    "{:<24} {:<8} {:<9} {:>8} {:>10} {:>8}  {}",
                    spec.name, spec.backend, state, pid, uptime, restarts, last_exit
                )?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn describe(out: &mut impl Write, service: &ServiceStatus, now: u64) -> io::Result<()> {
    let mark = match service.state {
        svckit_supervise::state::UnitState::Running => "●",
        svckit_supervise::state::UnitState::Failed => "×",
        _ => "○",
    };
    writeln!(out, "{mark} {}", service.name)?;
    let since = format_time(service.since_ms);
    let ago = short_duration(now.saturating_sub(service.since_ms));
    writeln!(
        out,
        "      state: {} since {since}; {ago} ago",
        service.state
    )?;
    if let Some(pid) = service.pid {
        writeln!(out, "        pid: {pid}")?;
    }
    if let Some(started) = service.started_ms {
        writeln!(
            out,
            "     uptime: {}",
            short_duration(now.saturating_sub(started))
        )?;
    }
    writeln!(out, "   restarts: {}", service.restarts)?;
    if let Some(exit) = service.last_exit {
        writeln!(out, "  last exit: {exit}")?;
    }
    if let Some(reason) = &service.reason {
        writeln!(out, "     reason: {reason}")?;
    }
    if let Some(error) = &service.capture_error {
        writeln!(out, "     output: not stored: {error}")?;
    }
    writeln!(out, "    command: {}", service.command)
}

fn format_time(unix_ms: u64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(unix_ms as i64)
        .single()
        .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| unix_ms.to_string())
}

/// A duration in milliseconds as the status table shows it (the one formatter,
/// [`svckit::parse::short_duration`]).
pub(super) fn short_duration(ms: u64) -> String {
    svckit::parse::short_duration(Duration::from_millis(ms))
}

/// `svckit logs`.
pub fn logs(args: LogsArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let name = name(&args.name)?;
    let spec = store::load(&dir, &name)?;
    let stream = if args.stderr {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let (path, keep) = match spec.backend {
        BackendKind::Systemd => {
            // The journal has it: let journalctl print it.
            let mut journalctl = std::process::Command::new("journalctl");
            journalctl
                .args(["--unit", &svckit_install::systemd::unit_name(&name)])
                .args(["--lines", &args.lines.to_string()]);
            if args.follow {
                journalctl.arg("--follow");
            }
            let status = journalctl.status().context("run journalctl")?;
            return Ok(if status.success() {
                Exit::Ok
            } else {
                Exit::Failed
            });
        }
        // The init script appends both streams to one file, never rotated by svckit.
        BackendKind::Sysv => (svckit_install::sysv::log_file(&name), 0),
        _ => (dir.log(&name, stream), spec.logs.keep),
    };
    let mut out = io::stdout().lock();
    for line in svckit_supervise::logs::tail(&path, args.lines, keep)? {
        writeln!(out, "{line}")?;
    }
    if !args.follow {
        return Ok(Exit::Ok);
    }
    // Follow: whatever is appended after the tail; when the file is rotated (a new inode at
    // the path), finish the old one and go on with the new.
    out.flush()?;
    let mut file = open_at_end(&path)?;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match &mut file {
            Some((handle, _)) => handle.read(&mut chunk)?,
            None => 0,
        };
        if n > 0 {
            out.write_all(&chunk[..n])?;
            out.flush()?;
            continue;
        }
        let current = fs::metadata(&path).map(|m| m.ino()).ok();
        if current.is_some() && current != file.as_ref().map(|(_, ino)| *ino) {
            // Rotated: what reached the old file between our last read and the rename is
            // still in it (nothing is written to it after the rename).
            if let Some((old, _)) = &mut file {
                io::copy(old, &mut out)?;
                out.flush()?;
            }
            file = fs::File::open(&path)
                .ok()
                .map(|handle| (handle, current.unwrap_or(0)));
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn open_at_end(path: &Path) -> io::Result<Option<(fs::File, u64)>> {
    match fs::File::open(path) {
        Ok(mut file) => {
            file.seek(SeekFrom::End(0))?;
            let ino = file.metadata()?.ino();
            Ok(Some((file, ino)))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// `svckit supervise`.
pub fn supervise(args: SuperviseArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let main = args.main.as_deref().map(name).transpose()?;
    dir.create()
        .with_context(|| format!("create {}", dir.root().display()))?;
    if !args.daemon {
        let code = supervisor::run(
            Config {
                dir,
                main,
                locked: false,
            },
            || Ok(()),
        )?;
        std::process::exit(code);
    }
    let log = dir.supervisor_log();
    let forked = svckit::unix::Daemonize::new()
        .pidfile(dir.pidfile())
        .stdout(&log)
        .stderr(&log)
        .start()?;
    match forked {
        svckit::unix::Forked::Launcher(launched) => {
            eprintln!(
                "svckit: supervisor running as PID {} for {}",
                launched.pid,
                dir.root().display()
            );
            Ok(Exit::Ok)
        }
        svckit::unix::Forked::Daemon(mut daemon) => {
            let code = supervisor::run(
                Config {
                    dir,
                    main,
                    locked: true,
                },
                || daemon.ready(),
            )?;
            std::process::exit(code);
        }
    }
}
