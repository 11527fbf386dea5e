//! Every `unsafe` block of svckit-unix lives here, each with the reason it is sound.
//!
//! This module owns the calls that Rust cannot prove safe: `fork`, signal dispositions, closing
//! file descriptors the process did not open through Rust, replacing the environment and `_exit`.
//! It must stay small: anything that can be written with safe nix calls belongs elsewhere.
#![allow(unsafe_code)]

use std::{ffi::OsString, fs, io};

use nix::{
    libc,
    sys::signal::{SigHandler, Signal},
    unistd::ForkResult,
};

/// Proof that the process had exactly one thread when it was checked, which is what makes
/// `fork` sound: no other thread can hold a lock (the allocator's, stdio's) that the child would
/// find locked forever, and no other thread can change the environment under `setenv`.
///
/// Only [`SingleThreaded::check`] makes one, so every fork in this crate is preceded by the check.
pub(crate) struct SingleThreaded(());

impl SingleThreaded {
    /// Counts the entries of `/proc/self/task` (one per thread).
    pub(crate) fn check() -> Result<SingleThreaded, usize> {
        let threads = fs::read_dir("/proc/self/task")
            .map(Iterator::count)
            .unwrap_or(0);
        if threads == 1 {
            Ok(SingleThreaded(()))
        } else {
            Err(threads)
        }
    }
}

/// fork(2): <https://man7.org/linux/man-pages/man2/fork.2.html>.
pub(crate) fn fork(_proof: &SingleThreaded) -> nix::Result<ForkResult> {
    // SAFETY: the process is single-threaded (the proof token exists only after the check, and
    // svckit starts no thread between the check and here), so the child inherits no lock held
    // by another thread and may go on running ordinary Rust code, allocation included.
    unsafe { nix::unistd::fork() }
}

/// Runs `child` (which should exec or `_exit`) in a new process that shares this process's
/// memory until it execs or exits, while this process waits: clone(2) with `CLONE_VM | CLONE_VFORK`, on a stack of its own, as
/// glibc's posix_spawn does. It skips fork's copy of the page tables and every copy-on-write
/// fault in the child, which is most of the cost of a fork.
///
/// Once the child has run, this process exits (status 0) at once: the child may allocate, free
/// and write memory, and all of it lands in this process's address space, which nothing may use
/// afterwards. Returns only when no child could be made (nothing was touched then).
pub(crate) fn vfork_then_exit<F: FnOnce()>(_proof: &SingleThreaded, child: F) -> io::Error {
    extern "C" fn trampoline<F: FnOnce()>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `Option<F>` below, alive in the suspended parent's frame; the
        // closure is taken out exactly once, here.
        let child = unsafe { (*(arg as *mut Option<F>)).take() };
        if let Some(child) = child {
            child();
        }
        // The child is meant to exec or exit; if it returns, it must not run on.
        exit_now(127)
    }
    const STACK_SIZE: usize = 1 << 20;
    // calloc'd (fresh zero pages, touched only as used), 16-byte aligned words.
    let mut stack = vec![0u128; STACK_SIZE / 16];
    let stack_top = stack.as_mut_ptr_range().end as *mut libc::c_void;
    let mut child = Some(child);
    // SAFETY: the process is single-threaded (proof token). With CLONE_VFORK this process is
    // suspended until the child execs or exits, so the two never run at once on the shared
    // memory; the child runs on `stack`, not on our frames, and `stack` and `child` outlive the
    // suspension. SIGCHLD as exit signal makes it an ordinary child (reparented when we exit).
    let pid = unsafe {
        libc::clone(
            trampoline::<F>,
            stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut child as *mut Option<F>).cast(),
        )
    };
    if pid < 0 {
        return io::Error::last_os_error();
    }
    // What the child did to our memory is never looked at: leave now.
    exit_now(0)
}

/// _exit(2): leaves at once, running no atexit handler and flushing no buffer that the parent
/// process will also flush.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes any status and never returns; skipping destructors is the point, since
    // they belong to the process we forked from.
    unsafe { libc::_exit(code) }
}

/// Closes every file descriptor from `first` up: close_range(2) where the kernel has it
/// (Linux 5.9), else each entry of `/proc/self/fd`.
///
/// Descriptors owned by live Rust objects are closed too: that is daemon(7)'s step 1, and it is
/// why the daemonize builder documents that it must run before the program opens anything it
/// means to keep (or with `keep_fds`).
pub(crate) fn close_fds_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors; it touches no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    let open: Vec<i32> = fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first as i32)
        .collect();
    for fd in open {
        // SAFETY: as above; EBADF (the directory stream's own descriptor, closed already) is
        // harmless and ignored.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Resets every catchable signal, real-time ones included, to SIG_DFL.
///
/// This is the raw rt_sigaction(2) system call, not the C library's sigaction(3): glibc refuses
/// (EINVAL) to touch signals 32 and 33, which it reserves for its threads, yet a parent can
/// leave them ignored, and an ignored disposition survives exec. Seen in the wild: a launcher
/// whose signals 32 and 33 were SIG_IGN handed them on to every program it started.
pub(crate) fn reset_signal_dispositions() {
    // The kernel's struct sigaction is at most 4 words on 64-bit Linux (handler, flags,
    // restorer, mask) and 3 or 4 on 32-bit; all-zero is SIG_DFL with no flags and an empty
    // mask, whatever the field order.
    let default_action = [0u64; 4];
    let sigset_size = std::mem::size_of::<u64>();
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads a struct sigaction from `default_action`, a live buffer at
        // least as large as the kernel's struct, and writes nothing back (old action is NULL).
        // SIG_DFL installs no handler code.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                sigset_size,
            );
        }
    }
}

