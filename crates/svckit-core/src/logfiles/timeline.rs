//! Captured output read back as one timeline: the lines of several services' stdout and
//! stderr, each with the time it was read (from the time index beside each log, see
//! [`LogFile`](super::LogFile)), merged in time order with the events of those services from
//! their event logs (starts, exits, stops: the marker between two runs), for `svckit logs`.
//! The same on both platforms: the Unix supervisor and the Windows host write the same files.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::ServiceName;

use super::{Stream, TimeMark, files, numbered, read_times, times_path, unix_ms};

/// One captured stream of one service.
#[derive(Debug, Clone)]
pub struct Source {
    /// The service.
    pub service: ServiceName,
    /// Which stream.
    pub stream: Stream,
    /// Its log (the current file; rotated ones are `PATH.1`, …).
    pub path: PathBuf,
}

/// Where a line of the timeline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The service's stdout or stderr.
    Output(Stream),
    /// The supervisor's event log.
    Event,
}

impl Origin {
    /// `stdout`, `stderr` or `svckit`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Output(stream) => stream.name(),
            Origin::Event => "svckit",
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was read (an event: when it happened), in Unix milliseconds.
    pub ms: u64,
    /// The service.
    pub service: ServiceName,
    /// Its stream, or the event log.
    pub origin: Origin,
    /// The line, without its newline (invalid UTF-8 replaced).
    pub line: String,
}

/// The timeline of `sources` and of their services' events in the event logs `events` (each
/// with the one rotated before it): the last `lines` entries (all with `None`), none older
/// than `since_ms`, oldest first.
pub fn read(
    sources: &[Source],
    events: &[PathBuf],
    lines: Option<usize>,
    since_ms: Option<u64>,
) -> Vec<Entry> {
    let mut all: Vec<Entry> = Vec::new();
    for source in sources {
        all.extend(source_lines(source, lines, since_ms));
    }
    let mut services: Vec<&ServiceName> = sources.iter().map(|s| &s.service).collect();
    services.dedup();
    all.extend(event_lines(events, &services, since_ms));
    // Stable: lines read in one drain keep their order.
    all.sort_by(|a, b| order(a).cmp(&order(b)));
    if let Some(lines) = lines {
        let skip = all.len().saturating_sub(lines);
        all.drain(..skip);
    }
    all
}

/// The order of the timeline: by time, and within one millisecond, a run's beginning
/// (starting, started, running, …) before the output read then, and its end (exited,
/// stopped, …) after it. Output of several services read in one millisecond goes by service
/// name, so the timeline does not depend on the order the services were named in (`logs web
/// api` and `logs --all` agree); events keep the event log's order, which is theirs.
fn order(entry: &Entry) -> (u64, u8, &str) {
    const BEGINNINGS: [&str; 6] = ["start", "restart", "running", "ready", "adopted", "reload"];
    let (rank, service) = match entry.origin {
        Origin::Event if BEGINNINGS.iter().any(|word| entry.line.starts_with(word)) => (0, ""),
        Origin::Output(_) => (1, entry.service.as_str()),
        Origin::Event => (2, ""),
    };
    (entry.ms, rank, service)
}

/// The lines of one source, newest files read first until `lines` of them or `since_ms` is
/// reached.
fn source_lines(source: &Source, lines: Option<usize>, since_ms: Option<u64>) -> Vec<Entry> {
    let mut collected: Vec<Entry> = Vec::new();
    for file in files(&source.path).iter().rev() {
        let Ok(bytes) = fs::read(file) else {
            continue;
        };
        let marks = read_times(&times_path(file));
        let fallback = modified_ms(file);
        let mut these: Vec<Entry> = split_lines(&bytes, 0)
            .map(|(start, line)| Entry {
                ms: time_at(&marks, start).unwrap_or(fallback),
                service: source.service.clone(),
                origin: Origin::Output(source.stream),
                line,
            })
            .collect();
        let oldest = these.first().map(|entry| entry.ms);
        if let Some(since) = since_ms {
            these.retain(|entry| entry.ms >= since);
        }
        these.append(&mut collected);
        collected = these;
        let enough = lines.is_some_and(|lines| collected.len() >= lines);
        let older = since_ms.is_some_and(|since| oldest.is_some_and(|oldest| oldest < since));
        if enough || older {
            break;
        }
    }
    if let Some(lines) = lines {
        let skip = collected.len().saturating_sub(lines);
        collected.drain(..skip);
    }
    collected
}

