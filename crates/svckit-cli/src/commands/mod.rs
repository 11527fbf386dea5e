//! One module per subcommand; each turns checked arguments into library calls.

mod act;
mod apply;
mod definition;
mod demo;
mod docs;
mod events;
mod import;
mod installed;
mod logs;
mod paint;
mod probe_wait;
mod report;
mod status;
mod top;
mod watch;

// Each platform's side under one name: the same functions on the same arguments (what the
// platform cannot do refused by name, with the reason).
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub use platform::{exit_code, report_failure, stdout_reader_gone};

use crate::{
    cli::{Cli, Command, Demo, SupervisorCommand},
    exit::Exit,
};

/// A command (or flag) the platform cannot carry out: refused by name, with why and what to
/// use instead (exit 2).
fn refused(command: &str, platform: &str, why: &str) -> anyhow::Result<Exit> {
    Err(crate::exit::Failure::new(
        Exit::Usage,
        format!("{command} is not available on {platform}: {why}"),
    )
    .into())
}

/// The services' manager: on Unix the state directory's (`--state-dir`); on Windows the SCM's,
/// whose definitions and logs svckit keeps in `%ProgramData%\svckit` (`--state-dir` refused
/// by name).
fn manager(state: &crate::cli::StateDirArg) -> anyhow::Result<svckit_install::Manager> {
    let manager = platform::manager(state)?;
    let _ = ASKED.set(manager.clone());
    Ok(manager)
}

/// The services' manager of `state`, for completing service names (nothing is kept).
pub fn manager_for_completion(
    state: &crate::cli::StateDirArg,
) -> anyhow::Result<svckit_install::Manager> {
    platform::manager(state)
}

/// The services' manager a command asked, kept to tell what a name not installed was meant
/// to be ([`explain`]).
static ASKED: std::sync::OnceLock<svckit_install::Manager> = std::sync::OnceLock::new();

/// `err` with what was meant, where it says a service is not installed and one is named much
/// like it: "service wbe is not installed; did you mean web?" (exit 3 all the same); where it
/// says one is installed already, the flag that replaces it.
pub fn explain(err: anyhow::Error) -> anyhow::Error {
    // The library's error says nothing of flags; the command line says which one replaces it.
    if already_installed(&err) {
        return crate::exit::Failure::new(
            Exit::AlreadyRunning,
            format!("{err:#} (svckit install --force replaces it)"),
        )
        .into();
    }
    let Some(svckit_install::Error::NotInstalled(typed)) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<svckit_install::Error>())
    else {
        return err;
    };
    let Some(known) = ASKED.get().and_then(|manager| manager.list().ok()) else {
        return err;
    };
    let names: Vec<&svckit::ServiceName> = known.iter().map(|(name, _)| name).collect();
    match svckit::most_like(typed.as_str(), names.iter().copied()) {
        Some(like) => {
            crate::exit::Failure::new(Exit::NotFound, format!("{err:#}; did you mean {like}?"))
                .into()
        }
        None => err,
    }
}

/// Whether `err` says a service (or its file) is installed already.
fn already_installed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let install = matches!(
            cause.downcast_ref::<svckit_install::Error>(),
            Some(svckit_install::Error::AlreadyInstalled { .. })
        );
        #[cfg(unix)]
        let install = install
            || matches!(
                cause.downcast_ref::<svckit_supervise::Error>(),
                Some(svckit_supervise::Error::AlreadyInstalled(_))
            );
        install
    })
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Daemonize(args) => platform::daemonize(args),
        Command::RuntimeDir(args) => platform::runtime_dir(args),
        Command::Kill(args) => platform::kill(args),
        Command::Probe(args) => platform::probe(args),
        Command::ProbeWait(args) => probe_wait::run(&args),
        Command::Run(args) => platform::entrypoint(args),
        Command::Host(args) => platform::host(args),
        Command::Demo(Demo::Timelog(args)) => platform::timelog(args),
        Command::Demo(Demo::MemoryStatus(args)) => demo::memory_status::run(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
        Command::Install(args) => platform::install(*args),
        Command::Uninstall(args) => act::uninstall(args),
        Command::List(args) => installed::list(args),
        Command::Show(args) => installed::show(args),
        Command::Import(args) => import::import(args),
        Command::Render(args) => act::render(args),
        Command::Start(args) => act::start(args),
        Command::Stop(args) => act::stop(args),
        Command::Restart(args) => act::restart(args),
        Command::Pause(args) => act::control(args, svckit_install::Action::Pause),
        Command::Continue(args) => act::control(args, svckit_install::Action::Continue),
        Command::Reload(args) => act::control(args, svckit_install::Action::Reload),
        Command::Status(args) => status::run(args),
        Command::Top(args) => top::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Events(args) => events::run(args),
        Command::Supervise(args) => platform::supervise(args),
        Command::Supervisor(SupervisorCommand::Status(args)) => platform::supervisor_status(args),
        Command::Supervisor(SupervisorCommand::Stop(args)) => platform::supervisor_stop(args),
        Command::Boot(command) => platform::boot(command),
        Command::Edit(args) => apply::edit(args),
        Command::Apply(args) => apply::apply_files(args),
        Command::Enable(args) => enable(&args, svckit::StartType::Auto),
        Command::Disable(args) => enable(&args, svckit::StartType::Demand),
    }
}

/// `svckit enable` / `disable`: `start` set to auto or demand with each service's backend;
/// with --now, each started or stopped too (its outcome said), as systemctl's --now.
fn enable(args: &crate::cli::EnableArgs, start: svckit::StartType) -> anyhow::Result<Exit> {
    // Each name's outcome is said; one that fails does not stop the others.
    let mut done = Vec::new();
    let mut failed = None;
    for one in &args.names {
        match platform::set_start(one, &args.state, start) {
            Ok(()) => done.push(one.clone()),
            Err(err) => {
                let err = explain(err);
                eprintln!("svckit: error: {err:#}");
                failed.get_or_insert(crate::exit::code_for(&err));
            }
        }
    }
    if args.now && !done.is_empty() {
        let targets = crate::cli::Targets {
            names: done,
            all: false,
        };
        let action = match start {
            svckit::StartType::Auto => svckit_install::Action::Start,
            _ => svckit_install::Action::Stop,
        };
        let timeout = std::time::Duration::from_secs(120);
        let acted = act::act(&manager(&args.state)?, &targets, action, timeout, true)?;
        failed = failed.or((acted != Exit::Ok).then_some(acted));
    }
    Ok(failed.unwrap_or(Exit::Ok))
}

/// The process flags given (`--chdir`, `--umask`, `--user`, `--group`, `--env`) override the
/// definition's keys; the backend refuses those it cannot honour, naming them.
fn apply_process(spec: &mut svckit::ServiceSpec, process: &crate::cli::ProcessArgs) {
    if process.user.is_some() {
        spec.account.clone_from(&process.user);
    }
    if process.group.is_some() {
        spec.group.clone_from(&process.group);
    }
    if process.chdir.is_some() {
        spec.working_dir.clone_from(&process.chdir);
    }
    for (key, value) in &process.env {
        let key = key.to_string_lossy().into_owned();
        spec.env.retain(|(k, _)| *k != key);
        spec.env.push((key, value.to_string_lossy().into_owned()));
    }
    if process.umask.is_some() {
        spec.umask = process.umask;
    }
}
