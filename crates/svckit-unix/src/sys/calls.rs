//! Every `unsafe` block of svckit-unix lives here, each with the reason it is sound.
//!
//! This module owns the calls that Rust cannot prove safe: `fork`, signal dispositions, closing
//! file descriptors the process did not open through Rust, replacing the environment and `_exit`.
//! It must stay small: anything that can be written with safe nix calls belongs elsewhere
//! (a conversion of a pid or a signal in [`super::os`]).
#![allow(unsafe_code)]

use std::{ffi::OsString, fs, io};

use nix::{libc, sys::signal::SigHandler, unistd::ForkResult};
use svckit_core::{Pid, Signal};

use super::os::{os_signal, our_pid};

/// What [`fork`] returned in this process.
pub(crate) enum Fork {
    /// This is the parent; the child's pid.
    Parent {
        /// The new process.
        child: Pid,
    },
    /// This is the child.
    Child,
}

/// Proof that the process had exactly one thread when it was checked, which is what makes
/// `fork` sound: no other thread can hold a lock (the allocator's, stdio's) that the child would
/// find locked forever, and no other thread can change the environment under `setenv`.
///
/// Only [`SingleThreaded::check`] makes one, so every fork in this crate is preceded by the check.
pub(crate) struct SingleThreaded(());

/// Why [`SingleThreaded::check`] gave no proof.
#[derive(Debug)]
pub(crate) enum NotSingleThreaded {
    /// The process has this many threads.
    Threads(usize),
    /// `/proc/self/task` could not be read (out of descriptors, EMFILE): no proof either way.
    Unknown(io::Error),
}

impl NotSingleThreaded {
    /// As an I/O error: the one that kept it from counting (its kind kept: EMFILE is told as
    /// the open-file limit), else "the process has N threads".
    pub(crate) fn into_io(self, what: &str) -> io::Error {
        match self {
            NotSingleThreaded::Threads(threads) => {
                io::Error::other(format!("cannot {what}: the process has {threads} threads"))
            }
            NotSingleThreaded::Unknown(err) => io::Error::new(
                err.kind(),
                format!(
                    "cannot {what}: cannot count the process's threads in /proc/self/task: {err}"
                ),
            ),
        }
    }
}

impl SingleThreaded {
    /// Counts the entries of `/proc/self/task` (one per thread).
    pub(crate) fn check() -> Result<SingleThreaded, NotSingleThreaded> {
        let threads = fs::read_dir("/proc/self/task")
            .map_err(NotSingleThreaded::Unknown)?
            .count();
        if threads == 1 {
            Ok(SingleThreaded(()))
        } else {
            Err(NotSingleThreaded::Threads(threads))
        }
    }
}

/// fork(2): <https://man7.org/linux/man-pages/man2/fork.2.html>.
pub(crate) fn fork(_proof: &SingleThreaded) -> nix::Result<Fork> {
    // SAFETY: the process is single-threaded (the proof token exists only after the check, and
    // svckit starts no thread between the check and here), so the child inherits no lock held
    // by another thread and may go on running ordinary Rust code, allocation included.
    Ok(match unsafe { nix::unistd::fork() }? {
        ForkResult::Parent { child } => Fork::Parent {
            child: our_pid(child).ok_or(nix::errno::Errno::EINVAL)?,
        },
        ForkResult::Child => Fork::Child,
    })
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
    // SAFETY: the process is single-threaded (proof token), so nothing runs beside the child
    // on the shared memory; what the child did to it is never looked at: this process leaves
    // at once.
    match unsafe { clone_vfork(1 << 20, child) } {
        Ok(_) => exit_now(0),
        Err(err) => err,
    }
}

