//! Socket activation on Unix, both sides of it: a service manager binds a service's listeners
//! ([`bind`]) and hands them to its program as systemd does (fds from 3, `LISTEN_FDS`,
//! `LISTEN_PID`, `LISTEN_FDNAMES`: see [`crate::spawn::Handover`]); the program takes them
//! ([`listen_fds`], sd_listen_fds(3)'s meaning), whichever manager bound them: svckit's
//! supervisor, systemd, `systemd-socket-activate`.

use std::{
    ffi::OsStr,
    io,
    net::SocketAddr,
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::{ffi::OsStrExt, fs::FileTypeExt, fs::MetadataExt},
    },
    path::Path,
};

use nix::sys::{
    socket::{
        AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6, UnixAddr,
        bind as bind_to, listen, setsockopt, socket, sockopt,
    },
    stat::{FchmodatFlags, Mode, fchmod, fchmodat},
};
use nix::{fcntl::AT_FDCWD, libc};
use svckit_core::listen::{Address, Listener};

use crate::sys;

/// The first fd a program is handed its sockets at (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: i32 = 3;

/// A bound listener: its socket, and for a socket file, which file it made (so only that file
/// is ever removed).
#[derive(Debug)]
pub struct Bound {
    /// The socket, listening (stream) or bound (datagram); blocking and close-on-exec.
    pub socket: OwnedFd,
    /// The socket file's device and inode, for a Unix path.
    pub file: Option<(u64, u64)>,
}

/// Binds `listener` as its definition says: `SO_REUSEADDR` for TCP, dual-stack for `[::]`,
/// the backlog (the system's maximum by default) for stream sockets, and for a socket file the
/// mode (0666 by default), made without a moment of other permissions. A socket file left at
/// the path by a process that is gone is replaced; anything else there (a live socket, a
/// symlink, a file) is refused and left alone. The error is one line naming the listener.
pub fn bind(listener: &Listener) -> Result<Bound, String> {
    let at = &listener.address;
    let failed = |what: &str, err: nix::Error| format!("{at}: cannot {what}: {}", err.desc());
    let stream = at.is_stream();
    let kind = match stream {
        true => SockType::Stream,
        false => SockType::Datagram,
    };
    let flags = SockFlag::SOCK_CLOEXEC;
    let mut file = None;
    let socket = match at {
        Address::Tcp(addr) | Address::Udp(addr) => {
            let family = match addr {
                SocketAddr::V4(_) => AddressFamily::Inet,
                SocketAddr::V6(_) => AddressFamily::Inet6,
            };
            let socket = socket(family, kind, flags, None).map_err(|e| failed("make it", e))?;
            if stream {
                setsockopt(&socket, sockopt::ReuseAddr, &true)
                    .map_err(|e| failed("set SO_REUSEADDR", e))?;
            }
            let bound = match addr {
                SocketAddr::V4(v4) => bind_to(socket.as_raw_fd(), &SockaddrIn::from(*v4)),
                SocketAddr::V6(v6) => {
                    if v6.ip().is_unspecified() {
                        // `[::]` takes IPv4 too, as systemd's BindIPv6Only=default.
                        setsockopt(&socket, sockopt::Ipv6V6Only, &false)
                            .map_err(|e| failed("make it dual-stack", e))?;
                    }
                    bind_to(socket.as_raw_fd(), &SockaddrIn6::from(*v6))
                }
            };
            bound.map_err(|e| failed("bind it", e))?;
            socket
        }
        Address::Abstract(name) | Address::AbstractDatagram(name) => {
            let socket =
                socket(AddressFamily::Unix, kind, flags, None).map_err(|e| failed("make it", e))?;
            let addr = UnixAddr::new_abstract(name.as_bytes()).map_err(|e| failed("name it", e))?;
            bind_to(socket.as_raw_fd(), &addr).map_err(|e| failed("bind it", e))?;
            socket
        }
        Address::Unix(path) | Address::UnixDatagram(path) => {
            clear_stale(at, path, kind)?;
            let socket =
                socket(AddressFamily::Unix, kind, flags, None).map_err(|e| failed("make it", e))?;
            let addr = UnixAddr::new(path.as_path()).map_err(|e| failed("name it", e))?;
            // The file is made from the socket's own mode less the umask (Linux), so never
            // wider than `mode`, then given exactly `mode`, without following a symlink
            // swapped in meanwhile.
            let mode = Mode::from_bits_truncate(listener.mode.unwrap_or(0o666) as libc::mode_t);
            fchmod(&socket, mode).map_err(|e| failed("set its mode", e))?;
            bind_to(socket.as_raw_fd(), &addr).map_err(|e| failed("bind it", e))?;
            fchmodat(
                AT_FDCWD,
                path.as_path(),
                mode,
                FchmodatFlags::NoFollowSymlink,
            )
            .map_err(|e| failed("set its mode", e))?;
            let meta = std::fs::symlink_metadata(path)
                .map_err(|err| format!("{at}: the socket file is gone: {err}"))?;
            file = Some((meta.dev(), meta.ino()));
            if let Err(err) = give(listener, path) {
                // Nothing of it is left: the file it made goes with it.
                remove_file(path, &Bound { socket, file });
                return Err(err);
            }
            socket
        }
    };
    if stream {
        let backlog = match listener.backlog {
            Some(backlog) => {
                Backlog::new(backlog as i32).map_err(|e| failed("take the backlog", e))?
            }
            None => Backlog::MAXCONN,
        };
        listen(&socket, backlog).map_err(|e| failed("listen", e))?;
    }
    Ok(Bound { socket, file })
}

