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
            for n in (1..self.keep).rev() {
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
/// appended to `out` until writing fails: by the files' identity (volume and file index), not
/// their size. At a rotation the file read so far (now `.1`, or further down when the writer
/// rotated several times between two looks) is read to its end, then each newer one from its
/// start, oldest first, then the live one: no line is lost (a size check lost 4,325 of
/// 20,000 lines once, and reading only the live file after it lost whole rotated files).
pub fn follow(path: &std::path::Path, at: u64, out: &mut dyn Write) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    type Identity = (u32, u64);
    let numbered = |n: usize| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        std::path::PathBuf::from(name)
    };
    let identity_at = |at: &std::path::Path| -> Option<Identity> {
        fs::File::open(at)
            .ok()
            .and_then(|file| crate::sys::file_identity(&file).ok())
    };
    // One look at the files: the live one's identity, then `.1`'s, `.2`'s, … down to `held`
    // (or to the first missing one).
    let look = |held: Identity| -> Vec<Option<Identity>> {
        let mut ids = vec![identity_at(path)];
        for n in 1..=MAX_KEEP_LOOKED {
            let id = identity_at(&numbered(n));
            ids.push(id);
            if id.is_none() || id == Some(held) {
                break;
            }
        }
        ids
    };
    let mut file = loop {
        match fs::File::open(path) {
            Ok(file) => break file,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    };
    let mut identity = crate::sys::file_identity(&file)?;
    // Shorter than what was read already: rotated meanwhile, and all of it is new.
    let at = if file.metadata()?.len() < at { 0 } else { at };
    file.seek(SeekFrom::Start(at))?;
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        file.read_to_end(&mut chunk)?;
        out.write_all(&chunk)?;
        out.flush()?;
        if identity_at(path).is_none_or(|live| live == identity) {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        // Rotated: what the file read so far got before it was is its last (its writer moved
        // on to a new file).
        chunk.clear();
        file.read_to_end(&mut chunk)?;
        out.write_all(&chunk)?;
        // It is `.k` now, and the next newer one `.k-1` (the live file for k = 1). The files
        // move while the writer renames them, and not always at once (Wine's rename showed a
        // file at two names for a moment), so the newer one is taken only from two equal
        // looks with every file at one place, and checked to be the one looked at.
        let mut tries = 0;
        let next = loop {
            let before = look(identity);
            let mut seen: Vec<Identity> = before.iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            let k = before.iter().position(|id| *id == Some(identity));
            if let Some(k) = k.filter(|&k| k >= 1)
                && seen.len() == before.len()
            {
                let newer = if k == 1 {
                    path.to_owned()
                } else {
                    numbered(k - 1)
                };
                if let Ok(candidate) = fs::File::open(&newer)
                    && crate::sys::file_identity(&candidate).ok() == before[k - 1]
                    && look(identity) == before
                {
                    break candidate;
                }
            }
            // Not seen at all after many looks: gone (more rotations than kept); go on with
            // the live file.
            tries += 1;
            if tries >= MAX_LOOKS {
                break fs::File::open(path)?;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        identity = crate::sys::file_identity(&next)?;
        file = next;
    }
}

/// How far down the rotated files [`follow`] looks for the one it read (`logs.keep` is at
/// most 1000).
const MAX_KEEP_LOOKED: usize = 1000;

/// How many times [`follow`] looks for the file it read before it takes it for gone (about
/// 2 s).
const MAX_LOOKS: u32 = 200;
