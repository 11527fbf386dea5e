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

/// Installs `name`, the echo server ([`ECHO`]) on a free port of 127.0.0.1 with `extra`
/// flags: the script's path, and the port.
fn echo_service(sup: &Sup, name: &str, extra: &[&str]) -> (String, u16) {
    let echo = script(&sup.dir.join(""), "echo.py", ECHO);
    let port = free_port();
    let listen = format!("tcp:127.0.0.1:{port}");
    let mut args = vec!["install", name, "--listen", &listen];
    args.extend_from_slice(extra);
    args.extend(["--", "python3", &echo]);
    sup.ok(&args);
    (echo, port)
}

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
    flags: &[&str],
    names: &str,
    connect: impl Fn() -> String,
) -> String {
    let mut command = Command::new("systemd-socket-activate");
    for address in listen {
        command.args(["-l", address]);
    }
    command.args(flags);
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
    // With --accept it takes connections on until it is stopped.
    let _ = activator.kill();
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
        &[],
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
        crate::support::LAZY_HTTP_SERVER,
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
        let from = stream.local_addr().unwrap();
        stream
            .write_all(b"GET /lazyhttp.py HTTP/1.0\r\n\r\n")
            .unwrap();
        (from, read_all(stream))
    };
    let (from, answer) = get();
    assert!(answer.starts_with("HTTP/1.0 200 OK"), "{answer}");
    assert!(answer.contains("class Handed"), "{answer}");
    assert_eq!(sup.status("lazy")["state"], "running");
    // The event log names the client whose connection started it (seen waiting in the
    // listener's queue, never accepted by the supervisor).
    let events = sup.ok(&["events", "lazy"]);
    assert!(
        events.contains(&format!("starting: a connection on {listen} from {from}")),
        "{events}"
    );
    let pid = sup.status("lazy")["pid"].as_i64().unwrap() as i32;
    sup.ok(&["stop", "lazy"]);
    assert_eq!(sup.status("lazy")["state"], "listening");
    assert!(crate::support::is_gone(pid), "its process is gone");
    assert!(get().1.starts_with("HTTP/1.0 200 OK"));
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
    let (echo, port) = echo_service(&sup, "echo", &[]);
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
/// process holds (one of another user's too), a symlink planted where the socket goes, a socket file in use: each refused
/// at install naming the listener, with nothing installed and the planted file untouched; a
/// socket file's mode as the definition says; and a flood of connections that never send a
/// byte leaves the supervisor answering.
#[test]
fn bad_addresses_ports_in_use_and_planted_paths_are_refused_at_install() {
    let sup = Sup::new("activate-hostile");
    // `install NAME --listen LISTEN -- /bin/true` fails with `exit`, saying `says`.
    let refused = |name: &str, listen: &str, exit: i32, says: &str| {
        let out = sup.run(&["install", name, "--listen", listen, "--", "/bin/true"]);
        assert_eq!(code(&out), exit, "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(
            !sup.dir
                .join(&format!("state/services/{name}.toml"))
                .exists(),
            "nothing half-installed"
        );
    };
    refused("bad", "tcp:localhost:80", 2, "'tcp:localhost:80'");
    // A port held by another process.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let busy = format!("tcp:127.0.0.1:{port}");
    refused(
        "busy",
        &busy,
        1,
        &format!("service busy: {busy}: cannot bind it: Address already in use"),
    );
    drop(held);
    // A port another user's process holds (nobody's, as a daemon's would be).
    if crate::support::require_root("a port another user holds") {
        let port = free_port();
        let script = format!(
            "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\n\
             s.listen()\ntime.sleep(600)\n"
        );
        let mut theirs = crate::support::as_nobody("/usr/bin/python3")
            .args(["-c", &script])
            .spawn()
            .unwrap();
        assert!(
            eventually(Duration::from_secs(10), || crate::support::listening(port)),
            "nobody's server did not listen"
        );
        let address = format!("tcp:127.0.0.1:{port}");
        refused(
            "theirs",
            &address,
            1,
            &format!("{address}: cannot bind it: Address already in use"),
        );
        let _ = theirs.kill();
        let _ = theirs.wait();
    }
    // A symlink planted where the socket goes: never followed, never removed.
    let target = sup.dir.join("precious");
    fs::write(&target, "keep me").unwrap();
    let planted = sup.dir.join("planted.sock");
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    refused(
        "planted",
        &format!("unix:{}", planted.display()),
        1,
        "exists and is not a socket",
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
    refused(
        "taken",
        &format!("unix:{}", theirs.display()),
        1,
        "is in use: a process listens on it",
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
    // A socket file given to a user and a group (root's supervisor may), and one given to a
    // user there is none of: refused naming it, with no file left behind.
    if crate::support::require_root("a socket file's owner") {
        use std::os::unix::fs::MetadataExt;
        let owned = sup.dir.join("owned.sock");
        let definition = |user: &str| {
            format!(
                "program = \"/bin/true\"\n[[listen]]\naddress = \"unix:{}\"\nmode = \"0660\"\n\
                 user = \"{user}\"\ngroup = \"nogroup\"\n",
                owned.display()
            )
        };
        fs::write(&file, definition("nobody")).unwrap();
        sup.ok(&["install", "owned", "--file", file.to_str().unwrap()]);
        let meta = fs::symlink_metadata(&owned).unwrap();
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (nobody.uid.as_raw(), nogroup.gid.as_raw(), 0o660)
        );
        sup.ok(&["uninstall", "owned"]);
        fs::write(&file, definition("no-such-user-here")).unwrap();
        let out = sup.run(&["install", "owned", "--file", file.to_str().unwrap()]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("user \"no-such-user-here\" does not exist"),
            "{}",
            stderr(&out)
        );
        assert!(!owned.exists(), "no socket file is left");
        assert!(!sup.dir.join("state/services/owned.toml").exists());
    }
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

/// Reports, per connection, what an instance was handed: the LISTEN_* variables, and the
/// connection (at fd 3, or as its stdin, stdout being the same connection).
const CONNECTION_PROBE: &str = r#"
import os, socket
lines = ["%s: %s" % (var, os.environ.get(var)) for var in ["LISTEN_FDS", "LISTEN_FDNAMES"]]
lines.append("LISTEN_PID is its own pid: %s" % (os.environ.get("LISTEN_PID") == str(os.getpid())))
handed = int(os.environ.get("LISTEN_FDS", "0"))
conn = socket.socket(fileno=3 if handed else 0)
listening = conn.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
lines.append("connection: %s %s listening=%d fd=%d" % (conn.family.name, conn.type.name, listening, conn.fileno()))
if not handed:
    out = socket.socket(fileno=1)
    lines.append("stdout is the connection: %s" % (out.getpeername() == conn.getpeername()))
    out.detach()
conn.sendall(("\n".join(lines) + "\n").encode())
conn.close()
"#;

/// Per connection, inetd style and at fd 3: each instance is handed its connection as
/// `systemd-socket-activate --accept [--inetd]` hands it, plus systemd's REMOTE_ADDR and
/// UCSPI's variables.
#[test]
fn each_connection_is_handed_over_as_systemd_socket_activate_accept_hands_it() {
    if !require_program("accept parity", "/usr/bin/systemd-socket-activate") {
        return;
    }
    let sup = Sup::new("activate-accept-parity");
    let probe = script(&sup.dir.join(""), "cprobe.py", CONNECTION_PROBE);
    for (mode, flags) in [("inetd", &["-a", "--inetd"][..]), ("fd", &["-a"][..])] {
        let (ours, theirs) = (free_port(), free_port());
        let file = sup.dir.join(&format!("{mode}.toml"));
        fs::write(
            &file,
            format!(
                "program = \"python3\"\nargs = [\"{probe}\"]\naccept = \"{mode}\"\n\
                 [[listen]]\naddress = \"tcp:127.0.0.1:{ours}\"\nname = \"web\"\n"
            ),
        )
        .unwrap();
        sup.ok(&["install", mode, "--file", file.to_str().unwrap()]);
        let ours_said = read_all(tcp(ours));
        let listen = [format!("127.0.0.1:{theirs}")];
        let theirs_said =
            under_socket_activate(&probe, &listen, flags, "web", || read_all(tcp(theirs)));
        assert_eq!(ours_said, theirs_said, "accept = {mode}");
    }
    // What systemd's manager and UCSPI add: who connected, and where.
    let port = free_port();
    sup.ok(&[
        "install", "env", "--listen", &format!("tcp:127.0.0.1:{port}"), "--accept", "--",
        "/bin/sh", "-c", "echo $PROTO $REMOTE_ADDR:$REMOTE_PORT $TCPREMOTEIP:$TCPREMOTEPORT $TCPLOCALIP:$TCPLOCALPORT",
    ]);
    let stream = tcp(port);
    let mine = stream.local_addr().unwrap();
    assert_eq!(
        read_all(stream),
        format!("TCP {mine} {mine} 127.0.0.1:{port}\n"),
    );
    let status = sup.status("env");
    assert_eq!(status["state"], "listening");
    assert!(eventually(
        Duration::from_secs(10),
        || sup.status("env")["sockets"]["instances"] == 0
    ));
    assert_eq!(sup.status("env")["sockets"]["accepted"], 1);
    let events = sup.ok(&["events", "env"]);
    assert!(events.contains("env: started PID "), "{events}");
    assert!(
        events.contains(&format!("for a connection from {mine}")),
        "{events}"
    );
    assert!(
        events.contains(&format!(
            "(a connection from {mine}) ended with exit code 0"
        )),
        "{events}"
    );
}

/// The limits: beyond max_connections, and beyond max_connections_per_source for one address,
/// a connection is closed at once and counted; the instances are the service's, and a stop
/// ends them and takes no connection (one made meanwhile waits, and is served at the start).
#[test]
fn instances_are_limited_counted_and_stopped_with_the_service() {
    let sup = Sup::new("activate-limits");
    let port = free_port();
    sup.ok(&[
        "install",
        "cat",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--max-connections",
        "2",
        "--",
        "/bin/cat",
    ]);
    let running = || sup.status("cat")["sockets"]["instances"].as_u64().unwrap();
    let mut first = tcp(port);
    first.write_all(b"one\n").unwrap();
    let mut second = tcp(port);
    second.write_all(b"two\n").unwrap();
    assert!(eventually(Duration::from_secs(10), || running() == 2));
    let third = tcp(port);
    assert_eq!(
        read_all(third),
        "",
        "closed at once, beyond max_connections"
    );
    let status = sup.status("cat");
    assert_eq!(
        (
            status["sockets"]["accepted"].as_u64(),
            status["sockets"]["refused"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let said = sup.ok(&["status", "cat"]);
    assert!(
        said.contains("an instance per connection (inetd): 2 running; 2 accepted, 1 refused"),
        "{said}"
    );
    assert!(
        sup.ok(&["events", "cat"])
            .contains("refused a connection from 127.0.0.1:")
    );
    // A stop ends them (cat would wait for its input forever) and takes no new connection.
    let instances: Vec<i32> = crate::support::processes_with("/bin/cat")
        .into_iter()
        .filter(|pid| fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "cat\n"))
        .collect();
    assert_eq!(instances.len(), 2, "{instances:?}");
    sup.ok(&["stop", "cat"]);
    assert!(instances.iter().all(|pid| crate::support::is_gone(*pid)));
    assert_eq!(sup.status("cat")["state"], "stopped");
    let mut waiting = tcp(port);
    waiting.write_all(b"waited\n").unwrap();
    waiting.shutdown(std::net::Shutdown::Write).unwrap();
    sup.ok(&["start", "cat"]);
    assert_eq!(
        read_all(waiting),
        "waited\n",
        "served once started, not refused"
    );
    drop((first, second));
    // One address, at most one instance.
    sup.ok(&["uninstall", "cat"]);
    let port = free_port();
    sup.ok(&[
        "install",
        "one",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--max-connections-per-source",
        "1",
        "--",
        "/bin/cat",
    ]);
    let held = tcp(port);
    assert!(eventually(
        Duration::from_secs(10),
        || sup.status("one")["sockets"]["instances"] == 1
    ));
    assert_eq!(read_all(tcp(port)), "", "a second from the same address");
    assert_eq!(sup.status("one")["sockets"]["refused"], 1);
    drop(held);
    sup.ok(&["uninstall", "one"]);
}

/// `git daemon --inetd`, a program written for inetd: a real `git clone git://…` through it.
#[test]
fn git_daemon_in_inetd_mode_serves_a_real_clone() {
    let daemon = "/usr/lib/git-core/git-daemon";
    if !require_program("git daemon --inetd", daemon) {
        return;
    }
    let sup = Sup::new("activate-git");
    let base =
        crate::support::git_repository(&sup.dir.join(""), "served by git daemon under svckit\n");
    let port = free_port();
    sup.ok(&[
        "install",
        "git",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--",
        daemon,
        "--inetd",
        "--export-all",
        "--log-destination=stderr",
        "--verbose",
        &format!("--base-path={}", base.display()),
    ]);
    assert_eq!(
        crate::support::clone_readme(port, &sup.dir.join("clone")),
        "served by git daemon under svckit\n"
    );
    assert!(
        eventually(Duration::from_secs(10), || sup
            .log("git.stderr")
            .contains("Request upload-pack for '/project.git'")),
        "{}",
        sup.log("git.stderr")
    );
    sup.ok(&["uninstall", "git"]);
    assert!(processes_with(daemon).is_empty(), "nothing of it is left");
}

/// `rsync --daemon` started by inetd (its stdin a socket): a real transfer of a module's file.
#[test]
fn rsync_daemon_in_inetd_mode_serves_a_real_transfer() {
    if !require_program("rsync --daemon", "/usr/bin/rsync") {
        return;
    }
    let sup = Sup::new("activate-rsync");
    let data = sup.dir.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("file.txt"), "moved by rsync under svckit\n").unwrap();
    let config = sup.dir.join("rsyncd.conf");
    fs::write(
        &config,
        format!(
            "use chroot = no\nread only = yes\n[data]\npath = {}\n",
            data.display()
        ),
    )
    .unwrap();
    let port = free_port();
    sup.ok(&[
        "install",
        "rsync",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--",
        "/usr/bin/rsync",
        "--daemon",
        &format!("--config={}", config.display()),
    ]);
    let copy = sup.dir.join("copy.txt");
    let out = Command::new("rsync")
        .arg(format!("rsync://127.0.0.1:{port}/data/file.txt"))
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&copy).unwrap(),
        "moved by rsync under svckit\n"
    );
    sup.ok(&["uninstall", "rsync"]);
    assert!(processes_with(&config.display().to_string()).is_empty());
}

/// `sshd -i`, OpenSSH's inetd mode: a real ssh session through an instance per connection.
#[test]
fn sshd_in_inetd_mode_serves_a_real_session() {
    let Some((_sshd, sup, port)) =
        crate::daemons::sshd_test("sshd_in_inetd_mode_serves_a_real_session", "activate-sshd")
    else {
        return;
    };
    let options = crate::daemons::sshd_setup(&sup.dir.join(""), port);
    let mut args: Vec<String> = [
        "install",
        "sshd",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--",
        "/usr/sbin/sshd",
        "-i",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    args.extend(options);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sup.ok(&args);
    let out = crate::daemons::ssh(&sup.dir.join(""), port, "echo hello from $SSH_CONNECTION")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("hello from 127.0.0.1 "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(eventually(
        Duration::from_secs(10),
        || sup.status("sshd")["sockets"]["instances"] == 0
    ));
    sup.ok(&["uninstall", "sshd"]);
}

/// idle_stop: a service without a connection for that long is stopped and listens again, and
/// the next connection starts it; 1,000 connections at random moments around the idle time,
/// through hundreds of stops and starts, none lost (a connection that comes while it stops
/// waits in the socket's queue for the next start).
#[test]
fn an_idle_service_is_stopped_and_the_next_connection_starts_it_with_none_lost() {
    let sup = Sup::new("activate-idle");
    let (echo, port) = echo_service(&sup, "idle", &["--idle-stop", "50ms"]);
    let mut lost = 0;
    // A fixed pseudo-random sequence of pauses, 0 to 119 ms, so runs are alike.
    let mut seed: u64 = 0x5eed;
    for _ in 0..1000 {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let mut said = String::new();
                let mut stream = stream;
                if stream.read_to_string(&mut said).is_err() || said != "ok\n" {
                    lost += 1;
                }
            }
            Err(_) => lost += 1,
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis((seed >> 33) % 120));
    }
    assert_eq!(lost, 0, "connections lost");
    let events = sup.ok(&["events", "idle", "-n", "100000"]);
    let stops = events.matches("stopping (no connection for 50ms)").count();
    let starts = events.matches("starting: a connection on").count();
    assert!(stops >= 100, "{stops} idle stops");
    assert!(starts >= stops, "{starts} starts, {stops} stops");
    sup.ok(&["uninstall", "idle"]);
    assert!(processes_with(&echo).is_empty());
}

/// The supervisor SIGKILLed while an activated program runs: the program keeps serving on the
/// sockets it was handed; the next supervisor adopts it, and once it is stopped binds the
/// sockets again and listens, the next connection starting it.
#[test]
fn an_activated_program_outlives_a_supervisor_sigkill_and_the_next_one_listens_after_it() {
    let sup = Sup::new("activate-sigkill");
    let (echo, port) = echo_service(&sup, "e", &[]);
    assert_eq!(read_all(tcp(port)), "ok\n");
    let pid = sup.status("e")["pid"].as_i64().unwrap();
    let supervisor = sup.supervisor_pid().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        crate::support::is_gone(supervisor)
    }));
    assert_eq!(read_all(tcp(port)), "ok\n", "served with no supervisor");
    sup.bring_up();
    assert_eq!(sup.status("e")["pid"].as_i64(), Some(pid), "adopted");
    sup.ok(&["stop", "e"]);
    assert_eq!(sup.status("e")["state"], "listening");
    assert_eq!(read_all(tcp(port)), "ok\n");
    assert_ne!(sup.status("e")["pid"].as_i64(), Some(pid));
    sup.ok(&["uninstall", "e"]);
    assert!(processes_with(&echo).is_empty(), "nothing of it is left");
}