/// The whole lines of `bytes` with their offsets (`base` added), without their ending (LF or
/// CR LF); a last line without its newline counts too.
fn split_lines(bytes: &[u8], base: u64) -> impl Iterator<Item = (u64, String)> + '_ {
    let mut start = 0usize;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = bytes[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |at| start + at);
        // A Windows program ends its lines with CR LF: the CR is the line ending's too.
        let text = &bytes[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let line = String::from_utf8_lossy(text).into_owned();
        let at = base + start as u64;
        start = end + 1;
        Some((at, line))
    })
}

/// The time of the byte at `offset`: that of the first record past it.
pub fn time_at(marks: &[TimeMark], offset: u64) -> Option<u64> {
    let index = marks.partition_point(|mark| mark.end <= offset);
    marks.get(index).map(|mark| mark.ms)
}

fn modified_ms(path: &Path) -> u64 {
    fs::metadata(path)
        .and_then(|meta| meta.modified())
        .map_or(0, unix_ms)
}

/// The events of `services`, from the event logs `events` and the ones rotated before them,
/// in time order.
fn event_lines(events: &[PathBuf], services: &[&ServiceName], since_ms: Option<u64>) -> Vec<Entry> {
    let mut entries = Vec::new();
    let named: Vec<ServiceName> = services.iter().map(|service| (*service).clone()).collect();
    for path in events {
        for file in [numbered(path, 1), path.clone()] {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            entries.extend(
                text.lines()
                    .filter_map(|line| parse_event(line, Some(&named))),
            );
        }
    }
    // Stable: one log's lines keep their order within a millisecond.
    entries.sort_by_key(|entry| entry.ms);
    // A service installed anew after an uninstall does not inherit the old one's events.
    for service in services {
        let last = entries
            .iter()
            .rposition(|entry| &entry.service == *service && entry.line == "uninstalled");
        if let Some(last) = last {
            let mut index = 0;
            entries.retain(|entry| {
                index += 1;
                index > last + 1 || &entry.service != *service
            });
        }
    }
    if let Some(since) = since_ms {
        entries.retain(|entry| entry.ms >= since);
    }
    entries
}

/// `2026-11-29 00:57:24.123 web: started …` as an entry, when it is about one of `services`.
fn parse_event(line: &str, services: Option<&[ServiceName]>) -> Option<Entry> {
    let (stamp, name, rest) = crate::journal::split(line)?;
    let service = match services {
        Some(services) => services
            .iter()
            .find(|service| service.as_str() == name)?
            .clone(),
        None => ServiceName::new(name).ok()?,
    };
    let stamp = chrono::NaiveDateTime::parse_from_str(stamp, crate::journal::STAMP).ok()?;
    let local = stamp.and_local_timezone(chrono::Local).earliest()?;
    Some(Entry {
        ms: u64::try_from(local.timestamp_millis()).ok()?,
        service,
        origin: Origin::Event,
        line: rest.to_owned(),
    })
}

