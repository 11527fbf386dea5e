//! `--backend auto`: which service manager this host has, decided in a fixed order.

use std::path::PathBuf;

use svckit_core::BackendKind;

/// What [`detect_kind`] looks at: a file-system root (`/`, or a fake one in tests), the
/// effective uid and the operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The root the marker paths are looked up under.
    pub root: PathBuf,
    /// The effective user id (0: root).
    pub euid: u32,
    /// Whether this is Windows.
    pub windows: bool,
}

impl Host {
    /// This host, as it is.
    pub fn current() -> Host {
        Host {
            root: PathBuf::from("/"),
            #[cfg(unix)]
            euid: nix::unistd::geteuid().as_raw(),
            #[cfg(not(unix))]
            euid: u32::MAX,
            windows: cfg!(windows),
        }
    }
}

/// The backend `auto` stands for, in this order: Windows → `windows`; systemd running as init
/// (`/run/systemd/system` exists, sd_booted(3)'s test) → `systemd`; root with `/etc/init.d` →
/// `sysv`; else `builtin`. (`auto` itself is never returned.)
pub fn detect_kind(host: &Host) -> BackendKind {
    if host.windows {
        BackendKind::Windows
    } else if host.root.join("run/systemd/system").is_dir() {
        BackendKind::Systemd
    } else if host.euid == 0 && host.root.join("etc/init.d").is_dir() {
        BackendKind::Sysv
    } else {
        BackendKind::Builtin
    }
}
