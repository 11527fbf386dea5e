//! The one log rotator of both platforms: a stream appended to `PATH`, rotated at a size into
//! `PATH.1`, `PATH.2`, … (keeping N), always after a whole line, never losing a byte that
//! could be stored, with a time index beside each file.
//!
//! Near the size, output is cut after the last newline that fits: the rotated file ends with a
//! whole line and the next begins with one. (A single line longer than the rest of the file is
//! never split: it overshoots the size instead.)
//!
//! Storing can fail (a full disk, a symlink planted at the log's path, a rotation that cannot
//! rename): what could not be stored is counted; once storing works again, a marker line says
//! how many bytes were lost and why. A failed rotation keeps writing into the current file.
//! A [`Pipe`] is drained all the same, so its writer never blocks.
//!
//! Each log has a time index beside it, `PATH.times`, so the log itself stays byte-exact:
//! after each drain or append, one 16-byte record (the file's size then, and the time, in Unix
//! milliseconds, both little-endian u64) says by when every byte before that offset was read.
//! A line's time is that of the first record past its start. The index rotates with its log
//! (`PATH.1.times`).
//!
//! Output is read and written, never spliced: splice(2) from a pipe to a file holds the pipe's
//! lock while the file system writes, so the program writing the other end waited (spinning on
//! that lock) for every write to the disk. Read then written, the copy into the pipe and the
//! write into the file run side by side: stdout capture went from 0.81× writing straight to a
//! file to 1.15× (read and written, 919-932 MB/s; spliced, 648-729; straight, 782-838; three
//! interleaved runs of 212 MB on 2 cores).

use std::{
    fs::{self, File},
    io::{self, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use super::numbered;
use crate::condition::LineWatch;

/// The most one read from a pipe takes at once.
pub const READ_MAX: usize = 256 << 10;

/// What a read from a pipe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// The pipe is empty for now.
    Empty,
    /// Every writer closed the pipe.
    Eof,
}

/// One read from a [`Pipe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// This many bytes, read into the buffer.
    Bytes(usize),
    /// Nothing now, or nothing ever again.
    Done(Drained),
}

/// The read end of a non-blocking pipe a [`LogFile`] drains (the platform's; retrying what
/// a signal interrupted is its own business).
pub trait Pipe {
    /// Reads what the pipe holds, at most `buf.len()` bytes.
    fn read_some(&self, buf: &mut [u8]) -> io::Result<Moved>;
}

/// The time index of the log at `log`: `LOG.times`.
pub fn times_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".times");
    PathBuf::from(name)
}

/// One record of a time index: every byte before `end` was read by `ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeMark {
    /// An offset in the log.
    pub end: u64,
    /// Unix milliseconds.
    pub ms: u64,
}

/// The records of the time index `path` (none when it is missing or unreadable; a torn last
/// record is ignored).
pub fn read_times(path: &Path) -> Vec<TimeMark> {
    let bytes = fs::read(path).unwrap_or_default();
    bytes
        .chunks_exact(16)
        .map(|record| TimeMark {
            end: u64::from_le_bytes(record[..8].try_into().expect("8 bytes")),
            ms: u64::from_le_bytes(record[8..].try_into().expect("8 bytes")),
        })
        .collect()
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    unix_ms(std::time::SystemTime::now())
}

/// `at` in Unix milliseconds.
pub fn unix_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// Opens a log, an index or an event log for writing, owner-only and not through a symlink
/// on Unix. (On Windows the logs directory's ACL keeps others out.)
pub(crate) fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true);
    if append {
        options.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// One log file and its rotation policy.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    keep: u32,
    /// Whether the file ends at a line boundary (rotating now would split nothing).
    at_line_start: bool,
    /// Bytes drained but not stored since the last successful write.
    lost: u64,
    /// Why storing last failed, until it works again.
    error: Option<String>,
    /// The time index ([`times_path`]), opened with the log.
    times: Option<File>,
    /// The size the last time record names.
    recorded: u64,
    /// Texts looked for in what is stored (a dependent's `log_ready` condition); boxed, and
    /// only once one is (few logs are watched, and a supervisor holds two logs a service).
    watch: Option<Box<LineWatch>>,
    /// Whether a text was seen since [`LogFile::take_seen`] was last asked.
    newly_seen: bool,
    /// Where the program's current run began in the file (none: not known).
    run_start: Option<u64>,
}

