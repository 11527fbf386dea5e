use std::{io, path::PathBuf};

use svckit_core::{DefinitionError, ModelError, ServiceName};

use crate::protocol::ErrorKind;

/// An error of the supervisor or its client; the message names the service, file or value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No service of that name is installed.
    #[error("service {0} is not installed")]
    NotInstalled(ServiceName),
    /// A service of that name is installed already, and replacing it was not asked for.
    #[error("service {0} is already installed")]
    AlreadyInstalled(ServiceName),
    /// The service is installed into another service manager (systemd, SysV init), which
    /// runs it instead of the supervisor.
    #[error("service {name} is installed with the {backend} backend, not the supervisor")]
    OtherBackend {
        /// The service.
        name: ServiceName,
        /// Its backend.
        backend: svckit_core::BackendKind,
    },
    /// A definition file cannot be read.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// A spec field is not valid.
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// The program to run does not exist or cannot be executed.
    #[error("program not found: {}: {reason}", path.display())]
    ProgramNotFound {
        /// The program, as given.
        path: PathBuf,
        /// Why it cannot be run.
        reason: String,
    },
    /// The supervisor refused or failed the request.
    #[error("{message}")]
    Refused {
        /// The kind of refusal.
        kind: ErrorKind,
        /// The supervisor's one-line message.
        message: String,
    },
    /// Another supervisor holds this state directory.
    #[error(
        "a supervisor already runs for {}{}",
        dir.display(),
        pid.map(|pid| format!(" (PID {pid})")).unwrap_or_default()
    )]
    SupervisorRunning {
        /// The state directory.
        dir: PathBuf,
        /// Its pid (none while its PID file is still empty).
        pid: Option<svckit_core::Pid>,
    },
    /// The peer or the file system refused access.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The answer did not come in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The supervisor speaks another protocol version, or said something unreadable.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Daemonizing the supervisor failed.
    #[error(transparent)]
    Daemonize(#[from] svckit_unix::Error),
    /// A program with threads cannot fork itself into the supervisor.
    #[error(
        "cannot start the supervisor of {}: {source}; give the svckit executable \
         (Manager::with_svckit), or put svckit in PATH, and it is started as a process of its own",
        dir.display()
    )]
    ThreadedLauncher {
        /// The state directory.
        dir: PathBuf,
        /// The refusal to fork.
        #[source]
        source: svckit_unix::Error,
    },
    /// An I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// A [`StateDir::check`](crate::paths::StateDir::check) or creation failure: one that names
    /// the unsafe path is [`Error::PermissionDenied`] with that message.
    pub fn state_dir(source: io::Error) -> Error {
        if source.kind() == io::ErrorKind::PermissionDenied {
            return Error::PermissionDenied(source.to_string());
        }
        Error::Io {
            context: "the state directory".into(),
            source,
        }
    }

    /// An I/O error with context; permission errors become [`Error::PermissionDenied`].
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Error {
        let context = context.into();
        if source.kind() == io::ErrorKind::PermissionDenied {
            return Error::PermissionDenied(context);
        }
        Error::Io { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the library told its users to "use --force", a flag of a program they
    /// do not run. Its error names no flag; the command line adds its own.
    #[test]
    fn regression_the_library_error_names_no_flag() {
        let said = Error::AlreadyInstalled(ServiceName::new("web").unwrap()).to_string();
        assert_eq!(said, "service web is already installed");
    }
}
