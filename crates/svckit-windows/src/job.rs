//! A Job object for a service's processes: the program is created suspended, put in the job,
//! then resumed, so nothing it starts can escape; the job is killed on close, so nothing
//! outlives the host, not even when the host is killed.

use std::{
    io,
    os::windows::{io::AsRawHandle, io::OwnedHandle, process::CommandExt},
    process::{Child, Command},
};

use windows_sys::Win32::System::Threading::{CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED};

use crate::sys;

/// The processes of one service.
#[derive(Debug)]
pub struct Job {
    handle: OwnedHandle,
}

impl Job {
    /// A new job, killed on close.
    pub fn new() -> io::Result<Job> {
        Ok(Job {
            handle: sys::job_killed_on_close()?,
        })
    }

    /// Starts `command` in the job, in a console process group of its own (so Ctrl-Break
    /// reaches it alone): created suspended, assigned, resumed.
    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        command.creation_flags(CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP);
        let mut child = command.spawn()?;
        let placed = sys::assign_to_job(&self.handle, child.as_raw_handle())
            .and_then(|()| sys::resume_process(child.id()));
        if let Err(err) = placed {
            let _ = child.kill();
            let _ = child.wait();
            return Err(err);
        }
        Ok(child)
    }

    /// Ends every process of the job (the program and all it started) with `code`.
    pub fn terminate(&self, code: u32) -> io::Result<()> {
        sys::terminate_job(&self.handle, code)
    }
}

/// Sends Ctrl-Break to `child`'s console process group: a console program's graceful stop.
/// An error when it has no console to receive it (a service has none of its own).
pub fn interrupt(child: &Child) -> io::Result<()> {
    sys::console_break(child.id())
}