/// The most of a run's stored output read back when a text is first looked for in it.
const BACKLOG_MAX: u64 = 16 << 20;

impl LogFile {
    /// A log at `path`, rotated at `max_size` bytes (0: never), keeping `keep` old files.
    /// The file is opened on first write.
    pub fn new(path: PathBuf, max_size: u64, keep: u32) -> LogFile {
        LogFile {
            path,
            file: None,
            size: 0,
            max_size,
            keep,
            at_line_start: true,
            lost: 0,
            error: None,
            times: None,
            recorded: 0,
            watch: None,
            newly_seen: false,
            run_start: None,
        }
    }

    /// A new run of the program begins: what it prints from now on is its output, and no
    /// text looked for is seen in it yet.
    pub fn new_run(&mut self) {
        if let Some(watch) = &mut self.watch {
            watch.restart();
        }
        self.run_start = match self.open() {
            Ok(_) => Some(self.size),
            Err(_) => None,
        };
    }

    /// Looks for a line containing `text` in this run's output: in what comes, and in what
    /// was stored since the run began (as far as the current file holds it, its last 16 MiB).
    pub fn look_for(&mut self, text: &str) {
        let watch = self.watch.get_or_insert_default();
        if watch.watches(text) {
            return;
        }
        watch.look_for(text);
        let Some(start) = self.run_start else {
            return;
        };
        let mut backlog = LineWatch::default();
        backlog.look_for(text);
        let from = start.max(self.size.saturating_sub(BACKLOG_MAX));
        let read = (|| -> io::Result<()> {
            let mut file = fs::File::open(&self.path)?;
            file.seek(SeekFrom::Start(from))?;
            let mut file = io::Read::take(file, self.size - from.min(self.size));
            let mut chunk = vec![0u8; 64 << 10];
            loop {
                let n = io::Read::read(&mut file, &mut chunk)?;
                if n == 0 || backlog.read(&chunk[..n]) {
                    return Ok(());
                }
            }
        })();
        if read.is_ok()
            && backlog.seen(text)
            && let Some(watch) = &mut self.watch
        {
            watch.mark_seen(text);
        }
    }

    /// Whether a line containing `text`, looked for, was seen in this run's output.
    pub fn seen(&self, text: &str) -> bool {
        self.watch.as_ref().is_some_and(|watch| watch.seen(text))
    }

    /// Stops looking for the texts `keep` does not say (no dependent waits for them).
    pub fn look_only_for(&mut self, keep: impl FnMut(&str) -> bool) {
        if let Some(watch) = &mut self.watch {
            watch.retain(keep);
            if watch.is_empty() {
                self.watch = None;
            }
        }
    }

    /// Whether a text looked for was seen since this was last asked.
    pub fn take_seen(&mut self) -> bool {
        std::mem::take(&mut self.newly_seen)
    }

    /// Closes the file and its time index until the next write (which reopens them at their
    /// end): a supervisor of thousands of services keeps only its busiest logs open. What was
    /// stored gets its time first.
    pub fn close(&mut self) {
        self.record_time();
        self.file = None;
        self.times = None;
    }

