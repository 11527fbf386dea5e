//! `svckit logs`, the same on both platforms: the services' captured output (the Unix
//! supervisor's, the Windows host's) merged with their events in time order, or one stream as
//! it was written (`--plain`; an init script's file, the journal).

use std::{
    io::{self, Write},
    time::Duration,
};

use svckit::{
    ServiceName,
    logfiles::{Stream, timeline},
};

use super::paint::visible;
use crate::{
    cli::{LogsArgs, StreamChoice},
    exit::{Exit, Failure},
};

/// `svckit logs`: the timeline of the services' output and events, or `--plain`, one stream
/// of one service byte for byte.
pub fn run(args: LogsArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let stream = match (args.view.stderr, args.stream) {
        (true, _) | (false, StreamChoice::Stderr) => Some(Stream::Stderr),
        (false, StreamChoice::Stdout) => Some(Stream::Stdout),
        (false, StreamChoice::Both | StreamChoice::Events) => None,
    };
    // Events alone: both streams are read (whose events are shown is their services'), and
    // only the events kept.
    let filter = Filter {
        until: args.filter.until.map(svckit::logfiles::unix_ms),
        grep: args.filter.grep.clone(),
        events_only: args.stream == StreamChoice::Events && !args.view.stderr,
    };
    let names: Vec<ServiceName> = match args.all {
        true => manager.list()?.into_iter().map(|(name, _)| name).collect(),
        false => args
            .names
            .iter()
            .map(ServiceName::new)
            .collect::<Result<_, _>>()?,
    };
    let mut out = io::stdout().lock();
    // One log as it is (one stream of the supervisor's, an init script's file, the journal).
    let alone = |logs: svckit_install::Logs, out: &mut io::StdoutLock<'_>| {
        logs.print(
            stream.unwrap_or(Stream::Stdout),
            args.view.lines,
            args.view.follow,
            out,
        )
    };
    if args.plain {
        let [one] = names.as_slice() else {
            return Err(Failure::new(Exit::Usage, "--plain shows one service's output").into());
        };
        alone(manager.logs(one)?, &mut out)?;
        return Ok(Exit::Ok);
    }
    let mut sources = Vec::new();
    for one in &names {
        let logs = manager.logs(one)?;
        if let Some(captured) = captured_sources(one, &logs, stream) {
            sources.extend(captured);
            continue;
        }
        match logs {
            // An init script's one file, or the journal: shown alone, as their tools show it.
            other if names.len() == 1 => {
                alone(other, &mut out)?;
                return Ok(Exit::Ok);
            }
            other => {
                return Err(Failure::new(
                    Exit::Usage,
                    format!(
                        "{one}'s output is not svckit's to merge: it is in {}",
                        other.describe()
                    ),
                )
                .into());
            }
        }
    }
    let view = TimelineView {
        // Several, or every one (however many there are now): each line says whose.
        services: names.len() > 1 || args.all,
        streams: stream.is_none(),
        json: args.json,
        width: std::cell::Cell::new(
            names
                .iter()
                .map(|name| name.as_str().len())
                .max()
                .unwrap_or(0),
        ),
    };
    let since = args.filter.since.map(svckit::logfiles::unix_ms);
    let events = manager.event_logs();
    // The last lines of what the filter keeps (all of them since --since); without a filter,
    // only the last lines are read.
    let limit = (since.is_none() && filter.is_empty()).then_some(args.view.lines);
    let mut kept: Vec<timeline::Entry> = timeline::read(&sources, &events, limit, since)
        .into_iter()
        .filter(|entry| filter.keeps(entry))
        .collect();
    if since.is_none() {
        kept.drain(..kept.len().saturating_sub(args.view.lines));
    }
    for entry in &kept {
        view.write(&mut out, entry)?;
    }
    out.flush()?;
    if args.view.follow {
        // With --all, the services installed since are followed too, from their start.
        let mut discover = || {
            let now = manager.list().unwrap_or_default();
            now.into_iter()
                .filter_map(|(name, _)| captured_sources(&name, &manager.logs(&name).ok()?, stream))
                .flatten()
                .collect()
        };
        let discover: Option<&mut dyn FnMut() -> Vec<timeline::Source>> = match args.all {
            true => Some(&mut discover),
            false => None,
        };
        timeline::follow(
            &sources,
            &events,
            svckit_install::file_identity,
            discover,
            |entry| {
                if !filter.keeps(entry) {
                    return Ok(());
                }
                view.write(&mut out, entry)?;
                out.flush()
            },
        )?;
    }
    Ok(Exit::Ok)
}

/// Which entries `svckit logs` shows, besides `--since` (which reading already applies).
struct Filter {
    until: Option<u64>,
    grep: Option<crate::parse::Pattern>,
    events_only: bool,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.until.is_none() && self.grep.is_none() && !self.events_only
    }

    fn keeps(&self, entry: &timeline::Entry) -> bool {
        self.until.is_none_or(|until| entry.ms <= until)
            && self
                .grep
                .as_ref()
                .is_none_or(|grep| grep.is_match(&entry.line))
            && (!self.events_only || entry.origin == timeline::Origin::Event)
    }
}

/// How `svckit logs` prints a timeline entry: its time, then the service's name when there
/// are several, the stream when both are shown, and events set apart.
struct TimelineView {
    services: bool,
    streams: bool,
    json: bool,
    /// The names are padded to the longest so far, so the lines' text lines up.
    width: std::cell::Cell<usize>,
}

/// `name`'s captured streams (the one `stream` names, or both) as the timeline reads them;
/// none when its output is not svckit's to merge (an init script's file, the journal).
pub(super) fn captured_sources(
    name: &ServiceName,
    logs: &svckit_install::Logs,
    stream: Option<Stream>,
) -> Option<Vec<timeline::Source>> {
    let svckit_install::Logs::Captured { stdout, stderr, .. } = logs else {
        return None;
    };
    Some(
        [(Stream::Stdout, stdout), (Stream::Stderr, stderr)]
            .into_iter()
            .filter(|(which, _)| stream.is_none_or(|wanted| wanted == *which))
            .map(|(which, path)| timeline::Source {
                service: name.clone(),
                stream: which,
                path: path.clone(),
            })
            .collect(),
    )
}

impl TimelineView {
    fn write(&self, out: &mut impl Write, entry: &timeline::Entry) -> io::Result<()> {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(entry.ms);
        let time = chrono::DateTime::<chrono::Local>::from(at)
            .format(svckit::journal::STAMP)
            .to_string();
        if self.json {
            let line = serde_json::json!({
                "time": time,
                "ms": entry.ms,
                "service": entry.service.as_str(),
                "stream": entry.origin.name(),
                "line": entry.line,
            });
            return writeln!(out, "{line}");
        }
        use super::paint::{dim, error, paint};
        let mut prefix = paint(&time, dim());
        if self.services {
            let name = entry.service.as_str();
            let width = self.width.get().max(name.len());
            self.width.set(width);
            prefix.push_str(&format!(" {name:<width$}"));
        }
        match entry.origin {
            timeline::Origin::Event => {
                let marker = format!("-- {} --", visible(&entry.line));
                writeln!(out, "{prefix} {}", paint(&marker, dim()))
            }
            timeline::Origin::Output(stream) if self.streams => {
                let tag = match stream {
                    Stream::Stdout => "[out]".to_owned(),
                    Stream::Stderr => paint("[err]", error()),
                };
                writeln!(out, "{prefix} {tag} {}", visible(&entry.line))
            }
            timeline::Origin::Output(_) => writeln!(out, "{prefix} {}", visible(&entry.line)),
        }
    }
}