/// clone(2) with `CLONE_VM | CLONE_VFORK`, as glibc's posix_spawn does: `child` runs in a new
/// process on a stack of its own (`stack_size` bytes, calloc'd above malloc's mmap threshold:
/// fresh zero pages, faulted in only as used), sharing this process's memory, while the
/// calling thread is suspended until it execs or exits (if it returns, it `_exit`s 127). No
/// page table is copied. Returns the child's pid once the calling thread goes on.
///
/// # Safety
///
/// `child` runs on this process's memory while the calling thread waits: whatever it writes,
/// this process sees afterwards, and other threads run beside it. The caller must make sure
/// that is harmless (the child only execs, or this process exits right after) and that no
/// handler of this process can run in the child (its signals blocked, or none installed).
unsafe fn clone_vfork<F: FnOnce()>(stack_size: usize, child: F) -> io::Result<Pid> {
    extern "C" fn trampoline<F: FnOnce()>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `Option<F>` below, alive in the suspended caller's frame; the
        // closure is taken out exactly once, here.
        let child = unsafe { (*(arg as *mut Option<F>)).take() };
        if let Some(child) = child {
            child();
        }
        // The child is meant to exec or exit; if it returns, it must not run on.
        exit_now(127)
    }
    // 16-byte aligned words.
    let mut stack = vec![0u128; stack_size / 16];
    let stack_top = stack.as_mut_ptr_range().end as *mut libc::c_void;
    let mut child = Some(child);
    // SAFETY: with CLONE_VFORK the calling thread is suspended until the child execs or exits,
    // so the two never run at once; the child runs on `stack`, not on our frames, and `stack`
    // and `child` outlive the suspension. Without CLONE_SIGHAND its signal dispositions are its
    // own. SIGCHLD as exit signal makes it an ordinary child. The rest is the caller's
    // contract.
    let pid = unsafe {
        libc::clone(
            trampoline::<F>,
            stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut child as *mut Option<F>).cast(),
        )
    };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        pid => Pid::from_i32(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// `strings` as the NULL-terminated array of pointers execve and posix_spawn take; valid while
/// `strings` is.
fn null_terminated(strings: &[std::ffi::CString]) -> Vec<*mut libc::c_char> {
    let mut pointers: Vec<*mut libc::c_char> =
        strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
    pointers.push(std::ptr::null_mut());
    pointers
}

/// The `argc` strings at `argv`, as C's `main` gets them, as `OsString`s (for
/// [`begin_with`](crate::startup::begin_with)).
///
/// # Safety
///
/// `argv` must hold `argc` valid pointers to NUL-terminated strings.
pub unsafe fn c_arguments(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    let count = usize::try_from(argc).unwrap_or(0);
    (0..count)
        // SAFETY: the caller's contract: `argv` holds `argc` pointers to C strings.
        .map(|n| unsafe { std::ffi::CStr::from_ptr(*argv.add(n)) })
        .map(|arg| std::ffi::OsStr::from_bytes(arg.to_bytes()).to_owned())
        .collect()
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

/// The real-time signals a program may use: 34 to 64, SIGRTMIN to SIGRTMAX as glibc numbers
/// them (it keeps 32 and 33 for its threads). Fixed, not the C library's own SIGRTMIN: the
/// programs an init forwards them to are mostly glibc's, whatever libc svckit-init is linked
/// with (musl's SIGRTMIN is 35).
pub(crate) fn realtime_signals() -> std::ops::RangeInclusive<i32> {
    34..=64
}

/// The set of the signals numbered `numbers` (those that are signals: SIGSTKFLT, which
/// svckit's [`Signal`] has no name for, included) and every real-time one
/// ([`realtime_signals`]), which nix's signal type cannot name. The real-time bits are set by
/// hand: musl's sigaddset refuses 32 to 34, which it keeps for itself.
pub(crate) fn with_realtime(numbers: &[i32]) -> nix::sys::signal::SigSet {
    let set: nix::sys::signal::SigSet = numbers
        .iter()
        .filter_map(|number| nix::sys::signal::Signal::try_from(*number).ok())
        .collect();
    let mut raw: libc::sigset_t = *set.as_ref();
    let words = (&mut raw as *mut libc::sigset_t).cast::<std::ffi::c_ulong>();
    let bits = std::ffi::c_ulong::BITS as usize;
    for signal in realtime_signals() {
        let bit = signal as usize - 1;
        // SAFETY: a Linux sigset_t (glibc's and musl's) is an array of unsigned longs at least
        // 64 bits long in all, bit n-1 for signal n; signal <= 64, so the word is inside `raw`.
        unsafe { *words.add(bit / bits) |= 1 << (bit % bits) };
    }
    // SAFETY: `raw` came from a valid SigSet and only bits of signals 34-64 were set.
    unsafe { nix::sys::signal::SigSet::from_sigset_t_unchecked(raw) }
}

/// killpg(2) with a signal by number, a real-time one included (svckit's [`Signal`] and nix's
/// have none).
pub(crate) fn killpg_raw(pgid: Pid, signal: i32) -> nix::Result<()> {
    // SAFETY: kill takes two integers and touches no memory of ours.
    let result = unsafe { libc::kill(-pgid.as_i32(), signal) };
    nix::errno::Errno::result(result).map(drop)
}

/// Sets `signal` to SIG_IGN.
pub(crate) fn ignore_signal(signal: Signal) -> nix::Result<()> {
    // SAFETY: SIG_IGN installs no handler, so no handler can break async-signal safety.
    unsafe { nix::sys::signal::signal(os_signal(signal), SigHandler::SigIgn) }.map(drop)
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

/// The arguments of clone3(2), as far as `CLONE_ARGS_SIZE_VER2` (Linux 5.7: `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3(2)'s flag for a child born in the cgroup `CloneArgs::cgroup` names (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// [`fork`], the child born in the cgroup whose directory `cgroup` is open on: clone3(2) with
/// `CLONE_INTO_CGROUP`, as systemd starts its services. Nothing of the child ever runs outside
/// the cgroup, and nothing is migrated: a child that moves itself in by writing
/// `cgroup.procs` waits for the kernel's cgroup migration lock, an RCU grace period (5 to
/// 16 ms measured here) whenever no migration happened just before. An error (ENOSYS before
/// Linux 5.7, EOPNOTSUPP where the cgroup is not cgroup2's) leaves no child.
///
/// The child returns from the system call like fork's, on a copy of this process; glibc's
/// own fork bookkeeping (atfork handlers, its cached thread id) is not done, so the child must
/// call no pthread function (raise(3) included) before it execs or exits.
pub(crate) fn fork_into_cgroup(
    proof: &SingleThreaded,
    cgroup: std::os::fd::BorrowedFd<'_>,
) -> io::Result<Fork> {
    clone_without_vm(proof, CLONE_INTO_CGROUP, libc::SIGCHLD, Some(cgroup))
}

/// clone(2)'s flag for a child whose parent is the caller's parent.
const CLONE_PARENT: u64 = 0x0000_8000;

/// [`fork`] (or [`fork_into_cgroup`], given `cgroup`) whose child is this process's sibling:
/// clone3(2) with `CLONE_PARENT`, so the child is its parent's child, which is told of its end
/// (SIGCHLD) and reaps it. The forker ([`crate::forker`]) starts the supervisor's services so.
pub(crate) fn fork_sibling(
    proof: &SingleThreaded,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
) -> io::Result<Fork> {
    let flags = CLONE_PARENT | cgroup.map_or(0, |_| CLONE_INTO_CGROUP);
    // With CLONE_PARENT the kernel wants no exit signal: the child ends with this process's
    // own (SIGCHLD, as it was forked).
    clone_without_vm(proof, flags, 0, cgroup)
}

/// clone3(2) with `flags` (never CLONE_VM), the child's exit signal and its cgroup: a fork.
fn clone_without_vm(
    _proof: &SingleThreaded,
    flags: u64,
    exit_signal: i32,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
) -> io::Result<Fork> {
    use std::os::fd::AsRawFd;
    let args = CloneArgs {
        flags,
        exit_signal: exit_signal as u64,
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
        ..CloneArgs::default()
    };
    // SAFETY: without CLONE_VM (the callers pass only CLONE_INTO_CGROUP and CLONE_PARENT) the
    // child gets a copy of this address space and returns from the call on its copy of this
    // stack, as from fork(2): `args` is read by the kernel before the call returns in either
    // process. The process is single-threaded (proof token), so the child inherits no lock
    // held by another thread, and may allocate.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match rc {
        // No clone3: a kernel before 5.3, or a seccomp profile that refuses it so that glibc
        // falls back (Docker's did, with ENOSYS). Without a cgroup to be born in, clone(2)
        // does the same.
        -1 if cgroup.is_none() && nix::errno::Errno::last() == nix::errno::Errno::ENOSYS => {
            clone_legacy(flags | exit_signal as u64)
        }
        rc => forked(rc),
    }
}

/// clone(2) with `flags` (never CLONE_VM; the exit signal in the low byte) and no new stack:
/// a fork, where clone3 is missing.
fn clone_legacy(flags: u64) -> io::Result<Fork> {
    // clone(2)'s arguments: flags, stack, parent tid, child tid, tls (s390's swap the first
    // two). All but the flags are zero: the child returns on its copy of this stack.
    #[cfg(not(target_arch = "s390x"))]
    let args = (flags as libc::c_ulong, 0 as libc::c_ulong);
    #[cfg(target_arch = "s390x")]
    let args = (0 as libc::c_ulong, flags as libc::c_ulong);
    // SAFETY: as clone3's in `clone_without_vm`: without CLONE_VM and with no stack given, the
    // child gets a copy of this address space and returns from the call on its copy of this
    // stack, as from fork(2); no pointer is passed. The caller holds the single-thread proof.
    let rc = unsafe { libc::syscall(libc::SYS_clone, args.0, args.1, 0usize, 0usize, 0usize) };
    forked(rc)
}

/// What a clone system call's return `rc` says.
fn forked(rc: libc::c_long) -> io::Result<Fork> {
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent {
            child: Pid::from_i32(pid as i32)
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?,
        }),
    }
}

