//! On-demand start (socket activation), end to end: the supervisor binds a service's sockets,
//! starts it on the first connection and hands the sockets over exactly as systemd does,
//! checked against `systemd-socket-activate` (systemd's own activator) with the same probe, with
//! a LISTEN_FDS server from the Python world, under restarts and SIGKILLs with thousands of
//! connections, and as an attacker and a careless operator would use it.

use std::{
    fs,
    io::{Read, Write},
    net::TcpStream,
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::Path,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::supervise::Sup;
use crate::support::{code, eventually, free_port, processes_with, require_program, stderr};

/// Reports what it was handed, systemd's way, to its first client, then exits: whether
/// LISTEN_PID is its own pid, LISTEN_FDS, LISTEN_FDNAMES, and each socket's family, type and
/// whether it listens.
const PROBE: &str = r#"
import os, socket, sys
n = int(os.environ.get("LISTEN_FDS", "0"))
lines = [
    "LISTEN_PID is its own pid: %s" % (os.environ.get("LISTEN_PID") == str(os.getpid())),
    "LISTEN_FDS: %d" % n,
    "LISTEN_FDNAMES: %s" % os.environ.get("LISTEN_FDNAMES"),
]
socks = [socket.socket(fileno=3 + i) for i in range(n)]
for s in socks:
    listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    lines.append("fd %d: %s %s listening=%d" % (s.fileno(), s.family.name, s.type.name, listening))
client, _ = socks[0].accept()
client.sendall(("\n".join(lines) + "\n").encode())
client.close()
"#;

/// Serves "ok\n" to each connection on the socket it was handed (fd 3), one at a time; SIGTERM
/// ends it between two connections, never in one (a signal only wakes the select).
const ECHO: &str = r#"
import os, select, signal, socket
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
signal.signal(signal.SIGTERM, lambda *_: None)
s = socket.socket(fileno=3)
while True:
    ready, _, _ = select.select([s, r], [], [])
    if r in ready:
        break
    client, _ = s.accept()
    client.sendall(b"ok\n")
    client.close()
"#;

/// A python script in `dir`, and its path.
fn script(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// All a server says to a client that connects to `connect` and sends nothing.
fn read_all(mut stream: impl Read) -> String {
    let mut said = String::new();
    stream.read_to_string(&mut said).unwrap();
    said
}

fn tcp(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// The probe's report under systemd-socket-activate listening on `listen` (its `-l` words)
/// with `names`, as the first client reads it.
fn under_socket_activate(
    probe: &str,
    listen: &[String],
    names: &str,
    connect: impl Fn() -> String,
) -> String {
    let mut command = Command::new("systemd-socket-activate");
    for address in listen {
        command.args(["-l", address]);
    }
    let mut activator = command
        .arg(format!("--fdname={names}"))
        .args(["python3", probe])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says "Listening on …" once bound.
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
    let report = connect();
    let _ = activator.wait();
    report
}

/// The report with the probe's variable parts (none but the addresses, which it does not
/// print) as they are: the two must be equal.
#[test]
fn the_sockets_are_handed_over_as_systemd_socket_activate_hands_them() {
    if !require_program(
        "socket activation parity",
        "/usr/bin/systemd-socket-activate",
    ) {
        return;
    }
    let sup = Sup::new("activate-parity");
    let probe = script(&sup.dir.join(""), "probe.py", PROBE);
    let (ours, theirs) = (free_port(), free_port());
    let sock = |who: &str| {
        sup.dir
            .join(&format!("{who}.sock"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    // TCP alone, then TCP and a Unix socket together, each with its name.
    let definition = format!(
        "program = \"python3\"\nargs = [\"{probe}\"]\n\
         [[listen]]\naddress = \"tcp:127.0.0.1:{ours}\"\nname = \"web\"\n\
         [[listen]]\naddress = \"unix:{}\"\nname = \"admin\"\n",
        sock("ours")
    );
    let file = sup.dir.join("probe.toml");
    fs::write(&file, definition).unwrap();
    sup.ok(&["install", "probe", "--file", file.to_str().unwrap()]);
    let status = sup.status("probe");
    assert_eq!(status["state"], "listening", "{status}");
    assert!(
        processes_with(&probe).is_empty(),
        "started before a connection"
    );
    let ours_said = read_all(tcp(ours));
    let theirs_said = under_socket_activate(
        &probe,
        &[format!("127.0.0.1:{theirs}"), sock("theirs")],
        "web:admin",
        || read_all(tcp(theirs)),
    );
    assert_eq!(ours_said, theirs_said);
    assert!(
        ours_said.starts_with("LISTEN_PID is its own pid: True\nLISTEN_FDS: 2\n"),
        "{ours_said}"
    );
    assert!(
        ours_said.contains("LISTEN_FDNAMES: web:admin\n"),
        "{ours_said}"
    );
    assert!(
        ours_said.contains("fd 3: AF_INET SOCK_STREAM listening=1\n"),
        "{ours_said}"
    );
    assert!(
        ours_said.contains("fd 4: AF_UNIX SOCK_STREAM listening=1\n"),
        "{ours_said}"
    );
    // Its own end (exit 0): it listens again, and the next connection starts it again.
    assert!(eventually(Duration::from_secs(20), || sup.status("probe")
        ["state"]
        == "listening"));
    // A connection on the second socket starts it as well (the probe answers on its first:
    // this one waits in the second's queue).
    let admin = UnixStream::connect(sock("ours")).unwrap();
    assert!(eventually(Duration::from_secs(20), || sup.status("probe")
        ["state"]
        != "listening"));
    assert!(read_all(tcp(ours)).contains("LISTEN_FDS: 2"));
    drop(admin);
    let events = sup.ok(&["events", "probe"]);
    for said in [
        &format!(
            "probe: listening on tcp:127.0.0.1:{ours}, unix:{}: a connection starts it",
            sock("ours")
        ),
        &format!("probe: starting: a connection on tcp:127.0.0.1:{ours}"),
        &format!("probe: starting: a connection on unix:{}", sock("ours")),
    ] {
        assert!(events.contains(said.as_str()), "{said} in {events}");
    }
    sup.ok(&["uninstall", "probe"]);
    assert!(
        !Path::new(&sock("ours")).exists(),
        "its socket file is removed with it"
    );
}

/// A LISTEN_FDS server from the Python world (socketserver on `socket.fromfd`, as the Python
/// docs show for systemd), started lazily by its first request, stopped back to listening,
/// started again by the next, nothing of it left once uninstalled.
#[test]
fn a_python_http_server_starts_on_its_first_request_and_listens_again_when_stopped() {
    let sup = Sup::new("activate-http");
    let server = script(
        &sup.dir.join(""),
        "lazyhttp.py",
        r#"
import http.server, socket
class Handed(http.server.HTTPServer):
    def server_bind(self):
        self.socket = socket.fromfd(3, socket.AF_INET, socket.SOCK_STREAM)
        self.server_address = self.socket.getsockname()
    def server_activate(self):
        pass
Handed(("", 0), http.server.SimpleHTTPRequestHandler).serve_forever()
"#,
    );
    let port = free_port();
    let listen = format!("tcp:127.0.0.1:{port}");
    sup.ok(&[
        "install",
        "lazy",
        "--listen",
        &listen,
        "--chdir",
        &sup.dir.str(""),
        "--",
        "python3",
        &server,
    ]);
    assert!(processes_with(&server).is_empty());
    let get = || {
        let mut stream = tcp(port);
        stream
            .write_all(b"GET /lazyhttp.py HTTP/1.0\r\n\r\n")
            .unwrap();
        read_all(stream)
    };
    let answer = get();
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer}");
    assert!(answer.contains("class Handed"), "{answer}");
    assert_eq!(sup.status("lazy")["state"], "running");
    let pid = sup.status("lazy")["pid"].as_i64().unwrap() as i32;
    sup.ok(&["stop", "lazy"]);
    assert_eq!(sup.status("lazy")["state"], "listening");
    assert!(crate::support::is_gone(pid), "its process is gone");
    assert!(get().starts_with("HTTP/1.0 200 OK"));
    sup.ok(&["uninstall", "lazy"]);
    assert!(processes_with(&server).is_empty(), "nothing of it is left");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "its socket is closed"
    );
}

/// 10,000 connections one after the other while the service is restarted and SIGKILLed: the
/// socket never refuses one (it stays bound; what comes meanwhile waits in its queue). A
/// SIGKILL may cut the one connection its program was serving, no more; a restart (SIGTERM,
/// which this program takes between connections) none.
#[test]
fn no_connection_is_refused_while_the_service_restarts_or_is_killed() {
    let sup = Sup::new("activate-load");
    let echo = script(&sup.dir.join(""), "echo.py", ECHO);
    let port = free_port();
    sup.ok(&[
        "install",
        "echo",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--",
        "python3",
        &echo,
    ]);
    const CONNECTIONS: usize = 10_000;
    let done = Arc::new(AtomicUsize::new(0));
    let client = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut refused, mut cut) = (0, 0);
            for _ in 0..CONNECTIONS {
                match TcpStream::connect(("127.0.0.1", port)) {
                    Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => refused += 1,
                    Err(err) => panic!("connect: {err}"),
                    Ok(mut stream) => {
                        stream
                            .set_read_timeout(Some(Duration::from_secs(30)))
                            .unwrap();
                        let mut said = String::new();
                        match stream.read_to_string(&mut said) {
                            Ok(_) if said == "ok\n" => {}
                            _ => cut += 1,
                        }
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
            (refused, cut)
        })
    };
    let mut kills = 0;
    for round in 1..=6 {
        // Spread over the run by the client's progress.
        assert!(eventually(Duration::from_secs(120), || {
            done.load(Ordering::SeqCst) >= round * CONNECTIONS / 8
        }));
        if round % 2 == 0 {
            sup.ok(&["restart", "echo"]);
        } else if let Some(pid) = sup.status("echo")["pid"].as_i64() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            kills += 1;
        }
    }
    let (refused, cut) = client.join().unwrap();
    assert_eq!(refused, 0, "connections refused");
    assert!(cut <= kills, "{cut} connections cut by {kills} SIGKILLs");
    let events = sup.ok(&["events", "echo", "-n", "1000"]);
    assert!(events.contains("was killed by SIGKILL"), "{events}");
    assert!(events.contains("starting: a connection on"), "{events}");
    sup.ok(&["uninstall", "echo"]);
    assert!(processes_with(&echo).is_empty());
}

/// What a careless operator or an attacker tries: an address that is not one, a port another
/// process holds, a symlink planted where the socket goes, a socket file in use: each refused
/// at install naming the listener, with nothing installed and the planted file untouched; a
/// socket file's mode as the definition says; and a flood of connections that never send a
/// byte leaves the supervisor answering.
#[test]
fn bad_addresses_ports_in_use_and_planted_paths_are_refused_at_install() {
    let sup = Sup::new("activate-hostile");
    let out = sup.run(&[
        "install",
        "bad",
        "--listen",
        "tcp:localhost:80",
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'tcp:localhost:80'"),
        "{}",
        stderr(&out)
    );
    // A port held by another process.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let out = sup.run(&[
        "install",
        "busy",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "service busy: tcp:127.0.0.1:{port}: cannot bind it: Address already in use"
        )),
        "{}",
        stderr(&out)
    );
    assert!(
        !sup.dir.join("state/services/busy.toml").exists(),
        "nothing half-installed"
    );
    drop(held);
    // A symlink planted where the socket goes: never followed, never removed.
    let target = sup.dir.join("precious");
    fs::write(&target, "keep me").unwrap();
    let planted = sup.dir.join("planted.sock");
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let out = sup.run(&[
        "install",
        "planted",
        "--listen",
        &format!("unix:{}", planted.display()),
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exists and is not a socket"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    // A socket file another process listens on.
    let theirs = sup.dir.join("theirs.sock");
    let _listening = std::os::unix::net::UnixListener::bind(&theirs).unwrap();
    let out = sup.run(&[
        "install",
        "taken",
        "--listen",
        &format!("unix:{}", theirs.display()),
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is in use: a process listens on it"),
        "{}",
        stderr(&out)
    );
    // A stale one (its process gone) is replaced, with the mode the definition gives.
    let stale = sup.dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let file = sup.dir.join("private.toml");
    fs::write(
        &file,
        format!(
            "program = \"/bin/true\"\n[[listen]]\naddress = \"unix:{}\"\nmode = \"0600\"\n",
            stale.display()
        ),
    )
    .unwrap();
    sup.ok(&["install", "private", "--file", file.to_str().unwrap()]);
    let mode = fs::metadata(&stale).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A flood that never sends a byte: the supervisor still answers.
    let port = free_port();
    let echo = script(&sup.dir.join(""), "echo.py", ECHO);
    sup.ok(&[
        "install",
        "flooded",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--",
        "python3",
        &echo,
    ]);
    let flood: Vec<TcpStream> = (0..500).map(|_| tcp(port)).collect();
    let status = sup.status("flooded");
    assert!(
        matches!(status["state"].as_str(), Some("starting" | "running")),
        "{status}"
    );
    drop(flood);
    assert_eq!(read_all(tcp(port)), "ok\n");
    sup.ok(&["uninstall", "flooded"]);
}