/// Gives the socket file at `path` the listener's user and group (by name), without
/// following a symlink swapped in meanwhile; a name with no account, or an owner this process
/// may not give (only root may), is an error naming the listener.
fn give(listener: &Listener, path: &Path) -> Result<(), String> {
    let at = &listener.address;
    // The account `name` names, by `find`; `kind` says which ("user", "group").
    fn account<T>(
        at: &svckit_core::listen::Address,
        kind: &str,
        name: Option<&String>,
        find: impl Fn(&str) -> std::io::Result<Option<T>>,
    ) -> Result<Option<T>, String> {
        let Some(name) = name else {
            return Ok(None);
        };
        match find(name) {
            Ok(Some(found)) => Ok(Some(found)),
            Ok(None) => Err(format!("{at}: {kind} {name:?} does not exist")),
            Err(err) => Err(format!("{at}: cannot look up {kind} {name:?}: {err}")),
        }
    }
    let databases = crate::accounts::Databases::system();
    let user = account(at, "user", listener.user.as_ref(), |name| {
        let user = databases.user_by_name(name)?;
        Ok(user.map(|user| nix::unistd::Uid::from_raw(user.uid)))
    })?;
    let group = account(at, "group", listener.group.as_ref(), |name| {
        let group = databases.group_by_name(name)?;
        Ok(group.map(|group| nix::unistd::Gid::from_raw(group.gid)))
    })?;
    if user.is_none() && group.is_none() {
        return Ok(());
    }
    nix::unistd::fchownat(
        AT_FDCWD,
        path,
        user,
        group,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|err| {
        format!(
            "{at}: cannot give the socket file to {}: {}",
            [listener.user.as_deref(), listener.group.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(":"),
            err.desc()
        )
    })
}

/// Removes a socket file at `path` that nothing listens on (its process is gone); refuses
/// anything else there.
fn clear_stale(at: &Address, path: &Path, kind: SockType) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("{at}: cannot look at {}: {err}", path.display())),
    };
    if !meta.file_type().is_socket() {
        return Err(format!(
            "{at}: {} exists and is not a socket (it is left alone: remove it, or listen \
             elsewhere)",
            path.display()
        ));
    }
    // A socket something still listens on is another's: connecting tells.
    let probe = socket(AddressFamily::Unix, kind, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| format!("{at}: cannot make a socket: {}", e.desc()))?;
    let addr = UnixAddr::new(path).map_err(|e| format!("{at}: {}", e.desc()))?;
    // (A datagram socket's connect succeeds as well when one is bound there.)
    match nix::sys::socket::connect(probe.as_raw_fd(), &addr) {
        Err(nix::errno::Errno::ECONNREFUSED) => {}
        Ok(()) => {
            return Err(format!(
                "{at}: {} is in use: a process listens on it",
                path.display()
            ));
        }
        Err(errno) => {
            return Err(format!(
                "{at}: {} cannot be checked: {}",
                path.display(),
                errno.desc()
            ));
        }
    }
    std::fs::remove_file(path)
        .map_err(|err| format!("{at}: cannot remove the stale {}: {err}", path.display()))
}

