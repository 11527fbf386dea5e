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
        let what = std::iter::once("svckit status")
            .chain(args.names.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
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

/// `status` once, into `out`: every service as a table, or each one named described in turn
/// (a blank line between; JSON: an object for one, an array for several). The exit status is
/// one's own (0 running, 3 stopped); of several, the first that is not 0, once each was told
/// (a name not installed said, and the others told all the same).
fn status_to(out: &mut impl Write, args: &StatusArgs, manager: &Manager) -> anyhow::Result<Exit> {
    if args.names.is_empty() {
        // A table needs less of each service than JSON tells.
        let listed = match args.json {
            true => manager.statuses()?,
            false => manager.statuses_for_table()?,
        };
        return super::act::all(out, &listed, args.json);
    }
    if let [one] = args.names.as_slice() {
        return status_of(out, args, manager, one);
    }
    let mut exit = None;
    let mut json = Vec::new();
    for (index, one) in args.names.iter().enumerate() {
        let told = match args.json {
            true => ServiceName::new(one)
                .map_err(anyhow::Error::from)
                .and_then(|name| Ok(manager.status(&name)?))
                .map(|status| {
                    json.push(report::json(&status));
                    report::exit_for(&status)
                }),
            false => {
                if index > 0 {
                    writeln!(out)?;
                }
                status_of(out, args, manager, one)
            }
        };
        let code = match told {
            Ok(code) => code,
            Err(err) => {
                let err = super::explain(err);
                eprintln!("svckit: error: {err:#}");
                crate::exit::code_for(&err)
            }
        };
        if code != Exit::Ok {
            exit.get_or_insert(code);
        }
    }
    if args.json {
        writeln!(out, "{}", serde_json::Value::Array(json))?;
    }
    Ok(exit.unwrap_or(Exit::Ok))
}

/// One service's status, into `out`.
fn status_of(
    out: &mut impl Write,
    args: &StatusArgs,
    manager: &Manager,
    one: &str,
) -> anyhow::Result<Exit> {
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
