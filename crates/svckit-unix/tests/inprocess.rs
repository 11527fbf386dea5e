//! In-process daemon tests (written next).
fn main() {}
