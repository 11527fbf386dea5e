//! svckit's supervisor: runs any command as a managed service when there is no init system to
//! use (containers, machines without root) — the embedded default backend.
//!
//! One supervisor process per state directory ([`paths::StateDir`]) runs one event loop
//! ([`supervisor::run`]) whose behaviour is the lifecycle machine of [`machine`]. Services
//! are defined by TOML files ([`svckit_core::ServiceSpec::from_toml`]) stored by [`store`];
//! clients talk to the supervisor over an owner-only Unix socket with a versioned protocol
//! ([`protocol`], [`client`]). Output is captured and rotated by [`logs`]; what happens to
//! each service is told by [`events`].
//!
//! The supervisor survives its own death: it keeps each service's desired state, pid and
//! process start time on disk, and a new supervisor adopts the processes it finds (same pid
//! *and* start time) or restarts what should run.
#![cfg(unix)]

pub mod client;
mod error;
pub mod events;
pub mod logs;
pub mod notify;
pub mod paths;
pub mod protocol;
/// Each service's lifecycle machine: [`svckit_core::machine`], shared with Windows' host.
pub use svckit_core::machine;
pub mod store;
pub mod supervisor;
pub mod tee;

pub use error::Error;
pub use paths::{StateDir, Stream};
