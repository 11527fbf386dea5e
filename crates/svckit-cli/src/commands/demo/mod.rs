//! The two demos of the original design, on the library as any program would use it:
//! `memory_status` (the `MemoryStatus` service, one source for the SCM and Unix) and the Unix
//! daemon `timelog` (in the Unix commands: it appends a timestamp to `daemon.log`).

pub mod memory_status;

/// Opens a demo's log for appending (created if missing); the error names the path.
pub(crate) fn open_log(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context as _;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("open log {}", path.display()))
}
