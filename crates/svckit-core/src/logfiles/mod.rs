//! A service's captured logs as files, on both platforms: `NAME.STREAM{EXT}`, its rotated
//! `.N` and their `.times` indexes, where EXT is the platform's (none on Unix, `.log` for the
//! Windows host). Written by the one rotator ([`LogFile`]), read back as lines with their times
//! ([`timeline`]) or as their last lines ([`tail`]), and moved out of the way when a service
//! is installed anew ([`archive`]).

mod log_file;
pub mod timeline;

pub(crate) use log_file::open_private;
pub use log_file::{
    Drained, LogFile, Moved, Pipe, READ_MAX, TimeMark, now_ms, read_times, times_path, unix_ms,
};

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

use crate::ServiceName;
pub use crate::follow::numbered;

/// Which captured stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`.
    pub const fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The files of a log, oldest first: `PATH.N` … `PATH.1`, `PATH` (numbered without gaps).
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<PathBuf> = (1..)
        .map(|n| numbered(path, n))
        .take_while(|file| file.exists())
        .collect();
    rotated.reverse();
    rotated.push(path.to_owned());
    rotated
}

/// The last `lines` lines of `path` (and of its rotated predecessors `.1`, `.2`, … up to
/// `keep` when it holds fewer), oldest first; at most the last 1 MiB of each file is read.
pub fn tail(path: &Path, lines: usize, keep: u32) -> io::Result<Vec<String>> {
    let mut collected: Vec<String> = Vec::new();
    // Lazily, newest first: the rotated files are numbered without gaps, so the first one
    // missing ends the walk (a huge `keep` once made this allocate a path for every number).
    let files = std::iter::once(path.to_path_buf())
        .chain((1..=keep.max(1) as usize).map(|n| numbered(path, n)));
    for (index, file) in files.enumerate() {
        if collected.len() >= lines {
            break;
        }
        let mut text = Vec::new();
        match File::open(&file) {
            Ok(mut handle) => {
                // Only the end matters: read at most the last 1 MiB.
                let len = handle.metadata()?.len();
                handle.seek(SeekFrom::Start(len.saturating_sub(1 << 20)))?;
                handle.read_to_end(&mut text)?;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound && index == 0 => continue,
            Err(err) if err.kind() == io::ErrorKind::NotFound => break,
            Err(err) => return Err(err),
        }
        let text = String::from_utf8_lossy(&text);
        let mut these: Vec<String> = text.lines().map(str::to_owned).collect();
        let wanted = lines - collected.len();
        if these.len() > wanted {
            these.drain(..these.len() - wanted);
        }
        these.append(&mut collected);
        collected = these;
    }
    Ok(collected)
}

/// Moves the logs of `name` in `logs` (each stream's `NAME.STREAM{ext}`, its rotated `.N`,
/// their `.times` indexes, and a Windows host's event log `NAME.events{ext}`) into `logs/uninstalled/NAME-SECONDS/` (owner-only on Unix): a
/// service installed anew under an uninstalled one's name starts with empty logs. The
/// directory they went to, when there were any.
pub fn archive(logs: &Path, name: &ServiceName, ext: &str) -> io::Result<Option<PathBuf>> {
    let entries = match fs::read_dir(logs) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let is_its = |file: &str| {
        ["stdout", "stderr", "events"].iter().any(|stream| {
            let Some(rest) = file.strip_prefix(&format!("{name}.{stream}{ext}")) else {
                return false;
            };
            let rest = rest.strip_suffix(".times").unwrap_or(rest);
            rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    let files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_str().is_some_and(is_its))
        .map(|entry| entry.path())
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let target = logs.join("uninstalled").join(format!("{name}-{seconds}"));
    let mut dirs = fs::DirBuilder::new();
    dirs.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
    dirs.create(&target)?;
    for file in files {
        if let Some(file_name) = file.file_name() {
            fs::rename(&file, target.join(file_name))?;
        }
    }
    Ok(Some(target))
}
