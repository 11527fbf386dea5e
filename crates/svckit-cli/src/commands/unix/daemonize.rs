//! `svckit daemonize -- PROGRAM`: the launcher exits 0 only once PROGRAM runs as a daemon.

use svckit::{
    ServiceType,
    unix::{Daemonize, Error, dirs::DaemonDirs},
};

use crate::{cli::DaemonizeArgs, exit::Exit};

/// Builds the daemon from the flags and execs PROGRAM in it.
pub fn run(args: DaemonizeArgs) -> anyhow::Result<Exit> {
    let mut daemon = Daemonize::new().single_fork(args.single_fork);
    // For the runtime directories, made last (after every check of the flags).
    let (pidfile, user, group) = (
        args.pidfile.clone(),
        args.process.user.clone(),
        args.process.group.clone(),
    );
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
    let runtime = DaemonDirs::make(&args.runtime_directory, user.as_deref(), group.as_deref())?;
    match daemon.exec(program, rest) {
        Ok(_) => {
            if let (Some(dirs), Some(pidfile)) = (&runtime, &pidfile) {
                // For `svckit kill`: exactly what was made, and nothing else, goes with it.
                dirs.record(pidfile)?;
            }
            Ok(Exit::Ok)
        }
        Err(err) => {
            if let Some(dirs) = &runtime {
                dirs.remove();
            }
            Err(err.into())
        }
    }
}

/// `svckit runtime-dir`: the directories made and recorded beside the PID file, for
/// `svckit kill` to remove once the daemon is gone.
pub fn runtime_dir(args: crate::cli::RuntimeDirArgs) -> anyhow::Result<Exit> {
    let made = DaemonDirs::make(&args.names, args.user.as_deref(), args.group.as_deref())?;
    if let Some(dirs) = made
        && let Err(err) = dirs.record(&args.pidfile)
    {
        dirs.remove();
        return Err(err.into());
    }
    Ok(Exit::Ok)
}
