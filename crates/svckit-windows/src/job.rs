//! A Job object for a service's processes: the program is created suspended, put in the job,
//! then resumed, so nothing it starts can escape; the job is killed on close, so nothing
//! outlives the host, not even when the host is killed.

use std::{
    io,
    os::windows::{io::AsRawHandle, io::OwnedHandle, process::CommandExt},
    process::{Child, Command},
};

use windows_sys::Win32::System::Threading::CREATE_SUSPENDED;

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

    /// Starts `command` in the job, on the caller's console (see [`own_console`]): created
    /// suspended, assigned, resumed.
    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        command.creation_flags(CREATE_SUSPENDED);
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

    /// Suspends every thread of the job's processes (a Pause).
    pub fn suspend(&self) -> io::Result<()> {
        sys::each_thread(&self.processes()?, sys::Threads::Suspend).map(|_| ())
    }

    /// Resumes every thread of the job's processes (a Continue).
    pub fn resume(&self) -> io::Result<()> {
        sys::each_thread(&self.processes()?, sys::Threads::Resume).map(|_| ())
    }

    /// The ids of the job's processes now.
    pub fn processes(&self) -> io::Result<Vec<u32>> {
        sys::job_processes(&self.handle)
    }

    /// What the job's processes use now: how many there are, their CPU time and their
    /// working sets, bytes (those that can be asked).
    pub fn usage(&self) -> io::Result<(usize, std::time::Duration, u64)> {
        let pids = self.processes()?;
        let (cpu, memory) = pids.iter().filter_map(|pid| sys::process_usage(*pid)).fold(
            (std::time::Duration::ZERO, 0u64),
            |(cpu, memory), (c, m)| (cpu + c, memory + m),
        );
        Ok((pids.len(), cpu, memory))
    }

    /// Asks the job's processes to end, as a person would: Ctrl-C to the console they share
    /// with the caller (see [`own_console`]), and WM_CLOSE to their windows, if any. The
    /// number of windows asked.
    pub fn interrupt(&self) -> io::Result<usize> {
        sys::console_interrupt()?;
        Ok(sys::close_windows(&self.processes()?))
    }
}

/// A health check's command in a job object of its own, ended with everything in the job.
#[derive(Debug, Default)]
pub struct OwnJob(Option<Job>);

impl svckit_core::health::Contain for OwnJob {
    fn spawn(&mut self, command: &mut Command) -> io::Result<Child> {
        let job = Job::new()?;
        let child = job.spawn(command)?;
        self.0 = Some(job);
        Ok(child)
    }

    fn end(&mut self, child: &mut Child) {
        if let Some(job) = self.0.take() {
            let _ = job.terminate(1);
        }
        let _ = child.kill();
    }
}

/// Gives the calling process a console of its own, shared by the programs it then starts in
/// a [`Job`], and makes it immune to the Ctrl-C it sends there ([`Job::interrupt`]): a
/// service has no console, and a console inherited from a terminal would carry the interrupt
/// to every process of that terminal.
pub fn own_console() -> io::Result<()> {
    sys::own_console()
}

/// Ends process `pid` (and so, through a kill-on-close job it holds, everything in that job)
/// and waits up to `wait` until it is gone; a process already gone is not an error.
pub fn terminate_process(pid: u32, wait: std::time::Duration) -> io::Result<()> {
    sys::terminate_process(pid, 1, wait)
}

/// Whether process `pid` still runs (OpenProcess, then a zero wait on it).
pub fn is_alive(pid: u32) -> bool {
    sys::is_alive(pid)
}
