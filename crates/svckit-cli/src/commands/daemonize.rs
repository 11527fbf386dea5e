//! `svckit daemonize -- PROGRAM`: the launcher exits 0 only once PROGRAM runs as a daemon.

use svckit::unix::Daemonize;

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
    if args.wait_ready {
        daemon = daemon.wait_ready(true);
    }
    if let Some(timeout) = args.ready_timeout {
        daemon = daemon.ready_timeout(timeout);
    }
    let (program, rest) = args.command.split_first().expect("clap requires PROGRAM");
    daemon.exec(program, rest)?;
    Ok(Exit::Ok)
}
