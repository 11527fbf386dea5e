//! Every `unsafe` block of svckit-windows lives here, each with the reason it is sound.
//!
//! It owns the Win32 calls the windows-service crate does not wrap. It must stay small.
#![allow(unsafe_code)]

use std::io;

use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};

/// [GlobalMemoryStatusEx](https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/nf-sysinfoapi-globalmemorystatusex).
pub(crate) fn global_memory_status() -> io::Result<MEMORYSTATUSEX> {
    // SAFETY: MEMORYSTATUSEX is plain data; all-zero is a valid value.
    let mut status: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
    status.dwLength = std::mem::size_of::<MEMORYSTATUSEX>() as u32;
    // SAFETY: `status` is a valid, writable MEMORYSTATUSEX whose dwLength is set, as the call
    // requires; the pointer does not outlive the call.
    if unsafe { GlobalMemoryStatusEx(&mut status) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(status)
}

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};

use windows_sys::Win32::{
    Foundation::{HANDLE, INVALID_HANDLE_VALUE},
    System::{
        Console::GenerateConsoleCtrlEvent,
        Diagnostics::ToolHelp::{
            CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
        },
        JobObjects::{
            AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
            JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
            SetInformationJobObject, TerminateJobObject,
        },
        Threading::{OpenThread, ResumeThread, THREAD_SUSPEND_RESUME},
    },
};

/// A handle a call returned, owned; an error when the call failed (null or
/// INVALID_HANDLE_VALUE).
fn owned(handle: HANDLE) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the handle was just returned by a successful call and is owned by no one else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
}

/// A new Job object whose processes are all killed when its last handle closes
/// (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE): nothing of a service outlives its host.
pub(crate) fn job_killed_on_close() -> io::Result<OwnedHandle> {
    // SAFETY: both pointers may be null (default security, no name).
    let job = owned(unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) })?;
    // SAFETY: the structure is plain data; all-zero is a valid value.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: `job` is a valid job handle; the pointer and length describe `limits`, which
    // outlives the call.
    let set = unsafe {
        SetInformationJobObject(
            job.as_raw_handle() as HANDLE,
            JobObjectExtendedLimitInformation,
            (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if set == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(job)
}

/// Puts the process `process` into `job`.
pub(crate) fn assign_to_job(job: &OwnedHandle, process: RawHandle) -> io::Result<()> {
    // SAFETY: both are valid handles for the duration of the call (the caller owns them).
    if unsafe { AssignProcessToJobObject(job.as_raw_handle() as HANDLE, process as HANDLE) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ends every process of `job` with `code`.
pub(crate) fn terminate_job(job: &OwnedHandle, code: u32) -> io::Result<()> {
    // SAFETY: `job` is a valid job handle.
    if unsafe { TerminateJobObject(job.as_raw_handle() as HANDLE, code) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resumes every thread of process `pid` (created suspended, so it runs only once it is in
/// its job: nothing it starts can escape it).
pub(crate) fn resume_process(pid: u32) -> io::Result<()> {
    // SAFETY: a thread snapshot of the system; the flags and pid are plain values.
    let snapshot = owned(unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) })?;
    // SAFETY: plain data; all-zero is valid, and dwSize is set as the calls require.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let raw = snapshot.as_raw_handle() as HANDLE;
    // SAFETY: `raw` is the live snapshot and `entry` a writable THREADENTRY32 with its size.
    let mut more = unsafe { Thread32First(raw, &mut entry) } != 0;
    let mut resumed = false;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain values; a failure is a null handle, checked by `owned`.
            let thread =
                owned(unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) })?;
            // SAFETY: `thread` is a valid handle with THREAD_SUSPEND_RESUME access.
            if unsafe { ResumeThread(thread.as_raw_handle() as HANDLE) } == u32::MAX {
                return Err(io::Error::last_os_error());
            }
            resumed = true;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(raw, &mut entry) } != 0;
    }
    match resumed {
        true => Ok(()),
        false => Err(io::Error::other(format!(
            "no thread of process {pid} to resume"
        ))),
    }
}

/// Sends CTRL_BREAK_EVENT to the console process group `group` (a child created with
/// CREATE_NEW_PROCESS_GROUP): a console program's Ctrl-Break, its graceful stop.
pub(crate) fn console_break(group: u32) -> io::Result<()> {
    // SAFETY: plain values.
    if unsafe {
        GenerateConsoleCtrlEvent(windows_sys::Win32::System::Console::CTRL_BREAK_EVENT, group)
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
