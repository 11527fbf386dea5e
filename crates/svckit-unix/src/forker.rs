//! The forker: a small process that starts the supervisor's services for it. Forking the
//! supervisor itself costs what it holds: its memory's page tables are copied, and every
//! descriptor (two pipes a service) is copied at the fork and closed again at the exec, in
//! the child, before the program runs. At 10,000 services that was most of a `start --all`,
//! and grew with each service started. The forker is forked from the supervisor when it starts
//! (a few descriptors, little memory) and keeps only its link (at fd 3); it is sent each order (a
//! prepared [`ChildSetup`](crate::spawn::ChildSetup) and the child's descriptors, SCM_RIGHTS),
//! forks the child with clone3's `CLONE_PARENT` (so it is the supervisor's child, reaped and
//! watched as before) into its cgroup, and answers once it has exec'd.

use std::{
    io::{self, IoSlice, IoSliceMut},
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
    time::Duration,
};

use nix::{
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::socket::{ControlMessage, MsgFlags, recvmsg, sendmsg, setsockopt, sockopt},
};

use crate::{spawn::Order, sys};

/// The supervisor's end of the link to its forker.
#[derive(Debug)]
pub struct Forker {
    link: OwnedFd,
    pid: svckit_core::Pid,
    /// Its link failed: it is not asked again.
    broken: std::cell::Cell<bool>,
}

/// The largest order (a program's arguments and environment): larger ones are started by the
/// supervisor itself.
pub(crate) const ORDER_MAX: usize = 192 * 1024;

/// How long the supervisor waits for the forker to say a child has exec'd.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// What the forker answered.
pub(crate) enum Answer {
    /// The child runs the program.
    Started(svckit_core::Pid),
    /// It could not be forked (no pid), or was and failed before its exec (the supervisor's
    /// child, to reap): the errno of the step that failed.
    Failed(Option<svckit_core::Pid>, i32),
}

impl Forker {
    /// Forks the forker. The process must be single-threaded.
    pub fn spawn() -> io::Result<Forker> {
        let (link, pid) = crate::fdholder::fork_linked("fork a forker", forker_main)?;
        let within = nix::sys::time::TimeVal::new(ANSWER_WITHIN.as_secs() as _, 0);
        setsockopt(&link, sockopt::ReceiveTimeout, &within)?;
        // A datagram may be as large as the sender's buffer allows: room for the largest
        // order whatever the host's default (the kernel caps the value at wmem_max, and
        // doubles it).
        let _ = setsockopt(&link, sockopt::SndBuf, &ORDER_MAX);
        Ok(Forker {
            link,
            pid,
            broken: std::cell::Cell::new(false),
        })
    }

    /// The forker's pid.
    pub fn pid(&self) -> svckit_core::Pid {
        self.pid
    }

    /// Whether it may be asked (its link never failed).
    pub fn answers(&self) -> bool {
        !self.broken.get()
    }

    /// It failed to answer: it is killed (its parent reaps it) and never asked again, its
    /// orders forked by its parent itself.
    pub(crate) fn end(&self) {
        self.broken.set(true);
        crate::process::send(self.pid, svckit_core::Signal::Kill);
    }

    /// Sends `order` (its bytes and descriptors) and waits for the answer. An error is the
    /// link's: the forker is gone or does not answer, and must not be asked again.
    pub(crate) fn ask(&self, bytes: &[u8], fds: &[RawFd]) -> io::Result<Answer> {
        let message = [ControlMessage::ScmRights(fds)];
        sendmsg::<()>(
            self.link.as_raw_fd(),
            &[IoSlice::new(bytes)],
            &message,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        let mut answer = [0u8; 8];
        let mut iov = [IoSliceMut::new(&mut answer)];
        let got = loop {
            match recvmsg::<()>(self.link.as_raw_fd(), &mut iov, None, MsgFlags::empty()) {
                Ok(message) => break message.bytes,
                Err(nix::errno::Errno::EINTR) => {}
                Err(errno) => return Err(errno.into()),
            }
        };
        if got != answer.len() {
            return Err(io::Error::from_raw_os_error(nix::libc::EPIPE));
        }
        let pid = i32::from_le_bytes([answer[0], answer[1], answer[2], answer[3]]);
        let errno = i32::from_le_bytes([answer[4], answer[5], answer[6], answer[7]]);
        let pid = svckit_core::Pid::from_i32(pid);
        Ok(match (pid, errno) {
            (Some(pid), 0) => Answer::Started(pid),
            (pid, errno) => Answer::Failed(pid, errno),
        })
    }
}

/// The forker process: its exit status.
fn forker_main(link: OwnedFd) -> i32 {
    let _ = nix::sys::prctl::set_name(c"svckit-forker");
    // The link was placed at fd 3 by dup2, which clears close-on-exec: without it every
    // service would hold the forker's end, and a forker that died would seem to live on.
    if nix::fcntl::fcntl(
        &link,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .is_err()
    {
        return 1;
    }
    let mut buffer = vec![0u8; ORDER_MAX];
    // Whether it ran since it last let go of its executable's pages (a second after it goes
    // idle: see [`crate::memory::release_executable_pages`]).
    let mut worked = true;
    loop {
        if worked {
            let mut link_in = [PollFd::new(link.as_fd(), PollFlags::POLLIN)];
            if let Ok(0) = poll(
                &mut link_in,
                PollTimeout::from(crate::memory::IDLE_BEFORE_RELEASE_MS),
            ) {
                crate::memory::release_executable_pages();
                worked = false;
                continue;
            }
        }
        worked = true;
        let (len, fds) = match sys::recv_message(link.as_fd(), &mut buffer) {
            Ok(Some(message)) => message,
            // The supervisor is gone.
            Ok(None) => return 0,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => {
                // A message cut short: refused, the link kept.
                if answer(&link, None, errno as i32).is_err() {
                    return 1;
                }
                continue;
            }
        };
        let (pid, errno) = match Order::decode(&buffer[..len], fds) {
            Ok(order) => order.start(),
            Err(err) => (None, err.raw_os_error().unwrap_or(nix::libc::EINVAL)),
        };
        if answer(&link, pid, errno).is_err() {
            return 1;
        }
    }
}

/// The forker's answer: the child's pid (0 when none was forked) and the errno (0 once it
/// exec'd).
fn answer(link: &OwnedFd, pid: Option<svckit_core::Pid>, errno: i32) -> nix::Result<()> {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&pid.map_or(0, svckit_core::Pid::as_i32).to_le_bytes());
    bytes[4..].copy_from_slice(&errno.to_le_bytes());
    sendmsg::<()>(
        link.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &[],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map(drop)
}
