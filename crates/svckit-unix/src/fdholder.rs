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

use nix::{
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::socket::{
        AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
    },
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
        let proof = sys::SingleThreaded::check().map_err(|why| why.into_io("fork an fd holder"))?;
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        // The child keeps only its end of the link, at LINK_FD.
        let pid = sys::fork_keeping(&proof, theirs, LINK_FD, holder_main)?;
        Ok(FdHolder { link: ours, pid })
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

/// The holder process: its exit status.
fn holder_main(link: OwnedFd) -> i32 {
    match hold(link) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The holder's life, in the child, which has nothing of the supervisor's but `link`.
fn hold(link: OwnedFd) -> io::Result<()> {
    let _ = nix::sys::prctl::set_name(c"svckit-holder");
    let mut held: Vec<OwnedFd> = Vec::new();
    let mut linked = true;
    loop {
        if !linked && held.is_empty() {
            return Ok(());
        }
        let mut fds: Vec<PollFd<'_>> = held
            .iter()
            .map(|fd| PollFd::new(fd.as_fd(), PollFlags::empty()))
            .collect();
        if linked {
            fds.push(PollFd::new(link.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
        let hung_up: Vec<bool> = fds[..held.len()]
            .iter()
            .map(|fd| {
                fd.revents().is_some_and(|r| {
                    r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                })
            })
            .collect();
        let link_ready = linked
            && fds
                .last()
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty());
        drop(fds);
        let mut index = 0;
        held.retain(|_| {
            let keep = !hung_up[index];
            index += 1;
            keep
        });
        if link_ready {
            match sys::recv_fds(link.as_fd()) {
                Ok(None) => linked = false,
                Ok(Some(fds)) => held.extend(fds),
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Err(_) => linked = false,
            }
        }
    }
}