/// A listening service reinstalled on another address: the old socket is closed, the new one
/// bound and watched at once (its first connection starts the program).
#[test]
fn a_listening_service_moved_to_another_port_listens_there() {
    let sup = Sup::new("activate-moved");
    let (echo, old) = echo_service(&sup, "moved", &[]);
    assert_eq!(sup.status("moved")["state"], "listening");
    let new = free_port();
    sup.ok(&[
        "install",
        "moved",
        "--force",
        "--listen",
        &format!("tcp:127.0.0.1:{new}"),
        "--",
        "python3",
        &echo,
    ]);
    assert_eq!(sup.status("moved")["state"], "listening");
    assert!(
        TcpStream::connect(("127.0.0.1", old)).is_err(),
        "the old socket is closed"
    );
    assert_eq!(read_all(tcp(new)), "ok\n");
    sup.ok(&["uninstall", "moved"]);
    assert!(processes_with(&echo).is_empty());
}

/// A listening service reinstalled on a port another process holds: the install is refused,
/// naming the port, and the service goes on listening where it was (its first connection
/// there starts it). (The old socket was closed before the new one was bound, and was neither
/// bound nor watched again: the connection waited forever.)
#[test]
fn regression_a_refused_move_to_a_busy_port_leaves_the_service_listening_where_it_was() {
    let sup = Sup::new("activate-busy-move");
    let (echo, old) = echo_service(&sup, "stays", &[]);
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().port();
    let out = sup.run(&[
        "install",
        "stays",
        "--force",
        "--listen",
        &format!("tcp:127.0.0.1:{busy}"),
        "--",
        "python3",
        &echo,
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot bind it: Address already in use"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sup.status("stays")["state"], "listening");
    assert_eq!(read_all(tcp(old)), "ok\n");
    sup.ok(&["uninstall", "stays"]);
    assert!(processes_with(&echo).is_empty());
}

/// Stops what an xinetd test left: its entry (xinetd told), and xinetd when the test started it.
struct XinetdCleanup {
    entry: std::path::PathBuf,
    started: bool,
}

impl Drop for XinetdCleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.entry);
        if self.started {
            let _ = Command::new("/etc/init.d/xinetd").arg("stop").status();
        } else if let Ok(pid) = fs::read_to_string("/run/xinetd.pid") {
            let _ = Command::new("kill")
                .args(["-s", "HUP", pid.trim()])
                .status();
        }
    }
}

