//! A definition from `svckit install`'s arguments, on every platform: a TOML file (`--file`)
//! or NAME and PROGRAM, then each flag given over its key.

use std::{fs, path::Path};

use anyhow::Context as _;
use svckit::{ServiceName, ServiceSpec};

use crate::{
    cli::InstallArgs,
    exit::{Exit, Failure},
};

/// The definition `args` describe: `--file`'s, or NAME's with PROGRAM, each flag given
/// overriding its key.
pub fn from_install(args: &InstallArgs) -> anyhow::Result<ServiceSpec> {
    let mut spec = match &args.file {
        Some(file) => read(file, args.name.as_deref())?,
        None => {
            let name = ServiceName::new(args.name.as_deref().unwrap_or_default())?;
            let Some((program, rest)) = args.command.split_first() else {
                return Err(Failure::new(
                    Exit::Usage,
                    "missing PROGRAM: svckit install NAME [flags] -- PROGRAM [ARGS...]",
                )
                .into());
            };
            let mut spec = ServiceSpec::new(name, program);
            spec.args = rest.to_vec();
            spec
        }
    };
    apply_flags(&mut spec, args)?;
    if let Some(kind) = args.backend {
        spec.backend = kind;
    }
    Ok(spec)
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// The flags given override the definition's keys.
fn apply_flags(spec: &mut ServiceSpec, args: &InstallArgs) -> anyhow::Result<()> {
    super::apply_process(spec, &args.process);
    if args.password.is_some() {
        spec.password.clone_from(&args.password);
    }
    if !args.depends.is_empty() {
        spec.dependencies = args
            .depends
            .iter()
            .map(ServiceName::new)
            .collect::<Result<_, _>>()?;
    }
    if !args.condition.is_empty() {
        spec.conditions.clone_from(&args.condition);
        spec.conditions
            .sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
    }
    for (target, value) in [
        (&mut spec.display_name, &args.display_name),
        (&mut spec.description, &args.description),
    ] {
        if value.is_some() {
            target.clone_from(value);
        }
    }
    set(&mut spec.start, args.start);
    if args.notify {
        spec.service_type = svckit::ServiceType::Notify;
    }
    set(&mut spec.service_type, args.service_type);
    if args.pid_file.is_some() {
        spec.pid_file.clone_from(&args.pid_file);
    }
    set(&mut spec.notify_access, args.notify_access);
    set(&mut spec.watchdog, args.watchdog);
    set(&mut spec.kill_mode, args.kill_mode);
    set(&mut spec.ready_timeout, args.ready_timeout);
    set(&mut spec.restart.policy, args.restart);
    set(&mut spec.restart.delay, args.restart_delay);
    set(&mut spec.restart.max_delay, args.restart_max_delay);
    set(&mut spec.restart.reset_after, args.reset_after);
    set(&mut spec.restart.limit, args.start_limit);
    set(&mut spec.restart.window, args.start_window);
    set(&mut spec.stop.signal, args.stop_signal);
    if !args.environment_file.is_empty() {
        spec.environment_file.clone_from(&args.environment_file);
    }
    if !args.runtime_directory.is_empty() {
        spec.runtime_directory.clone_from(&args.runtime_directory);
    }
    for (key, limit) in &args.limit {
        if let Some(slot) = spec.limits.by_name_mut(key) {
            *slot = Some(*limit);
        }
    }
    if !args.success_exit_status.is_empty() {
        spec.success_exit_status
            .clone_from(&args.success_exit_status);
    }
    if !args.restart_prevent_exit_status.is_empty() {
        spec.restart_prevent_exit_status
            .clone_from(&args.restart_prevent_exit_status);
    }
    if args.nice.is_some() {
        spec.nice = args.nice;
    }
    if args.oom_score_adjust.is_some() {
        spec.oom_score_adjust = args.oom_score_adjust;
    }
    if let Some(accept) = args.accept {
        spec.accept = accept;
    }
    if let Some(max) = args.max_connections {
        spec.max_connections = max;
    }
    if args.idle_stop.is_some() {
        spec.idle_stop = args.idle_stop;
    }
    if args.max_connections_per_source.is_some() {
        spec.max_connections_per_source = args.max_connections_per_source;
    }
    probes_from_flags(spec, args)?;
    if !args.listen.is_empty() {
        spec.listen = args
            .listen
            .iter()
            .map(|address| svckit::listen::Listener::at(address.clone()))
            .collect();
    }
    for (given, commands) in [
        (&args.exec_start_pre, &mut spec.exec_start_pre),
        (&args.exec_start_post, &mut spec.exec_start_post),
        (&args.exec_stop, &mut spec.exec_stop),
    ] {
        if !given.is_empty() {
            *commands = given.iter().map(|command| command.0.clone()).collect();
        }
    }
    if let Some(signal) = args.reload_signal {
        spec.reload = svckit::ReloadPolicy {
            signal: Some(signal),
            command: Vec::new(),
        };
    }
    if let Some(command) = &args.reload_command {
        spec.reload = svckit::ReloadPolicy {
            signal: None,
            command: command.0.clone(),
        };
    }
    set(&mut spec.stop.timeout, args.stop_timeout);
    set(&mut spec.logs.max_size, args.log_max_size);
    set(&mut spec.logs.keep, args.log_keep);
    Ok(())
}

/// Reads a definition file. The name key wins (`name`, when given, must agree); without one,
/// `name` or else the file's stem names it.
pub fn read(file: &Path, name: Option<&str>) -> anyhow::Result<ServiceSpec> {
    let bytes = fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        Failure::new(
            Exit::Usage,
            format!(
                "{}: not UTF-8 text (invalid byte at offset {})",
                file.display(),
                err.utf8_error().valid_up_to()
            ),
        )
    })?;
    let stem = file.file_stem().and_then(|s| s.to_str());
    let has_name_key = text
        .parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key("name"));
    let default = if has_name_key { name } else { name.or(stem) };
    Ok(ServiceSpec::from_toml(&text, default).map_err(|err| err.in_file(file.display()))?)
}

