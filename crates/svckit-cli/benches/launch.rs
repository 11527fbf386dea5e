//! Launch latency against the peer tools (Unix only; see `launch/unix.rs`).

#[cfg(unix)]
mod static_build;
#[cfg(unix)]
#[path = "launch/unix.rs"]
mod unix;

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
fn main() {}
