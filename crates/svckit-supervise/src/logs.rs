//! Captured output: a service's stdout or stderr pipe drained into a file that rotates at a
//! size, keeping N old files, without losing or splitting a line.
//!
//! The fast path is splice(2), pipe to file with no copy through user space; it is taken only
//! while the whole pipe's content fits below the rotation size, so it can never cross it.
//! Near the size, the data is read and cut after the last newline that fits: the rotated file
//! ends with a whole line and the next begins with one. (A single line longer than the rest
//! of the file is never split: it overshoots the size instead.)
//!
//! Storing can fail (a full disk, a symlink planted at the log's path, a rotation that cannot
//! rename): the pipe is drained all the same, so the service never blocks in write(2). What
//! could not be stored is counted; once storing works again, a marker line says how many bytes
//! were lost and why. A failed rotation keeps writing into the current file.
//!
//! Each log has a time index beside it, `NAME.stdout.times`, so the log itself stays
//! byte-exact: after each drain, one 16-byte record (the file's size then, and the time, in
//! Unix milliseconds, both little-endian u64) says by when every byte before that offset was
//! read. A line's time is that of the first record past its start. The index rotates with its
//! log (`NAME.stdout.1.times`).

use std::{
    fs::{self, File},
    io::{self, Seek, SeekFrom, Write},
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::fs::OpenOptionsExt,
    },
    path::{Path, PathBuf},
};

use nix::{
    errno::Errno,
    fcntl::{FcntlArg, SpliceFFlags, fcntl, splice},
};

