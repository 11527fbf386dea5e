//! svckit-init's entry point: C's `main`, without std's runtime start-up (see
//! [`svckit_unix::startup`]), since an init's start is every container's.
#![allow(unsafe_code)]

use std::{
    ffi::{CStr, OsString, c_char, c_int},
    os::unix::ffi::OsStrExt,
};

// SAFETY: the binary is built with `no_main`, so this is the program's only `main`; the C
// runtime calls it once with `argc` NUL-terminated strings at `argv`, as C's main gets them.
// The arguments are read from them, not through std::env: musl, unlike glibc, does not hand
// them to std's start-up (std::env::args is empty in a `no_main` binary linked with musl).
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    svckit_unix::startup::begin();
    let count = usize::try_from(argc).unwrap_or(0);
    let args: Vec<OsString> = (0..count)
        // SAFETY: argv holds argc valid pointers to NUL-terminated strings, alive all along.
        .map(|n| unsafe { CStr::from_ptr(*argv.add(n)) })
        .map(|arg| std::ffi::OsStr::from_bytes(arg.to_bytes()).to_owned())
        .collect();
    // Through std's exit, which flushes stdout.
    std::process::exit(crate::unix::main(args))
}