/// A shell command as Docker runs --health-cmd: `/bin/sh -c CMD`, and on Windows
/// `cmd.exe /S /C CMD` (the command handed to cmd.exe as written).
fn shell_command(cmd: &str) -> Vec<String> {
    #[cfg(unix)]
    let shell = ["/bin/sh", "-c"];
    #[cfg(windows)]
    let shell = ["cmd.exe", "/S", "/C"];
    shell
        .iter()
        .map(|word| (*word).to_owned())
        .chain([cmd.to_owned()])
        .collect()
}

/// A flag's check: a shell command (as Docker runs --health-cmd), a URL, or ADDRESS:PORT.
fn check_of(
    flag: &str,
    cmd: &Option<String>,
    http: &Option<String>,
    tcp: &Option<String>,
) -> anyhow::Result<Option<svckit::health::Check>> {
    use svckit::health::{Check, HttpCheck};
    let bad = |what: &str, err: String| {
        crate::exit::Failure::new(crate::exit::Exit::Usage, format!("--{flag}-{what}: {err}"))
    };
    Ok(match (cmd, http, tcp) {
        (Some(cmd), _, _) => Some(Check::Exec(shell_command(cmd))),
        (_, Some(url), _) => Some(Check::Http(
            HttpCheck::parse(url).map_err(|err| bad("http", err))?,
        )),
        (_, _, Some(target)) => Some(Check::tcp(target).map_err(|err| bad("tcp", err))?),
        _ => None,
    })
}

/// The probes the --health-* and --ready-* flags give (over the definition's).
fn probes_from_flags(spec: &mut ServiceSpec, args: &InstallArgs) -> anyhow::Result<()> {
    use svckit::health::Probe;
    if let Some(check) = check_of(
        "health",
        &args.health_cmd,
        &args.health_http,
        &args.health_tcp,
    )? {
        spec.liveness = Some(Box::new(Probe::new(check)));
    }
    if let Some(liveness) = spec.liveness.as_mut() {
        if let Some(period) = args.health_interval {
            liveness.period = period;
        }
        if let Some(timeout) = args.health_timeout {
            liveness.timeout = timeout;
        }
        if let Some(retries) = args.health_retries {
            liveness.failure_threshold = retries;
        }
        if let Some(delay) = args.health_start_period {
            liveness.initial_delay = delay;
        }
    } else if args.health_interval.is_some()
        || args.health_timeout.is_some()
        || args.health_retries.is_some()
        || args.health_start_period.is_some()
    {
        anyhow::bail!(
            "--health-interval, --health-timeout, --health-retries and --health-start-period need a health check (--health-cmd, --health-http or --health-tcp)"
        );
    }
    if let Some(check) = check_of("ready", &args.ready_cmd, &args.ready_http, &args.ready_tcp)? {
        let mut probe = Probe::new(check);
        // A start waits on it: checked every second, not Kubernetes' 10.
        probe.period = std::time::Duration::from_secs(1);
        spec.readiness = Some(Box::new(probe));
    }
    if let Some(period) = args.ready_interval {
        match spec.readiness.as_mut() {
            Some(readiness) => readiness.period = period,
            None => anyhow::bail!(
                "--ready-interval needs a readiness check (--ready-cmd, --ready-http or --ready-tcp)"
            ),
        }
    }
    Ok(())
}
