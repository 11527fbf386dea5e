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
