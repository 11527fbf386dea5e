//! On-demand start, side by side with the peer tools from Debian's packages:
//!
//! - **per connection** (inetd style): short connections one after the other to `/bin/echo ok`
//!   run for each, through `svckit install --listen … --accept`, xinetd (`wait = no`) and
//!   `systemd-socket-activate --inetd -a`: connections per second, and each one's latency
//!   (connect → the answer read to its end) at p50 and p99;
//! - **cold start** (listening mode): the first connection to a service whose program is not
//!   running, connect → first byte, through svckit and `systemd-socket-activate -l` (the same
//!   Python program answering on the fd it is handed, in the same environment: the one svckit
//!   gives its services; then a C program doing the same, so the launchers alone are measured).
//!
//! `cargo bench -p svckit-cli --bench activation` (SVCKIT_BENCH_CONNECTIONS, default 2000;
//! SVCKIT_BENCH_COLD, default 30 cold starts). This reports, as ratios from one run; it asserts
//! nothing about speed.

use std::{
    fs,
    io::Read,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// Answers its first client on the socket it was handed (fd 3), then exits.
const COLD: &str = "import socket\ns = socket.socket(fileno=3)\nc, _ = s.accept()\nc.sendall(b'ok\\n')\nc.close()\n";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// One connection: connect, read to the end; its latency, or None when it failed.
fn one(port: u16) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut said = Vec::new();
    stream.read_to_end(&mut said).ok()?;
    (said == b"ok\n").then(|| start.elapsed())
}

/// Connect → first byte.
fn first_byte(port: u16) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut byte = [0u8; 1];
    (stream.read(&mut byte).ok()? == 1).then(|| start.elapsed())
}

