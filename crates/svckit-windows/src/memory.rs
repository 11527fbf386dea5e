//! Memory use, from [GlobalMemoryStatusEx](https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/nf-sysinfoapi-globalmemorystatusex).

use std::io;

use svckit_core::demo::MemoryStatus;

/// Reads the current memory status (GlobalMemoryStatusEx).
pub fn memory_status() -> io::Result<MemoryStatus> {
    let raw = crate::sys::global_memory_status()?;
    Ok(MemoryStatus {
        load_percent: raw.dwMemoryLoad,
        total_physical: raw.ullTotalPhys,
        available_physical: raw.ullAvailPhys,
        total_page_file: raw.ullTotalPageFile,
        available_page_file: raw.ullAvailPageFile,
        total_virtual: raw.ullTotalVirtual,
        available_virtual: raw.ullAvailVirtual,
    })
}
