//! A service's listeners: the sockets its service manager binds for it and hands over (systemd's
//! socket units, xinetd's entries, svckit's supervisor), so the program starts on the first
//! connection and no connection is refused while it restarts.
//!
//! An address is written as its kind and where: `tcp:127.0.0.1:8080`, `tcp:[::1]:8080`,
//! `tcp:8080` (every address, IPv6 and IPv4: `[::]` dual-stack, as systemd's
//! `ListenStream=8080`), `udp:0.0.0.0:5353`, `unix:/run/web.sock`, `unix:@web` (an abstract
//! name), `unix-dgram:/run/log.sock`.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    path::PathBuf,
    str::FromStr,
};

use crate::ModelError;

/// How a service takes its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AcceptMode {
    /// Its program is handed the listening sockets and accepts them itself (systemd's
    /// `Accept=no`, xinetd's `wait = yes`); it starts on the first connection.
    #[default]
    No,
    /// The manager accepts; each connection runs an instance of the program with the
    /// connection on its stdin and stdout (inetd; systemd's `Accept=yes` with
    /// `StandardInput=socket`; UCSPI).
    Inetd,
    /// The manager accepts; each connection runs an instance of the program handed the
    /// connection at fd 3 (`LISTEN_FDS=1`: systemd's `Accept=yes`).
    Fd,
}

impl AcceptMode {
    /// Every mode, in the order the documentation lists them (`yes` is read as `inetd`).
    pub const ALL: [AcceptMode; 3] = [AcceptMode::No, AcceptMode::Inetd, AcceptMode::Fd];

    /// Its name in definitions and flags.
    pub const fn name(self) -> &'static str {
        match self {
            AcceptMode::No => "no",
            AcceptMode::Inetd => "inetd",
            AcceptMode::Fd => "fd",
        }
    }

    /// Whether the manager accepts each connection (an instance per connection).
    pub const fn per_connection(self) -> bool {
        !matches!(self, AcceptMode::No)
    }
}

impl FromStr for AcceptMode {
    type Err = String;

    fn from_str(text: &str) -> Result<AcceptMode, String> {
        match text {
            "no" => Ok(AcceptMode::No),
            "inetd" | "yes" => Ok(AcceptMode::Inetd),
            "fd" => Ok(AcceptMode::Fd),
            _ => Err(format!(
                "{text:?} is not an accept mode: no (the program accepts), inetd (an instance \
                 per connection on its stdin and stdout) or fd (an instance per connection at \
                 fd 3)"
            )),
        }
    }
}

impl fmt::Display for AcceptMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many instances a per-connection service runs at once by default (systemd's
/// `MaxConnections=`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 64;

/// What a service's sockets are doing, as status shows it: where they listen, and per
/// connection, its instances and the connections accepted and refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Activity {
    /// Its listeners' addresses.
    pub listen: Vec<String>,
    /// Its accept mode's name (`no`, `inetd`, `fd`).
    pub accept: String,
    /// Per connection: instances running.
    pub instances: u32,
    /// Per connection: connections accepted since the supervisor started.
    pub accepted: u64,
    /// Per connection: connections refused (beyond a limit) since the supervisor started.
    pub refused: u64,
}

/// The most listeners one service may have (systemd passes any number; a definition with more
/// than this is a mistake).
pub const MAX_LISTENERS: usize = 64;

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP stream socket.
    Tcp(SocketAddr),
    /// A UDP datagram socket.
    Udp(SocketAddr),
    /// A Unix stream socket at a path.
    Unix(PathBuf),
    /// A Unix datagram socket at a path.
    UnixDatagram(PathBuf),
    /// A Unix stream socket in the abstract namespace (Linux): the name without its `@`.
    Abstract(String),
    /// A Unix datagram socket in the abstract namespace.
    AbstractDatagram(String),
}

impl Address {
    /// Whether it is a stream socket (connections), not a datagram one.
    pub const fn is_stream(&self) -> bool {
        matches!(
            self,
            Address::Tcp(_) | Address::Unix(_) | Address::Abstract(_)
        )
    }

    /// The path of a Unix socket file, if it is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Address::Unix(path) | Address::UnixDatagram(path) => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(addr) => write!(f, "tcp:{addr}"),
            Address::Udp(addr) => write!(f, "udp:{addr}"),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::UnixDatagram(path) => write!(f, "unix-dgram:{}", path.display()),
            Address::Abstract(name) => write!(f, "unix:@{name}"),
            Address::AbstractDatagram(name) => write!(f, "unix-dgram:@{name}"),
        }
    }
}

/// `8080` (every address: `[::]`, dual-stack), `127.0.0.1:8080` or `[::1]:8080`.
fn socket_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!("{text:?} is not a port, an IPv4 address:port or an [IPv6 address]:port")
    })
}

