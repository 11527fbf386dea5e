//! svckit's entry point on Unix: C's `main`, without std's runtime start-up (see
//! [`svckit_unix::startup`]).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};

// SAFETY: the binary is built with `no_main`, so this is the program's only `main`; the C
// runtime calls it once with `argc` NUL-terminated strings at `argv`, as `c_arguments` needs.
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: as above: `argc` C strings at `argv`.
    let args = unsafe { svckit_unix::startup::c_arguments(argc, argv) };
    svckit_unix::startup::begin_with(args);
    // Through std's exit, which flushes stdout.
    std::process::exit(crate::run() as i32)
}