/// A [`InChild`] proof for the child of a [`fork`] or [`fork_into_cgroup`] made to exec.
pub(crate) fn in_forked_child(fork: &Fork) -> Option<InChild> {
    matches!(fork, Fork::Child).then_some(InChild(()))
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

/// In a forked child, before exec: makes fds `first`, `first + 1`, … copies of `sources` in
/// order, which the program inherits. Each source is first moved above the range (close-on-exec
/// there), so a source numbered inside the range is never overwritten before it is copied.
pub(crate) fn place_fds_in_child(
    _in_child: &InChild,
    sources: &[i32],
    first: i32,
) -> io::Result<()> {
    let past = first + sources.len() as i32;
    let mut moved = Vec::with_capacity(sources.len());
    for fd in sources {
        // SAFETY: F_DUPFD_CLOEXEC only makes a new descriptor, numbered `past` or above.
        let high = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, past) };
        if high < 0 {
            return Err(io::Error::last_os_error());
        }
        moved.push(high);
    }
    for (index, high) in moved.into_iter().enumerate() {
        // SAFETY: in the child between fork and exec (proof token) no Rust object of ours is
        // used again, so replacing whatever `first + index` was pulls no fd from under an
        // owner that runs on; the copy is inherited (dup2 clears close-on-exec).
        if unsafe { libc::dup2(high, first + index as i32) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Takes ownership of the `count` sockets a service manager handed this process from fd
/// `first` (sd_listen_fds(3)), making each close-on-exec. Only open fds are taken (the first
/// one that is not ends the list), and only once per process: a second call takes none.
pub(crate) fn take_listen_fds(first: i32, count: usize) -> Vec<std::os::fd::OwnedFd> {
    use std::{
        os::fd::FromRawFd,
        sync::atomic::{AtomicBool, Ordering},
    };
    static TAKEN: AtomicBool = AtomicBool::new(false);
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Vec::new();
    }
    let mut fds = Vec::new();
    for fd in (first..).take(count.min(4096)) {
        // SAFETY: F_SETFD only changes the descriptor's flags; a closed fd fails with EBADF.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            break;
        }
        // SAFETY: the fd is open (checked above) and was handed to this process to own by
        // its service manager; no Rust object wraps it (nothing else knows the number from
        // the protocol), and TAKEN makes sure it is wrapped at most once.
        fds.push(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
    }
    fds
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
) -> nix::Result<Pid> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    match fork(proof)? {
        Fork::Parent { child } => Ok(child),
        Fork::Child => {
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

/// Receives one message of at most `buffer.len()` bytes on a SOCK_SEQPACKET `socket`, and
/// takes ownership of the descriptors it carries (at most 256, SCM_RIGHTS, close-on-exec):
/// its length and descriptors, `Ok(None)` once the peer has closed its end. A message cut
/// short (MSG_TRUNC, MSG_CTRUNC) is EMSGSIZE, its descriptors closed.
pub(crate) fn recv_message(
    socket: std::os::fd::BorrowedFd<'_>,
    buffer: &mut [u8],
) -> nix::Result<Option<(usize, Vec<std::os::fd::OwnedFd>)>> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd, RawFd};
    let mut iov = [io::IoSliceMut::new(buffer)];
    let mut space = nix::cmsg_space!([RawFd; 256]);
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
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
    if message
        .flags
        .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
    {
        return Err(nix::errno::Errno::EMSGSIZE);
    }
    if message.bytes == 0 && fds.is_empty() {
        return Ok(None);
    }
    Ok(Some((message.bytes, fds)))
}

/// Receives one message on a SOCK_SEQPACKET `socket` and takes ownership of the descriptors
/// it carries (SCM_RIGHTS, close-on-exec): `Ok(None)` once the peer has closed its end
/// ([`recv_message`] of a one-byte message).
pub(crate) fn recv_fds(
    socket: std::os::fd::BorrowedFd<'_>,
) -> nix::Result<Option<Vec<std::os::fd::OwnedFd>>> {
    let mut byte = [0u8; 1];
    Ok(recv_message(socket, &mut byte)?.map(|(_, fds)| fds))
}

/// What the child of [`spawn_exec`] does between clone and exec, in this order: a process
/// group of its own, the terminal's foreground (`foreground`: the terminal's fd), each
/// `(from, to)` of `dups`, every signal at SIG_DFL ([`reset_signal_dispositions`]) and none
/// blocked, then execve of `program` with `argv` and `envp`.
pub(crate) struct ExecPlan<'a> {
    /// The program's path (already looked up in PATH).
    pub program: &'a std::ffi::CStr,
    /// Its arguments, the first being its name.
    pub argv: &'a [std::ffi::CString],
    /// Its environment, `KEY=VALUE`.
    pub envp: &'a [std::ffi::CString],
    /// The terminal to give the new group the foreground of.
    pub foreground: Option<std::os::fd::BorrowedFd<'a>>,
    /// Descriptors to put in place as stdin (0), stdout (1) or stderr (2): `from` is
    /// duplicated onto the number, and stays open too unless it is close-on-exec.
    pub dups: &'a [(std::os::fd::BorrowedFd<'a>, u8)],
}

