//! The output of `svckit run --log-dir DIR`: the program's stdout and stderr go through pipes; a thread per
//! stream copies each chunk to svckit's own stdout or stderr (so `docker logs` still has it)
//! and into `DIR/NAME.stdout` / `.stderr`, rotated and time-indexed as a service's log. A
//! reader that went away (our stdout closed) never stops the capture: the program is never
//! blocked on a full pipe.

use std::{
    fs,
    io::{self, Write},
    os::{fd::OwnedFd, unix::fs::DirBuilderExt},
    path::Path,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::logs::LogFile;
use nix::sys::signal::{SigSet, SigmaskHow};

/// The copying threads.
#[derive(Debug)]
pub struct Tee {
    /// Each ends with why its log could not store everything, if it could not.
    threads: Vec<JoinHandle<Option<String>>>,
}

impl Tee {
    /// Makes `dir` (0750 when new) and the two pipes, and starts copying; returns the write
    /// ends for the program's stdout and stderr.
    pub fn start(
        dir: &Path,
        name: &str,
        max_size: u64,
        keep: u32,
    ) -> io::Result<(Tee, OwnedFd, OwnedFd)> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)?;
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;
        // The threads take no signal: every one is the init's to forward (a thread with them
        // unblocked would die of the first SIGTERM, and the init with it).
        let old = SigSet::all().thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let threads = [
            (out_read, dir.join(format!("{name}.stdout")), true),
            (err_read, dir.join(format!("{name}.stderr")), false),
        ]
        .into_iter()
        .map(|(pipe, path, stdout)| {
            let log = LogFile::new(path, max_size, keep);
            std::thread::spawn(move || copy(pipe, log, stdout))
        })
        .collect();
        old.thread_set_mask()?;
        Ok((Tee { threads }, out_write, err_write))
    }

    /// Waits for both streams to end (every writer gone), at most 2 s: a process outside the
    /// program's tree may still hold a pipe, and svckit must still exit. Returns why output
    /// could not be stored, for each log that lost some.
    pub fn finish(self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut errors = Vec::new();
        for thread in self.threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished()
                && let Ok(Some(error)) = thread.join()
            {
                errors.push(error);
            }
        }
        errors
    }
}

/// A blocking pipe, both ends close-on-exec (the program gets its end through dup2).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Copies `pipe` to our stdout (or stderr) and into `log` until every writer is gone; why
/// the log lost output, if it did.
fn copy(pipe: OwnedFd, mut log: LogFile, to_stdout: bool) -> Option<String> {
    let mut buffer = vec![0u8; 64 << 10];
    let mut ours_open = true;
    loop {
        let n = match nix::unistd::read(&pipe, &mut buffer) {
            Ok(0) => return log.error(),
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return log.error(),
        };
        let chunk = &buffer[..n];
        if ours_open {
            let written = match to_stdout {
                true => io::stdout()
                    .lock()
                    .write_all(chunk)
                    .and_then(|()| io::stdout().flush()),
                false => io::stderr().lock().write_all(chunk),
            };
            // Our reader went away: keep storing, stop writing there.
            ours_open = written.is_ok();
        }
        log.append(chunk);
    }
}