/// The pipe size asked for with F_SETPIPE_SZ (the default is 64 KiB; a bigger pipe means
/// fewer wake-ups for a fast writer, and more room while no supervisor reads).
pub const PIPE_SIZE: usize = 1 << 20;

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
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// What a drain found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// The pipe is empty for now.
    Empty,
    /// Every writer closed the pipe.
    Eof,
}

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
        }
    }

    /// Appends a time record for what was stored since the last one (a failure to write the
    /// index loses times, never output).
    fn record_time(&mut self) {
        if self.file.is_none() || self.size == self.recorded {
            return;
        }
        if self.times.is_none() {
            self.times = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(times_path(&self.path))
                .ok();
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

    /// Why the output cannot be stored right now, and how many bytes were lost so far (`None`
    /// while capture works).
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

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            // Not O_APPEND: splice(2) refuses files opened for appending. The supervisor is
            // the only writer, so its own offset is the end.
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&self.path)
                .map_err(|err| {
                    io::Error::new(err.kind(), format!("open {}: {err}", self.path.display()))
                })?;
            self.size = file.seek(SeekFrom::End(0))?;
            self.recorded = self.size;
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Moves everything the non-blocking `pipe` holds into the log, rotating as needed.
    /// `scratch` is the buffer of the slow path (shared by every log of the supervisor). Never
    /// fails: what cannot be stored is drained, counted and reported by [`LogFile::error`] and
    /// by a marker line once storing works again.
    pub fn drain(&mut self, pipe: &OwnedFd, scratch: &mut Vec<u8>) -> Drained {
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

    /// Stores `chunk`, output read elsewhere (`svckit run --log-dir` copies it to its own stdout
    /// too), rotating after whole lines as [`LogFile::drain`] does. Never fails: what cannot be
    /// stored is counted, reported by [`LogFile::error`] and marked once storing works again.
    pub fn append(&mut self, chunk: &[u8]) {
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
    fn discard(&mut self, pipe: &OwnedFd, scratch: &mut Vec<u8>) -> Drained {
        scratch.resize(PIPE_SIZE.min(256 << 10), 0);
        loop {
            match nix::unistd::read(pipe, scratch) {
                Ok(0) => return Drained::Eof,
                Ok(n) => self.lost = self.lost.saturating_add(n as u64),
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Drained::Empty,
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

    fn store(&mut self, pipe: &OwnedFd, scratch: &mut Vec<u8>) -> io::Result<Drained> {
        self.mark_loss()?;
        loop {
            let room = self.room();
            if room >= PIPE_SIZE as u64 {
                let file = self.open()?;
                match splice(
                    pipe.as_fd(),
                    None,
                    file.as_fd(),
                    None,
                    PIPE_SIZE,
                    SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE,
                ) {
                    Ok(0) => return Ok(Drained::Eof),
                    Ok(n) => {
                        self.size += n as u64;
                        // Unknown without reading it back; assume mid-line, which only makes
                        // the next rotation finish the line first.
                        self.at_line_start = false;
                    }
                    Err(Errno::EAGAIN) => return Ok(Drained::Empty),
                    Err(Errno::EINTR) => {}
                    // Some file systems cannot splice: read and write instead.
                    Err(Errno::EINVAL) => {
                        if let Some(end) = self.copy_chunk(pipe, scratch)? {
                            return Ok(end);
                        }
                    }
                    Err(errno) => return Err(errno.into()),
                }
            } else if let Some(end) = self.copy_chunk(pipe, scratch)? {
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

    /// One read(2) from the pipe, written out with a rotation after the last newline that
    /// fits. `Some` when the pipe is empty or closed.
    fn copy_chunk(&mut self, pipe: &OwnedFd, scratch: &mut Vec<u8>) -> io::Result<Option<Drained>> {
        scratch.resize(PIPE_SIZE.min(256 << 10), 0);
        let n = match nix::unistd::read(pipe, scratch) {
            Ok(0) => return Ok(Some(Drained::Eof)),
            Ok(n) => n,
            Err(Errno::EAGAIN) => return Ok(Some(Drained::Empty)),
            Err(Errno::EINTR) => return Ok(None),
            Err(errno) => return Err(errno.into()),
        };
        let chunk = &scratch[..n];
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

    /// NAME.stdout → NAME.stdout.1 → … → NAME.stdout.KEEP (dropped), each with its time
    /// index.
    fn rotate(&mut self) -> io::Result<()> {
        // The old file's last bytes get their time before it is renamed.
        self.record_time();
        self.file = None;
        self.times = None;
        self.recorded = 0;
        let index = times_path(&self.path);
        if self.keep == 0 {
            let _ = fs::remove_file(&index);
            fs::remove_file(&self.path)?;
        } else {
            let numbered = |n: u32| numbered(&self.path, n);
            let renamed = (|| {
                let _ = fs::remove_file(numbered(self.keep));
                let _ = fs::remove_file(times_path(&numbered(self.keep)));
                for n in (1..self.keep).rev() {
                    match fs::rename(numbered(n), numbered(n + 1)) {
                        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                        _ => {}
                    }
                    let _ = fs::rename(times_path(&numbered(n)), times_path(&numbered(n + 1)));
                }
                fs::rename(&self.path, numbered(1))?;
                let _ = fs::rename(&index, times_path(&numbered(1)));
                Ok(())
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

/// Moves the logs of `name` (each stream, its rotated files, their time indexes) out of the
/// way, into `logs/uninstalled/NAME-SECONDS/` ([`svckit_core::logfiles::archive`]): a service
/// installed anew starts with empty logs rather than an uninstalled one's. The directory they
/// went to, when there were any.
pub fn archive(
    dir: &crate::StateDir,
    name: &svckit_core::ServiceName,
) -> io::Result<Option<PathBuf>> {
    svckit_core::logfiles::archive(&dir.logs_dir(), name, "")
}

/// `PATH.N`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Makes a pipe for a service's output: (read end, non-blocking; write end), both
/// close-on-exec, sized [`PIPE_SIZE`] where the limit allows.
pub fn output_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
    // The write end must block: the service's writes wait for room instead of failing.
    let flags = fcntl(&write, FcntlArg::F_GETFL)?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
    fcntl(&write, FcntlArg::F_SETFL(flags))?;
    let _ = fcntl(&read, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE as i32));
    Ok((read, write))
}

/// Copies whatever is appended to the log at `path` to `out` (flushing after each chunk) until
/// writing fails, following rotations by the files' identity: [`svckit_core::follow::rotated`],
/// the follower of both platforms.
pub fn follow(path: &Path, out: &mut impl Write) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    svckit_core::follow::rotated(path, None, out, |file| {
        file.metadata().map(|meta| (meta.dev(), meta.ino()))
    })
}

pub use svckit_core::logfiles::tail;

/// The raw fd of a pipe end, for registering it with the event loop.
pub fn raw(fd: &OwnedFd) -> i32 {
    fd.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svckit-logs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn rotation_keeps_whole_lines_and_loses_none() {
        let dir = temp_dir("rotate");
        let path = dir.join("svc.stdout");
        let mut log = LogFile::new(path.clone(), 1000, 100);
        let (read, write) = output_pipe().unwrap();
        let mut writer = File::from(write);
        let mut scratch = Vec::new();
        let mut expected = Vec::new();
        for i in 0..2000 {
            let line = format!("line {i:05} {}\n", "x".repeat(i % 37));
            expected.extend_from_slice(line.as_bytes());
            writer.write_all(line.as_bytes()).unwrap();
            if i % 100 == 99 {
                assert_eq!(log.drain(&read, &mut scratch), Drained::Empty);
            }
        }
        drop(writer);
        assert_eq!(log.drain(&read, &mut scratch), Drained::Eof);
        let mut all = Vec::new();
        for n in (1..=100).rev() {
            if let Ok(bytes) = fs::read(numbered(&path, n)) {
                assert!(bytes.len() <= 1000, "file {n} is {} bytes", bytes.len());
                assert!(bytes.ends_with(b"\n"), "file {n} ends mid-line");
                all.extend(bytes);
            }
        }
        all.extend(fs::read(&path).unwrap());
        assert_eq!(all, expected);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rotation_drops_the_oldest_beyond_keep() {
        let dir = temp_dir("keep");
        let path = dir.join("svc.stderr");
        let mut log = LogFile::new(path.clone(), 100, 2);
        let (read, write) = output_pipe().unwrap();
        let mut writer = File::from(write);
        for i in 0..50 {
            writeln!(writer, "{i:09}").unwrap();
        }
        drop(writer);
        log.drain(&read, &mut Vec::new());
        assert!(numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists());
        let last = tail(&path, 3, 2).unwrap();
        assert_eq!(last, ["000000047", "000000048", "000000049"]);
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regression: after a write error (here a symlink planted at the log's path) the
    /// supervisor stopped reading the pipe and the service blocked in write(2). The pipe is
    /// drained, the loss counted and marked once storing works again; the link is not followed.
    #[test]
    fn regression_output_that_cannot_be_stored_is_drained_counted_and_marked() {
        let dir = temp_dir("lost");
        let path = dir.join("svc.stdout");
        let target = dir.join("precious");
        fs::write(&target, "keep me\n").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let mut log = LogFile::new(path.clone(), 0, 1);
        let (read, write) = output_pipe().unwrap();
        let mut writer = File::from(write);
        let mut scratch = Vec::new();
        // More than the pipe holds: without draining, the writer would block.
        let line = [b'x'; 1023];
        for _ in 0..(2 * PIPE_SIZE / 1024) {
            writer.write_all(&line).unwrap();
            writer.write_all(b"\n").unwrap();
            if log.drain(&read, &mut scratch) != Drained::Empty {
                panic!("the pipe is open");
            }
        }
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me\n");
        let error = log.error().expect("the failure is reported");
        assert!(error.contains("svc.stdout"), "{error}");
        assert!(
            error.contains(&format!("({} bytes lost)", 2 * PIPE_SIZE)),
            "{error}"
        );
        fs::remove_file(&path).unwrap();
        writer.write_all(b"back\n").unwrap();
        assert_eq!(log.drain(&read, &mut scratch), Drained::Empty);
        assert_eq!(log.error(), None);
        let text = fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let marker = lines.next().unwrap();
        assert!(
            marker.starts_with(&format!(
                "svckit: {} bytes of output were lost: ",
                2 * PIPE_SIZE
            )),
            "{marker}"
        );
        assert_eq!(lines.next(), Some("back"));
        fs::remove_dir_all(dir).unwrap();
    }

    /// A rotation that cannot rename keeps the output in the current file and says why.
    #[test]
    fn a_failed_rotation_keeps_writing_into_the_current_file() {
        let dir = temp_dir("norotate");
        let path = dir.join("svc.stdout");
        // A non-empty directory where the first rotated file would go: rename(2) fails.
        fs::create_dir_all(numbered(&path, 1).join("blocker")).unwrap();
        let mut log = LogFile::new(path.clone(), 100, 1);
        let (read, write) = output_pipe().unwrap();
        let mut writer = File::from(write);
        for i in 0..40 {
            writeln!(writer, "{i:09}").unwrap();
        }
        drop(writer);
        assert_eq!(log.drain(&read, &mut Vec::new()), Drained::Eof);
        let error = log.error().expect("the failed rotation is reported");
        assert!(error.starts_with("rotate "), "{error}");
        let text = fs::read_to_string(&path).unwrap();
        let expected: String = (0..40).map(|i| format!("{i:09}\n")).collect();
        assert_eq!(text, expected, "no line lost");
        fs::remove_dir_all(dir).unwrap();
    }

    /// Regression: `logs` with `logs.keep = 4294967295` made a path for every number (a 103 GB
    /// allocation). The walk stops at the first rotated file that does not exist.
    #[test]
    fn regression_tail_with_a_huge_keep_reads_only_what_exists() {
        let dir = temp_dir("hugekeep");
        let path = dir.join("svc.stdout");
        fs::write(&path, "new\n").unwrap();
        fs::write(numbered(&path, 1), "old\n").unwrap();
        assert_eq!(tail(&path, 10, u32::MAX).unwrap(), ["old", "new"]);
        fs::remove_dir_all(dir).unwrap();
    }
}
