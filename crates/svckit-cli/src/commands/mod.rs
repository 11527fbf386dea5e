//! One module per subcommand; each turns checked arguments into library calls.

mod act;
mod apply;
#[cfg(unix)]
mod daemonize;
mod definition;
mod demo;
mod docs;
mod events;
mod installed;
#[cfg(unix)]
mod kill;
mod logs;
#[cfg(windows)]
mod manage;
mod paint;
mod report;
#[cfg(unix)]
mod service;
mod status;
mod watch;

use crate::{
    cli::{Cli, Command, Demo},
    exit::Exit,
};

// Each platform's commands, under one name: the same functions on the same arguments.
#[cfg(windows)]
use manage as platform;
#[cfg(unix)]
use service as platform;

/// A command of Unix's on Windows: refused by name, with why and what to use instead.
#[cfg(windows)]
fn not_on_windows(command: &str, why: &str) -> anyhow::Result<Exit> {
    Err(crate::exit::Failure::new(
        Exit::Usage,
        format!("{command} is not available on Windows: {why}"),
    )
    .into())
}

/// The services' manager: on Unix the state directory's (`--state-dir`); on Windows the SCM's,
/// whose definitions and logs svckit keeps in `%ProgramData%\svckit` (`--state-dir` refused
/// by name).
fn manager(state: &crate::cli::StateDirArg) -> anyhow::Result<svckit_install::Manager> {
    #[cfg(unix)]
    {
        service::manager(service::state_dir(state)?)
    }
    #[cfg(windows)]
    {
        manage::manager_at(state)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        #[cfg(windows)]
        Command::Daemonize(_) => not_on_windows(
            "daemonize",
            "daemon(7) is Unix's; a program becomes a Windows service with `svckit install NAME -- PROGRAM`",
        ),
        #[cfg(windows)]
        Command::Run(_) => not_on_windows(
            "run",
            "it is a Linux container's PID 1 (signals, reaping); a Windows container runs its program itself",
        ),
        #[cfg(windows)]
        Command::RuntimeDir(_) => {
            not_on_windows("runtime-dir", "/run and its runtime directories are Unix's")
        }
        #[cfg(windows)]
        Command::Kill(_) => not_on_windows(
            "kill",
            "PID files and signals are Unix's; a service stops with `svckit stop NAME`",
        ),
        #[cfg(windows)]
        Command::Probe(_) => not_on_windows(
            "probe",
            "PID files are Unix's; a service's state is `svckit status NAME`",
        ),
        #[cfg(windows)]
        Command::Supervise(_) | Command::Supervisor(_) => not_on_windows(
            "the supervisor",
            "the SCM supervises Windows services, and svckit.exe hosts each program itself",
        ),
        #[cfg(windows)]
        Command::Boot(_) => not_on_windows(
            "boot",
            "the SCM starts services at boot: `svckit install NAME --start auto`",
        ),
        #[cfg(windows)]
        Command::Demo(Demo::Timelog(_)) => not_on_windows(
            "demo timelog",
            "it is a Unix daemon; `svckit demo memory-status` runs on both",
        ),
        #[cfg(unix)]
        Command::Daemonize(args) => daemonize::run(args),
        #[cfg(unix)]
        Command::RuntimeDir(args) => daemonize::runtime_dir(args),
        #[cfg(unix)]
        Command::Kill(args) => kill::run(args),
        #[cfg(unix)]
        Command::Run(args) => entrypoint(args),
        #[cfg(unix)]
        Command::Demo(Demo::Timelog(args)) => demo::timelog::timelog(args),
        Command::Demo(Demo::MemoryStatus(args)) => demo::memory_status::run(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
        #[cfg(unix)]
        Command::Install(args) => service::install(*args),
        Command::Uninstall(args) => platform::uninstall(args),
        Command::List(args) => installed::list(args),
        Command::Show(args) => installed::show(args),
        #[cfg(unix)]
        Command::Render(args) => service::render(args),
        #[cfg(unix)]
        Command::Probe(args) => kill::probe(args),
        Command::Start(args) => platform::start(args),
        Command::Stop(args) => platform::stop(args),
        Command::Restart(args) => platform::restart(args),
        Command::Pause(args) => platform::control(args, report::Action::Pause),
        Command::Continue(args) => platform::control(args, report::Action::Continue),
        Command::Reload(args) => platform::control(args, report::Action::Reload),
        Command::Status(args) => status::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Events(args) => events::run(args),
        #[cfg(unix)]
        Command::Supervise(args) => service::supervise(args),
        #[cfg(unix)]
        Command::Boot(command) => service::boot(command),
        Command::Edit(args) => apply::edit(args),
        Command::Apply(args) => apply::apply_files(args),
        #[cfg(unix)]
        Command::Enable(args) => service::set_start(args, svckit::StartType::Auto),
        #[cfg(unix)]
        Command::Disable(args) => service::set_start(args, svckit::StartType::Demand),
        #[cfg(unix)]
        Command::Supervisor(crate::cli::SupervisorCommand::Status(args)) => {
            service::supervisor_status(args)
        }
        #[cfg(unix)]
        Command::Supervisor(crate::cli::SupervisorCommand::Stop(args)) => {
            service::supervisor_stop(args)
        }
        #[cfg(windows)]
        Command::Install(args) => manage::install(*args),
        #[cfg(windows)]
        Command::Host(args) => manage::host(args),
        #[cfg(windows)]
        Command::Render(args) => manage::render(args),
        #[cfg(windows)]
        Command::Enable(args) => manage::set_start(args, svckit::StartType::Auto),
        #[cfg(windows)]
        Command::Disable(args) => manage::set_start(args, svckit::StartType::Demand),
    }
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

/// `svckit run`: the program under a minimal init; svckit's exit status is the program's.
#[cfg(unix)]
pub fn entrypoint(args: crate::cli::RunArgs) -> anyhow::Result<Exit> {
    use anyhow::Context as _;
    let program = args.command[0].to_string_lossy().into_owned();
    let mut init = svckit::unix::Entrypoint {
        command: args.command,
        env: args.env,
        stop_timeout: args.stop_timeout,
        stdout: None,
        stderr: None,
    };
    let capture = match &args.log_dir {
        Some(dir) => {
            if dir.exists() && !dir.is_dir() {
                return Err(crate::exit::Failure::new(
                    Exit::Usage,
                    format!("--log-dir {}: not a directory", dir.display()),
                )
                .into());
            }
            let name = std::path::Path::new(&init.command[0])
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "program".to_owned());
            let (capture, stdout, stderr) =
                svckit_supervise::tee::Tee::start(dir, &name, args.log_max_size, args.log_keep)
                    .with_context(|| format!("--log-dir {}", dir.display()))?;
            init.stdout = Some(stdout);
            init.stderr = Some(stderr);
            Some(capture)
        }
        None => None,
    };
    let ran = init.run();
    // Everything the program and what it left wrote, stored before svckit ends.
    if let Some(capture) = capture {
        for error in capture.finish() {
            eprintln!("svckit: output not stored: {error}");
        }
    }
    match ran {
        Ok(code) => std::process::exit(code),
        // A program that cannot be started ends as a shell (and `docker run`) would say it:
        // 127 not found, 126 found but not runnable.
        Err(err) => match svckit::unix::entrypoint::start_status(&err) {
            Some(status) => {
                eprintln!("svckit: error: run {program}: {err}");
                std::process::exit(status)
            }
            None => Err(err).with_context(|| format!("run {program}")),
        },
    }
}
