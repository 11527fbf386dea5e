//! The management commands on Unix — install, uninstall, list, show, render, start, stop,
//! restart, pause, continue, reload, status, logs — through [`svckit_install::Manager`],
//! whichever backend runs the service; and `supervise`, the supervisor itself.

use anyhow::Context as _;
use svckit::ServiceName;
use svckit_install::{InstallOptions, Manager};
use svckit_supervise::{
    StateDir,
    supervisor::{self, Config},
};

use crate::commands::definition;
use crate::{
    cli::{BootCommand, InstallArgs, StateDirArg, SuperviseArgs, SupervisorStopArgs},
    exit::Exit,
};

pub(super) fn state_dir(arg: &StateDirArg) -> anyhow::Result<StateDir> {
    let dir = match &arg.state_dir {
        Some(dir) => StateDir::new(dir),
        None => StateDir::default_location(),
    };
    let dir = dir.context("find the state directory")?;
    dir.check().map_err(svckit_supervise::Error::state_dir)?;
    Ok(dir)
}

/// The services of `dir`, with this executable to run init scripts and start a supervisor.
pub(super) fn manager(dir: StateDir) -> anyhow::Result<Manager> {
    let exe = std::env::current_exe().context("find the svckit executable")?;
    Ok(Manager::new(dir).with_svckit(exe.canonicalize().unwrap_or(exe)))
}

fn name(text: &str) -> anyhow::Result<ServiceName> {
    Ok(ServiceName::new(text)?)
}

/// `svckit install`.
pub fn install(args: InstallArgs) -> anyhow::Result<Exit> {
    let spec = definition::from_install(&args)?;
    let dir = match (&args.state.state_dir, &args.root) {
        (None, Some(root)) => {
            svckit_install::image_state_dir(root).context("find the state directory")?
        }
        _ => state_dir(&args.state)?,
    };
    let options = InstallOptions {
        force: args.force,
        root: args.root.clone(),
    };
    let name = spec.name.clone();
    let report = manager(dir)?.install(spec, &options)?;
    crate::commands::apply::say_installed(&name, &report)?;
    Ok(Exit::Ok)
}

/// `svckit enable` / `disable`: `start` set to auto or demand, applied with each service's
/// backend (systemctl enable, update-rc.d, the supervisor's definition).
pub fn set_start(
    one: &str,
    state: &crate::cli::StateDirArg,
    start: svckit::StartType,
) -> anyhow::Result<()> {
    let manager = manager(state_dir(state)?)?;
    let mut spec = manager.definition(&name(one)?)?;
    spec.start = start;
    crate::commands::apply::apply(&manager, spec)?;
    Ok(())
}

/// `svckit boot enable | disable | status`.
pub fn boot(command: BootCommand) -> anyhow::Result<Exit> {
    use svckit_install::boot::{Boot, BootSetup, Via};
    let (BootCommand::Enable(args) | BootCommand::Disable(args) | BootCommand::Status(args)) =
        &command;
    let dir = state_dir(&args.state)?;
    let exe = std::env::current_exe().context("find the svckit executable")?;
    let via = match args.via {
        crate::cli::BootVia::Auto => Via::Auto,
        crate::cli::BootVia::Systemd => Via::Systemd,
        crate::cli::BootVia::Sysv => Via::Sysv,
        crate::cli::BootVia::Cron => Via::Cron,
        crate::cli::BootVia::Entrypoint => Via::Entrypoint,
    };
    let setup = BootSetup::new(dir.clone(), exe).via(via)?;
    let root = dir.root().display().to_string();
    match command {
        BootCommand::Enable(_) => match setup.enable()? {
            Boot::Entrypoint { line } => {
                outln!(
                    "no init runs here (a container): make the supervisor of {root} its \
                     entrypoint:\n{line}"
                );
            }
            boot => outln!("the supervisor of {root} starts at boot: {boot}"),
        },
        BootCommand::Disable(_) => match setup.disable()? {
            Some(boot) => {
                outln!("the supervisor of {root} no longer starts at boot ({boot} removed)")
            }
            None => outln!("the supervisor of {root} was not set up to start at boot"),
        },
        BootCommand::Status(_) => {
            let (boot, enabled) = setup.status();
            return Ok(match enabled {
                true => {
                    outln!("the supervisor of {root} starts at boot: {boot}");
                    Exit::Ok
                }
                false => {
                    outln!("the supervisor of {root} does not start at boot (it would be {boot})");
                    Exit::NotFound
                }
            });
        }
    }
    Ok(Exit::Ok)
}

/// `svckit supervisor status`: 0 and its pid when it runs, 3 when not.
pub fn supervisor_status(args: StateDirArg) -> anyhow::Result<Exit> {
    let manager = manager(state_dir(&args)?)?;
    let dir = manager.dir().root().display().to_string();
    Ok(match manager.supervisor() {
        Some(pid) => {
            outln!("the supervisor of {dir} runs (pid {pid})");
            Exit::Ok
        }
        None => {
            outln!("the supervisor of {dir} is not running");
            Exit::NotFound
        }
    })
}

/// `svckit supervisor stop`.
pub fn supervisor_stop(args: SupervisorStopArgs) -> anyhow::Result<Exit> {
    let manager = manager(state_dir(&args.state)?)?;
    let dir = manager.dir().root().display().to_string();
    match manager.stop_supervisor(args.timeout)? {
        None => outln!("the supervisor of {dir} is not running"),
        Some(stopped) => {
            let names: Vec<String> = stopped.iter().map(|s| s.name.to_string()).collect();
            match names.is_empty() {
                true => outln!("the supervisor of {dir} stopped"),
                false => outln!(
                    "the supervisor of {dir} stopped, with its services ({})",
                    names.join(", ")
                ),
            }
        }
    }
    Ok(Exit::Ok)
}

/// `svckit supervise`.
pub fn supervise(args: SuperviseArgs) -> anyhow::Result<Exit> {
    let dir = state_dir(&args.state)?;
    let main = args.main.as_deref().map(name).transpose()?;
    if args.daemon {
        let root = dir.root().to_owned();
        let pid = supervisor::daemonize(dir, main)?;
        eprintln!(
            "svckit: supervisor running as PID {pid} for {}",
            root.display()
        );
        return Ok(Exit::Ok);
    }
    let config = Config {
        dir,
        main,
        locked: false,
    };
    std::process::exit(supervisor::run(config, || Ok(()))?)
}
