//! `start`, `stop`, `restart`, `pause`, `continue` and `reload` of services named or `--all`,
//! and the status of every one: the same on both platforms, over the platform's Manager.

use std::{io::Write, time::Duration};

use svckit::ServiceName;
use svckit_install::{Listed, Manager};

use super::report;
use crate::{
    cli::{ManyArgs, ManyWaitArgs, RenderArgs, StartArgs, Targets, UninstallArgs},
    exit::Exit,
};
use svckit_install::Action;

/// `svckit start`.
pub fn start(args: StartArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let wait = !args.no_wait;
    act(&manager, &args.targets, Action::Start, args.timeout, wait)
}

/// `svckit stop`.
pub fn stop(args: ManyWaitArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    act(&manager, &args.targets, Action::Stop, args.timeout, true)
}

/// `svckit restart`.
pub fn restart(args: ManyWaitArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    act(&manager, &args.targets, Action::Restart, args.timeout, true)
}

/// `svckit pause`, `continue`, `reload`.
pub fn control(args: ManyArgs, action: Action) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    act(
        &manager,
        &args.targets,
        action,
        Duration::from_secs(30),
        true,
    )
}

/// `svckit uninstall`: through the service's backend, then its definition goes; `--force`
/// ends what does not stop.
pub fn uninstall(args: UninstallArgs) -> anyhow::Result<Exit> {
    let name = ServiceName::new(&args.name)?;
    let manager = super::manager(&args.state)?;
    let backend = match args.force {
        true => manager.force_uninstall(&name, args.timeout)?,
        false => manager.uninstall(&name, args.timeout)?,
    };
    outln!("uninstalled {name} ({backend})");
    Ok(Exit::Ok)
}

/// `svckit render`: what installing a definition file or an installed service with a backend
/// would write.
pub fn render(args: RenderArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let spec = match (&args.file, &args.name) {
        (Some(file), _) => super::definition::read(file, None)?,
        (None, name) => {
            manager.definition(&ServiceName::new(name.as_deref().unwrap_or_default())?)?
        }
    };
    let Some(engine) = args.target else {
        out!("{}", manager.render(&spec, args.backend)?);
        return Ok(Exit::Ok);
    };
    let options = svckit_install::engines::Options {
        image: args.image.clone(),
        init: args.init.clone(),
        ..Default::default()
    };
    let rendered = svckit_install::engines::render(&spec, engine, &options)?;
    out!("{}", rendered.text);
    for (key, why) in &rendered.unmapped {
        eprintln!("svckit: render: {key}: not mapped to {engine}: {why}");
    }
    Ok(match rendered.unmapped.is_empty() || args.lenient {
        true => Exit::Ok,
        false => Exit::Usage,
    })
}

/// Carries out `action` on each of `targets` (`--all`: every installed service, in stop
/// order for a stop), saying what came of each; the first failure's exit status, once every
/// one was tried.
pub fn act(
    manager: &Manager,
    targets: &Targets,
    action: Action,
    timeout: Duration,
    wait: bool,
) -> anyhow::Result<Exit> {
    let names: Vec<ServiceName> = match (targets.all, action) {
        (true, Action::Stop) => manager.in_stop_order()?,
        (true, _) => manager.list()?.into_iter().map(|(name, _)| name).collect(),
        (false, _) => targets
            .names
            .iter()
            .map(ServiceName::new)
            .collect::<Result<_, _>>()?,
    };
    let one = |name: &ServiceName| -> anyhow::Result<String> {
        // A start of what runs changes nothing: said so, not as a start with its old pid.
        if matches!(action, Action::Start)
            && let Ok(before) = manager.status(name)
            && before.state == svckit::State::Running
            && before.detail.as_deref() != Some("unsupervised")
            && let Some(pid) = before.pid
        {
            return Ok(format!("{name}: already running (PID {pid})"));
        }
        let status = manager.perform(action, name, timeout, wait)?;
        Ok(report::outcome(action, &status))
    };
    if let [name] = names.as_slice() {
        outln!("{}", one(name)?);
        return Ok(Exit::Ok);
    }
    many(manager, &names, action, timeout, wait)
}

/// `action` on several services: each run of one backend's services in one request (the
/// supervisor orders a start, stop or restart of several and carries them out side by side;
/// the others go one by one in the order given), saying what came of each in the order
/// given; the first failure's exit status.
fn many(
    manager: &Manager,
    names: &[ServiceName],
    action: Action,
    timeout: Duration,
    wait: bool,
) -> anyhow::Result<Exit> {
    let asked = std::time::SystemTime::now();
    let mut first_failure = None;
    for (name, result) in manager.perform_many(action, names, timeout, wait)? {
        match result {
            // A start of what ran already changes nothing: said so (its state is older
            // than the request).
            Ok(svckit_install::Status {
                state: svckit::State::Running,
                pid: Some(pid),
                since: Some(since),
                detail,
                ..
            }) if action == Action::Start
                && since < asked
                && detail.as_deref() != Some("unsupervised") =>
            {
                outln!("{name}: already running (PID {pid})");
            }
            Ok(status) => outln!("{}", report::outcome(action, &status)),
            Err(err) => {
                let err = super::explain(err.into());
                eprintln!("svckit: error: {err:#}");
                first_failure.get_or_insert(crate::exit::code_for(&err));
            }
        }
    }
    Ok(first_failure.unwrap_or(Exit::Ok))
}

/// The status of every installed service: the table, or a JSON array (a service whose manager
/// could not tell has its error).
pub fn all(out: &mut impl Write, listed: &[Listed], json: bool) -> anyhow::Result<Exit> {
    if json {
        /// A status, or why there is none (keys in alphabetical order, as a status's).
        #[derive(serde::Serialize)]
        #[serde(untagged)]
        enum Entry<'a> {
            Status(Box<report::StatusJson<'a>>),
            Error {
                backend: &'static str,
                error: String,
                name: &'a str,
            },
        }
        let all: Vec<Entry<'_>> = listed
            .iter()
            .map(|one| match &one.status {
                Ok(status) => Entry::Status(Box::new(report::StatusJson::of(status))),
                Err(err) => Entry::Error {
                    backend: one.backend.name(),
                    error: err.to_string(),
                    name: one.name.as_str(),
                },
            })
            .collect();
        // Written whole through one buffer (a status of 10,000 services is megabytes).
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer(&mut buffered, &all)?;
        writeln!(buffered)?;
        buffered.flush()?;
        return Ok(Exit::Ok);
    }
    let rows: Vec<report::Row<'_>> = listed
        .iter()
        .map(|one| report::Row {
            name: &one.name,
            backend: one.backend.name(),
            status: one.status.as_ref().map_err(ToString::to_string),
        })
        .collect();
    report::table(out, &rows)?;
    Ok(Exit::Ok)
}