/// How often [`follow`] asks for services that appeared since.
const DISCOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Follows `sources` and the events of their services in the event logs `events` from their
/// current ends: each poll's new whole lines, in time order, go to `emit`, until it fails.
/// Rotations are followed by `identity`, which says which file an open file is: the rest of
/// the renamed file is read, then the new one from its start. With `discover` (every service
/// followed, `logs --all -f`), it is asked about once a second for the sources there are now:
/// those of services that appeared since are followed from their start, and every service's
/// events are shown.
pub fn follow<I: PartialEq + Copy>(
    sources: &[Source],
    events: &[PathBuf],
    identity: impl Fn(&File) -> io::Result<I> + Copy,
    mut discover: Option<&mut dyn FnMut() -> Vec<Source>>,
    mut emit: impl FnMut(&Entry) -> io::Result<()>,
) -> io::Result<()> {
    let mut tails: Vec<Tail<I>> = sources
        .iter()
        .map(|source| Tail::at_end(source, identity))
        .collect();
    let services: Vec<ServiceName> = sources.iter().map(|s| s.service.clone()).collect();
    // Every service's events when every service is followed (one that appears is shown from
    // its first event, before it was discovered).
    let only = match discover {
        Some(_) => None,
        None => Some(services.as_slice()),
    };
    let mut event_tails: Vec<Tail<I>> = match (only.is_none(), services.first()) {
        (false, None) => Vec::new(),
        (_, first) => events
            .iter()
            .map(|path| {
                let source = Source {
                    service: first
                        .cloned()
                        .unwrap_or_else(|| ServiceName::new("events").expect("a valid name")),
                    stream: Stream::Stdout,
                    path: path.clone(),
                };
                Tail::at_end(&source, identity)
            })
            .collect(),
    };
    let mut discovered = std::time::Instant::now();
    loop {
        if let Some(discover) = discover.as_mut()
            && discovered.elapsed() >= DISCOVER_EVERY
        {
            discovered = std::time::Instant::now();
            for source in discover() {
                if !tails.iter().any(|tail| tail.source.path == source.path) {
                    tails.push(Tail::from_start(&source));
                }
            }
        }
        let mut batch: Vec<Entry> = Vec::new();
        for tail in &mut tails {
            batch.extend(tail.poll(identity)?);
        }
        for tail in &mut event_tails {
            batch.extend(
                tail.poll(identity)?
                    .iter()
                    .filter_map(|entry| parse_event(&entry.line, only)),
            );
        }
        batch.sort_by(|a, b| order(a).cmp(&order(b)));
        for entry in &batch {
            emit(entry)?;
        }
        if batch.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// A followed log: its open file, where reading is, and a partial last line.
struct Tail<I> {
    source: Source,
    file: Option<(File, I)>,
    offset: u64,
    partial: Vec<u8>,
}

impl<I: PartialEq + Copy> Tail<I> {
    /// A log followed from its start, once it is there (a service that appeared).
    fn from_start(source: &Source) -> Tail<I> {
        Tail {
            source: source.clone(),
            file: None,
            offset: 0,
            partial: Vec::new(),
        }
    }

    fn at_end(source: &Source, identity: impl Fn(&File) -> io::Result<I>) -> Tail<I> {
        let file = File::open(&source.path).ok().and_then(|file| {
            let id = identity(&file).ok()?;
            Some((file, id))
        });
        let offset = file
            .as_ref()
            .and_then(|(file, _)| file.metadata().ok())
            .map_or(0, |meta| meta.len());
        let mut tail = Tail {
            source: source.clone(),
            file,
            offset,
            partial: Vec::new(),
        };
        if let Some((file, _)) = &mut tail.file {
            let _ = file.seek(SeekFrom::Start(offset));
        }
        tail
    }

    /// The whole lines appended since the last poll (the rest of a renamed file first).
    fn poll(&mut self, identity: impl Fn(&File) -> io::Result<I>) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let current = File::open(&self.source.path)
            .ok()
            .and_then(|file| identity(&file).ok());
        let rotated = current.is_some() && current != self.file.as_ref().map(|(_, id)| *id);
        entries.extend(self.read_new(rotated)?);
        if rotated {
            // The old file is done: a new one is at the path.
            self.partial.clear();
            self.file = File::open(&self.source.path).ok().and_then(|file| {
                let id = identity(&file).ok()?;
                Some((file, id))
            });
            self.offset = 0;
            entries.extend(self.read_new(false)?);
        }
        Ok(entries)
    }

    fn read_new(&mut self, renamed: bool) -> io::Result<Vec<Entry>> {
        let Some((file, _)) = &mut self.file else {
            return Ok(Vec::new());
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let start = self.offset - self.partial.len() as u64;
        self.offset += bytes.len() as u64;
        let mut pending = std::mem::take(&mut self.partial);
        pending.extend_from_slice(&bytes);
        // A partial last line waits for its end (unless its file was renamed: it has none).
        let cut = match (renamed, pending.iter().rposition(|b| *b == b'\n')) {
            (true, _) => pending.len(),
            (false, Some(last)) => last + 1,
            (false, None) => 0,
        };
        self.partial = pending.split_off(cut);
        // Times from the index of the file read (the renamed one's moved to `.1.times`).
        let index = if renamed {
            times_path(&numbered(&self.source.path, 1))
        } else {
            times_path(&self.source.path)
        };
        let marks = read_times(&index);
        let now = unix_ms(SystemTime::now());
        Ok(split_lines(&pending, start)
            .map(|(at, line)| Entry {
                ms: time_at(&marks, at).unwrap_or(now),
                service: self.source.service.clone(),
                origin: Origin::Output(self.source.stream),
                line,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_takes_the_time_of_the_first_record_past_its_start() {
        let marks = [TimeMark { end: 10, ms: 100 }, TimeMark { end: 25, ms: 200 }];
        assert_eq!(time_at(&marks, 0), Some(100));
        assert_eq!(time_at(&marks, 9), Some(100));
        assert_eq!(time_at(&marks, 10), Some(200));
        assert_eq!(time_at(&marks, 24), Some(200));
        assert_eq!(time_at(&marks, 25), None);
    }

    /// Regression: output of two services read in one millisecond came in the order the
    /// services were named, so `logs web api` and `logs --all` (api, web) disagreed.
    #[test]
    fn regression_output_of_one_millisecond_goes_by_service_whatever_order_they_were_named_in() {
        let entry = |service: &str, origin, line: &str| Entry {
            ms: 7,
            service: ServiceName::new(service).unwrap(),
            origin,
            line: line.into(),
        };
        let web_started = entry("web", Origin::Event, "started /bin/sh: PID 1");
        let api_started = entry("api", Origin::Event, "started /bin/sh: PID 2");
        let web_out = entry("web", Origin::Output(Stream::Stdout), "out one");
        let web_err = entry("web", Origin::Output(Stream::Stderr), "err one");
        let api_out = entry("api", Origin::Output(Stream::Stdout), "api up");
        let sorted = |mut entries: Vec<Entry>| {
            entries.sort_by(|a, b| order(a).cmp(&order(b)));
            entries
        };
        let named = sorted(vec![
            web_out.clone(),
            web_err.clone(),
            api_out.clone(),
            web_started.clone(),
            api_started.clone(),
        ]);
        let all = sorted(vec![
            api_out.clone(),
            web_out.clone(),
            web_err.clone(),
            web_started.clone(),
            api_started.clone(),
        ]);
        assert_eq!(named, all);
        assert_eq!(
            named,
            [web_started, api_started, api_out, web_out, web_err],
            "events in their log's order, then output by service, each stream's in order"
        );
    }

    #[test]
    fn lines_keep_their_offsets() {
        let lines: Vec<(u64, String)> = split_lines(b"ab\ncd\r\n\nlast", 5).collect();
        assert_eq!(
            lines,
            [
                (5, "ab".to_owned()),
                (8, "cd".to_owned()),
                (12, String::new()),
                (13, "last".to_owned())
            ]
        );
    }
}