/// Removes the socket file `bound` made at `path`, if it is still that file (one put there
/// since is left alone).
pub fn remove_file(path: &Path, bound: &Bound) {
    let Some(made) = bound.file else {
        return;
    };
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && (meta.dev(), meta.ino()) == made
    {
        let _ = std::fs::remove_file(path);
    }
}

/// A connection accepted on a listener.
#[derive(Debug)]
pub struct Connection {
    /// The connected socket (blocking, close-on-exec).
    pub fd: OwnedFd,
    /// Its remote address (TCP; none for a Unix socket).
    pub remote: Option<SocketAddr>,
    /// Its local address (TCP).
    pub local: Option<SocketAddr>,
}

impl Connection {
    /// Who connected, in words: `127.0.0.1:53312`, or `a Unix socket`.
    pub fn from(&self) -> String {
        match self.remote {
            Some(remote) => remote.to_string(),
            None => "a Unix socket".to_owned(),
        }
    }

    /// The variables an instance for it gets: systemd's `REMOTE_ADDR` and `REMOTE_PORT`, and
    /// UCSPI's `PROTO`, `TCPREMOTEIP`, `TCPREMOTEPORT`, `TCPLOCALIP`, `TCPLOCALPORT`.
    pub fn env(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = Vec::new();
        let mut set = |key: &str, value: String| env.push((key.into(), value.into()));
        match (self.remote, self.local) {
            (Some(remote), local) => {
                set("PROTO", "TCP".to_owned());
                set("REMOTE_ADDR", remote.ip().to_string());
                set("REMOTE_PORT", remote.port().to_string());
                set("TCPREMOTEIP", remote.ip().to_string());
                set("TCPREMOTEPORT", remote.port().to_string());
                if let Some(local) = local {
                    set("TCPLOCALIP", local.ip().to_string());
                    set("TCPLOCALPORT", local.port().to_string());
                }
            }
            (None, _) => set("PROTO", "UNIX".to_owned()),
        }
        env
    }
}

/// An IPv4 address a dual-stack socket shows as `::ffff:a.b.c.d`, as the IPv4 address it is.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Accepts one connection waiting on `socket` (a non-blocking stream listener): `Ok(None)`
/// when none waits.
pub fn accept(socket: &OwnedFd) -> io::Result<Option<Connection>> {
    use nix::sys::socket::SockaddrLike;
    let family =
        nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(socket.as_raw_fd())
            .map_err(io::Error::from)?
            .family();
    let accepted = match family {
        Some(AddressFamily::Unix) => std::os::unix::net::UnixListener::from(socket.try_clone()?)
            .accept()
            .map(|(stream, _)| Connection {
                fd: stream.into(),
                remote: None,
                local: None,
            }),
        _ => std::net::TcpListener::from(socket.try_clone()?)
            .accept()
            .map(|(stream, remote)| Connection {
                local: stream.local_addr().ok().map(canonical),
                remote: Some(canonical(remote)),
                fd: stream.into(),
            }),
    };
    match accepted {
        Ok(connection) => Ok(Some(connection)),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(err) => Err(err),
    }
}

/// Makes `socket` non-blocking (a listener svckit accepts on itself).
pub fn set_nonblocking(socket: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(socket, FcntlArg::F_GETFL)?);
    fcntl(socket, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// How many connections `listeners` have now, from the kernel's socket tables
/// (`/proc/net/tcp`, `tcp6`, `unix`), never by looking at the traffic: TCP connections on a
/// listener's address and port (an accepted connection keeps them) that are being set up,
/// established, or closed by the client only (the server still at it), and Unix stream sockets
/// connected under a listener's path or name. Connections waiting to be accepted count.
pub fn established(listeners: &[Listener]) -> usize {
    let read =
        |table: &str| std::fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    let tcp = listeners
        .iter()
        .any(|l| matches!(l.address, Address::Tcp(_)));
    let unix = listeners
        .iter()
        .any(|l| matches!(l.address, Address::Unix(_) | Address::Abstract(_)));
    let mut count = 0;
    if tcp {
        count += count_tcp(&read("tcp"), listeners) + count_tcp(&read("tcp6"), listeners);
    }
    if unix {
        count += count_unix(&read("unix"), listeners);
    }
    count
}

/// The client of a connection waiting to be accepted on `listener` (a TCP listener), as the
/// kernel's socket tables show it (`/proc/net/tcp`, `tcp6`): the first found. Nothing is
/// accepted or read: the program that starts takes the connection. `None` for other sockets,
/// or once the connection is gone or taken.
pub fn waiting_peer(listener: &Listener) -> Option<SocketAddr> {
    let Address::Tcp(at) = listener.address else {
        return None;
    };
    ["tcp", "tcp6"].iter().find_map(|table| {
        let table = std::fs::read_to_string(format!("/proc/net/{table}")).ok()?;
        waiting_peer_in(&table, at)
    })
}

/// [`waiting_peer`] in `table`, the text of `/proc/net/tcp` or `tcp6`: a connection being set
/// up or established on `at`'s port (and address) that no process owns yet (inode 0: in the
/// listener's accept queue); its remote address.
fn waiting_peer_in(table: &str, at: SocketAddr) -> Option<SocketAddr> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // SYN_RECV or ESTABLISHED, and owned by no process (inode 0).
        if !matches!(fields.get(3), Some(&("01" | "03"))) || fields.get(9) != Some(&"0") {
            return None;
        }
        let local = proc_address(fields.get(1)?)?;
        is_on(at, local).then(|| proc_address(fields.get(2)?))?
    })
}

