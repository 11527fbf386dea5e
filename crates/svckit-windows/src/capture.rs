//! A hosted program's output: each stream read from its pipe by a thread of the host and
//! appended to `NAME.STREAM.log`, rotated (`.1`, `.2`, … kept as the definition says) once it
//! passes `logs.max_size`, always after a whole line, so no line is ever split between files
//! or lost, whatever the writer's pace.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    thread::JoinHandle,
};

/// A log file that rotates.
struct Rotating {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    keep: u32,
}

impl Rotating {
    fn open(path: PathBuf, max_size: u64, keep: u32) -> io::Result<Rotating> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Rotating {
            path,
            file,
            size,
            max_size,
            keep,
        })
    }

    /// Appends `bytes` (whole lines, but for a last line longer than the buffer), rotating
    /// first when they would take the file past its size.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.max_size > 0 && self.size > 0 && self.size + bytes.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// `NAME.log` becomes `.1`, `.1` becomes `.2`, …; the oldest beyond `keep` goes (with
    /// `keep = 0`, the log starts over).
    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        // Ours closed first: Windows renames no file that is open without sharing.
        drop(std::mem::replace(
            &mut self.file,
            OpenOptions::new().write(true).open("NUL")?,
        ));
        let numbered = |n: u32| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            let _ = fs::remove_file(numbered(self.keep));
            // Only the files there are (numbered without gaps) move one down: a rotation of a
            // log with few files renamed `keep` names, most of them missing, each time.
            let there = (1..self.keep).take_while(|n| numbered(*n).exists()).count() as u32;
            for n in (1..=there).rev() {
                let _ = fs::rename(numbered(n), numbered(n + 1));
            }
            fs::rename(&self.path, numbered(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// Copies `pipe` into `NAME.STREAM.log` in `logs` on a thread of its own, until the pipe
/// closes (every process of the job holding it is gone).
pub(crate) fn capture(
    pipe: impl Read + Send + 'static,
    logs: &Path,
    name: &str,
    stream: &str,
    max_size: u64,
    keep: u32,
) -> io::Result<JoinHandle<()>> {
    let mut log = Rotating::open(logs.join(format!("{name}.{stream}.log")), max_size, keep)?;
    let mut pipe = pipe;
    Ok(std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buffer[..n]);
            // Whole lines go out; a partial one waits for its end (up to the buffer's size).
            let cut = match pending.iter().rposition(|b| *b == b'\n') {
                Some(last) => last + 1,
                None if pending.len() >= buffer.len() => pending.len(),
                None => continue,
            };
            let _ = log.write(&pending[..cut]);
            pending.drain(..cut);
        }
        if !pending.is_empty() {
            let _ = log.write(&pending);
        }
        let _ = log.file.flush();
    }))
}

/// Follows the log at `path` from byte `at` onwards, as `tail -F` does, and writes what is
/// appended to `out` until writing fails: by the files' identity (volume and file index),
/// across rotations, no line lost ([`svckit_core::follow::rotated`], the follower of both
/// platforms).
pub fn follow(path: &std::path::Path, at: u64, out: &mut dyn Write) -> io::Result<()> {
    svckit_core::follow::rotated(path, Some(at), out, file_index)
}

/// Which file `file` is, among the files of one directory: its file index. (Not the volume
/// too: Wine answers 0 for the volume of a file renamed since it was opened, and a follower
/// that compared volumes took a file it had read for a new one.)
fn file_index(file: &File) -> io::Result<u64> {
    crate::sys::file_identity(file).map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
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
            let mut log = Rotating::open(writer_path, 4096, 250).unwrap();
            for n in 0..5000 {
                let line = format!("line {n:06} of a writer that rotates often\n");
                log.write(line.as_bytes()).unwrap();
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
}
