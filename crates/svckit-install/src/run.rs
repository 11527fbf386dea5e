//! Running the service managers' own tools (systemctl, update-rc.d, init scripts), and
//! writing their files.

use std::{ffi::OsStr, fs, path::Path, process::Command};

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