/// A Unix socket's path or `@name`.
fn unix(text: &str, stream: bool) -> Result<Address, String> {
    if let Some(name) = text.strip_prefix('@') {
        if name.is_empty() || name.len() > 107 || name.contains('\0') {
            return Err(format!(
                "{text:?} is not an abstract name (1 to 107 bytes, no NUL)"
            ));
        }
        return Ok(match stream {
            true => Address::Abstract(name.to_owned()),
            false => Address::AbstractDatagram(name.to_owned()),
        });
    }
    // sun_path holds 108 bytes, its NUL included.
    if !text.starts_with('/') || text.len() > 107 || text.contains('\0') || text.ends_with('/') {
        return Err(format!(
            "{text:?} is not an absolute path of a socket (at most 107 bytes) or an @name"
        ));
    }
    let path = PathBuf::from(text);
    if path
        .components()
        .any(|part| matches!(part, std::path::Component::ParentDir))
    {
        return Err(format!("{text:?} goes up with \"..\""));
    }
    Ok(match stream {
        true => Address::Unix(path),
        false => Address::UnixDatagram(path),
    })
}

impl FromStr for Address {
    type Err = String;

    fn from_str(text: &str) -> Result<Address, String> {
        let (kind, rest) = text.split_once(':').ok_or_else(|| {
            format!("{text:?} is not KIND:WHERE (tcp:127.0.0.1:8080, udp:5353, unix:/run/x.sock)")
        })?;
        let port_zero = |addr: SocketAddr| match addr.port() {
            0 => Err(format!("{text:?}: port 0 is not a port to listen on")),
            _ => Ok(addr),
        };
        match kind {
            "tcp" => Ok(Address::Tcp(port_zero(socket_address(rest)?)?)),
            "udp" => Ok(Address::Udp(port_zero(socket_address(rest)?)?)),
            "unix" => unix(rest, true),
            "unix-dgram" => unix(rest, false),
            _ => Err(format!(
                "{kind:?} is not a kind of socket: tcp, udp, unix or unix-dgram"
            )),
        }
    }
}

/// One socket of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener {
    /// Where.
    pub address: Address,
    /// Its name for the program (`LISTEN_FDNAMES`, systemd's `FileDescriptorName=`); the
    /// service's name when absent.
    pub name: Option<String>,
    /// The length of its queue of connections not yet accepted (stream sockets); the
    /// system's maximum (`SOMAXCONN`) when absent.
    pub backlog: Option<u32>,
    /// A Unix socket file's mode (0666 masked by nothing when absent: who may connect is then
    /// the directory's business).
    pub mode: Option<u32>,
    /// A Unix socket file's owner, a user name (systemd's `SocketUser=`); the service
    /// manager's user when absent.
    pub user: Option<String>,
    /// A Unix socket file's group, a group name (systemd's `SocketGroup=`); the service
    /// manager's group when absent.
    pub group: Option<String>,
}

impl Listener {
    /// A listener at `address`, with every default.
    pub fn at(address: Address) -> Listener {
        Listener {
            address,
            name: None,
            backlog: None,
            mode: None,
            user: None,
            group: None,
        }
    }

    /// Checks it; the error says what is wrong, naming the listener.
    pub fn check(&self) -> Result<(), String> {
        let at = &self.address;
        if let Some(name) = &self.name
            && (name.is_empty()
                || name.len() > 255
                || !name.chars().all(|c| c.is_ascii_graphic() && c != ':'))
        {
            return Err(format!(
                "{at}: name {name:?} is not 1 to 255 printable ASCII characters without ':'"
            ));
        }
        if let Some(backlog) = self.backlog {
            if !at.is_stream() {
                return Err(format!("{at}: a backlog is for stream sockets only"));
            }
            if !(1..=65535).contains(&backlog) {
                return Err(format!(
                    "{at}: backlog {backlog} is not between 1 and 65535"
                ));
            }
        }
        for (key, owner) in [("user", &self.user), ("group", &self.group)] {
            let Some(owner) = owner else {
                continue;
            };
            if at.path().is_none() {
                return Err(format!("{at}: a {key} is for Unix socket files only"));
            }
            if owner.is_empty()
                || owner.len() > 256
                || owner.starts_with('-')
                || !owner.chars().all(|c| c.is_ascii_graphic() && c != ':')
            {
                return Err(format!(
                    "{at}: {key} {owner:?} is not a {key} name (printable ASCII, no ':', not \
                     starting with '-')"
                ));
            }
        }
        if let Some(mode) = self.mode {
            if at.path().is_none() {
                return Err(format!("{at}: a mode is for Unix socket files only"));
            }
            if mode > 0o777 {
                return Err(format!("{at}: mode {mode:o} is not between 0 and 0777"));
            }
        }
        Ok(())
    }
}

