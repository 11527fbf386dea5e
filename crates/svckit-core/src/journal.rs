//! The event log: one line per thing that happened to a service — start, readiness, exit and
//! what it means, restart and its delay, give-up, reload, stop and its escalation to SIGKILL,
//! adoption — with a readable local timestamp:
//!
//! ```text
//! 2026-11-29 00:57:24.123 web: exited with exit code 1 after 40ms; restarting in 400ms (restart 3)
//! ```
//!
//! The words come from the lifecycle machine ([`crate::machine::Told`]); the Unix supervisor
//! writes one log per state directory (`STATE/events.log`), the Windows host one per service
//! (`%ProgramData%\svckit\logs\NAME.events.log`). Each writer appends alone and rotates to
//! `FILE.1` past [`MAX_SIZE`], so a crash loop cannot fill the disk; a failed write is dropped
//! (the writer outlives its log). Read by `svckit events` and `svckit status`.

use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

use crate::ServiceName;

/// Past this size a log is rotated.
pub const MAX_SIZE: u64 = 1 << 20;

/// One event log, as its writer appends to it.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    size: u64,
}

impl Journal {
    /// The event log at `path` (opened at the first event).
    pub fn new(path: impl Into<PathBuf>) -> Journal {
        Journal {
            path: path.into(),
            file: None,
            size: 0,
        }
    }

    /// Appends one line: now, the service, what happened.
    pub fn record(&mut self, name: &ServiceName, what: std::fmt::Arguments<'_>) {
        let line = format!("{} {name}: {what}\n", now());
        if self.size + line.len() as u64 > MAX_SIZE && self.file.is_some() {
            self.file = None;
            let _ = fs::rename(&self.path, rotated(&self.path));
        }
        if self.file.is_none() {
            self.file = crate::logfiles::open_private(&self.path, true).ok();
            self.size = self
                .file
                .as_ref()
                .and_then(|file| file.metadata().ok())
                .map_or(0, |meta| meta.len());
        }
        if let Some(file) = &mut self.file
            && file.write_all(line.as_bytes()).is_ok()
        {
            self.size += line.len() as u64;
        }
    }
}

/// Where a log rotated before `path` is: `FILE.1`.
pub fn rotated(path: &Path) -> PathBuf {
    crate::follow::numbered(path, 1)
}

/// How a line's time is written (local time): `2026-11-29 00:57:24.123`, 23 characters that
/// sort as the times do.
pub const STAMP: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// The local time as the log writes it.
pub fn now() -> String {
    chrono::Local::now().format(STAMP).to_string()
}

/// A line's parts: its time as written, the service's name, and what happened.
pub fn split(line: &str) -> Option<(&str, &str, &str)> {
    let stamp = line.get(..23)?;
    let rest = line.get(23..)?.strip_prefix(' ')?;
    let (name, what) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((stamp, name.strip_suffix(':')?, what))
}

/// The last `lines` events of `name` only when given (oldest first), from the logs at `paths`
/// and those rotated before them; the lines of several logs merged in time order.
pub fn recent(paths: &[PathBuf], name: Option<&ServiceName>, lines: usize) -> Vec<String> {
    let mut events = Vec::new();
    for path in paths {
        for file in [rotated(path), path.clone()] {
            events.extend(of(&file, name));
        }
    }
    if paths.len() > 1 {
        // Each line starts with its time, written so that it sorts; a log's own lines keep
        // their order (the sort is stable).
        events.sort_by(|a, b| a.get(..23).cmp(&b.get(..23)));
    }
    let skip = events.len().saturating_sub(lines);
    events.split_off(skip)
}

/// The lines of `file` about `name` (every line without one).
fn of(file: &Path, name: Option<&ServiceName>) -> Vec<String> {
    let Ok(bytes) = fs::read(file) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| name.is_none_or(|name| is_about(line, name)))
        .map(str::to_owned)
        .collect()
}

/// Whether `line` is an event of `name`: its third word is `NAME:`.
pub fn is_about(line: &str, name: &ServiceName) -> bool {
    split(line).is_some_and(|(_, of, _)| of == name.as_str())
}

