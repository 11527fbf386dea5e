//! A tiny process that holds duplicates of pipe read ends, so that a service writing to its
//! stdout never gets SIGPIPE while its supervisor is dead (killed, crashed, being upgraded).
//! The data waits in the pipe until the next supervisor reopens it (s6-fdholderd's idea).
//!
//! The holder is forked (not exec'd) from the supervisor and keeps nothing else of it: every
//! other fd is closed, so it never holds the supervisor's lock or socket. It drops a pipe once
//! every writer has closed it (POLLHUP), and exits once its supervisor is gone and it holds
//! nothing.

use std::{
    io::{self, IoSlice},
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd},
};

use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};

use crate::sys;

/// The supervisor's end of the link to its fd holder.
#[derive(Debug)]
pub struct FdHolder {
    link: OwnedFd,
    pid: svckit_core::Pid,
}

/// The fd number the holder keeps its link at.
const LINK_FD: RawFd = 3;

impl FdHolder {
    /// Forks the holder. The process must be single-threaded.
    pub fn spawn() -> io::Result<FdHolder> {
        let (link, pid) = fork_linked("fork an fd holder", holder_main)?;
        Ok(FdHolder { link, pid })
    }

    /// The holder's pid (to record it, so the next supervisor can end it once it holds the
    /// pipes itself).
    pub fn pid(&self) -> svckit_core::Pid {
        self.pid
    }

    /// Hands the holder a duplicate of `fd` (SCM_RIGHTS); it keeps it until the pipe's last
    /// writer closes it.
    pub fn hold(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fds = [fd.as_raw_fd()];
        let message = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(
            self.link.as_raw_fd(),
            &[IoSlice::new(b"h")],
            &message,
            MsgFlags::MSG_DONTWAIT,
            None,
        )?;
        Ok(())
    }
}

/// Forks a helper process (the fd holder, the forker) linked to this one by a SOCK_SEQPACKET
/// socket pair: `body` runs in the child with its end of the link at fd 3 and nothing else of
/// this process's descriptors, and its result is the child's exit status. Returns this end
/// of the link (close-on-exec) and the child's pid. The process must be single-threaded
/// (`what` is said when it is not).
pub(crate) fn fork_linked(
    what: &str,
    body: fn(OwnedFd) -> i32,
) -> io::Result<(OwnedFd, svckit_core::Pid)> {
    let proof = sys::SingleThreaded::check().map_err(|why| why.into_io(what))?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let pid = sys::fork_keeping(&proof, theirs, LINK_FD, body)?;
    Ok((ours, pid))
}

/// The holder process: its exit status.
fn holder_main(link: OwnedFd) -> i32 {
    match hold(link) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The holder's life, in the child, which has nothing of the supervisor's but `link`. Each
/// pipe is watched in an epoll set for its hang-up (every writer gone): a poll(2) over every
/// pipe held at each new one was most of the holder's time at thousands of services.
fn hold(link: OwnedFd) -> io::Result<()> {
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use std::collections::HashMap;
    /// The link's key in the set; the pipes have keys from 1.
    const LINK: u64 = 0;
    let _ = nix::sys::prctl::set_name(c"svckit-holder");
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(&link, EpollEvent::new(EpollFlags::EPOLLIN, LINK))?;
    let mut held: HashMap<u64, OwnedFd> = HashMap::new();
    let mut next_key = LINK + 1;
    let mut linked = true;
    let mut events = vec![EpollEvent::empty(); 256];
    // Whether it ran since it last let go of its executable's pages (a second after it goes
    // idle: see [`crate::memory::release_executable_pages`]).
    let mut worked = true;
    loop {
        if !linked && held.is_empty() {
            return Ok(());
        }
        let timeout = match worked {
            true => EpollTimeout::from(crate::memory::IDLE_BEFORE_RELEASE_MS),
            false => EpollTimeout::NONE,
        };
        let ready = match epoll.wait(&mut events, timeout) {
            Ok(0) if worked => {
                crate::memory::release_executable_pages();
                worked = false;
                continue;
            }
            Ok(ready) => {
                worked = true;
                ready
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        };
        for event in &events[..ready] {
            if event.data() != LINK {
                // Registered for no event: only a hang-up or an error is reported.
                if let Some(pipe) = held.remove(&event.data()) {
                    let _ = epoll.delete(&pipe);
                }
                continue;
            }
            match sys::recv_fds(link.as_fd()) {
                Ok(Some(fds)) => {
                    for fd in fds {
                        // (A pipe that cannot be watched is held all the same.)
                        let _ = epoll.add(&fd, EpollEvent::new(EpollFlags::empty(), next_key));
                        held.insert(next_key, fd);
                        next_key += 1;
                    }
                }
                // (Cut short, its descriptors dropped: this holder is at its own limit.)
                Err(
                    nix::errno::Errno::EINTR
                    | nix::errno::Errno::EAGAIN
                    | nix::errno::Errno::EMSGSIZE,
                ) => {}
                Ok(None) | Err(_) => {
                    linked = false;
                    let _ = epoll.delete(&link);
                }
            }
        }
    }
}