    /// Whether the file (or its time index) is open now.
    pub fn is_open(&self) -> bool {
        self.file.is_some() || self.times.is_some()
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the output cannot be stored right now, and how many bytes were lost so far (`None`
    /// while storing works).
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(|error| match self.lost {
            0 => error.clone(),
            lost => format!("{error} ({lost} bytes lost)"),
        })
    }

    /// Changes the policy (a reinstalled definition).
    pub fn set_policy(&mut self, max_size: u64, keep: u32) {
        self.max_size = max_size;
        self.keep = keep;
    }

    /// Moves everything `pipe` holds into the log, rotating as needed. `scratch` is the
    /// buffer of the slow path (shared by every log of a supervisor). Never fails: what cannot
    /// be stored is drained, counted and reported by [`LogFile::error`] and by a marker line
    /// once storing works again.
    pub fn drain(&mut self, pipe: &impl Pipe, scratch: &mut Vec<u8>) -> Drained {
        let stored = self.store(pipe, scratch);
        self.record_time();
        match stored {
            Ok(drained) => drained,
            Err(err) => {
                self.failed(&err);
                self.discard(pipe, scratch)
            }
        }
    }

    /// Stores `chunk`, output read elsewhere (a thread copying a pipe, `svckit run --log-dir`
    /// copying it to its own stdout too), rotating after whole lines as [`LogFile::drain`]
    /// does. Never fails: what cannot be stored is counted, reported by [`LogFile::error`] and
    /// marked once storing works again.
    pub fn append(&mut self, chunk: &[u8]) {
        if let Some(watch) = &mut self.watch {
            self.newly_seen |= watch.read(chunk);
        }
        let mut left = chunk.len();
        let stored = self
            .mark_loss()
            .and_then(|()| self.store_chunk(chunk, &mut left));
        self.record_time();
        if let Err(err) = stored {
            self.lost = self.lost.saturating_add(left as u64);
            self.failed(&err);
        }
    }

    /// Appends a time record for what was stored since the last one (a failure to write the
    /// index loses times, never output).
    fn record_time(&mut self) {
        if self.file.is_none() || self.size == self.recorded {
            return;
        }
        if self.times.is_none() {
            self.times = open_private(&times_path(&self.path), true).ok();
        }
        let mut record = [0u8; 16];
        record[..8].copy_from_slice(&self.size.to_le_bytes());
        record[8..].copy_from_slice(&now_ms().to_le_bytes());
        if let Some(times) = &mut self.times
            && times.write_all(&record).is_ok()
        {
            self.recorded = self.size;
        }
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            // Not O_APPEND: the owner of the log is its only writer, so its own offset is the
            // end.
            let mut file = open_private(&self.path, false).map_err(|err| {
                io::Error::new(err.kind(), format!("open {}: {err}", self.path.display()))
            })?;
            self.size = file.seek(SeekFrom::End(0))?;
            self.recorded = self.size;
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Storing failed: why is kept (naming the file once: an open error names it already),
    /// and the file is reopened at the next try.
    fn failed(&mut self, err: &io::Error) {
        let path = self.path.display().to_string();
        let err = err.to_string();
        self.error = Some(match err.contains(&path) {
            true => err,
            false => format!("{path}: {err}"),
        });
        self.file = None;
    }

    /// Reads the pipe dry without storing, counting the bytes.
    fn discard(&mut self, pipe: &impl Pipe, scratch: &mut Vec<u8>) -> Drained {
        scratch.resize(READ_MAX, 0);
        loop {
            match pipe.read_some(scratch) {
                Ok(Moved::Bytes(n)) => self.lost = self.lost.saturating_add(n as u64),
                Ok(Moved::Done(drained)) => return drained,
                Err(_) => return Drained::Eof,
            }
        }
    }

    /// Writes the marker of lost output, if any, before new output is stored.
    fn mark_loss(&mut self) -> io::Result<()> {
        if self.lost == 0 {
            return Ok(());
        }
        let marker = format!(
            "{}svckit: {} bytes of output were lost: {}\n",
            if self.at_line_start { "" } else { "\n" },
            self.lost,
            self.error.as_deref().unwrap_or("they could not be stored")
        );
        self.write(marker.as_bytes())?;
        self.lost = 0;
        self.error = None;
        Ok(())
    }

    fn store(&mut self, pipe: &impl Pipe, scratch: &mut Vec<u8>) -> io::Result<Drained> {
        self.mark_loss()?;
        loop {
            if let Some(end) = self.copy_chunk(pipe, scratch)? {
                return Ok(end);
            }
        }
    }

    /// Bytes left before the rotation size (all of them when rotation is off).
    fn room(&self) -> u64 {
        if self.max_size == 0 {
            u64::MAX
        } else {
            self.max_size.saturating_sub(self.size)
        }
    }

    /// One read from the pipe, written out with a rotation after the last newline that fits.
    /// `Some` when the pipe is empty or closed.
    fn copy_chunk(
        &mut self,
        pipe: &impl Pipe,
        scratch: &mut Vec<u8>,
    ) -> io::Result<Option<Drained>> {
        scratch.resize(READ_MAX, 0);
        let n = match pipe.read_some(scratch)? {
            Moved::Bytes(n) => n,
            Moved::Done(drained) => return Ok(Some(drained)),
        };
        let chunk = &scratch[..n];
        if let Some(watch) = &mut self.watch {
            self.newly_seen |= watch.read(chunk);
        }
        let mut left = chunk.len();
        let stored = self.store_chunk(chunk, &mut left);
        if stored.is_err() {
            // What was read but not written is lost too.
            self.lost = self.lost.saturating_add(left as u64);
        }
        stored.map(|()| None)
    }

    /// Writes `chunk` with rotations after whole lines; `left` tracks what is not yet written.
    fn store_chunk(&mut self, mut chunk: &[u8], left: &mut usize) -> io::Result<()> {
        while !chunk.is_empty() {
            *left = chunk.len();
            let room = self.room();
            if (chunk.len() as u64) <= room {
                self.write(chunk)?;
                break;
            }
            // The last newline that still fits. If none does: rotate now when the file ends
            // at a line boundary; otherwise the line in progress is finished in this file
            // first (it overshoots by part of a line rather than split it). Without any
            // newline, the chunk is the middle of a line and goes on in this file.
            let fits = &chunk[..room as usize];
            if let Some(at) = fits.iter().rposition(|b| *b == b'\n') {
                self.write(&chunk[..=at])?;
                self.rotate()?;
                chunk = &chunk[at + 1..];
                continue;
            }
            if self.at_line_start && self.size > 0 {
                self.rotate()?;
                continue;
            }
            match chunk.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    self.write(&chunk[..=at])?;
                    self.rotate()?;
                    chunk = &chunk[at + 1..];
                }
                None => {
                    self.write(chunk)?;
                    break;
                }
            }
        }
        *left = 0;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self.open()?;
        if let Err(err) = file.write_all(bytes) {
            // A short write leaves part of `bytes` in the file: the file no longer ends where
            // we think; reopen (at its end) next time.
            self.file = None;
            self.at_line_start = false;
            return Err(err);
        }
        self.size += bytes.len() as u64;
        if let Some(last) = bytes.last() {
            self.at_line_start = *last == b'\n';
        }
        Ok(())
    }

