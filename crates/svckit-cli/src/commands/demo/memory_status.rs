//! `svckit demo memory-status`: the original design's `MemoryStatus` service, one source for
//! Windows and Unix. Every interval it logs memory load, physical memory, page file (swap) and
//! virtual memory; it accepts Stop, Shutdown, Pause/Continue (no lines while paused) and
//! ParamChange (re-reads its interval from `--config`).
//!
//! Under the SCM it is a Windows service; started from a console it runs in the foreground
//! (Ctrl-C stops); on Unix it is a foreground service (signals as controls, systemd notify) or,
//! with `--daemon`, a daemon.

use std::{
    fs::File,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use svckit::{Accept, Context, Control, ExitCode, Service, ServiceName};

use crate::{
    cli::MemoryStatusArgs,
    commands::demo::open_log,
    exit::{Exit, Failure},
    parse,
};

/// The settings the service runs with; `config` is re-read on ParamChange.
struct Settings {
    accept: Accept,
    log: PathBuf,
    config: Option<PathBuf>,
    label: Option<String>,
    interval: Duration,
}

/// Runs the demo as a service.
pub fn run(args: MemoryStatusArgs) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    let cwd = std::env::current_dir().context("getcwd")?;
    let mut settings = Settings {
        accept: args.accept,
        log: cwd.join(&args.log),
        config: args.config.as_ref().map(|config| cwd.join(config)),
        label: args.label,
        interval: args.interval,
    };
    if let Some(config) = &settings.config {
        settings.interval =
            read_interval(config).map_err(|err| Failure::new(Exit::Usage, format!("{err:#}")))?;
    }
    // Checked before anything starts, so a log that cannot be written is reported here and
    // not by a service that has nobody to tell.
    open_log(&settings.log)?;

    if args.daemon {
        let log = settings.log.clone();
        let service = service(name.clone(), settings);
        return Ok(
            match crate::commands::platform::daemon(&name, &log, args.pidfile, service)? {
                // The launcher, once the daemon runs.
                None => Exit::Ok,
                Some(exit_code) => exit_for(exit_code),
            },
        );
    }
    let exit_code = svckit::run(service(name, settings))?;
    Ok(exit_for(exit_code))
}

fn exit_for(exit_code: ExitCode) -> Exit {
    if exit_code.is_success() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

/// The service: the accepted controls and the loop.
fn service(name: ServiceName, settings: Settings) -> Service {
    let accept = settings.accept;
    Service::new(name, move |ctx| match serve(&ctx, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}: {err:#}", ctx.name());
            ExitCode::ServiceSpecific(1)
        }
    })
    .accept(accept)
}

fn serve(ctx: &Context, mut settings: Settings) -> anyhow::Result<()> {
    let mut log = Log {
        file: open_log(&settings.log)?,
        path: settings.log.clone(),
        label: settings.label.take(),
    };
    log.line(&format!(
        "{} started, every {}",
        ctx.name(),
        svckit::parse::format_duration(settings.interval)
    ))?;
    ctx.ready();
    let mut paused = false;
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next {
            if !paused {
                let status = svckit::demo::memory_status().context("read the memory status")?;
                let line = status.to_string();
                log.line(&line)?;
                // The latest line for the manager too (systemd's `Status:`; the SCM has none).
                ctx.set_status_text(&line);
            }
            next = now + settings.interval;
        }
        let Some(control) = ctx.recv_timeout(next.saturating_duration_since(Instant::now())) else {
            continue;
        };
        match control {
            Control::Stop | Control::Shutdown | Control::Preshutdown => {
                log.line(&format!("{} stopping ({control})", ctx.name()))?;
                return Ok(());
            }
            Control::Pause => {
                paused = true;
                log.line("paused")?;
                ctx.paused();
            }
            Control::Continue => {
                paused = false;
                log.line("continued")?;
                next = Instant::now();
                ctx.ready();
            }
            Control::ParamChange => {
                match settings.config.as_deref().map(read_interval) {
                    Some(Ok(interval)) => {
                        settings.interval = interval;
                        next = Instant::now() + interval;
                        log.line(&format!(
                            "reloaded: every {}",
                            svckit::parse::format_duration(interval)
                        ))?;
                    }
                    Some(Err(err)) => log.line(&format!(
                        "reload failed, keeping every {}: {err:#}",
                        svckit::parse::format_duration(settings.interval)
                    ))?,
                    None => log.line("reload: no --config, nothing to re-read")?,
                }
                ctx.ready();
            }
            _ => {}
        }
    }
}

struct Log {
    file: File,
    path: PathBuf,
    label: Option<String>,
}

impl Log {
    /// One timestamped line, in one write(2) on an O_APPEND file: never torn or interleaved.
    fn line(&mut self, text: &str) -> anyhow::Result<()> {
        let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        let line = match &self.label {
            Some(label) => format!("{time} {label} {text}\n"),
            None => format!("{time} {text}\n"),
        };
        self.file
            .write_all(line.as_bytes())
            .with_context(|| format!("append to {}", self.path.display()))
    }
}

/// The `interval` of a TOML config file.
fn read_interval(path: &Path) -> anyhow::Result<Duration> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        interval: String,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("read config {}", path.display()))?;
    let config: Config = toml::from_str(&text)
        .map_err(|err| anyhow::anyhow!("config {}: {}", path.display(), err.message()))?;
    parse::duration(&config.interval)
        .map_err(|err| anyhow::anyhow!("config {}: interval: {err}", path.display()))
}
