//! `svckit daemonize -- PROGRAM`: the launcher exits 0 only once PROGRAM runs as a daemon.

use svckit::{
    ServiceType,
    unix::{Daemonize, Error},
};

use crate::{
    cli::DaemonizeArgs,
    exit::{Exit, Failure},
};

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
    let runtime = runtime_directories(&args.runtime_directory, user.as_deref(), group.as_deref())?;
    match daemon.exec(program, rest) {
        Ok(_) => {
            if let (Some((_, made)), Some(pidfile)) = (&runtime, &pidfile) {
                // For `svckit kill`: exactly what was made, and nothing else, goes with it.
                svckit_unix::pidfile::add_runtime(pidfile, made)?;
            }
            Ok(Exit::Ok)
        }
        Err(err) => {
            if let Some((base, made)) = &runtime {
                let _ = svckit_unix::dirs::remove(base, made);
            }
            Err(err.into())
        }
    }
}

/// `svckit runtime-dir`: the directories made and recorded beside the PID file, for
/// `svckit kill` to remove once the daemon is gone.
pub fn runtime_dir(args: crate::cli::RuntimeDirArgs) -> anyhow::Result<Exit> {
    let made = runtime_directories(&args.names, args.user.as_deref(), args.group.as_deref())?;
    if let Some((base, made)) = made
        && let Err(err) = svckit_unix::pidfile::add_runtime(&args.pidfile, &made)
    {
        let _ = svckit_unix::dirs::remove(&base, &made);
        return Err(err.into());
    }
    Ok(Exit::Ok)
}

/// Makes `names` under /run (root) or `$XDG_RUNTIME_DIR`, owned by the daemon's user and
/// group, never through a symlink ([`svckit_unix::dirs::make_all`]): the base and what was
/// made, or a one-line error naming the path (exit 2 for a refused one).
fn runtime_directories(
    names: &[std::path::PathBuf],
    user: Option<&str>,
    group: Option<&str>,
) -> anyhow::Result<Option<(std::path::PathBuf, svckit_unix::dirs::Made)>> {
    if names.is_empty() {
        return Ok(None);
    }
    let refused =
        |reason: String| Failure::new(Exit::Usage, format!("runtime-directory: {reason}"));
    let base = svckit_unix::dirs::runtime_base()
        .ok_or_else(|| refused("no $XDG_RUNTIME_DIR for a user who is not root".into()))?;
    let owner = svckit_unix::privileges::Credentials::resolve(user, group)?
        .map(|credentials| (credentials.user.map(|user| user.uid), Some(credentials.gid)));
    let made = svckit_unix::dirs::make_all(&base, names, 0o755, owner).map_err(|err| match err
        .kind()
    {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput => {
            refused(err.to_string())
        }
        _ => Failure::new(Exit::Failed, format!("runtime-directory: {err}")),
    })?;
    Ok(Some((base, made)))
}
