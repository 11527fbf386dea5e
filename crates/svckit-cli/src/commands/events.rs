//! `svckit events [NAME]`: what happened to the services (or to one), from their event logs —
//! the supervisor's on Unix, each hosted program's on Windows, in the lifecycle machine's words
//! on both; `-f` keeps printing new events, of services installed meanwhile too.

use std::io::{self, Write};

use svckit::ServiceName;
use svckit::journal;

use super::paint::visible;
use crate::{cli::EventsArgs, exit::Exit};

/// `svckit events`.
pub fn run(args: EventsArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let only = args.name.as_deref().map(ServiceName::new).transpose()?;
    let filter = EventFilter {
        since: args.filter.since.map(svckit::logfiles::unix_ms),
        until: args.filter.until.map(svckit::logfiles::unix_ms),
        grep: args.filter.grep.clone(),
        json: args.json,
    };
    let mut out = io::stdout().lock();
    if !args.follow {
        // The last events the filter keeps (every one since --since).
        let all = journal::recent(&manager.event_logs(), only.as_ref(), usize::MAX);
        let mut kept: Vec<String> = all.iter().filter_map(|line| filter.show(line)).collect();
        if filter.since.is_none() {
            kept.drain(..kept.len().saturating_sub(args.lines));
        }
        for line in kept {
            writeln!(out, "{line}")?;
        }
    } else {
        let mut escaped = Escaped {
            pending: Vec::new(),
            out,
            filter,
        };
        let followed = journal::follow(
            || manager.event_logs(),
            only.as_ref(),
            args.lines,
            &mut escaped,
            || false,
            svckit_install::file_identity,
        );
        match followed {
            // Its reader went away (`| head`): done.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    Ok(Exit::Ok)
}

/// Which events are shown, and how: by time and pattern; as they are or as JSON.
struct EventFilter {
    since: Option<u64>,
    until: Option<u64>,
    grep: Option<crate::parse::Pattern>,
    json: bool,
}

impl EventFilter {
    /// `line` as it is shown (control characters written out), or None when it is not.
    fn show(&self, line: &str) -> Option<String> {
        let parsed = journal::split(line).and_then(|(stamp, name, what)| {
            let at = chrono::NaiveDateTime::parse_from_str(stamp, journal::STAMP).ok()?;
            let ms = at
                .and_local_timezone(chrono::Local)
                .earliest()?
                .timestamp_millis();
            Some((stamp, name, what, u64::try_from(ms).ok()?))
        });
        if let Some((_, _, _, ms)) = parsed
            && (self.since.is_some_and(|since| ms < since)
                || self.until.is_some_and(|until| ms > until))
        {
            return None;
        }
        if self.grep.as_ref().is_some_and(|grep| !grep.is_match(line)) {
            return None;
        }
        Some(match (self.json, parsed) {
            (true, Some((stamp, name, what, ms))) => serde_json::json!({
                "time": stamp,
                "ms": ms,
                "service": name,
                "event": what,
            })
            .to_string(),
            (true, None) => serde_json::json!({ "event": line }).to_string(),
            (false, _) => visible(line).into_owned(),
        })
    }
}

/// Passes on whole lines the filter keeps, control characters written out (a service's words
/// are its own).
struct Escaped<W> {
    pending: Vec<u8>,
    out: W,
    filter: EventFilter,
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if let Some(shown) = self.filter.show(&String::from_utf8_lossy(&line[..end])) {
                writeln!(self.out, "{shown}")?;
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