/// Where a failed child stopped, and the errno: written by the child into the parent's memory
/// (they share it until exec).
#[derive(Default)]
struct ChildFailure {
    step: std::sync::atomic::AtomicI32,
    errno: std::sync::atomic::AtomicI32,
}

/// Starts `plan` in a new process as glibc's posix_spawn does — clone(2) with `CLONE_VM |
/// CLONE_VFORK`, the child on a stack of its own, this thread suspended until the child execs
/// or fails — but with every signal 1-64 reset by the raw system call (glibc's posix_spawn
/// leaves signals 32 and 33 ignored in its child, and an ignored signal survives exec) and
/// with the terminal's foreground taken before exec (tcsetpgrp), which posix_spawn cannot do
/// portably. No page table is copied: this is what makes a container's start as cheap as
/// tini's. Returns the child's pid once it has exec'd, or why it could not (the child is
/// reaped then).
pub(crate) fn spawn_exec(plan: &ExecPlan<'_>) -> io::Result<Pid> {
    use std::sync::atomic::Ordering;

    /// Notes the failed step and errno for the parent, and leaves.
    fn fail(failure: &ChildFailure, step: i32) -> ! {
        failure.step.store(step, Ordering::SeqCst);
        failure.errno.store(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
            Ordering::SeqCst,
        );
        exit_now(127)
    }
    let argv = null_terminated(plan.argv);
    let envp = null_terminated(plan.envp);
    let failure = ChildFailure::default();
    let child = || {
        // Each a system call through nix, allocating nothing.
        if super::os::lead_own_group().is_err() {
            fail(&failure, 1);
        }
        if let Some(tty) = plan.foreground
            && nix::unistd::tcsetpgrp(tty, nix::unistd::getpid()).is_err()
        {
            fail(&failure, 2);
        }
        for (from, to) in plan.dups {
            let done = match to {
                0 => nix::unistd::dup2_stdin(from),
                1 => nix::unistd::dup2_stdout(from),
                _ => nix::unistd::dup2_stderr(from),
            };
            if done.is_err() {
                fail(&failure, 3);
            }
        }
        reset_signal_dispositions();
        let _ = nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        );
        // SAFETY: the three pointers are into `plan`, `argv` and `envp` (alive in the
        // suspended parent), NUL-terminated strings in NULL-terminated arrays, built from
        // CStrings before the clone.
        unsafe {
            libc::execve(
                plan.program.as_ptr(),
                argv.as_ptr().cast(),
                envp.as_ptr().cast(),
            );
        }
        fail(&failure, 4)
    };
    // SAFETY: the child allocates nothing and calls only async-signal-safe functions, so a
    // lock held by another thread cannot stop it, and it writes nothing of ours but
    // `failure`'s atomics before it execs or exits. Every signal is blocked here (the init's
    // waiter), so no handler runs in the child before it resets the mask right before exec.
    let pid = unsafe { clone_vfork(256 << 10, child) }?;
    let step = failure.step.load(Ordering::SeqCst);
    if step == 0 {
        return Ok(pid);
    }
    let _ = super::os::wait_for(pid);
    let err = io::Error::from_raw_os_error(failure.errno.load(Ordering::SeqCst));
    let what = ["", "setpgid", "tcsetpgrp", "dup2", "exec"][step as usize];
    Err(match step {
        // The program's own error, as a shell reports it.
        4 => err,
        _ => io::Error::new(err.kind(), format!("{what}: {err}")),
    })
}

