//! `svckit demo timelog`: the original design's demo daemon, built on the library. It appends an
//! asctime(3)-style line ("Tue Nov 24 16:37:16 2026") to its log every interval and stops
//! cleanly on SIGTERM or SIGINT; SIGHUP reopens the log (for log rotation).

use std::{
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context;
use svckit::Signal;
use svckit::unix::{Daemonize, Forked};
use svckit_unix::signals::SignalWaiter;

use crate::{cli::TimelogArgs, commands::demo::open_log, exit::Exit};

/// Runs the timelog demo in the foreground, or as a daemon with `--daemon`.
pub fn timelog(args: TimelogArgs) -> anyhow::Result<Exit> {
    let cwd = std::env::current_dir().context("getcwd")?;
    let log = cwd.join(&args.log);
    // Checked here, before daemonizing, so a log that cannot be written is reported to the
    // shell instead of killing a daemon that has no terminal to say why.
    open_log(&log)?;
    if !args.daemon {
        eprintln!(
            "timelog: appending to {} every {}; Ctrl-C stops",
            log.display(),
            svckit::parse::format_duration(args.interval)
        );
        run_loop(&log, args.interval, || Ok(()))?;
        return Ok(Exit::Ok);
    }
    let mut daemonize = Daemonize::new();
    if let Some(pidfile) = &args.pidfile {
        daemonize = daemonize.pidfile(pidfile);
    }
    match daemonize.start()? {
        Forked::Launcher(launched) => {
            let exe = std::env::current_exe()
                .map(|exe| exe.display().to_string())
                .unwrap_or_else(|_| "svckit".into());
            outln!(
                "timelog: running as PID {}, appending to {} every {}",
                launched.pid,
                log.display(),
                svckit::parse::format_duration(args.interval)
            );
            match &launched.pidfile {
                Some(pidfile) => {
                    outln!("stop it with: {exe} kill --pidfile {}", pidfile.display())
                }
                None => outln!("stop it with: kill {}", launched.pid),
            }
            Ok(Exit::Ok)
        }
        Forked::Daemon(mut daemon) => {
            run_loop(&log, args.interval, || {
                daemon.ready().context("report ready")
            })?;
            Ok(Exit::Ok)
        }
    }
}

/// Writes a line, then waits for the interval or a signal; `ready` is called once the log is
/// open and the signals are caught, before the first line.
fn run_loop(
    log: &Path,
    interval: Duration,
    ready: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut signals = SignalWaiter::new(&[Signal::Term, Signal::Int, Signal::Hup])
        .context("set up signal handling")?;
    let mut file = open_log(log)?;
    ready()?;
    let mut next = Instant::now();
    loop {
        let line = format!("{}\n", chrono::Local::now().format("%a %b %e %H:%M:%S %Y"));
        // One write(2) on an O_APPEND file: a line is never interleaved or torn.
        file.write_all(line.as_bytes())
            .with_context(|| format!("append to {}", log.display()))?;
        next += interval;
        loop {
            let left = next.saturating_duration_since(Instant::now());
            match signals.wait(Some(left)).context("wait for signals")? {
                None => break,
                Some(Signal::Hup) => file = open_log(log)?,
                Some(_) => return Ok(()),
            }
        }
    }
}
