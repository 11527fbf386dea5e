//! What the demo services need beyond the model: the `MemoryStatus` service's snapshot of
//! memory use. Kept out of the model's namespace; the front door shows it as `svckit::demo`.

use std::fmt;

/// A snapshot of memory use, with the fields of Windows' [`MEMORYSTATUSEX`]; on Linux the same
/// fields come from `/proc/meminfo` (swap for the page file) and the process's address space.
///
/// [`MEMORYSTATUSEX`]: https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/ns-sysinfoapi-memorystatusex
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStatus {
    /// Percent of physical memory in use (`dwMemoryLoad`).
    pub load_percent: u32,
    /// Physical memory, bytes (`ullTotalPhys`).
    pub total_physical: u64,
    /// Physical memory available, bytes (`ullAvailPhys`; Linux: `MemAvailable`).
    pub available_physical: u64,
    /// Commit limit or swap, bytes (`ullTotalPageFile`; Linux: `SwapTotal`).
    pub total_page_file: u64,
    /// Commit or swap available, bytes (`ullAvailPageFile`; Linux: `SwapFree`).
    pub available_page_file: u64,
    /// The process's user-mode address space, bytes (`ullTotalVirtual`).
    pub total_virtual: u64,
    /// Of that, not reserved or mapped, bytes (`ullAvailVirtual`).
    pub available_virtual: u64,
}

impl MemoryStatus {
    /// The load for `available` of `total`, rounded down, as `dwMemoryLoad` is.
    pub fn load_of(total: u64, available: u64) -> u32 {
        if total == 0 {
            return 0;
        }
        (u128::from(total.saturating_sub(available)) * 100 / u128::from(total)) as u32
    }
}

impl fmt::Display for MemoryStatus {
    /// One log line: `memory load 37%, physical 8.9 GiB free of 23.5 GiB, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory load {}%, physical {} free of {}, page file {} free of {}, virtual {} free of {}",
            self.load_percent,
            Bytes(self.available_physical),
            Bytes(self.total_physical),
            Bytes(self.available_page_file),
            Bytes(self.total_page_file),
            Bytes(self.available_virtual),
            Bytes(self.total_virtual),
        )
    }
}

/// Bytes as status shows them ([`crate::parse::human_size`]).
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::parse::human_size(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_every_field() {
        let status = MemoryStatus {
            load_percent: MemoryStatus::load_of(4 << 30, 1 << 30),
            total_physical: 4 << 30,
            available_physical: 1 << 30,
            total_page_file: 0,
            available_page_file: 0,
            total_virtual: 128 << 40,
            available_virtual: (128 << 40) - (3 << 19),
        };
        assert_eq!(
            status.to_string(),
            "memory load 75%, physical 1.0 GiB free of 4.0 GiB, page file 0 B free of 0 B, \
             virtual 128.0 TiB free of 128.0 TiB"
        );
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(MemoryStatus::load_of(0, 0), 0);
    }
}