    /// PATH → PATH.1 → … → PATH.KEEP (dropped), each with its time index. Only the files
    /// there are (numbered without gaps) move: a log with few files does not rename `keep`
    /// missing names at every rotation.
    fn rotate(&mut self) -> io::Result<()> {
        // The old file's last bytes get their time before it is renamed; both are closed
        // first (Windows renames no file its writer holds open).
        self.record_time();
        self.file = None;
        self.times = None;
        self.recorded = 0;
        // What this run prints next begins the new file.
        if self.run_start.is_some() {
            self.run_start = Some(0);
        }
        let index = times_path(&self.path);
        if self.keep == 0 {
            let _ = fs::remove_file(&index);
            fs::remove_file(&self.path)?;
        } else {
            let keep = self.keep as usize;
            let numbered = |n: usize| numbered(&self.path, n);
            let renamed = (|| {
                let _ = fs::remove_file(numbered(keep));
                let _ = fs::remove_file(times_path(&numbered(keep)));
                let there = (1..keep).take_while(|n| numbered(*n).exists()).count();
                for n in (1..=there).rev() {
                    fs::rename(numbered(n), numbered(n + 1))?;
                    let _ = fs::rename(times_path(&numbered(n)), times_path(&numbered(n + 1)));
                }
                fs::rename(&self.path, numbered(1))?;
                let _ = fs::rename(&index, times_path(&numbered(1)));
                Ok::<(), io::Error>(())
            })();
            if let Err(err) = renamed {
                // Keep writing into the current file rather than lose output; try again after
                // another max_size.
                self.error = Some(format!("rotate {}: {err}", self.path.display()));
                self.size = 0;
                return Ok(());
            }
            if self.lost == 0 {
                self.error = None;
            }
        }
        self.size = 0;
        self.at_line_start = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, collections::VecDeque};

