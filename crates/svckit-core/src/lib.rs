//! The pure model of svckit: service [`State`]s, [`Control`]s and [`Accept`] bits whose numeric
//! values are the Windows Service Control Manager's own, validated [`ServiceName`]s,
//! the [`ServiceSpec`] every backend installs, and the platform-neutral half of the service API
//! ([`Service`], [`Context`], [`service::Controller`]).
//!
//! This crate owns the vocabulary every other svckit crate speaks. It must not make a single OS
//! call: everything here is a value that can be built, compared and printed on any platform.
//!
//! The numbers are those of `winsvc.h` (`SERVICE_STOPPED` = 1, `SERVICE_CONTROL_STOP` = 1,
//! `SERVICE_ACCEPT_STOP` = 1, …), so a value crosses the SCM boundary with a plain cast and a Unix
//! daemon reports the very same states a Windows service does.

mod accept;
pub mod command;
pub mod condition;
mod control;
mod definition;
pub mod demo;
mod exit_code;
pub mod follow;
pub mod hash;
pub mod health;
mod hosted;
pub mod journal;
mod key;
mod last_exit;
pub mod listen;
pub mod logfiles;
pub mod machine;
mod name;
pub mod order;
pub mod parse;
mod pid;
pub mod screen;
pub mod service;
mod signal;
mod spec;
mod state;
pub mod unit_import;

pub use accept::Accept;
pub use control::Control;
pub use definition::DefinitionError;
pub use exit_code::ExitCode;
pub use hosted::HostedStatus;
pub use key::Key;
pub use last_exit::LastExit;
pub use name::{MAX_SERVICE_NAME_BYTES, MAX_SERVICE_NAME_LEN, ServiceName, most_like};
pub use pid::{Pid, ServiceProcess};
pub use service::{Context, Service};
pub use signal::Signal;
pub use spec::{
    BackendKind, Directories, DirectoryKind, ExitMatch, KillMode, Limit, Limits, LogPolicy,
    NotifyAccess, Preserve, ReloadAction, ReloadPolicy, Restart, RestartPolicy, ServiceSpec,
    ServiceType, SourceText, StartType, StopPolicy,
};
pub use state::State;

/// An error from building or converting a model value; the message names the bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A service name broke one of the rules documented on [`ServiceName`].
    #[error("invalid service name {name:?}: {reason}")]
    InvalidServiceName {
        /// The rejected name, as given.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A number that is not one of the SCM's `SERVICE_*` state values.
    #[error("unknown service state value {0}")]
    UnknownState(u32),
    /// A number that is not one of the SCM's `SERVICE_CONTROL_*` values nor a user-defined control.
    #[error("unknown service control value {0:#x}")]
    UnknownControl(u32),
    /// A control name that is not one of [`Control`]'s names.
    #[error("unknown service control {0:?}")]
    UnknownControlName(String),
    /// A field of a [`ServiceSpec`] (or a policy name) that is not valid.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, as definitions and flags name it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ModelError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> ModelError {
        ModelError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
