//! `svckit daemonize -- PROGRAM`: the launcher exits 0 only once PROGRAM runs as a daemon.

use svckit::{
    ServiceType,
    unix::{Daemonize, Error},
};

use crate::{cli::DaemonizeArgs, exit::Exit};

/// Builds the daemon from the flags and execs PROGRAM in it.
pub fn run(args: DaemonizeArgs) -> anyhow::Result<Exit> {
    let mut daemon = Daemonize::new().single_fork(args.single_fork);
    if let Some(path) = args.pidfile {
        daemon = daemon.pidfile(path);
    }
    if let Some(dir) = args.process.chdir {
        daemon = daemon.chdir(dir);
    }
    if let Some(mask) = args.process.umask {
        daemon = daemon.umask(mask);
    }
    if let Some(user) = args.process.user {
        daemon = daemon.user(user);
    }
    if let Some(group) = args.process.group {
        daemon = daemon.group(group);
    }
    if let Some(path) = args.stdout {
        daemon = daemon.stdout(path);
    }
    if let Some(path) = args.stderr {
        daemon = daemon.stderr(path);
    }
    for name in args.keep_env {
        daemon = daemon.keep_env(name);
    }
    for (name, value) in args.process.env {
        daemon = daemon.env(name, value);
    }
    let invalid = |setting: &'static str, reason: &str| Error::InvalidSetting {
        setting,
        reason: reason.to_owned(),
    };
    let daemon_type = args.daemon_type.unwrap_or(ServiceType::Exec);
    match daemon_type {
        ServiceType::Exec => {}
        ServiceType::Notify => daemon = daemon.wait_ready(true),
        ServiceType::Forking => daemon = daemon.forking(args.program_pidfile.clone()),
        ServiceType::Oneshot => {
            return Err(invalid(
                "type",
                "oneshot is a service type: a daemon runs on (exec, forking or notify)",
            )
            .into());
        }
    }
    if args.program_pidfile.is_some() && daemon_type != ServiceType::Forking {
        return Err(invalid("program-pidfile", "it is for --type forking").into());
    }
    if args.wait_ready {
        daemon = daemon.wait_ready(true);
    }
    if let Some(timeout) = args.ready_timeout {
        if !args.wait_ready && matches!(daemon_type, ServiceType::Exec) {
            return Err(invalid(
                "ready-timeout",
                "it is for --wait-ready or --type forking|notify",
            )
            .into());
        }
        daemon = daemon.ready_timeout(timeout);
    }
    let (program, rest) = args.command.split_first().expect("clap requires PROGRAM");
    daemon.exec(program, rest)?;
    Ok(Exit::Ok)
}