    use super::{super::files, *};

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svckit-logfile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A pipe in memory: its chunks, then empty (or closed).
    struct Chunks {
        chunks: RefCell<VecDeque<Vec<u8>>>,
        closed: bool,
    }

    impl Chunks {
        fn take(&self, len: usize) -> Option<Vec<u8>> {
            let mut chunks = self.chunks.borrow_mut();
            let mut chunk = chunks.pop_front()?;
            if chunk.len() > len {
                chunks.push_front(chunk.split_off(len));
            }
            Some(chunk)
        }

        fn done(&self) -> Moved {
            Moved::Done(match self.closed {
                true => Drained::Eof,
                false => Drained::Empty,
            })
        }
    }

    impl Pipe for Chunks {
        fn read_some(&self, buf: &mut [u8]) -> io::Result<Moved> {
            Ok(match self.take(buf.len()) {
                Some(chunk) => {
                    buf[..chunk.len()].copy_from_slice(&chunk);
                    Moved::Bytes(chunk.len())
                }
                None => self.done(),
            })
        }
    }

    /// `path`'s files oldest first with their bytes, each checked to end at a whole line and to
    /// be indexed to its end, in increasing marks.
    fn whole_indexed_files(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        files(path)
            .into_iter()
            .map(|file| {
                let bytes = fs::read(&file).unwrap();
                assert!(bytes.ends_with(b"\n"), "{} ends mid-line", file.display());
                let marks = read_times(&times_path(&file));
                assert_eq!(
                    marks.last().map(|mark| mark.end),
                    Some(bytes.len() as u64),
                    "{}: its index ends with it",
                    file.display()
                );
                assert!(marks.windows(2).all(|pair| pair[0].end < pair[1].end));
                (file, bytes)
            })
            .collect()
    }

