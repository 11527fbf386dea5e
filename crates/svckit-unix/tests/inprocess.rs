//! In-process daemonization tests (Unix only; see `inprocess/unix.rs`). On other targets the
//! binary is empty, so `cargo clippy --all-targets` works for every target.

#[cfg(unix)]
#[path = "inprocess/unix.rs"]
mod unix;

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    unix::main()
}

#[cfg(not(unix))]
fn main() {}
