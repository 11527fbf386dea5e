//! Captured output: a service's stdout or stderr pipe drained into a file that rotates at a
//! size, keeping N old files, without losing or splitting a line.
//!
//! The fast path is splice(2), pipe to file with no copy through user space; it is taken only
//! while the whole pipe's content fits below the rotation size, so it can never cross it.
//! Near the size, the data is read and cut after the last newline that fits: the rotated file
//! ends with a whole line and the next begins with one. (A single line longer than the rest
//! of the file is never split: it overshoots the size instead.)

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom, Write},
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
        }
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
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Moves everything the non-blocking `pipe` holds into the log, rotating as needed.
    /// `scratch` is the buffer of the slow path (shared by every log of the supervisor).
    pub fn drain(&mut self, pipe: &OwnedFd, scratch: &mut Vec<u8>) -> io::Result<Drained> {
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
        let mut chunk = &scratch[..n];
        while !chunk.is_empty() {
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
        Ok(None)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.open()?.write_all(bytes)?;
        self.size += bytes.len() as u64;
        if let Some(last) = bytes.last() {
            self.at_line_start = *last == b'\n';
        }
        Ok(())
    }

    /// NAME.stdout → NAME.stdout.1 → … → NAME.stdout.KEEP (dropped).
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            let numbered = |n: u32| numbered(&self.path, n);
            let _ = fs::remove_file(numbered(self.keep));
            for n in (1..self.keep).rev() {
                match fs::rename(numbered(n), numbered(n + 1)) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
            }
            fs::rename(&self.path, numbered(1))?;
        }
        self.size = 0;
        self.at_line_start = true;
        Ok(())
    }
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

/// The last `lines` lines of `path` (and of its rotated predecessors when it holds fewer).
pub fn tail(path: &Path, lines: usize, keep: u32) -> io::Result<Vec<String>> {
    let mut collected: Vec<String> = Vec::new();
    let mut files = vec![path.to_path_buf()];
    files.extend((1..=keep.max(1)).map(|n| numbered(path, n)));
    for file in files {
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
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
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
                assert_eq!(log.drain(&read, &mut scratch).unwrap(), Drained::Empty);
            }
        }
        drop(writer);
        assert_eq!(log.drain(&read, &mut scratch).unwrap(), Drained::Eof);
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
        log.drain(&read, &mut Vec::new()).unwrap();
        assert!(numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists());
        let last = tail(&path, 3, 2).unwrap();
        assert_eq!(last, ["000000047", "000000048", "000000049"]);
        fs::remove_dir_all(dir).unwrap();
    }
}