/// Writes `title` over the argument strings the kernel placed at `start..end` of this
/// process's memory (`arg_start` and `arg_end` of /proc/self/stat), cut to fit and padded with
/// NULs, so that /proc/self/cmdline (what `ps` shows) reads it: setproctitle(3) as BSD, nginx
/// and PostgreSQL do it, within the original length.
pub(crate) fn overwrite_arguments(_proof: &SingleThreaded, start: usize, end: usize, title: &[u8]) {
    if start == 0 || end <= start {
        return;
    }
    let len = end - start;
    // The last byte stays NUL: the kernel then reads exactly start..end.
    let copied = title.len().min(len - 1);
    let area = start as *mut u8;
    // SAFETY: start..end is the argument area of this process's initial stack, as the kernel
    // reports it for this very process: mapped, writable, and owned by no Rust value (std reads
    // argv's strings through the C pointers it saved, and no other thread can read them while
    // they change: the process is single-threaded, proof token). Both writes stay within it.
    unsafe {
        std::ptr::copy_nonoverlapping(title.as_ptr(), area, copied);
        std::ptr::write_bytes(area.add(copied), 0, len - copied);
    }
}

/// Drops this process's mappings of its own executable's pages that hold only the file's
/// content (code and constants; not its data, nor what relocation wrote before it was made
/// read-only): what start-up faulted in (each fault maps its neighbours too) stops counting in
/// the process's memory, and what a long wait touches again is faulted back in from the page
/// cache. For an init that waits for a program's whole life, where its PSS is every
/// container's cost. Errors leave the pages mapped.
pub(crate) fn release_executable_pages() {
    for (start, end) in unchanged_executable_ranges() {
        // SAFETY: the range is a whole private mapping of the executable itself that the
        // kernel lists with no anonymous (copied-on-write) page and no write permission: every
        // page of it is the file's, unchanged, so MADV_DONTNEED only drops page table entries
        // and a page read again is the same (a running executable cannot be written:
        // ETXTBSY). The running code is among them and is faulted back in.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end.saturating_sub(start),
                libc::MADV_DONTNEED,
            );
        }
    }
}

