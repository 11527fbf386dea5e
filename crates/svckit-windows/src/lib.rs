//! The service API's Windows runtime, over the [`windows-service`] crate: the dispatcher
//! (StartServiceCtrlDispatcher), ServiceMain, a control handler (RegisterServiceCtrlHandlerEx)
//! that reports status on every control, Interrogate included, and SetServiceStatus for every
//! transition the service's code makes. Started from a console instead of by the SCM (the
//! dispatcher fails with `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`, 1063), the same program runs
//! in the foreground with Ctrl-C as Stop.
//!
//! [`windows-service`]: https://docs.rs/windows-service
#![cfg(windows)]

pub mod memory;
mod runtime;
mod sys;

pub use runtime::{RuntimeError, run};