/// An address of `/proc/net/tcp` or `tcp6`: hex words in the kernel's byte order, `:` and
/// the port in hex.
fn proc_address(text: &str) -> Option<SocketAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let ip = match words.as_slice() {
        // Each word is the address's bytes as the kernel holds them, printed as a host-order
        // number: its native bytes are the address's.
        [v4] => IpAddr::V4(Ipv4Addr::from(v4.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, word) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip.to_canonical(), port))
}

/// Whether a socket bound to `local` is on `at`: its port, and its address unless `at` is
/// every address.
fn is_on(at: SocketAddr, local: SocketAddr) -> bool {
    at.port() == local.port() && (at.ip().is_unspecified() || at.ip().to_canonical() == local.ip())
}

/// Whether a TCP socket listens on `at` (every address: on its port), as the kernel's socket
/// tables say (`/proc/net/tcp`, `tcp6`).
pub fn listens(at: SocketAddr) -> bool {
    ["tcp", "tcp6"].iter().any(|table| {
        std::fs::read_to_string(format!("/proc/net/{table}")).is_ok_and(|table| {
            table.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(3) == Some(&"0A")
                    && fields
                        .get(1)
                        .and_then(|a| proc_address(a))
                        .is_some_and(|local| is_on(at, local))
            })
        })
    })
}

/// The TCP connections of `table` (the text of `/proc/net/tcp` or `tcp6`) on `listeners`.
fn count_tcp(table: &str, listeners: &[Listener]) -> usize {
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // SYN_RECV, ESTABLISHED, CLOSE_WAIT.
            let live = matches!(fields.get(3), Some(&("01" | "03" | "08")));
            live && fields
                .get(1)
                .and_then(|a| proc_address(a))
                .is_some_and(|local| {
                    listeners.iter().any(|l| match l.address {
                        Address::Tcp(at) => is_on(at, local),
                        _ => false,
                    })
                })
        })
        .count()
}

/// The connected Unix stream sockets of `table` (the text of `/proc/net/unix`) under a path or
/// name of `listeners`.
fn count_unix(table: &str, listeners: &[Listener]) -> usize {
    let names: Vec<String> = listeners
        .iter()
        .filter_map(|l| match &l.address {
            Address::Unix(path) => Some(path.display().to_string()),
            Address::Abstract(name) => Some(format!("@{name}")),
            _ => None,
        })
        .collect();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Type 0001 (stream), St 03 (connected), and a path.
            fields.get(4) == Some(&"0001")
                && fields.get(5) == Some(&"03")
                && fields
                    .get(7)
                    .is_some_and(|path| names.iter().any(|n| n == path))
        })
        .count()
}

/// Whether a connection (or a datagram) waits on `socket`, without taking it.
pub fn has_pending(socket: &impl AsFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
}

/// A socket a program was handed.
#[derive(Debug)]
pub struct ListenFd {
    /// Its name (`LISTEN_FDNAMES`; `unknown` when none was given, as sd_listen_fds_with_names
    /// says).
    pub name: String,
    /// The socket (close-on-exec now, so the program's own children do not inherit it).
    pub fd: OwnedFd,
}

