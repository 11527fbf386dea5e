//! `svckit install | uninstall | start | stop | pause | continue | status`: service management
//! through the host's backend (on Windows, the SCM).

use std::path::PathBuf;

use anyhow::Context as _;
use svckit::{Control, RestartPolicy, ServiceName, ServiceSpec};
use svckit_install::{Backend, Installed, Status};

use crate::{
    cli::{ControlArgs, InstallArgs, StartArgs, StatusArgs, UninstallArgs},
    exit::Exit,
};

fn backend() -> anyhow::Result<Box<dyn Backend>> {
    Ok(svckit_install::detect()?)
}

/// `svckit install`.
pub fn install(args: InstallArgs) -> anyhow::Result<Exit> {
    if !matches!(
        args.backend,
        svckit::BackendKind::Auto | svckit::BackendKind::Windows
    ) {
        return Err(crate::exit::Failure::new(
            Exit::Usage,
            format!("the {} backend is not available on Windows", args.backend),
        )
        .into());
    }
    let name = ServiceName::new(&args.name)?;
    let mut command = args.command.into_iter();
    let program = PathBuf::from(command.next().context("no PROGRAM given")?);
    // The service manager starts the program from its own directory: make the path absolute.
    let program = if program.is_absolute() {
        program
    } else {
        std::env::current_dir().context("getcwd")?.join(program)
    };
    let mut spec = ServiceSpec::new(name.clone(), program);
    spec.args = command.collect();
    spec.display_name = args.display_name;
    spec.description = args.description;
    spec.start = args.start;
    spec.account = args.user;
    spec.password = args.password;
    spec.dependencies = args
        .depends
        .iter()
        .map(ServiceName::new)
        .collect::<Result<_, _>>()?;
    spec.restart = RestartPolicy {
        policy: args.restart,
        delay: args.restart_delay,
        ..RestartPolicy::default()
    };
    let backend = backend()?;
    match backend.install(&spec)? {
        Installed::Created => outln!("{name}: installed ({})", backend.name()),
        Installed::Replaced => outln!(
            "{name}: reinstalled ({}; the old service was stopped and deleted)",
            backend.name()
        ),
    }
    Ok(Exit::Ok)
}

/// `svckit uninstall`.
pub fn uninstall(args: UninstallArgs) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    backend()?.uninstall(&name, args.timeout)?;
    outln!("{name}: uninstalled");
    Ok(Exit::Ok)
}

/// `svckit start`.
pub fn start(args: StartArgs) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    let wait = (!args.no_wait).then_some(args.timeout);
    let status = backend()?.start(&name, wait)?;
    outln!("{name}: {}", state_line(&status));
    Ok(Exit::Ok)
}

/// `svckit stop`, `pause`, `continue`.
pub fn control(args: ControlArgs, control: Control) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    let status = backend()?.control(&name, control, args.timeout)?;
    outln!("{name}: {}", state_line(&status));
    Ok(Exit::Ok)
}

/// `svckit status`.
pub fn status(args: StatusArgs) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    let status = backend()?.status(&name)?;
    if args.json {
        outln!("{}", json(&status));
    } else {
        out!("{}", text(&status));
    }
    Ok(Exit::Ok)
}

fn state_line(status: &Status) -> String {
    match status.pid {
        Some(pid) => format!("{} (pid {pid})", status.state.name()),
        None => status.state.name().to_string(),
    }
}

fn text(status: &Status) -> String {
    let mut out = format!("{}", status.name);
    if let Some(display_name) = &status.display_name
        && display_name != status.name.as_ref()
    {
        out += &format!(" - {display_name}");
    }
    out += &format!(" ({})\n", status.backend);
    out += &format!("  state:    {}\n", state_line(status));
    if status.state.is_pending() {
        out += &format!(
            "  progress: checkpoint {}, wait hint {}\n",
            status.checkpoint,
            humantime::format_duration(status.wait_hint)
        );
    }
    out += &format!("  accepts:  {}\n", status.accept);
    if let Some(start) = status.start {
        out += &format!("  start:    {start}\n");
    }
    out += &format!("  exit:     {}\n", status.exit_code);
    if let Some(command) = &status.command {
        out += &format!("  command:  {command}\n");
    }
    out
}

fn json(status: &Status) -> serde_json::Value {
    let (win32, specific) = status.exit_code.to_scm();
    serde_json::json!({
        "name": status.name.as_ref(),
        "backend": status.backend,
        "state": status.state.name(),
        "state_value": status.state.as_u32(),
        "pid": status.pid,
        "accepts": status.accept.to_string(),
        "accepts_value": status.accept.bits(),
        "win32_exit_code": win32,
        "service_exit_code": specific,
        "checkpoint": status.checkpoint,
        "wait_hint_ms": u64::try_from(status.wait_hint.as_millis()).unwrap_or(u64::MAX),
        "start": status.start.map(|start| start.name()),
        "display_name": status.display_name,
        "command": status.command,
    })
}