    /// Output appended in pieces that cut lines anywhere: every file but a line too long for
    /// one ends at a whole line within the size, nothing is lost or reordered, and each file's
    /// time index covers it to its end.
    #[test]
    fn appended_output_rotates_after_whole_lines_with_each_file_indexed() {
        let dir = temp_dir("append");
        let path = dir.join("svc.stdout.log");
        let mut log = LogFile::new(path.clone(), 500, 1000);
        let mut expected = Vec::new();
        for i in 0..600 {
            expected.extend_from_slice(format!("line {i:04} {}\n", "y".repeat(i % 23)).as_bytes());
        }
        // One line longer than a whole file: it overshoots rather than split.
        expected.extend_from_slice(format!("{}\n", "z".repeat(1200)).as_bytes());
        expected.extend_from_slice(b"after\n");
        for piece in expected.chunks(97) {
            log.append(piece);
        }
        assert_eq!(log.error(), None);
        let mut all = Vec::new();
        for (file, bytes) in whole_indexed_files(&path) {
            // Past the size only by the line in progress when it was reached.
            let before_last = bytes[..bytes.len() - 1]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1);
            assert!(
                before_last <= 500,
                "{} is {} bytes before its last line",
                file.display(),
                before_last
            );
            all.extend(bytes);
        }
        assert_eq!(all, expected);
        // Closed first: Windows deletes no directory with a file open in it.
        drop(log);
        fs::remove_dir_all(dir).unwrap();
    }

    /// A log closed after every piece (a supervisor keeps only its busiest logs open) stores
    /// the same bytes in the same files, each indexed to its end, and holds no fd between.
    #[test]
    fn a_log_closed_between_writes_loses_nothing_and_rotates_the_same() {
        let dir = temp_dir("closed");
        let path = dir.join("svc.stdout");
        let mut log = LogFile::new(path.clone(), 500, 1000);
        let mut expected = Vec::new();
        for i in 0..400 {
            expected.extend_from_slice(format!("line {i:04} {}\n", "c".repeat(i % 31)).as_bytes());
        }
        for piece in expected.chunks(61) {
            log.append(piece);
            assert!(log.is_open());
            log.close();
            assert!(!log.is_open());
        }
        assert_eq!(log.error(), None);
        let files = whole_indexed_files(&path);
        assert!(files.len() > 10, "{} files", files.len());
        let all: Vec<u8> = files.into_iter().flat_map(|(_, bytes)| bytes).collect();
        assert_eq!(all, expected);
        fs::remove_dir_all(dir).unwrap();
    }

    /// Chunks larger than one read, several rotations' worth: the files end at whole lines
    /// within the size and nothing is lost.
    #[test]
    fn chunks_larger_than_a_read_rotate_at_whole_lines() {
        let dir = temp_dir("large");
        let path = dir.join("svc.stdout");
        let max = 3 * READ_MAX as u64;
        let mut log = LogFile::new(path.clone(), max, 1000);
        let line = format!("{}\n", "m".repeat(99));
        let mut expected = Vec::new();
        let mut chunks = VecDeque::new();
        for _ in 0..8 {
            let chunk = line.repeat(READ_MAX / 100 + 7).into_bytes();
            expected.extend_from_slice(&chunk);
            chunks.push_back(chunk);
        }
        let pipe = Chunks {
            chunks: RefCell::new(chunks),
            closed: true,
        };
        assert_eq!(log.drain(&pipe, &mut Vec::new()), Drained::Eof);
        let mut all = Vec::new();
        for file in files(&path) {
            let bytes = fs::read(&file).unwrap();
            assert!(bytes.len() as u64 <= max, "{} bytes", bytes.len());
            assert!(bytes.ends_with(b"\n"));
            all.extend(bytes);
        }
        assert!(files(&path).len() >= 3, "rotated");
        assert_eq!(all, expected);
        // Closed first: Windows deletes no directory with a file open in it.
        drop(log);
        fs::remove_dir_all(dir).unwrap();
    }

    /// A text looked for is seen in what the run printed before it was looked for, and in
    /// what comes, however a pipe cuts it; a new run forgets it; output is stored whole all
    /// along.
    #[test]
    fn a_text_looked_for_is_found_in_this_runs_output_only() {
        let dir = temp_dir("lookfor");
        let path = dir.join("svc.stdout");
        let mut log = LogFile::new(path.clone(), 0, 1);
        log.append(b"previous run: Ready to accept connections\n");
        log.new_run();
        log.append(b"starting\n");
        log.look_for("Ready to accept connections");
        assert!(
            !log.seen("Ready to accept connections"),
            "a previous run's line"
        );
        log.append(b"loading\n");
        log.look_for("loading");
        assert!(log.seen("loading"), "printed before it was looked for");
        assert!(!log.take_seen());
        let pipe = Chunks {
            chunks: RefCell::new(VecDeque::from([
                b"1:M Ready to acc".to_vec(),
                b"ept connections tcp\n".to_vec(),
            ])),
            closed: true,
        };
        assert_eq!(log.drain(&pipe, &mut Vec::new()), Drained::Eof);
        assert!(log.seen("Ready to accept connections"));
        assert!(log.take_seen());
        log.new_run();
        assert!(!log.seen("Ready to accept connections"));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "previous run: Ready to accept connections\nstarting\nloading\n\
             1:M Ready to accept connections tcp\n"
        );
        drop(log);
        fs::remove_dir_all(dir).unwrap();
    }

    /// `keep` files at most: the oldest go, with their indexes.
    #[test]
    fn rotation_keeps_at_most_keep_files_and_their_indexes() {
        let dir = temp_dir("keep");
        let path = dir.join("svc.stderr");
        let mut log = LogFile::new(path.clone(), 100, 2);
        for i in 0..50 {
            log.append(format!("{i:09}\n").as_bytes());
        }
        assert!(numbered(&path, 2).exists());
        assert!(times_path(&numbered(&path, 2)).exists());
        assert!(!numbered(&path, 3).exists());
        assert!(!times_path(&numbered(&path, 3)).exists());
        let last = super::super::tail(&path, 3, 2).unwrap();
        assert_eq!(last, ["000000047", "000000048", "000000049"]);
        // Closed first: Windows deletes no directory with a file open in it.
        drop(log);
        fs::remove_dir_all(dir).unwrap();
    }
}
