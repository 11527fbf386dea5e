//! A hosted program's output: each stream read from its pipe by a thread of the host and
//! stored in `NAME.STREAM.log` by the one rotator of both platforms
//! ([`svckit_core::logfiles::LogFile`]): rotated (`.1`, `.2`, … kept as the definition says)
//! once it passes `logs.max_size`, always after a whole line, with the time each line was read
//! in `NAME.STREAM.log.times`, so `svckit logs` merges streams and services in time order.

use std::{
    fs::File,
    io::{self, Read},
    sync::{Arc, Mutex},
    thread::JoinHandle,
};

use svckit_core::logfiles::LogFile;

/// Copies `pipe` into `log` on a thread of its own, until the pipe closes (every process of
/// the job holding it is gone).
pub(crate) fn capture(
    pipe: impl Read + Send + 'static,
    log: Arc<Mutex<LogFile>>,
) -> JoinHandle<()> {
    let mut pipe = pipe;
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buffer[..n]);
            // Whole lines go out; a partial one waits for its end (up to the buffer's size):
            // another writer of the log (a command, the host) never lands inside it.
            let cut = match pending.iter().rposition(|b| *b == b'\n') {
                Some(last) => last + 1,
                None if pending.len() >= buffer.len() => pending.len(),
                None => continue,
            };
            append(&log, &pending[..cut]);
            pending.drain(..cut);
        }
        if !pending.is_empty() {
            append(&log, &pending);
        }
    })
}

/// Appends `bytes` to the shared `log` (a writer that panicked leaves it usable).
pub(crate) fn append(log: &Mutex<LogFile>, bytes: &[u8]) {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .append(bytes);
}

/// Which file `file` is, among the files of one directory: its file index. (Not the volume
/// too: Wine answers 0 for the volume of a file renamed since it was opened, and a follower
/// that compared volumes took a file it had read for a new one.)
pub fn file_index(file: &File) -> io::Result<u64> {
    crate::sys::file_identity(file).map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// The host's rotator and the follower, on Windows' file identities: no line lost or
    /// repeated while the log rotates many times between two looks. (Regression: `logs -f`
    /// lost 17,440 of 20,000 lines of a flood under Wine once, its follower waiting for two
    /// equal looks at 100 names that the rotator kept renaming.)
    #[test]
    fn regression_logs_follow_loses_no_line_of_a_log_that_rotates_fast() {
        let root = std::env::temp_dir().join(format!("svckit-capture-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let path = root.join("flood.stdout.log");
        fs::write(&path, "before\n").unwrap();
        let (holding, held) = std::sync::mpsc::channel::<()>();
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || {
            held.recv().unwrap();
            let mut log = LogFile::new(writer_path, 4096, 250);
            for n in 0..5000 {
                let line = format!("line {n:06} of a writer that rotates often\n");
                log.append(line.as_bytes());
                assert_eq!(log.error(), None);
            }
        });
        let mut out = svckit_core::follow::testing::Until {
            seen: Vec::new(),
            last: "line 004999 ",
        };
        let identity = |file: &File| {
            let _ = holding.send(());
            file_index(file)
        };
        let at = fs::metadata(&path).unwrap().len();
        let ended = svckit_core::follow::rotated(&path, Some(at), &mut out, identity);
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        writer.join().unwrap();
        assert_eq!(
            svckit_core::follow::testing::numbered(&out.seen),
            (Some(0), 5000, vec![]),
            "lost or repeated lines"
        );
        let _ = fs::remove_dir_all(&root);
    }

    /// A reader that gives at most 7 bytes a read.
    struct Trickle<R>(R);

    impl<R: Read> Read for Trickle<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7);
            std::thread::yield_now();
            self.0.read(&mut buf[..n])
        }
    }

    /// Regression: the program's output, its commands' and the host's own lines went to one
    /// log through a writer each, and each rotated on its own: a writer went on appending to
    /// the file another had renamed away, and the sizes were nobody's. Two captures and the
    /// host's lines now share the stream's one writer: every line is kept once, whole (a line
    /// read in pieces is not cut by another writer's: `reload 1156tick 5` was seen once), and
    /// no file passes the size by more than its last line.
    #[test]
    fn regression_every_writer_of_a_log_shares_its_one_rotator() {
        let root = std::env::temp_dir().join(format!("svckit-shared-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let path = root.join("svc.stderr.log");
        let log = Arc::new(Mutex::new(LogFile::new(path.clone(), 2048, 1000)));
        let lines = |who: &str| -> Vec<u8> {
            (0..400)
                .map(|n| format!("{who} {n:04} of a writer sharing the log\n"))
                .collect::<String>()
                .into_bytes()
        };
        // Each reads a few bytes at a time, as a pipe gives a line written in pieces (cmd.exe
        // writes `echo`'s text, then its CR LF).
        let program = capture(Trickle(io::Cursor::new(lines("program"))), log.clone());
        let command = capture(Trickle(io::Cursor::new(lines("command"))), log.clone());
        for n in 0..100 {
            append(&log, format!("svckit host: {n:04}\n").as_bytes());
        }
        program.join().unwrap();
        command.join().unwrap();
        drop(log);
        let files = svckit_core::logfiles::files(&path);
        assert!(files.len() > 5, "rotated");
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for file in &files {
            let text = fs::read_to_string(file).unwrap();
            let before_last = text
                .trim_end_matches('\n')
                .rfind('\n')
                .map_or(0, |at| at + 1);
            assert!(
                before_last <= 2048,
                "{}: {before_last} bytes",
                file.display()
            );
            for line in text.lines() {
                *seen.entry(line.to_owned()).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), 900, "every line");
        assert!(seen.values().all(|count| *count == 1), "no line twice");
        let _ = fs::remove_dir_all(&root);
    }
}