/// The (start, end) of each private mapping of this process's executable that holds only the
/// file's pages, unchanged ([`crate::memory::file_only_mappings`] of /proc/self/smaps); none
/// when either file cannot be read.
fn unchanged_executable_ranges() -> Vec<(usize, usize)> {
    let (Ok(smaps), Ok(exe)) = (
        crate::files::read_proc("/proc/self/smaps"),
        fs::read_link("/proc/self/exe"),
    ) else {
        return Vec::new();
    };
    crate::memory::file_only_mappings(&smaps, &exe.to_string_lossy())
}

/// As [`release_executable_pages`], then waits until `fd` is readable (a container init's
/// signalfd once its program runs) without touching a page of the executable between the
/// two but the two pages of [`drop_pages_then_wait`] itself. A wait that returned to the
/// caller's code and went through the C library's poll faulted whole page-cache folios of
/// code back in (this kernel maps a large folio whole on a fault: 384 KB of an idle `svckit
/// run`'s memory, measured). Where the system calls are not written here (an architecture
/// other than x86-64 and AArch64) it releases, and the caller's wait follows as before.
pub(crate) fn release_executable_pages_until_readable(fd: std::os::fd::BorrowedFd<'_>) {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = fd;
        release_executable_pages();
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        use std::os::fd::AsRawFd;
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |size| size as usize);
        // The function that runs while the rest goes: its first page and the next (it is a
        // few hundred bytes, wherever it starts).
        let keep_start = (drop_pages_then_wait as *const () as usize) & !(page - 1);
        let keep_end = keep_start + 2 * page;
        let mut ranges = Vec::new();
        for (start, end) in unchanged_executable_ranges() {
            if end <= keep_start || start >= keep_end {
                ranges.push((start, end));
                continue;
            }
            if start < keep_start {
                ranges.push((start, keep_start));
            }
            if end > keep_end {
                ranges.push((keep_end, end));
            }
        }
        // What start-up allocated and freed goes back too (the smaps text just read among it).
        trim_heap();
        // SAFETY: each range is part of a private mapping of the executable that the kernel
        // lists with no anonymous page and no write permission (see
        // release_executable_pages): dropping it only drops page table entries, and what runs
        // or is read again is faulted back in, unchanged. The pages of the function that
        // runs meanwhile are not among them. The pointer and length are the Vec's, alive for
        // the call; `fd` is open for it (borrowed).
        unsafe { drop_pages_then_wait(ranges.as_ptr(), ranges.len(), fd.as_raw_fd()) }
    }
}

