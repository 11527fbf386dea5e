//! Launch-latency benchmark (written next).
fn main() {}
