//! `svckit status`, the same on both platforms: one service described (its state, what
//! happened to it lately as svckit's event log tells it, what it wrote last), or every one as
//! a table; `--json`; `--watch`, drawn again every interval.

use std::io::{self, Write};

use svckit::{BackendKind, ServiceName};
use svckit_install::Manager;

use super::report;
use crate::{cli::StatusArgs, exit::Exit};

/// `svckit status`.
pub fn run(args: StatusArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    if args.watch {
        let what = match &args.name {
            Some(one) => format!("svckit status {one}"),
            None => "svckit status".to_owned(),
        };
        return super::watch::watch(args.interval, &what, |out| {
            status_to(out, &args, &manager).map(drop)
        });
    }
    // One write for the whole table, not one per row.
    let mut out = io::BufWriter::new(io::stdout().lock());
    let exit = status_to(&mut out, &args, &manager)?;
    out.flush()?;
    Ok(exit)
}

/// `status` once, into `out`.
fn status_to(out: &mut impl Write, args: &StatusArgs, manager: &Manager) -> anyhow::Result<Exit> {
    let Some(one) = &args.name else {
        return super::act::all(out, &manager.statuses()?, args.json);
    };
    let name = ServiceName::new(one)?;
    let status = manager.status(&name)?;
    let exit = report::exit_for(&status);
    if args.json {
        writeln!(out, "{}", report::json(&status))?;
        return Ok(exit);
    }
    let logs = manager.logs(&name).ok();
    let mut recent = logs
        .as_ref()
        .map(|logs| logs.recent(args.lines))
        .unwrap_or_default();
    // What happened to it lately, as the supervisor's or the Windows host's event log tells it.
    if matches!(status.backend, BackendKind::Builtin | BackendKind::Windows) {
        let events = svckit::journal::recent(&manager.event_logs(), Some(&name), 5);
        recent.insert(0, ("events", events));
    }
    let logs = logs.as_ref().map(svckit_install::Logs::describe);
    report::describe(out, &status, logs.as_deref(), &recent)?;
    Ok(exit)
}
