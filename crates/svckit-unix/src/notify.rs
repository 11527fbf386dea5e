//! systemd's notify protocol ([sd_notify(3)]): datagrams like `READY=1` sent to the socket named
//! in `$NOTIFY_SOCKET`, and the watchdog period from `$WATCHDOG_USEC`. Implemented over std's
//! `UnixDatagram`, because the protocol is one `sendto(2)` per message.
//!
//! Both ends are here: [`Notifier`] for a program that tells its manager, [`Listener`] for a
//! manager that hears it (the supervisor, and `svckit daemonize --wait-ready`), with
//! [`parse`] for what a datagram says.
//!
//! [sd_notify(3)]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html

use std::{
    env, io,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, RawFd},
        unix::net::{SocketAddr, UnixDatagram},
    },
    time::Duration,
};

use nix::{
    errno::Errno,
    sys::socket::{ControlMessageOwned, MsgFlags, UnixCredentials, recvmsg, setsockopt, sockopt},
};
use svckit_core::Pid;

/// The variable systemd sets to the notify socket's address.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

/// A connection to the service manager's notify socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket);
    /// `Ok(None)` when the variable is unset or empty, an error when it is unusable.
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match env::var_os(NOTIFY_SOCKET_ENV) {
            Some(value) if !value.is_empty() => Notifier::new(&value.to_string_lossy()).map(Some),
            _ => Ok(None),
        }
    }

    /// The notifier for `address`: a filesystem path, or `@name` for an abstract socket.
    pub fn new(address: &str) -> io::Result<Notifier> {
        let address = if let Some(name) = address.strip_prefix('@') {
            abstract_address(name)?
        } else if address.starts_with('/') {
            SocketAddr::from_pathname(address)?
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{NOTIFY_SOCKET_ENV}={address:?} is neither an absolute path nor @name"),
            ));
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            address,
        })
    }

    /// A second handle on the same socket and address (for a watchdog timer elsewhere).
    pub fn try_clone(&self) -> io::Result<Notifier> {
        Ok(Notifier {
            socket: self.socket.try_clone()?,
            address: self.address.clone(),
        })
    }

    /// Sends one message: newline-separated `KEY=VALUE` assignments, e.g. `"READY=1"`.
    pub fn send(&self, message: &str) -> io::Result<()> {
        self.socket
            .send_to_addr(message.as_bytes(), &self.address)
            .map(drop)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &str) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(name: &str) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("abstract socket @{name} needs Linux"),
    ))
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
/// advises, when the watchdog is on and meant for this process (`$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Ok(pid) = env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// One thing a program said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `READY=1`: started up (or done reloading).
    Ready,
    /// `RELOADING=1`: reloading its configuration.
    Reloading,
    /// `STOPPING=1`: shutting down.
    Stopping,
    /// `STATUS=…`: a line for status to show.
    Status(String),
    /// `MAINPID=…`: its main process is now this one.
    MainPid(Pid),
    /// `WATCHDOG=1`: alive.
    Watchdog,
    /// `WATCHDOG=trigger`: treat it as hung now.
    WatchdogTrigger,
    /// `EXTEND_TIMEOUT_USEC=…`: the start (or stop) needs this much longer from now.
    ExtendTimeout(Duration),
    /// `ERRNO=…`: why it failed.
    Errno(i32),
}

/// The largest datagram read (systemd reads at most a page and a bit).
pub const MAX_DATAGRAM: usize = 4096;

/// What one datagram says; unknown assignments and malformed values are skipped, as systemd
/// does.
pub fn parse(datagram: &[u8]) -> Vec<Notice> {
    let text = String::from_utf8_lossy(datagram);
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some(match key {
                "READY" if value == "1" => Notice::Ready,
                "RELOADING" if value == "1" => Notice::Reloading,
                "STOPPING" if value == "1" => Notice::Stopping,
                "STATUS" => Notice::Status(value.chars().take(256).collect()),
                "MAINPID" => Notice::MainPid(value.parse().ok()?),
                "WATCHDOG" if value == "1" => Notice::Watchdog,
                "WATCHDOG" if value == "trigger" => Notice::WatchdogTrigger,
                "EXTEND_TIMEOUT_USEC" => {
                    Notice::ExtendTimeout(Duration::from_micros(value.parse().ok()?))
                }
                "ERRNO" => Notice::Errno(value.parse().ok()?),
                _ => return None,
            })
        })
        .collect()
}