/// Under SysV init a per-connection service is an xinetd entry (the original design's passive
/// daemon, literally): xinetd runs `git daemon --inetd` for each real clone; stop switches the
/// entry off and ends the instances, start switches it on, uninstall leaves nothing; what
/// xinetd cannot do is refused by name with nothing written.
#[test]
fn under_sysv_a_per_connection_service_is_an_xinetd_entry_that_serves_a_real_clone() {
    let daemon = "/usr/lib/git-core/git-daemon";
    if !crate::support::require_root("xinetd entry")
        || !require_program("xinetd entry", "/usr/sbin/xinetd")
        || !require_program("git daemon --inetd", daemon)
    {
        return;
    }
    let dir = crate::support::TempDir::new("xinetd");
    let state = dir.str("state");
    let name = format!("svckit-it-xinetd-{}", std::process::id());
    let entry = Path::new("/etc/xinetd.d").join(&name);
    let running = || {
        fs::read_to_string("/run/xinetd.pid").is_ok_and(|pid| {
            fs::read_to_string(format!("/proc/{}/comm", pid.trim()))
                .is_ok_and(|comm| comm.trim() == "xinetd")
        })
    };
    let started = !running();
    let _cleanup = XinetdCleanup {
        entry: entry.clone(),
        started,
    };
    if started {
        // As a SysV host starts it: Debian's init script (-stayalive, /run/xinetd.pid).
        let ok = Command::new("/etc/init.d/xinetd")
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        assert!(
            eventually(Duration::from_secs(10), running),
            "xinetd did not start"
        );
    }
    // `--state-dir` before the program's `--`.
    let svckit = |args: &[&str]| {
        let at = args
            .iter()
            .position(|arg| *arg == "--")
            .unwrap_or(args.len());
        crate::support::svckit()
            .args(&args[..at])
            .args(["--state-dir", &state])
            .args(&args[at..])
            .output()
            .unwrap()
    };
    let status = |name: &str| -> serde_json::Value {
        let out = svckit(&["status", "--json", name]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{err}: {out:?}"))
    };
    let base = crate::support::git_repository(&dir.join(""), "served by git daemon under xinetd\n");
    let port = free_port();
    let base_path = format!("--base-path={}", base.display());
    let install = |name: &str, accept: &[&str]| {
        let listen = format!("tcp:127.0.0.1:{port}");
        let mut args = vec!["install", name, "--backend", "sysv", "--listen", &listen];
        args.extend_from_slice(accept);
        args.extend(["--", daemon, "--inetd", "--export-all", &base_path]);
        svckit(&args)
    };

    // A program that accepts itself wants LISTEN_FDS, which xinetd does not hand over.
    let refused = install(&name, &[]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("listen"), "{}", stderr(&refused));
    assert!(!entry.exists(), "nothing is written");

    let installed = install(&name, &["--accept"]);
    assert_eq!(code(&installed), 0, "{}", stderr(&installed));
    let text = fs::read_to_string(&entry).unwrap();
    assert!(text.contains("\twait        = no\n"), "{text}");
    assert!(
        crate::support::listening(port),
        "xinetd listens once install returns"
    );
    let shown = status(&name);
    assert_eq!(shown["backend"], "sysv", "{shown}");
    assert_eq!(shown["state"], "running", "{shown}");
    assert_eq!(shown["sockets"]["accept"], "inetd", "{shown}");
    assert_eq!(
        shown["sockets"]["listen"][0],
        format!("tcp:127.0.0.1:{port}")
    );
    assert_eq!(
        crate::support::clone_readme(port, &dir.join("clone-1")),
        "served by git daemon under xinetd\n"
    );

    // A stop switches the entry off and ends the instances (one waits for a client that
    // says nothing); a start switches it on again.
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(
        eventually(
            Duration::from_secs(10),
            || status(&name)["sockets"]["instances"] == 1
        ),
        "{}",
        status(&name)
    );
    // (xinetd gives it an argv[0] of its own: its arguments name it.)
    let instance = processes_with(&base_path);
    assert_eq!(instance.len(), 1, "{instance:?}");
    let stopped = svckit(&["stop", &name]);
    assert_eq!(code(&stopped), 0, "{}", stderr(&stopped));
    assert!(
        crate::support::is_gone(instance[0]),
        "stop ended the instance"
    );
    assert!(!crate::support::listening(port), "xinetd listens no more");
    assert_eq!(status(&name)["state"], "stopped");
    let again = svckit(&["start", &name]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(
        crate::support::clone_readme(port, &dir.join("clone-2")),
        "served by git daemon under xinetd\n"
    );
    let removed = svckit(&["uninstall", &name]);
    assert_eq!(code(&removed), 0, "{}", stderr(&removed));
    assert!(!entry.exists());
    assert!(!crate::support::listening(port), "its port is closed");
    assert!(
        eventually(Duration::from_secs(10), || processes_with(&base_path)
            .is_empty()),
        "nothing of it is left: {:?}",
        processes_with(&base_path)
    );

    // Where xinetd is not installed (an image without /etc/xinetd.d): refused by name.
    let image = dir.join("image");
    fs::create_dir_all(image.join("etc/init.d")).unwrap();
    let root = image.display().to_string();
    let listen = format!("tcp:127.0.0.1:{port}");
    let refused = svckit(&[
        "install",
        "imaged",
        "--backend",
        "sysv",
        "--root",
        &root,
        "--listen",
        &listen,
        "--accept",
        "--",
        daemon,
        "--inetd",
    ]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("xinetd is not installed"),
        "{}",
        stderr(&refused)
    );
    assert!(!image.join("etc/init.d/imaged").exists());
}

/// Half-open clients, as an attacker holds them: per connection, instances of a program that
/// writes without end to clients that never read (some of which closed their side after half a
/// request) fill max_connections and block in write; the next connection is refused, the
/// supervisor still answers, and a stop ends every blocked instance. In listening mode, a client
/// that never reads what the server wrote and closed does not keep an idle service running: the
/// service is stopped for idleness and the next connection is served.
#[test]
fn half_open_clients_neither_stall_the_supervisor_nor_keep_a_service_up() {
    let sup = Sup::new("activate-halfopen");
    let port = free_port();
    let marker = format!("half-open-{port}");
    sup.ok(&[
        "install",
        "writer",
        "--listen",
        &format!("tcp:127.0.0.1:{port}"),
        "--accept",
        "--max-connections",
        "6",
        "--",
        "/usr/bin/yes",
        &marker,
    ]);
    let clients: Vec<TcpStream> = (0..6)
        .map(|i| {
            let mut client = tcp(port);
            if i % 2 == 0 {
                client.write_all(b"GET / HT").unwrap();
                client.shutdown(std::net::Shutdown::Write).unwrap();
            }
            client
        })
        .collect();
    assert!(eventually(Duration::from_secs(10), || {
        sup.status("writer")["sockets"]["instances"] == 6
    }));
    // Each instance filled its socket's buffers and blocks in write(2).
    let blocked = |pid: &i32| {
        fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("wait"))
    };
    assert!(eventually(Duration::from_secs(10), || {
        let writers = processes_with(&marker);
        writers.len() == 6 && writers.iter().all(blocked)
    }));
    assert_eq!(read_all(tcp(port)), "", "beyond max_connections");
    assert_eq!(sup.status("writer")["sockets"]["refused"], 1);
    assert!(sup.ok(&["status", "writer"]).contains("6 running"));
    let writers = processes_with(&marker);
    sup.ok(&["stop", "writer"]);
    assert!(writers.iter().all(|pid| crate::support::is_gone(*pid)));
    assert!(processes_with(&marker).is_empty());
    drop(clients);
    sup.ok(&["uninstall", "writer"]);

    let (echo, port) = echo_service(&sup, "idle", &["--idle-stop", "50ms"]);
    let unread = tcp(port);
    assert!(eventually(Duration::from_secs(10), || {
        sup.ok(&["events", "idle"])
            .contains("stopping (no connection for 50ms)")
    }));
    assert_eq!(read_all(tcp(port)), "ok\n");
    drop(unread);
    sup.ok(&["uninstall", "idle"]);
    assert!(processes_with(&echo).is_empty());
}
