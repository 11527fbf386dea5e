//! Memory use on Linux, in the shape of Windows' `GlobalMemoryStatusEx`: physical memory and
//! swap from `/proc/meminfo`, the address space from `RLIMIT_AS` and `/proc/self/status`.

use std::{fs, io};

use nix::sys::resource::{Resource, getrlimit};
use svckit_core::demo::MemoryStatus;

/// The user-mode address space of an x86-64 (or AArch64, 48-bit) Linux process: 128 TiB, the
/// same figure Windows reports as `ullTotalVirtual` on x64.
const USER_ADDRESS_SPACE: u64 = 128 << 40;

/// Gives the free memory inside this process's heap back to the kernel (glibc's
/// malloc_trim(3)): a long-running process that once held much more than it holds now (a
/// supervisor after answering for 10,000 services at once) otherwise keeps those pages, and
/// they count in its memory. Costs a walk of the free lists: for after a burst, not in a loop.
pub fn trim_heap() {
    crate::sys::trim_heap();
}

/// Reads the current memory status (`/proc/meminfo`, getrlimit(2), `/proc/self/status`).
pub fn memory_status() -> io::Result<MemoryStatus> {
    let meminfo = fs::read_to_string("/proc/meminfo")?;
    let status = fs::read_to_string("/proc/self/status")?;
    let limit = getrlimit(Resource::RLIMIT_AS)
        .map(|(soft, _)| soft)
        .unwrap_or(u64::MAX);
    parse(&meminfo, &status, limit)
}

fn parse(meminfo: &str, self_status: &str, address_limit: u64) -> io::Result<MemoryStatus> {
    let total_physical = kib(meminfo, "MemTotal:")?;
    // Kernels before 3.14 have no MemAvailable; free memory is the closest older figure.
    let available_physical = kib(meminfo, "MemAvailable:").or_else(|_| kib(meminfo, "MemFree:"))?;
    let total_virtual = address_limit.min(USER_ADDRESS_SPACE);
    let mapped = kib(self_status, "VmSize:").unwrap_or(0);
    Ok(MemoryStatus {
        load_percent: MemoryStatus::load_of(total_physical, available_physical),
        total_physical,
        available_physical,
        total_page_file: kib(meminfo, "SwapTotal:").unwrap_or(0),
        available_page_file: kib(meminfo, "SwapFree:").unwrap_or(0),
        total_virtual,
        available_virtual: total_virtual.saturating_sub(mapped),
    })
}

/// The value of a `Key:   1234 kB` line, in bytes.
fn kib(text: &str, key: &str) -> io::Result<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("no {key} line")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo_into_the_windows_fields() {
        let meminfo = "MemTotal:       4194304 kB\nMemFree:  10 kB\nMemAvailable:   1048576 kB\n\
                       SwapTotal:      2097152 kB\nSwapFree:       2097152 kB\n";
        let status = parse(meminfo, "Name:\tx\nVmSize:\t   1024 kB\n", u64::MAX).unwrap();
        assert_eq!(status.load_percent, 75);
        assert_eq!(status.total_physical, 4 << 30);
        assert_eq!(status.available_physical, 1 << 30);
        assert_eq!(status.total_page_file, 2 << 30);
        assert_eq!(status.total_virtual, 128 << 40);
        assert_eq!(status.available_virtual, (128 << 40) - (1 << 20));
        assert!(parse("MemFree: 1 kB\n", "", 0).is_err());
    }

    #[test]
    fn reads_this_machine() {
        let status = memory_status().unwrap();
        assert!(status.total_physical > 0);
        assert!(status.available_physical <= status.total_physical);
        assert!(status.load_percent <= 100);
        assert!(status.available_virtual < status.total_virtual);
    }
}