/// Waits until `port` answers (the first answer is a warm-up).
fn wait_serving(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if one(port).is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A scratch directory of this run.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("svckit-bench-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn svckit(state: &Path, args: &[&str]) -> bool {
    Command::new(SVCKIT)
        .args(args)
        .env("SVCKIT_STATE_DIR", state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A running server of one tool, stopped on drop.
enum Server {
    Svckit(PathBuf),
    Process(Child),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::Svckit(state) => {
                // SIGTERM: the supervisor stops its services and ends.
                if let Ok(pid) = fs::read_to_string(state.join("supervisor.pid")) {
                    let _ = Command::new("kill").arg(pid.trim()).status();
                }
            }
            Server::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn per_connection_server(tool: &str, port: u16, dir: &Path) -> Option<Server> {
    let listen = format!("tcp:127.0.0.1:{port}");
    match tool {
        "svckit --accept" => {
            let state = dir.join("state");
            let args = [
                "install",
                "echo",
                "--backend",
                "builtin",
                "--listen",
                &listen,
            ];
            let ok = svckit(
                &state,
                &[
                    &args[..],
                    &[
                        "--accept",
                        "--max-connections",
                        "1024",
                        "--",
                        "/bin/echo",
                        "ok",
                    ],
                ]
                .concat(),
            );
            ok.then_some(Server::Svckit(state))
        }
        "xinetd" => {
            let conf = dir.join("xinetd.conf");
            fs::write(
                &conf,
                format!(
                    "service bench\n{{\n type = UNLISTED\n port = {port}\n bind = 127.0.0.1\n \
                     socket_type = stream\n protocol = tcp\n wait = no\n user = root\n \
                     server = /bin/echo\n server_args = ok\n instances = UNLIMITED\n \
                     per_source = UNLIMITED\n cps = 1000000 1\n}}\n"
                ),
            )
            .ok()?;
            Command::new("/usr/sbin/xinetd")
                .arg("-f")
                .arg(&conf)
                .args(["-dontfork", "-pidfile"])
                .arg(dir.join("xinetd.pid"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
                .map(Server::Process)
        }
        _ => Command::new("systemd-socket-activate")
            .args([
                "-l",
                &format!("127.0.0.1:{port}"),
                "-a",
                "--inetd",
                "/bin/echo",
                "ok",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
            .map(Server::Process),
    }
}

fn per_connection(connections: usize) {
    println!(
        "per connection: {connections} short connections one after the other, /bin/echo ok each"
    );
    println!(
        "{:<36} {:>10} {:>10} {:>10} {:>8}",
        "tool", "conn/s", "p50 ms", "p99 ms", "failed"
    );
    let mut ours = None;
    for (tool, needs) in [
        ("svckit --accept", SVCKIT),
        ("xinetd", "/usr/sbin/xinetd"),
        (
            "systemd-socket-activate --inetd -a",
            "/usr/bin/systemd-socket-activate",
        ),
    ] {
        if !Path::new(needs).exists() {
            println!("{tool:<36} (not installed)");
            continue;
        }
        let dir = scratch("accept");
        let port = free_port();
        let Some(server) = per_connection_server(tool, port, &dir) else {
            println!("{tool:<36} (did not start)");
            continue;
        };
        if !wait_serving(port) {
            println!("{tool:<36} (did not serve)");
            continue;
        }
        let start = Instant::now();
        let mut latencies: Vec<Duration> = Vec::with_capacity(connections);
        let mut failed = 0;
        for _ in 0..connections {
            match one(port) {
                Some(latency) => latencies.push(latency),
                None => failed += 1,
            }
        }
        let rate = connections as f64 / start.elapsed().as_secs_f64();
        drop(server);
        let _ = fs::remove_dir_all(&dir);
        latencies.sort();
        if latencies.is_empty() {
            println!("{tool:<36} (every connection failed)");
            continue;
        }
        let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
        let ratio = match ours {
            None => {
                ours = Some(rate);
                String::new()
            }
            Some(ours) => format!("  (svckit's rate is {:.2}x this)", ours / rate),
        };
        println!(
            "{tool:<36} {rate:>10.0} {:>10.3} {:>10.3} {failed:>8}{ratio}",
            ms(p50),
            ms(p99)
        );
    }
}

/// Answers its first client on the socket it was handed (fd 3), then exits: C, so that the
/// cold start measured is the launchers' alone.
const COLD_C: &str = "#include <sys/socket.h>\n#include <unistd.h>\n\
int main(void) { int c = accept(3, 0, 0); if (c < 0) return 1; \
write(c, \"ok\\n\", 3); close(c); return 0; }\n";

fn cold(rounds: usize) {
    let dir = scratch("cold");
    let state = dir.join("state");
    // The environment svckit gives a service (PATH, HOME, LANG, …), which the program of
    // systemd-socket-activate gets too: Python starts slower with a locale to set up, and
    // that is the program's time, not the launcher's.
    let service_env = service_environment(&state, &dir);
    let program = dir.join("cold.py");
    fs::write(&program, COLD).unwrap();
    // The interpreter itself, not a shim whose start depends on the environment (pyenv's
    // reads its variables, which a service does not inherit).
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or("python3");
    let argv = [
        python.to_owned(),
        "-S".into(),
        program.display().to_string(),
    ];
    cold_table(rounds, "python3 -S", &argv, &state, &service_env);
    // The same in C (cc links every Rust program here, so it is installed).
    let source = dir.join("cold.c");
    fs::write(&source, COLD_C).unwrap();
    let binary = dir.join("cold-c");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .is_ok_and(|status| status.success());
    if built {
        let argv = [binary.display().to_string()];
        cold_table(rounds, "a C program", &argv, &state, &service_env);
    } else {
        println!("\n(cc could not build the C program: its cold start is not measured)");
    }
    // Its supervisor ends (SIGTERM) before its state directory goes.
    drop(Server::Svckit(state));
    let _ = fs::remove_dir_all(&dir);
}

/// One table of cold starts of `argv` under each tool.
fn cold_table(
    rounds: usize,
    what: &str,
    argv: &[String],
    state: &Path,
    service_env: &[(String, String)],
) {
    println!();
    println!(
        "cold start: {rounds} first connections to a program not running ({what}, fd 3), connect -> first byte"
    );
    println!("{:<36} {:>10} {:>10}", "tool", "p50 ms", "p99 ms");
    let mut results: Vec<(&str, Vec<Duration>)> = Vec::new();
    // svckit: the program exits after its answer, and the service listens again.
    let port = free_port();
    let listen = format!("tcp:127.0.0.1:{port}");
    let mut install = vec![
        "install",
        "cold",
        "--backend",
        "builtin",
        "--listen",
        &listen,
        "--",
    ];
    install.extend(argv.iter().map(String::as_str));
    if svckit(state, &install) {
        let listening = || {
            Command::new(SVCKIT)
                .args(["status", "cold", "--json"])
                .env("SVCKIT_STATE_DIR", state)
                .output()
                .is_ok_and(|out| {
                    String::from_utf8_lossy(&out.stdout).contains("\"state\":\"listening\"")
                })
        };
        let mut times = Vec::new();
        for _ in 0..rounds {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !listening() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            times.extend(first_byte(port));
        }
        svckit(state, &["uninstall", "cold"]);
        results.push(("svckit --listen", times));
    }
    if Path::new("/usr/bin/systemd-socket-activate").exists() {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let port = free_port();
            let Ok(mut child) = Command::new("systemd-socket-activate")
                .args(["-l", &format!("127.0.0.1:{port}")])
                .args(argv)
                .env_clear()
                .envs(service_env.iter().map(|(key, value)| (key, value)))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
            else {
                break;
            };
            // It says "Listening on …" once bound.
            let mut err = child.stderr.take().unwrap();
            let mut seen = Vec::new();
            let mut byte = [0u8; 1];
            while !String::from_utf8_lossy(&seen).contains("Listening on")
                && err.read(&mut byte).is_ok_and(|n| n == 1)
            {
                seen.push(byte[0]);
            }
            times.extend(first_byte(port));
            let _ = child.wait();
        }
        results.push(("systemd-socket-activate -l", times));
    }
    let ours = results.first().map(|(_, times)| times.clone());
    for (tool, mut times) in results {
        times.sort();
        if times.is_empty() {
            println!("{tool:<36} (no answer)");
            continue;
        }
        let p50 = percentile(&times, 0.5);
        let versus = match &ours {
            Some(ours) if tool != "svckit --listen" && !ours.is_empty() => {
                let mut ours = ours.clone();
                ours.sort();
                format!(
                    "  (svckit's p50 is {:+.3} ms from this)",
                    ms(percentile(&ours, 0.5)) - ms(p50)
                )
            }
            _ => String::new(),
        };
        println!(
            "{tool:<36} {:>10.3} {:>10.3}{versus}",
            ms(p50),
            ms(percentile(&times, 0.99))
        );
    }
}

/// The environment a service of svckit's supervisor at `state` runs with (less the sockets'
/// variables), as a probe service started by a connection writes it into `dir`.
fn service_environment(state: &Path, dir: &Path) -> Vec<(String, String)> {
    let port = free_port();
    let file = dir.join("env.txt");
    let write = format!("env > {0}.tmp && mv {0}.tmp {0}", file.display());
    let listen = format!("tcp:127.0.0.1:{port}");
    let installed = svckit(
        state,
        &[
            "install",
            "envprobe",
            "--backend",
            "builtin",
            "--listen",
            &listen,
            "--",
            "/bin/sh",
            "-c",
            &write,
        ],
    );
    assert!(installed, "install the environment probe");
    let _ = TcpStream::connect(("127.0.0.1", port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    svckit(state, &["uninstall", "envprobe"]);
    fs::read_to_string(&file)
        .expect("the probe's environment")
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| !key.starts_with("LISTEN_"))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

pub fn main() {
    per_connection(env_count("SVCKIT_BENCH_CONNECTIONS", 2000));
    cold(env_count("SVCKIT_BENCH_COLD", 30));
}