/// Sets `signal` to SIG_IGN.
pub(crate) fn ignore_signal(signal: Signal) -> nix::Result<()> {
    // SAFETY: SIG_IGN installs no handler, so no handler can break async-signal safety.
    unsafe { nix::sys::signal::signal(signal, SigHandler::SigIgn) }.map(drop)
}

/// Replaces the whole environment of the process with `vars`.
pub(crate) fn replace_environment(_proof: &SingleThreaded, vars: &[(OsString, OsString)]) {
    let current: Vec<OsString> = std::env::vars_os().map(|(key, _)| key).collect();
    for key in current {
        // SAFETY: the process is single-threaded (proof token), so no other thread reads the
        // environment while it changes.
        unsafe { std::env::remove_var(key) };
    }
    for (key, value) in vars {
        // SAFETY: as above; keys and values were checked for '=' and NUL when they were parsed.
        unsafe { std::env::set_var(key, value) };
    }
}

/// Takes ownership of an fd this process inherited by number (the readiness fd named in
/// `$SVCKIT_READY_FD`). Only fds above 2 that are open, and only once per process: a second
/// call, even with another number, returns `None`, so no fd is ever owned twice.
pub(crate) fn take_inherited_fd(fd: std::os::fd::RawFd) -> Option<std::os::fd::OwnedFd> {
    use std::{
        os::fd::FromRawFd,
        sync::atomic::{AtomicBool, Ordering},
    };
    static TAKEN: AtomicBool = AtomicBool::new(false);
    if fd <= 2 || TAKEN.swap(true, Ordering::SeqCst) {
        return None;
    }
    // SAFETY: F_GETFD only reads the descriptor's flags; a closed fd fails with EBADF.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: the fd is open (checked above) and was handed to this process to own; no Rust
    // object of this process wraps it (nothing else reads the variable), and TAKEN makes sure
    // this wraps it at most once.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Proof that the code runs in a child between fork and exec, handed to a pre-exec setup:
/// there, no Rust object of the parent's is used again (the child execs or exits), so a
/// descriptor number may be replaced under whatever owned it.
pub(crate) struct InChild(());

/// Makes `command` run `setup` in the child between fork and exec (`CommandExt::pre_exec`).
/// The proof that this process is single-threaded is what makes it sound for `setup` to
/// allocate (switching credentials does): no other thread can hold a lock the child would
/// find locked forever.
pub(crate) fn set_pre_exec(
    command: &mut std::process::Command,
    _proof: &SingleThreaded,
    mut setup: impl FnMut(&InChild) -> io::Result<()> + Send + Sync + 'static,
) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the process is single-threaded (proof token; the supervisor, the one caller,
    // starts no thread), so the forked child inherits no lock held by another thread and
    // `setup` may run ordinary Rust code; it runs only in the child, before exec.
    unsafe {
        command.pre_exec(move || setup(&InChild(())));
    }
}

/// In a forked child, before exec: makes fd `to` a copy of `from` that the program inherits
/// (dup2(2), or clearing close-on-exec when they are the same number).
pub(crate) fn place_fd_in_child(_in_child: &InChild, from: i32, to: i32) -> io::Result<()> {
    let rc = if from == to {
        // SAFETY: F_SETFD only changes the descriptor's flags.
        unsafe { libc::fcntl(to, libc::F_SETFD, 0) }
    } else {
        // SAFETY: in the child between fork and exec (proof token) no Rust object of ours is
        // used again, so closing whatever `to` was cannot pull an fd out from under an owner
        // that runs on.
        unsafe { libc::dup2(from, to) }
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Forks a child that keeps only `keep`, at fd number `at` (every other descriptor above it,
/// the parent's, is closed), runs `body` with it and exits with its status. `body` is a plain
/// function, not a closure: it can reach nothing of the parent's but `keep`, which is what makes
/// closing the parent's descriptors under their owners sound in the child. Returns the child's
/// pid in the parent.
pub(crate) fn fork_keeping(
    proof: &SingleThreaded,
    keep: std::os::fd::OwnedFd,
    at: i32,
    body: fn(std::os::fd::OwnedFd) -> i32,
) -> nix::Result<nix::unistd::Pid> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    match fork(proof)? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            let from = keep.into_raw_fd();
            // SAFETY: `from` was ours (taken out of its owner above); dup2 replaces whatever
            // `at` was, and no object of the parent's is used in this child again: only `body`
            // runs, and it is given nothing else.
            if from != at && unsafe { libc::dup2(from, at) } < 0 {
                exit_now(1);
            }
            if close_fds_from(at as u32 + 1).is_err() {
                exit_now(1);
            }
            // SAFETY: `at` is open (dup2 made it, or it was `keep` itself) and no object owns
            // it: `keep`'s owner was consumed above and every other copy is closed.
            let kept = unsafe { std::os::fd::OwnedFd::from_raw_fd(at) };
            exit_now(body(kept))
        }
    }
}

/// Receives one message on a SOCK_SEQPACKET `socket` and takes ownership of the descriptors
/// it carries (SCM_RIGHTS, close-on-exec): `Ok(None)` once the peer has closed its end.
pub(crate) fn recv_fds(
    socket: std::os::fd::BorrowedFd<'_>,
) -> nix::Result<Option<Vec<std::os::fd::OwnedFd>>> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd, RawFd};
    let mut byte = [0u8; 1];
    let mut iov = [io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    if message.bytes == 0 {
        return Ok(None);
    }
    let mut fds = Vec::new();
    for cmsg in message.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            // SAFETY: the kernel installed these descriptors in this process for this very
            // message; nothing else knows their numbers, let alone owns them.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    Ok(Some(fds))
}
