//! The commands' Unix side: what only Unix has (daemonize, run, runtime-dir, kill, probe, the
//! supervisor, boot, the timelog daemon), the management commands' state directory, and how
//! Unix's errors map to exit codes.

mod daemonize;
mod kill;
mod service;
mod timelog;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use svckit::{ExitCode, Service, ServiceName};

pub use daemonize::{run as daemonize, runtime_dir};
pub use kill::{probe, run as kill};
pub use service::{boot, install, set_start, supervise, supervisor_status, supervisor_stop};
pub use timelog::timelog;

use crate::{
    cli::{HostArgs, RunArgs, StateDirArg},
    exit::{self, Code, Exit},
};

/// The services of the state directory `--state-dir` names (or the default one).
pub fn manager(state: &StateDirArg) -> anyhow::Result<svckit_install::Manager> {
    service::manager(service::state_dir(state)?)
}

/// `svckit host` is the Windows service host.
pub fn host(_: HostArgs) -> anyhow::Result<Exit> {
    super::refused(
        "host",
        "Unix",
        "it is the Windows service host the SCM starts; a Unix service is run by its supervisor",
    )
}

/// `svckit demo memory-status --daemon`: the service as a daemon (daemon(7)); `None` in the
/// launcher, once the daemon runs, else the service's exit code.
pub fn daemon(
    name: &ServiceName,
    log: &Path,
    pidfile: Option<PathBuf>,
    service: Service,
) -> anyhow::Result<Option<ExitCode>> {
    use svckit::unix::{Daemonize, Forked, service::Runtime};
    let mut daemonize = Daemonize::new();
    if let Some(pidfile) = &pidfile {
        daemonize = daemonize.pidfile(pidfile);
    }
    match daemonize.start()? {
        Forked::Launcher(launched) => {
            outln!(
                "{name}: running as PID {}, logging to {}",
                launched.pid,
                log.display()
            );
            Ok(None)
        }
        Forked::Daemon(daemon) => Ok(Some(Runtime::new().daemon(daemon).run(service)?)),
    }
}

/// Nothing more to say: stderr is the caller's.
pub fn report_failure(_: &str) {}

/// Whether stdout's reader went away.
pub fn stdout_reader_gone() -> bool {
    svckit::unix::stdout_reader_gone()
}

/// The exit status of Unix's errors (daemonization, PID files, the supervisor's).
pub fn exit_code(cause: &(dyn std::error::Error + 'static)) -> Code {
    if let Some(err) = cause.downcast_ref::<svckit::unix::Error>() {
        return Code::Is(unix_code(err));
    }
    if let Some(err) = cause.downcast_ref::<svckit::unix::dirs::DaemonDirsError>() {
        use svckit::unix::dirs::DaemonDirsError;
        return match err {
            DaemonDirsError::Refused(_) => Code::Is(Exit::Usage),
            DaemonDirsError::Account(err) => Code::Is(unix_code(err)),
            _ => Code::Is(Exit::Failed),
        };
    }
    if let Some(err) = cause.downcast_ref::<svckit::unix::pidfile::PidfileError>() {
        use svckit::unix::pidfile::PidfileError;
        return Code::Is(match err {
            err if err.is_bad_input() => Exit::Usage,
            PidfileError::Locked { .. } => Exit::AlreadyRunning,
            PidfileError::Io { source, .. } => exit::io_code(source),
            _ => Exit::Failed,
        });
    }
    // The supervisor's errors keep their own codes; the wrapper is transparent, so the causes
    // that follow are the supervisor error's own.
    match cause.downcast_ref::<svckit_install::Error>() {
        Some(svckit_install::Error::Supervisor(inner)) => return supervise_code(inner),
        Some(svckit_install::Error::Host(inner)) => return Code::Is(unix_code(inner)),
        _ => {}
    }
    match cause.downcast_ref::<svckit_supervise::Error>() {
        Some(err) => supervise_code(err),
        None => Code::Other,
    }
}

fn unix_code(err: &svckit::unix::Error) -> Exit {
    use svckit::unix::Error;
    if err.is_bad_input() {
        return Exit::Usage;
    }
    if err.is_permission_denied() {
        return Exit::PermissionDenied;
    }
    match err {
        Error::AlreadyRunning { .. } => Exit::AlreadyRunning,
        Error::ReadyTimeout { .. } => Exit::TimedOut,
        _ => Exit::Failed,
    }
}

/// [`Code::Next`] for errors whose cause (next in the chain) decides.
fn supervise_code(err: &svckit_supervise::Error) -> Code {
    use svckit_supervise::{Error, protocol::ErrorKind};
    Code::Is(match err {
        Error::NotInstalled(_) => Exit::NotFound,
        Error::AlreadyInstalled(_) | Error::SupervisorRunning { .. } => Exit::AlreadyRunning,
        Error::Definition(_) | Error::Invalid(_) | Error::ProgramNotFound { .. } => Exit::Usage,
        Error::PermissionDenied(_) => Exit::PermissionDenied,
        Error::Timeout(_) => Exit::TimedOut,
        Error::Refused { kind, .. } => match kind {
            ErrorKind::NotFound | ErrorKind::NotRunning => Exit::NotFound,
            ErrorKind::BadDefinition | ErrorKind::BadRequest | ErrorKind::Unsupported => {
                Exit::Usage
            }
            ErrorKind::PermissionDenied => Exit::PermissionDenied,
            _ => Exit::Failed,
        },
        Error::Daemonize(err) => unix_code(err),
        Error::Io { source, .. } => exit::io_code(source),
        _ => return Code::Next,
    })
}

/// `svckit run`: the program under a minimal init; svckit's exit status is the program's.
pub fn entrypoint(args: RunArgs) -> anyhow::Result<Exit> {
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
