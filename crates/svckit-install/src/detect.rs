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
/// (`/run/systemd/system` exists, sd_booted(3)'s test) → `systemd`; root, `/etc/init.d`, and
/// SysV init running as PID 1 (see [`sysvinit_runs`]) → `sysv`; else `builtin`, the embedded
/// supervisor. `/etc/init.d` alone says nothing: every Debian-like container image has one,
/// with a shell or tini as PID 1 that will never run a script. (`auto` itself is never
/// returned.)
pub fn detect_kind(host: &Host) -> BackendKind {
    if host.windows {
        BackendKind::Windows
    } else if host.root.join("run/systemd/system").is_dir() {
        BackendKind::Systemd
    } else if host.euid == 0 && host.root.join("etc/init.d").is_dir() && sysvinit_runs(host) {
        BackendKind::Sysv
    } else {
        BackendKind::Builtin
    }
}

/// Whether PID 1 under the host's root is sysvinit's `init`: its control FIFO `/run/initctl`
/// exists, or PID 1 is called `init` and runs an executable named `init` (systemd's PID 1 runs
/// `.../systemd`, busybox's `busybox`, a container's a shell, tini or dumb-init).
pub fn sysvinit_runs(host: &Host) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if std::fs::symlink_metadata(host.root.join("run/initctl"))
            .is_ok_and(|meta| meta.file_type().is_fifo())
        {
            return true;
        }
    }
    let proc1 = host.root.join("proc/1");
    let comm = std::fs::read_to_string(proc1.join("comm")).unwrap_or_default();
    let exe = std::fs::read_link(proc1.join("exe")).unwrap_or_default();
    comm.trim() == "init" && exe.file_name().is_some_and(|name| name == "init")
}
