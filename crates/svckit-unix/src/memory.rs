//! Memory use on Linux, in the shape of Windows' `GlobalMemoryStatusEx`: physical memory and
//! swap from `/proc/meminfo`, the address space from `RLIMIT_AS` and `/proc/self/status`;
//! and this process's own: its heap trimmed ([`trim_heap`]), and its executable's pages let
//! go of ([`release_executable_pages`], the mappings read from `/proc/self/smaps`).

use std::{fs, io, time::Duration};

use nix::sys::resource::{Resource, getrlimit};
use svckit_core::demo::MemoryStatus;

/// The user-mode address space of an x86-64 (or AArch64, 48-bit) Linux process: 128 TiB, the
/// same figure Windows reports as `ullTotalVirtual` on x64.
const USER_ADDRESS_SPACE: u64 = 128 << 40;

/// How long a process of svckit's is idle before it gives memory back: the supervisor's heap
/// and code pages a second after its last client, the fd holder's and the forker's code
/// pages a second after their last work, a container init's once its program has run that
/// long (a program that ends sooner never pays for it).
pub const IDLE_BEFORE_RELEASE: Duration = Duration::from_secs(1);

/// [`IDLE_BEFORE_RELEASE`] in milliseconds, as poll(2) takes it.
pub(crate) const IDLE_BEFORE_RELEASE_MS: u16 = IDLE_BEFORE_RELEASE.as_millis() as u16;

/// Gives the free memory inside this process's heap back to the kernel (glibc's
/// malloc_trim(3)): a long-running process that once held much more than it holds now (a
/// supervisor after answering for 10,000 services at once) otherwise keeps those pages, and
/// they count in its memory. Costs a walk of the free lists: for after a burst, not in a loop.
pub fn trim_heap() {
    crate::sys::trim_heap();
}

/// Lets go of the pages of this process's executable that are the file's, unchanged (its
/// code and read-only data; RELRO, written by relocation, is kept): they count whole in a
/// static binary's memory, and what runs again is faulted back in from the page cache. For a
/// process about to wait: an init once its program runs, a supervisor gone idle.
pub fn release_executable_pages() {
    crate::sys::release_executable_pages();
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

/// The path of a maps line (`start-end perms offset dev inode path`), spaces and a
/// ` (deleted)` included, as readlink of /proc/self/exe says it.
fn mapped_path(line: &str) -> Option<&str> {
    let mut rest = line;
    for _ in 0..5 {
        rest = rest.trim_start();
        rest = &rest[rest.find(char::is_whitespace)?..];
    }
    Some(rest.trim()).filter(|path| !path.is_empty())
}

/// The (start, end) of each mapping in `smaps` of the file `exe` that is private, not
/// writable and has no anonymous page (RELRO, written by relocation then made read-only,
/// has some).
pub(crate) fn file_only_mappings(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    // The mapping being read: its range, and whether it qualifies so far.
    let mut current: Option<(usize, usize, bool)> = None;
    let mut close = |current: Option<(usize, usize, bool)>, anonymous_zero: bool| {
        if let Some((start, end, true)) = current
            && anonymous_zero
        {
            found.push((start, end));
        }
    };
    let mut anonymous_zero = false;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            close(current.take(), anonymous_zero);
            anonymous_zero = false;
            let perms = fields.next().unwrap_or_default().as_bytes();
            let private_read_only = perms.get(1) == Some(&b'-') && perms.get(3) == Some(&b'p');
            current = Some((
                start,
                end,
                private_read_only && mapped_path(line) == Some(exe),
            ));
        } else if first == "Anonymous:" {
            anonymous_zero = fields.next() == Some("0");
        }
    }
    close(current.take(), anonymous_zero);
    found
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

    /// Only the executable's private mappings that are not writable and hold no anonymous
    /// page: its code and constants, not RELRO (relocated, then made read-only), its data, a
    /// library, or the heap.
    #[test]
    fn only_the_executables_pages_as_in_the_file_are_released() {
        let smaps = "\
555555554000-555555560000 r--p 00000000 08:01 42 /usr/bin/init
Size:                 48 kB
Anonymous:             0 kB
555555560000-5555555a0000 r-xp 0000c000 08:01 42 /usr/bin/init
Rss:                 100 kB
Anonymous:             0 kB
5555555a0000-5555555b0000 r--p 0004c000 08:01 42 /usr/bin/init
Anonymous:            12 kB
5555555b0000-5555555b4000 rw-p 0005c000 08:01 42 /usr/bin/init
Anonymous:             4 kB
5555555b4000-5555555b8000 r--p 00060000 08:01 42 /usr/bin/init (deleted)
Anonymous:             0 kB
7ffff7d00000-7ffff7e00000 r-xp 00000000 08:01 7 /usr/lib/libc.so.6
Anonymous:             0 kB
7ffff7f00000-7ffff7f10000 rw-p 00000000 00:00 0 [heap]
Anonymous:            64 kB
7ffff7f10000-7ffff7f20000 r-xs 00000000 08:01 42 /usr/bin/init
Anonymous:             0 kB
";
        assert_eq!(
            file_only_mappings(smaps, "/usr/bin/init"),
            [
                (0x5555_5555_4000, 0x5555_5556_0000),
                (0x5555_5556_0000, 0x5555_555a_0000)
            ]
        );
        assert!(file_only_mappings(smaps, "/usr/bin/other").is_empty());
        assert_eq!(
            file_only_mappings(smaps, "/usr/bin/init (deleted)"),
            [(0x5555_555b_4000, 0x5555_555b_8000)]
        );
        assert_eq!(
            mapped_path("1-2 r-xp 0 08:01 42   /opt/my init/bin"),
            Some("/opt/my init/bin")
        );
        assert_eq!(mapped_path("1-2 rw-p 0 00:00 0 "), None);
        assert!(file_only_mappings("", "/usr/bin/init").is_empty());
    }
}
