//! Running the service managers' own tools (systemctl, update-rc.d, init scripts), and
//! writing their files.

use std::{
    ffi::OsStr,
    fs,
    io::Read,
    path::Path,
    process::{Command, Stdio},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crate::Error;

/// What a tool said: its exit code and its output.
#[derive(Debug)]
pub(crate) struct Ran {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Ran {
    /// Its last non-empty line of output (stderr first), to quote in an error.
    pub fn last_message(&self) -> String {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .rfind(|line| !line.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_owned()
    }
}

/// Writes a unit or script atomically (synced) with `mode`, creating its directory.
pub(crate) fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|err| Error::os(format!("create {}", dir.display()), err))?;
    }
    svckit_unix::files::write_atomic(path, contents.as_bytes(), mode)
        .map_err(|err| Error::os(format!("write {}", path.display()), err))
}

/// Runs `program` with `args`, stdin from /dev/null; an error only when it cannot be run.
pub(crate) fn run<S: AsRef<OsStr>>(program: &Path, args: &[S]) -> Result<Ran, Error> {
    let output = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| Error::os(format!("run {}", program.display()), err))?;
    Ok(Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs `program` and requires success; the error quotes the command and its last message.
pub(crate) fn check<S: AsRef<OsStr>>(program: &Path, args: &[S]) -> Result<Ran, Error> {
    let ran = run(program, args)?;
    checked(program, args, ran)
}

/// Like [`check`], but gives up after `timeout`: the tool is killed and `Ok(None)` returned (a
/// systemctl job it was waiting for goes on in the manager).
pub(crate) fn check_within<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    timeout: Duration,
) -> Result<Option<Ran>, Error> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| Error::os(format!("run {}", program.display()), err))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(err) => return Err(Error::os(format!("wait for {}", program.display()), err)),
        }
    };
    let ran = Ran {
        code: waited.and_then(|status| status.code()).unwrap_or(-1),
        stdout: stdout.map(joined).unwrap_or_default(),
        stderr: stderr.map(joined).unwrap_or_default(),
    };
    match waited {
        Some(_) => checked(program, args, ran).map(Some),
        None => Ok(None),
    }
}

/// Reads `pipe` to its end on a thread of its own (so a full pipe never blocks the tool).
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn joined(reader: JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

fn checked<S: AsRef<OsStr>>(program: &Path, args: &[S], ran: Ran) -> Result<Ran, Error> {
    if ran.code == 0 {
        return Ok(ran);
    }
    let command = std::iter::once(program.as_os_str())
        .chain(args.iter().map(AsRef::as_ref))
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let said = ran.last_message();
    Err(Error::Os {
        operation: format!("{command} exited with {}", ran.code),
        source: said.into(),
    })
}
