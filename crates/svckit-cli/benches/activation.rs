//! On-demand start against the peer tools (Unix only; see `activation/unix.rs`).

#[cfg(unix)]
#[path = "activation/unix.rs"]
mod unix;

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
fn main() {}