/// The manager's end: an abstract datagram socket, non-blocking, that knows every sender by
/// its credentials (`SO_PASSCRED`), so a manager hears only the processes allowed to speak.
#[derive(Debug)]
pub struct Listener {
    socket: UnixDatagram,
    address: String,
}

impl Listener {
    /// Binds the abstract socket `name` (Linux's abstract namespace: no file to leave behind
    /// or to plant); `$NOTIFY_SOCKET` for the program is [`Listener::address`].
    pub fn bind(name: &str) -> io::Result<Listener> {
        let socket = UnixDatagram::bind_addr(&abstract_address(name)?)?;
        socket.set_nonblocking(true)?;
        setsockopt(&socket, sockopt::PassCred, &true).map_err(io::Error::from)?;
        Ok(Listener {
            socket,
            address: format!("@{name}"),
        })
    }

    /// The value of `$NOTIFY_SOCKET` that reaches it: `@` and its name.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The next waiting datagram: its sender's pid and what it says. `Ok(None)` once none
    /// waits; a datagram without credentials (no sender to check) is skipped.
    pub fn receive(&self) -> io::Result<Option<(Pid, Vec<Notice>)>> {
        loop {
            let mut buffer = [0u8; MAX_DATAGRAM];
            let mut iov = [io::IoSliceMut::new(&mut buffer)];
            let mut space = nix::cmsg_space!(UnixCredentials);
            let received = recvmsg::<()>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            );
            let (bytes, sender) = match received {
                Ok(message) => {
                    let sender = message.cmsgs().ok().and_then(|mut cmsgs| {
                        cmsgs.find_map(|cmsg| match cmsg {
                            ControlMessageOwned::ScmCredentials(creds) => {
                                Pid::from_i32(creds.pid())
                            }
                            _ => None,
                        })
                    });
                    (message.bytes.min(MAX_DATAGRAM), sender)
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(errno) => return Err(errno.into()),
            };
            if let Some(sender) = sender {
                return Ok(Some((sender, parse(&buffer[..bytes]))));
            }
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_assignment_systemd_defines_is_read_and_the_rest_skipped() {
        let said = parse(
            b"READY=1\nSTATUS=Ready to accept connections\nMAINPID=4242\nWATCHDOG=1\n\
              EXTEND_TIMEOUT_USEC=5000000\nERRNO=2\nRELOADING=1\nSTOPPING=1\nWATCHDOG=trigger\n\
              X_CUSTOM=1\nMAINPID=-1\nMAINPID=x\nREADY=0\nnot an assignment",
        );
        assert_eq!(
            said,
            [
                Notice::Ready,
                Notice::Status("Ready to accept connections".into()),
                Notice::MainPid(Pid::new(4242).unwrap()),
                Notice::Watchdog,
                Notice::ExtendTimeout(Duration::from_secs(5)),
                Notice::Errno(2),
                Notice::Reloading,
                Notice::Stopping,
                Notice::WatchdogTrigger,
            ]
        );
        let long = format!("STATUS={}", "x".repeat(10_000));
        assert_eq!(parse(long.as_bytes()), [Notice::Status("x".repeat(256))]);
    }

    #[test]
    fn a_listener_hears_a_notifier_and_knows_who_sent_it() {
        let name = format!("svckit-test-{}", std::process::id());
        let listener = Listener::bind(&name).unwrap();
        assert_eq!(listener.receive().unwrap(), None);
        let notifier = Notifier::new(listener.address()).unwrap();
        notifier.send("READY=1\nSTATUS=up").unwrap();
        let (sender, said) = listener.receive().unwrap().unwrap();
        assert_eq!(sender, Pid::this_process());
        assert_eq!(said, [Notice::Ready, Notice::Status("up".into())]);
    }
}