/// MADV_DONTNEED on each of the `count` ranges at `ranges`, then ppoll(2) on `fd` until it is
/// readable (again after EINTR), by system calls made here: no call out of this function
/// between the first drop and the wake, so no code page but its own is touched.
///
/// # Safety
///
/// `ranges` points to `count` (start, end) pairs, each a range of this process's memory that
/// nothing reads or runs while this waits, or that may be faulted back in unchanged (the
/// executable's unmodified pages), and none holds this function's code.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(never)]
unsafe fn drop_pages_then_wait(ranges: *const (usize, usize), count: usize, fd: i32) {
    let mut index = 0;
    while index < count {
        // SAFETY: index < count, within the caller's ranges. (A plain read: a debug build
        // calls out for ptr::read, and that call faulted a page-cache folio of code back in.)
        let (start, end) = unsafe { *ranges.add(index) };
        // SAFETY: madvise with a range the caller vouches for; its result is not needed (a
        // range left mapped only costs memory).
        unsafe {
            raw_syscall(
                libc::SYS_madvise as usize,
                [start, end - start, libc::MADV_DONTNEED as usize, 0, 0],
            )
        };
        index += 1;
    }
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: ppoll of one pollfd on this stack frame, no timeout, no mask change.
        let result = unsafe {
            raw_syscall(
                libc::SYS_ppoll as usize,
                [&raw mut poll as usize, 1, 0, 0, 0],
            )
        };
        if result != -(libc::EINTR as isize) {
            return;
        }
    }
}

