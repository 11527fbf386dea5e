//! Captured output on Unix: a service's stdout or stderr pipe drained into its log by the one
//! rotator of both platforms ([`svckit_core::logfiles::LogFile`]: rotation after whole lines,
//! time indexes, lost output counted and marked), read and written (not spliced: see
//! [`svckit_core::logfiles::LogFile`]'s module for why).

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    path::PathBuf,
};

use nix::{
    errno::Errno,
    fcntl::{FcntlArg, fcntl},
};
pub use svckit_core::logfiles::{Drained, LogFile, numbered, tail};
use svckit_core::logfiles::{Moved, Pipe};

/// The pipe size asked for with F_SETPIPE_SZ (the default is 64 KiB; a bigger pipe means
/// fewer wake-ups for a fast writer, and more room while no supervisor reads).
pub const PIPE_SIZE: usize = 1 << 20;

/// The read end of a service's output pipe (non-blocking), as a [`LogFile`] drains it.
#[derive(Debug, Clone, Copy)]
pub struct PipeEnd<'a>(pub &'a OwnedFd);

impl Pipe for PipeEnd<'_> {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<Moved> {
        loop {
            return match nix::unistd::read(self.0, buf) {
                Ok(0) => Ok(Moved::Done(Drained::Eof)),
                Ok(n) => Ok(Moved::Bytes(n)),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => Ok(Moved::Done(Drained::Empty)),
                Err(errno) => Err(errno.into()),
            };
        }
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

/// The raw fd of a pipe end, for registering it with the event loop.
pub fn raw(fd: &OwnedFd) -> i32 {
    fd.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use std::{fs, fs::File, io::Write as _};

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
                assert_eq!(log.drain(&PipeEnd(&read), &mut scratch), Drained::Empty);
            }
        }
        drop(writer);
        assert_eq!(log.drain(&PipeEnd(&read), &mut scratch), Drained::Eof);
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
        log.drain(&PipeEnd(&read), &mut Vec::new());
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
            if log.drain(&PipeEnd(&read), &mut scratch) != Drained::Empty {
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
        assert_eq!(log.drain(&PipeEnd(&read), &mut scratch), Drained::Empty);
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
        assert_eq!(log.drain(&PipeEnd(&read), &mut Vec::new()), Drained::Eof);
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