/// Checks a service's listeners: each one, how many, and no address twice.
pub fn check_all(listeners: &[Listener]) -> Result<(), ModelError> {
    let invalid = |reason: String| ModelError::InvalidField {
        field: "listen",
        reason,
    };
    if listeners.len() > MAX_LISTENERS {
        return Err(invalid(format!(
            "{} listeners; at most {MAX_LISTENERS}",
            listeners.len()
        )));
    }
    for (index, listener) in listeners.iter().enumerate() {
        listener.check().map_err(invalid)?;
        if listeners[..index]
            .iter()
            .any(|other| other.address == listener.address)
        {
            return Err(invalid(format!("{} is given twice", listener.address)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_systemd_writes_them_and_back() {
        for (text, shown) in [
            ("tcp:127.0.0.1:8080", "tcp:127.0.0.1:8080"),
            ("tcp:[::1]:8080", "tcp:[::1]:8080"),
            ("tcp:8080", "tcp:[::]:8080"),
            ("udp:0.0.0.0:5353", "udp:0.0.0.0:5353"),
            ("unix:/run/web.sock", "unix:/run/web.sock"),
            ("unix:@web", "unix:@web"),
            ("unix-dgram:/run/log.sock", "unix-dgram:/run/log.sock"),
            ("unix-dgram:@log", "unix-dgram:@log"),
        ] {
            let address: Address = text.parse().unwrap();
            assert_eq!(address.to_string(), shown);
            assert_eq!(shown.parse::<Address>().unwrap(), address);
        }
        assert!("tcp:8080".parse::<Address>().unwrap().is_stream());
        assert!(!"udp:53".parse::<Address>().unwrap().is_stream());
    }

    #[test]
    fn a_bad_address_is_refused_saying_what_is_wrong() {
        for (text, said) in [
            ("8080", "is not KIND:WHERE"),
            ("sctp:1", "is not a kind of socket"),
            ("tcp:localhost:80", "is not a port"),
            ("tcp:70000", "is not a port"),
            ("tcp:0", "port 0"),
            ("tcp:127.0.0.1:0", "port 0"),
            ("unix:run/x.sock", "absolute path"),
            ("unix:/run/", "absolute path"),
            ("unix:/run/../etc/x", "goes up"),
            ("unix:@", "abstract name"),
        ] {
            let err = text.parse::<Address>().unwrap_err();
            assert!(err.contains(said), "{text}: {err}");
        }
        let long = format!("unix:/{}", "a".repeat(107));
        assert!(long.parse::<Address>().is_err());
    }

    #[test]
    fn per_connection_needs_stream_sockets_a_plain_program_and_bounded_counts() {
        use crate::{ServiceName, ServiceSpec, ServiceType};
        let mut spec = ServiceSpec::new(ServiceName::new("git").unwrap(), "/usr/bin/git");
        spec.accept = "inetd".parse().unwrap();
        let said = |spec: &ServiceSpec| spec.validate().unwrap_err().to_string();
        assert!(said(&spec).contains("needs a socket to accept on"));
        spec.listen = vec![Listener::at("udp:53".parse().unwrap())];
        assert!(said(&spec).contains("udp:[::]:53 is a datagram socket"));
        spec.listen = vec![Listener::at("tcp:9418".parse().unwrap())];
        assert!(spec.validate().is_ok());
        spec.service_type = ServiceType::Notify;
        assert!(said(&spec).contains("plain program (type exec), not notify"));
        spec.service_type = ServiceType::Exec;
        spec.max_connections = 0;
        assert!(said(&spec).contains("invalid max_connections: 0 is not between 1 and 65536"));
        spec.max_connections = 4;
        spec.max_connections_per_source = Some(5);
        assert!(said(&spec).contains("5 is not between 1 and max_connections (4)"));
        assert_eq!("yes".parse::<AcceptMode>(), Ok(AcceptMode::Inetd));
        assert!(
            "maybe"
                .parse::<AcceptMode>()
                .unwrap_err()
                .contains("not an accept mode")
        );
    }

    #[test]
    fn a_listener_is_checked_naming_it() {
        let mut web = Listener::at("tcp:8080".parse().unwrap());
        assert!(web.check().is_ok());
        web.name = Some("has space".into());
        assert!(web.check().unwrap_err().starts_with("tcp:[::]:8080: name"));
        web.name = Some("http".into());
        web.backlog = Some(0);
        assert!(web.check().unwrap_err().contains("backlog 0"));
        web.backlog = Some(128);
        web.mode = Some(0o600);
        assert!(web.check().unwrap_err().contains("Unix socket files only"));
        web.mode = None;
        let mut dns = Listener::at("udp:5353".parse().unwrap());
        dns.backlog = Some(5);
        assert!(dns.check().unwrap_err().contains("stream sockets only"));
        let mut file = Listener::at("unix:/run/web.sock".parse().unwrap());
        file.user = Some("www-data".into());
        file.group = Some("www-data".into());
        assert!(file.check().is_ok());
        file.group = Some("-x".into());
        assert!(
            file.check()
                .unwrap_err()
                .contains("group \"-x\" is not a group name")
        );
        web.user = Some("www-data".into());
        assert!(
            web.check()
                .unwrap_err()
                .contains("a user is for Unix socket files only")
        );
        web.user = None;
        let twice = [web.clone(), Listener::at("tcp:[::]:8080".parse().unwrap())];
        assert!(
            check_all(&twice)
                .unwrap_err()
                .to_string()
                .contains("given twice")
        );
        let many: Vec<Listener> = (1..=65)
            .map(|port| Listener::at(format!("tcp:{port}").parse().unwrap()))
            .collect();
        assert!(
            check_all(&many)
                .unwrap_err()
                .to_string()
                .contains("at most 64")
        );
    }
}