/// A Linux system call of up to five arguments, inline (no call into the C library); the
/// kernel's result, a negative errno on failure.
///
/// # Safety
///
/// The call and its arguments must be sound to make: the kernel does what they say.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn raw_syscall(number: usize, args: [usize; 5]) -> isize {
    let result: isize;
    // SAFETY: the x86-64 Linux system call convention: number in rax, arguments in rdi, rsi,
    // rdx, r10, r8; rcx and r11 are clobbered by `syscall`; the result comes back in rax. The
    // caller vouches for the call itself.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}

/// A Linux system call of up to five arguments, inline (no call into the C library); the
/// kernel's result, a negative errno on failure.
///
/// # Safety
///
/// The call and its arguments must be sound to make: the kernel does what they say.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn raw_syscall(number: usize, args: [usize; 5]) -> isize {
    let result: isize;
    // SAFETY: the AArch64 Linux system call convention: number in x8, arguments in x0-x4,
    // the result back in x0. The caller vouches for the call itself.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") args[0] as isize => result,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            options(nostack),
        );
    }
    result
}

/// Gives the free memory inside the heap back to the kernel (glibc's malloc_trim(3): free
/// whole pages are released with MADV_DONTNEED, not only the heap's top). Nothing where the
/// C library has no such call.
pub(crate) fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory to the kernel; it takes malloc's own locks
    // and touches no block in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use nix::libc;

    /// The forwarded set holds the signals named and every real-time one from 34 to 64, and
    /// not 32 and 33 (the C library's own), whichever libc this is built with: musl's
    /// sigaddset refuses 32 to 34 and its SIGRTMIN is 35, which once left 34 unforwarded.
    #[test]
    fn the_forwarded_set_is_the_signals_named_and_34_to_64() {
        let set = super::with_realtime(&[libc::SIGTERM, libc::SIGCHLD]);
        let raw: &libc::sigset_t = set.as_ref();
        let member = |signal: i32| {
            // SAFETY: `raw` is a valid sigset_t and `signal` a signal number (1-64).
            unsafe { libc::sigismember(raw, signal) == 1 }
        };
        let held: Vec<i32> = (1..=64).filter(|signal| member(*signal)).collect();
        let mut wanted = vec![libc::SIGTERM, libc::SIGCHLD];
        wanted.sort_unstable();
        wanted.extend(34..=64);
        assert_eq!(held, wanted);
    }
}
