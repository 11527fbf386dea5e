//! systemd's notify protocol ([sd_notify(3)]): datagrams like `READY=1` sent to the socket named
//! in `$NOTIFY_SOCKET`, and the watchdog period from `$WATCHDOG_USEC`. Implemented over std's
//! `UnixDatagram`, because the protocol is one `sendto(2)` per message.
//!
//! [sd_notify(3)]: https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html

use std::{
    env, io,
    os::unix::net::{SocketAddr, UnixDatagram},
    time::Duration,
};

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