/// The sockets this process was handed by its service manager, as sd_listen_fds(3) finds
/// them: only when `LISTEN_PID` is this process's pid (a variable inherited from a parent
/// that was handed sockets is not this process's), `LISTEN_FDS` of them from fd 3, named by
/// `LISTEN_FDNAMES`. Taken once per process: a second call finds none. The variables are left
/// as they are (changing the environment is not sound in a program with threads), but once
/// taken, the fds are close-on-exec, and a child sees a `LISTEN_PID` that is not its own.
pub fn listen_fds() -> Vec<ListenFd> {
    let var = |name: &str| std::env::var_os(name);
    let pid = var("LISTEN_PID").and_then(|pid| pid.to_str()?.parse::<u32>().ok());
    if pid != Some(std::process::id()) {
        return Vec::new();
    }
    let Some(count) = var("LISTEN_FDS").and_then(|n| n.to_str()?.parse::<usize>().ok()) else {
        return Vec::new();
    };
    let names: Vec<String> = var("LISTEN_FDNAMES")
        .map(|names| {
            names
                .as_bytes()
                .split(|b| *b == b':')
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .collect()
        })
        .unwrap_or_default();
    sys::take_listen_fds(LISTEN_FDS_START, count)
        .into_iter()
        .enumerate()
        .map(|(index, fd)| ListenFd {
            name: names
                .get(index)
                .filter(|name| !name.is_empty())
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned()),
            fd,
        })
        .collect()
}

