//! svckit's entry point on Unix: C's `main`, without std's runtime start-up (see
//! [`svckit_unix::startup`]).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};

// SAFETY: the binary is built with `no_main`, so this is the program's only `main`; the C
// runtime calls it once, and it reads the arguments through std::env, not these pointers.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    svckit_unix::startup::begin();
    // Through std's exit, which flushes stdout.
    std::process::exit(crate::run() as i32)
}
