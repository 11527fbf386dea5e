//! The supervisor against supervisord, runit and s6 (Unix only; see `supervise/unix.rs`).

#[cfg(unix)]
mod static_build;
#[cfg(unix)]
#[path = "supervise/unix.rs"]
mod unix;

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
fn main() {}