/// Writes to `out` the last `lines` events about `name` (every event without one), then every
/// new one of the logs `paths` names, asked again at each look (a service installed meanwhile
/// is followed from its first line), until writing fails (a closed pipe ends it) or `done`
/// says so. The first lines and the following start from one look at each file, so no event
/// written meanwhile is lost or printed twice. Rotations are followed by `identity`, which says
/// which file an open file is (an inode, a file index; never a creation time, which Windows
/// hands on to a new file of a just-renamed name): the rest of the rotated file, then the new
/// one's. No file is held open between looks (on Windows an open file could not be rotated).
pub fn follow<I: PartialEq + Copy>(
    paths: impl Fn() -> Vec<PathBuf>,
    name: Option<&ServiceName>,
    lines: usize,
    out: &mut dyn Write,
    done: impl Fn() -> bool,
    identity: impl Fn(&File) -> std::io::Result<I>,
) -> std::io::Result<()> {
    use std::collections::HashMap;
    let about = |line: &String| name.is_none_or(|name| is_about(line, name));
    // What was read of each log: the offset of its first unread byte, and which file it is.
    let mut read: HashMap<PathBuf, (u64, Option<I>)> = HashMap::new();
    let mut first = Vec::new();
    let logs = paths();
    for path in &logs {
        let Some(now) = look(path, 0, &identity) else {
            continue;
        };
        first.extend(of(&rotated(path), name));
        first.extend(now.lines.into_iter().filter(about));
        read.insert(path.clone(), (now.consumed, now.id));
    }
    if logs.len() > 1 {
        first.sort_by(|a, b| a.get(..23).cmp(&b.get(..23)));
    }
    for line in &first[first.len().saturating_sub(lines)..] {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    while !done() {
        let mut lines = Vec::new();
        for path in paths() {
            let (offset, known) = read.entry(path.clone()).or_insert((0, None));
            let Some(mut now) = look(&path, *offset, &identity) else {
                continue;
            };
            if known.is_some() && now.id.is_some() && *known != now.id || now.len < *offset {
                // Rotated: the rest of the old file (written no more), then the new one.
                if let Some(old) = look(&rotated(&path), *offset, &|_: &File| Ok(())) {
                    lines.extend(old.lines);
                }
                match look(&path, 0, &identity) {
                    Some(new) => now = new,
                    None => continue,
                }
                *offset = 0;
            }
            *known = now.id;
            *offset += now.consumed;
            lines.extend(now.lines);
        }
        lines.sort_by(|a, b| a.get(..23).cmp(&b.get(..23)));
        for line in lines.iter().filter(|line| about(line)) {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

/// What one look at a log found.
struct Look<I> {
    /// Which file it is.
    id: Option<I>,
    /// Its length.
    len: u64,
    /// Its whole lines from where the look started.
    lines: Vec<String>,
    /// How many bytes they took (a line still being written is left for the next look).
    consumed: u64,
}

/// One look at the log `file` from byte `offset`, through one open handle (so its identity
/// and its lines are of the same file); `None` when it cannot be opened.
fn look<I>(
    file: &Path,
    offset: u64,
    identity: &impl Fn(&File) -> std::io::Result<I>,
) -> Option<Look<I>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut handle = File::open(file).ok()?;
    let mut found = Look {
        id: identity(&handle).ok(),
        len: handle.metadata().ok()?.len(),
        lines: Vec::new(),
        consumed: 0,
    };
    if found.len <= offset {
        return Some(found);
    }
    let mut bytes = Vec::new();
    if handle.seek(SeekFrom::Start(offset)).is_err() || handle.read_to_end(&mut bytes).is_err() {
        return Some(found);
    }
    if let Some(end) = bytes.iter().rposition(|b| *b == b'\n') {
        found.lines = String::from_utf8_lossy(&bytes[..end])
            .lines()
            .map(str::to_owned)
            .collect();
        found.consumed = end as u64 + 1;
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_its_time_service_and_words() {
        assert_eq!(
            split("2026-11-29 00:57:24.123 web: exited with exit code 1"),
            Some(("2026-11-29 00:57:24.123", "web", "exited with exit code 1"))
        );
        assert_eq!(
            split("2026-11-29 00:57:24.123 web:"),
            Some(("2026-11-29 00:57:24.123", "web", ""))
        );
        assert_eq!(split("2026-11-29 00:57:24.123 web exited"), None);
        assert_eq!(split("short line"), None);
        let web = ServiceName::new("web").unwrap();
        assert!(is_about("2026-11-29 00:57:24.123 web: started", &web));
        assert!(!is_about("2026-11-29 00:57:24.123 webby: started", &web));
    }

    fn scratch(test: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("svckit-journal-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn lines_are_told_apart_by_service_and_rotated_past_the_limit() {
        let root = scratch("rotated");
        let path = root.join("events.log");
        let (web, api) = (
            ServiceName::new("web").unwrap(),
            ServiceName::new("api").unwrap(),
        );
        let mut log = Journal::new(&path);
        log.record(&web, format_args!("started (PID 10)"));
        log.record(&api, format_args!("started (PID 11)"));
        log.record(&web, format_args!("exited with exit code 1"));
        let paths = [path.clone()];
        let of_web = recent(&paths, Some(&web), 10);
        assert_eq!(of_web.len(), 2, "{of_web:?}");
        assert!(of_web[1].ends_with(" web: exited with exit code 1"));
        assert_eq!(recent(&paths, None, 10).len(), 3);
        assert_eq!(recent(&paths, None, 1).len(), 1);
        // A crash loop cannot fill the disk: rotated, the last lines still read.
        for n in 0..20_000 {
            log.record(&web, format_args!("restart {n} of a service that loops"));
        }
        let size = fs::metadata(&path).unwrap().len();
        assert!(size <= MAX_SIZE, "{size}");
        assert!(
            recent(&paths, Some(&web), 1)[0].ends_with("restart 19999 of a service that loops")
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn several_logs_are_merged_in_time_order() {
        let root = scratch("merged");
        let (a, b) = (root.join("a.events.log"), root.join("b.events.log"));
        fs::write(
            &a,
            "2026-12-01 10:00:00.000 a: one\n2026-12-01 10:00:02.000 a: three\n",
        )
        .unwrap();
        fs::write(&b, "2026-12-01 10:00:01.000 b: two\n").unwrap();
        fs::write(rotated(&b), "2026-12-01 09:59:59.000 b: zero\n").unwrap();
        let told = recent(&[a, b], None, 10);
        let words: Vec<&str> = told.iter().map(|line| &line[24..]).collect();
        assert_eq!(words, ["b: zero", "a: one", "b: two", "a: three"]);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    #[cfg(unix)]
    fn follow_passes_on_new_lines_of_every_log_across_a_rotation_and_a_new_log() {
        let root = scratch("follow");
        let web = ServiceName::new("web").unwrap();
        let api = ServiceName::new("api").unwrap();
        let old = root.join("web.events.log");
        fs::write(&old, "2026-12-01 10:00:00.000 web: before\n").unwrap();
        let dir = root.clone();
        let paths = move || -> Vec<PathBuf> {
            let mut found: Vec<PathBuf> = fs::read_dir(&dir)
                .unwrap()
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|path| path.to_string_lossy().ends_with(".events.log"))
                .collect();
            found.sort();
            found
        };
        // The writers, on a thread of their own once the follower looks; the follower stops
        // once it saw the last line.
        let (looking, looks) = std::sync::mpsc::channel::<()>();
        let writer_root = root.clone();
        let writer = std::thread::spawn(move || {
            looks.recv().unwrap();
            let mut web_log = Journal::new(writer_root.join("web.events.log"));
            web_log.record(&web, format_args!("one"));
            // A rotation as the writer makes it, and a line in the new file.
            fs::rename(
                writer_root.join("web.events.log"),
                rotated(&writer_root.join("web.events.log")),
            )
            .unwrap();
            let mut web_log = Journal::new(writer_root.join("web.events.log"));
            web_log.record(&web, format_args!("two"));
            let mut api_log = Journal::new(writer_root.join("api.events.log"));
            api_log.record(&api, format_args!("three"));
        });
        let mut seen = Vec::new();
        let done = std::cell::Cell::new(false);
        struct Until<'a> {
            seen: &'a mut Vec<u8>,
            done: &'a std::cell::Cell<bool>,
        }
        impl Write for Until<'_> {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.seen.extend_from_slice(bytes);
                if String::from_utf8_lossy(self.seen).contains("api: three") {
                    self.done.set(true);
                }
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = Until {
            seen: &mut seen,
            done: &done,
        };
        let inode = |file: &File| {
            use std::os::unix::fs::MetadataExt;
            file.metadata().map(|meta| (meta.dev(), meta.ino()))
        };
        follow(
            paths,
            None,
            0,
            &mut out,
            || {
                let _ = looking.send(());
                done.get()
            },
            inode,
        )
        .unwrap();
        writer.join().unwrap();
        let seen = String::from_utf8(seen).unwrap();
        assert!(!seen.contains("before"), "only what is new: {seen}");
        for word in ["web: one", "web: two", "api: three"] {
            assert!(seen.contains(word), "{word} in {seen}");
        }
        let _ = fs::remove_dir_all(&root);
    }

    /// `events -f`: the last lines, then every event written after the look they came from,
    /// once (it once printed them from one read and followed from another, a gap between).
    #[test]
    fn the_last_lines_and_the_events_after_them_come_once_each() {
        let root = std::env::temp_dir().join(format!("svckit-gap-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let path = root.join("events.log");
        let web = ServiceName::new("web").unwrap();
        let mut log = Journal::new(&path);
        for word in ["one", "two", "three"] {
            log.record(&web, format_args!("{word}"));
        }
        let paths = || vec![path.clone()];
        let mut out = Vec::new();
        let looks = std::cell::Cell::new(0);
        // Right after the last lines are out, before the first look for new ones: "four".
        let done = || {
            looks.set(looks.get() + 1);
            if looks.get() == 1 {
                Journal::new(&path).record(&web, format_args!("four"));
            }
            looks.get() > 2
        };
        follow(paths, Some(&web), 2, &mut out, done, |_: &File| Ok(())).unwrap();
        let out = String::from_utf8(out).unwrap();
        let words: Vec<&str> = out
            .lines()
            .filter_map(|line| split(line))
            .map(|(_, _, w)| w)
            .collect();
        assert_eq!(words, ["two", "three", "four"], "{out}");
        drop(log);
        let _ = fs::remove_dir_all(&root);
    }
}
