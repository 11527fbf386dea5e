//! The commands' Windows side: the SCM's manager (`--state-dir` refused by name), install and
//! the service host, and Unix's own commands refused by name with the reason and exit 2, never
//! as "unrecognized".

mod manage;

use std::path::{Path, PathBuf};

use svckit::{ExitCode, Service, ServiceName};

pub use manage::{host, install, set_start};

use super::refused;
use crate::{
    cli::{
        BootCommand, DaemonizeArgs, KillArgs, ProbeArgs, RunArgs, RuntimeDirArgs, StateDirArg,
        SuperviseArgs, SupervisorStopArgs, TimelogArgs,
    },
    exit::{Code, Exit},
};

/// The SCM's manager; `--state-dir` is the Unix supervisor's, refused by name.
pub fn manager(state: &StateDirArg) -> anyhow::Result<svckit_install::Manager> {
    manage::manager_at(state)
}

/// Refused: daemon(7) is Unix's.
pub fn daemonize(_: DaemonizeArgs) -> anyhow::Result<Exit> {
    refused(
        "daemonize",
        "Windows",
        "daemon(7) is Unix's; a program becomes a Windows service with `svckit install NAME -- PROGRAM`",
    )
}

/// Refused: a Windows container runs its program itself.
pub fn entrypoint(_: RunArgs) -> anyhow::Result<Exit> {
    refused(
        "run",
        "Windows",
        "it is a Linux container's PID 1 (signals, reaping); a Windows container runs its program itself",
    )
}

/// Refused: /run is Unix's.
pub fn runtime_dir(_: RuntimeDirArgs) -> anyhow::Result<Exit> {
    refused(
        "runtime-dir",
        "Windows",
        "/run and its runtime directories are Unix's",
    )
}

/// Refused: PID files and signals are Unix's.
pub fn kill(_: KillArgs) -> anyhow::Result<Exit> {
    refused(
        "kill",
        "Windows",
        "PID files and signals are Unix's; a service stops with `svckit stop NAME`",
    )
}

/// Refused: PID files are Unix's.
pub fn probe(_: ProbeArgs) -> anyhow::Result<Exit> {
    refused(
        "probe",
        "Windows",
        "PID files are Unix's; a service's state is `svckit status NAME`",
    )
}

/// Why the supervisor is refused on Windows.
const NO_SUPERVISOR: &str =
    "the SCM supervises Windows services, and svckit.exe hosts each program itself";

/// Refused: the SCM supervises.
pub fn supervise(_: SuperviseArgs) -> anyhow::Result<Exit> {
    refused("the supervisor", "Windows", NO_SUPERVISOR)
}

/// Refused: the SCM supervises.
pub fn supervisor_status(_: StateDirArg) -> anyhow::Result<Exit> {
    refused("the supervisor", "Windows", NO_SUPERVISOR)
}

/// Refused: the SCM supervises.
pub fn supervisor_stop(_: SupervisorStopArgs) -> anyhow::Result<Exit> {
    refused("the supervisor", "Windows", NO_SUPERVISOR)
}

/// Refused: the SCM starts services at boot.
pub fn boot(_: BootCommand) -> anyhow::Result<Exit> {
    refused(
        "boot",
        "Windows",
        "the SCM starts services at boot: `svckit install NAME --start auto`",
    )
}

/// Refused: the timelog demo is a Unix daemon.
pub fn timelog(_: TimelogArgs) -> anyhow::Result<Exit> {
    refused(
        "demo timelog",
        "Windows",
        "it is a Unix daemon; `svckit demo memory-status` runs on both",
    )
}

/// Refused: a Windows service is started by the SCM, not daemonized.
pub fn daemon(
    _: &ServiceName,
    _: &Path,
    _: Option<PathBuf>,
    _: Service,
) -> anyhow::Result<Option<ExitCode>> {
    refused(
        "--daemon",
        "Windows",
        "a daemon is Unix's; the SCM starts it as a service: `svckit install NAME --type notify -- svckit demo memory-status`",
    )
    .map(|_| None)
}

/// Started by the SCM, svckit has no stderr: the event log says why it failed.
pub fn report_failure(message: &str) {
    if svckit::windows::stderr_is_nowhere() {
        let _ = svckit::windows::report_error_event("svckit", message);
    }
}

/// Whether stdout is a pipe whose reader went away. (Regression: this was `true`, so any
/// broken pipe in an error's chain, the SCM's "pipe closed" for a Stop to a service whose
/// process died, ended svckit with 0, silently.)
pub fn stdout_reader_gone() -> bool {
    svckit::windows::stdout_reader_gone()
}

/// The exit status of the service runtime's errors: what Windows refused decides (an access
/// denied is exit 5, through the I/O error that follows in the chain).
pub fn exit_code(cause: &(dyn std::error::Error + 'static)) -> Code {
    use svckit::windows::RuntimeError;
    match cause.downcast_ref::<RuntimeError>() {
        Some(RuntimeError::NeverStarted) => Code::Is(Exit::Failed),
        Some(_) => Code::Next,
        None => Code::Other,
    }
}