/// `LISTEN_FDNAMES` for `listeners`: each one's name, or `service` (systemd names a socket by
/// its unit when it has no FileDescriptorName=).
pub fn fd_names(listeners: &[Listener], service: &str) -> std::ffi::OsString {
    let names: Vec<&str> = listeners
        .iter()
        .map(|listener| listener.name.as_deref().unwrap_or(service))
        .collect();
    OsStr::new(&names.join(":")).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        io::{Read, Write},
        os::unix::fs::PermissionsExt,
        time::Duration,
    };

    fn listener(address: &str) -> Listener {
        Listener::at(address.parse().unwrap())
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("svckit-sockets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_client_of_a_connection_waiting_to_be_accepted_is_found_in_the_kernel_s_table() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 0100007F:D1A4 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:D1A6 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 0 1
   3: 0100007F:1F91 0100007F:D1A8 01 00000000:00000000 00:00000000 00000000     0        0 0 1
   4: 0100007F:1F90 0100007F:D1AA 01 00000000:00000000 00:00000000 00000000     0        0 0 1";
        let at: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        // Not the accepted one (an inode), not the client's own end (its local port), not
        // another port's: the one in the queue, from port 0xD1AA.
        assert_eq!(
            waiting_peer_in(tcp, at),
            Some("127.0.0.1:53674".parse().unwrap())
        );
        assert_eq!(
            waiting_peer_in(tcp, "0.0.0.0:8081".parse().unwrap()),
            Some("127.0.0.1:53672".parse().unwrap())
        );
        assert_eq!(waiting_peer_in(tcp, "0.0.0.0:8082".parse().unwrap()), None);
    }

    #[test]
    fn connections_are_counted_from_the_kernel_s_tables() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 0100007F:D1A4 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F90 0100007F:D1A6 06 00000000:00000000 00:00000000 00000000     0        0 0 1
   3: 0100007F:1F91 0100007F:D1A8 01 00000000:00000000 00:00000000 00000000     0        0 3 1
   4: 0100007F:1F90 0100007F:D1AA 08 00000000:00000000 00:00000000 00000000     0        0 4 1";
        let web = [listener("tcp:127.0.0.1:8080")];
        assert_eq!(
            count_tcp(tcp, &web),
            2,
            "ESTABLISHED and CLOSE_WAIT, not LISTEN or TIME_WAIT"
        );
        assert_eq!(count_tcp(tcp, &[listener("tcp:8080")]), 2);
        assert_eq!(count_tcp(tcp, &[listener("tcp:10.0.0.1:8080")]), 0);
        // An IPv4 connection to a dual-stack socket, as tcp6 shows it (::ffff:127.0.0.1).
        let tcp6 =
            "  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D1A4 01 0";
        assert_eq!(count_tcp(tcp6, &[listener("tcp:8080")]), 1);
        assert_eq!(count_tcp(tcp6, &web), 1);
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 100 /run/web.sock
0000000000000000: 00000003 00000000 00000000 0001 03 101 /run/web.sock
0000000000000000: 00000003 00000000 00000000 0001 03 102
0000000000000000: 00000003 00000000 00000000 0001 03 103 @web";
        let socks = [listener("unix:/run/web.sock"), listener("unix:@web")];
        assert_eq!(
            count_unix(unix, &socks),
            2,
            "connected under a path or name"
        );
    }

    #[test]
    fn a_port_in_use_is_refused_naming_the_listener() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let err = bind(&listener(&format!("tcp:127.0.0.1:{port}"))).unwrap_err();
        assert_eq!(
            err,
            format!("tcp:127.0.0.1:{port}: cannot bind it: Address already in use")
        );
    }

    #[test]
    fn dual_stack_takes_ipv4_too_and_a_datagram_socket_is_not_listening() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bound = bind(&listener(&format!("tcp:{port}"))).unwrap();
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(has_pending(&bound.socket), "an IPv4 connection to [::]");
        client.write_all(b"x").unwrap();
        let udp = bind(&listener(&format!("udp:127.0.0.1:{port}"))).unwrap();
        assert!(!has_pending(&udp.socket));
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .send_to(b"ping", ("127.0.0.1", port))
            .unwrap();
        assert!(crate::process::wait_until(Duration::from_secs(5), || {
            has_pending(&udp.socket)
        }));
    }

    #[test]
    fn a_socket_file_is_made_with_its_mode_and_only_a_stale_one_is_replaced() {
        let dir = scratch("files");
        let path = dir.join("web.sock");
        let mut web = listener(&format!("unix:{}", path.display()));
        web.mode = Some(0o600);
        let bound = bind(&web).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // In use by us now: a second bind is refused, the file left.
        let err = bind(&web).unwrap_err();
        assert!(err.contains("is in use: a process listens on it"), "{err}");
        // Closed: stale, replaced.
        drop(bound);
        let again = bind(&web).unwrap();
        remove_file(&path, &again);
        assert!(!path.exists());
        // Without a mode: 0666 whatever the umask, as systemd's SocketMode=.
        let open = bind(&listener(&format!("unix:{}", path.display()))).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o666
        );
        remove_file(&path, &open);
        // A file put at the path by someone else is never removed as ours.
        std::fs::write(&path, "theirs").unwrap();
        remove_file(&path, &again);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs");
        let err = bind(&web).unwrap_err();
        assert!(err.contains("exists and is not a socket"), "{err}");
        // A planted symlink is neither followed nor removed.
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.join("target"), &path).unwrap();
        assert!(
            bind(&web)
                .unwrap_err()
                .contains("exists and is not a socket")
        );
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(!dir.join("target").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Run by [`listen_fds_takes_what_systemd_socket_activate_hands`] under systemd's own
    /// activator; on its own (no `SVCKIT_LISTEN_CHILD`) it has nothing to take.
    #[test]
    fn listen_fds_child() {
        if std::env::var_os("SVCKIT_LISTEN_CHILD").is_none() {
            return;
        }
        let handed = listen_fds();
        assert_eq!(handed.len(), 1);
        assert!(listen_fds().is_empty(), "taken once");
        let name = handed[0].name.clone();
        let listener = std::net::TcpListener::from(handed.into_iter().next().unwrap().fd);
        let (mut client, _) = listener.accept().unwrap();
        writeln!(client, "taken: {name}").unwrap();
    }

    #[test]
    fn listen_fds_takes_what_systemd_socket_activate_hands() {
        let activate = "/usr/bin/systemd-socket-activate";
        if !Path::new(activate).exists() {
            assert!(std::env::var_os("CI").is_none(), "CI must have {activate}");
            return;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut activator = std::process::Command::new(activate)
            .args(["-l", &format!("127.0.0.1:{port}"), "--fdname=probe"])
            .args(["-E", "SVCKIT_LISTEN_CHILD=1", "--"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sockets::tests::listen_fds_child",
                "--test-threads=1",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = activator.stderr.take().unwrap();
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("Listening on") {
            assert_eq!(
                err.read(&mut byte).unwrap(),
                1,
                "{}",
                String::from_utf8_lossy(&seen)
            );
            seen.push(byte[0]);
        }
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut said = String::new();
        client.read_to_string(&mut said).unwrap();
        assert_eq!(said, "taken: probe\n");
        assert!(activator.wait().unwrap().success());
    }
}
