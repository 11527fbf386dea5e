//! `svckit probe-wait`: a readiness probe run to its first verdict of ready, for a service
//! manager that runs none itself (systemd: the unit's `ExecStartPost=`). The checks are the
//! supervisor's (`svckit_core::health`: the HTTP judgement, the Tracker counting passes);
//! only the executor differs: blocking, one check at a time.

use std::time::{Duration, Instant};

use svckit::health::{Check, Health, HttpCheck, Probe, Role, Tracker};

use crate::{
    cli::ProbeWaitArgs,
    exit::{Exit, Failure},
};

/// Waits until the probe passes (exit 0), or `--within` passes first (exit 1).
pub fn run(args: &ProbeWaitArgs) -> anyhow::Result<Exit> {
    let probe = probe_of(args)?;
    std::thread::sleep(probe.initial_delay);
    let give_up = args.within.map(|within| Instant::now() + within);
    let mut tracker = Tracker::for_role(&probe, Role::Readiness);
    let mut told: Option<String> = None;
    loop {
        let began = Instant::now();
        let (passed, what) = match &probe.check {
            Check::Exec(argv) => run_command(&probe.check, argv, probe.timeout),
            socket => svckit::health::run_socket_check(socket, probe.timeout),
        };
        if tracker.record(passed) == Some(Health::Healthy) {
            println!("ready: {what}");
            return Ok(Exit::Ok);
        }
        // Each new way of failing once, not every period's.
        if !passed && told.as_deref() != Some(what.as_str()) {
            eprintln!("not ready yet: {what}");
            told = Some(what.clone());
        }
        if let Some(give_up) = give_up
            && Instant::now() >= give_up
        {
            let within = svckit::parse::format_duration(args.within.unwrap_or_default());
            eprintln!("svckit: not ready within {within}: {what}");
            return Ok(Exit::Failed);
        }
        // The next check a period after this one began, the last at --within.
        let next = (began + probe.period).min(give_up.unwrap_or(began + probe.period));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// The probe the flags give, checked as a readiness probe's values are.
fn probe_of(args: &ProbeWaitArgs) -> anyhow::Result<Probe> {
    let usage = |message: String| Failure::new(Exit::Usage, message);
    let check = match (&args.http, &args.tcp, args.command.as_slice()) {
        (Some(url), None, []) => {
            let mut http = HttpCheck::parse(url).map_err(|err| usage(format!("--http: {err}")))?;
            http.status = args.expect_status;
            http.header = match &args.header {
                Some(header) => {
                    let (name, value) = header.split_once(':').ok_or_else(|| {
                        usage(format!("--header: {header:?} is not \"Name: value\""))
                    })?;
                    Some((name.trim().to_owned(), value.trim().to_owned()))
                }
                None => None,
            };
            Check::Http(http)
        }
        (None, Some(target), []) => {
            Check::tcp(target).map_err(|err| usage(format!("--tcp: {err}")))?
        }
        (None, None, [_, ..]) => Check::Exec(args.command.clone()),
        _ => {
            return Err(usage(
                "give exactly one check: --http URL, --tcp ADDRESS:PORT, or a command after --"
                    .to_owned(),
            )
            .into());
        }
    };
    let probe = Probe {
        check,
        period: args.period,
        timeout: args.timeout,
        initial_delay: args.initial_delay,
        success_threshold: args.success_threshold,
        ..Probe::new(Check::Exec(Vec::new()))
    };
    probe
        .validate(Role::Readiness)
        .map_err(|(key, reason)| usage(format!("--{}: {reason}", key.replace('_', "-"))))?;
    Ok(probe)
}

/// A check's command, in a process group of its own (Unix) or a job object (Windows) with
/// all it starts, ended with them at its end or its timeout.
fn run_command(check: &Check, argv: &[String], timeout: Duration) -> (bool, String) {
    let mut command = std::process::Command::new(&argv[0]);
    command.args(&argv[1..]);
    #[cfg(unix)]
    let mut contain = svckit_unix::process::OwnGroup;
    #[cfg(windows)]
    let mut contain = svckit::windows::job::OwnJob::default();
    svckit::health::run_command_check(check, command, timeout, &mut contain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// What a unit renders (`Probe::wait_args`) is read back as the same probe.
    #[test]
    fn the_arguments_a_unit_renders_read_back_as_the_probe() {
        let mut http = HttpCheck::parse("http://127.0.0.1:8080/health?x=1").unwrap();
        http.status = Some(204);
        http.header = Some(("X-Ready".into(), "yes".into()));
        let checks = [
            Check::Http(http),
            Check::tcp("[::1]:5432").unwrap(),
            Check::Exec(vec!["/usr/bin/pg_isready".into(), "-h".into(), "--".into()]),
        ];
        for check in checks {
            let probe = Probe {
                period: Duration::from_millis(1500),
                timeout: Duration::from_secs(3),
                initial_delay: Duration::from_millis(250),
                success_threshold: 2,
                ..Probe::new(check)
            };
            let mut argv = vec!["svckit".to_owned(), "probe-wait".to_owned()];
            argv.extend(probe.wait_args());
            let cli = crate::cli::Cli::try_parse_from(&argv).unwrap();
            let crate::cli::Command::ProbeWait(args) = cli.command else {
                panic!("{argv:?}");
            };
            assert_eq!(probe_of(&args).unwrap(), probe, "{argv:?}");
        }
    }
}
