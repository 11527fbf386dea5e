//! The client side of the control socket, for `svckit start/stop/status/...`: connect (starting
//! the supervisor first when none runs), send one request, read one response.

use std::{
    io::{self, BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Error,
    paths::StateDir,
    protocol::{ErrorKind, Op, Outcome, Request, Response, ServiceStatus, VERSION},
};

/// How a client gets a supervisor when none answers on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// It does not: the request fails.
    Never,
    /// It forks itself into the supervisor ([`supervisor::daemonize`](crate::supervisor::daemonize)),
    /// which shows in `ps` as `svckit-supervise DIR` (cut to the length of the
    /// caller's command line): no other program is needed, but the caller must be
    /// single-threaded.
    Fork,
    /// It runs `PROGRAM supervise --daemon --state-dir DIR` (the `svckit` executable), which
    /// returns once the socket answers; the supervisor then shows as that command in `ps`.
    Exec(PathBuf),
}

/// Sends `op` to the supervisor of `dir` and returns the statuses it answers with. When no
/// supervisor runs, `launch` says how to start one first. `timeout` bounds the wait for the
/// answer (a stop waits for the service to be gone).
pub fn request(
    dir: &StateDir,
    op: Op,
    timeout: Duration,
    launch: &Launch,
) -> Result<Vec<ServiceStatus>, Error> {
    single(exchange(dir, op, timeout, launch)?)
}

/// The statuses of the answer to a request about one thing (not an [`Op::Many`]).
fn single(outcome: Outcome) -> Result<Vec<ServiceStatus>, Error> {
    match outcome {
        Outcome::Each { .. } => Err(Error::Protocol(
            "the supervisor answered one request with several outcomes".into(),
        )),
        outcome => statuses(outcome),
    }
}

/// Sends an [`Op::Many`] to the supervisor of `dir` (see [`request`]): what came of each
/// service, in the order asked.
pub fn request_each(
    dir: &StateDir,
    op: Op,
    timeout: Duration,
    launch: &Launch,
) -> Result<Vec<Result<Vec<ServiceStatus>, Error>>, Error> {
    match exchange(dir, op, timeout, launch)? {
        Outcome::Each { results } => Ok(results.into_iter().map(statuses).collect()),
        // The request as a whole refused (a shutdown under way, a bad request).
        outcome => statuses(outcome).map(|services| vec![Ok(services)]),
    }
}

/// The statuses of a `Done`, or the error of an `Error`.
fn statuses(outcome: Outcome) -> Result<Vec<ServiceStatus>, Error> {
    match outcome {
        Outcome::Done { services } => Ok(services),
        Outcome::Error { kind, message } => Err(match kind {
            ErrorKind::PermissionDenied => Error::PermissionDenied(message),
            kind => Error::Refused { kind, message },
        }),
        Outcome::Each { .. } => Err(Error::Protocol(
            "the supervisor nested outcomes in an outcome".into(),
        )),
    }
}

/// [`request`] if a supervisor answers on `dir`'s socket, in that one connection (a probe
/// first cost a connection and a wake-up of the supervisor each `svckit status`); `None`,
/// without starting one, when none does.
pub fn request_if_running(
    dir: &StateDir,
    op: Op,
    timeout: Duration,
) -> Result<Option<Vec<ServiceStatus>>, Error> {
    dir.check().map_err(Error::state_dir)?;
    let stream = match UnixStream::connect(dir.socket()) {
        Ok(stream) => stream,
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Error::PermissionDenied(format!(
                "connect to {}",
                dir.socket().display()
            )));
        }
        // As [`is_running`]: nothing that answers.
        Err(_) => return Ok(None),
    };
    check_peer(dir, &stream)?;
    single(exchange_on(stream, op, timeout)?).map(Some)
}

/// One request and its answer, on a connection to the supervisor of `dir` (started as
/// `launch` says when none runs).
fn exchange(dir: &StateDir, op: Op, timeout: Duration, launch: &Launch) -> Result<Outcome, Error> {
    exchange_on(connect(dir, launch)?, op, timeout)
}

/// One request and its answer, on `stream`.
fn exchange_on(mut stream: UnixStream, op: Op, timeout: Duration) -> Result<Outcome, Error> {
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|err| Error::io("set a timeout", err))?;
    let mut line = serde_json::to_vec(&Request {
        version: VERSION,
        op,
    })
    .map_err(|err| Error::Protocol(err.to_string()))?;
    line.push(b'\n');
    // A supervisor that turns the client away (out of fds) answers and closes before reading:
    // the write then fails, yet its answer is there to read, and says more than EPIPE.
    let sent = stream.write_all(&line);
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    if let Err(err) = sent
        && !matches!(read, Ok(n) if n > 0)
    {
        return Err(Error::io("send the request", err));
    }
    match read {
        Ok(0) => {
            return Err(Error::Protocol(
                "the supervisor closed the connection".into(),
            ));
        }
        Ok(_) => {}
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(Error::Timeout(format!(
                "no answer from the supervisor within {}",
                svckit_core::parse::format_duration(timeout)
            )));
        }
        Err(err) => return Err(Error::io("read the answer", err)),
    }
    let response: Response = serde_json::from_str(&answer)
        .map_err(|err| Error::Protocol(format!("unreadable answer ({err}): {}", answer.trim())))?;
    if response.version != VERSION {
        return Err(Error::Protocol(format!(
            "the supervisor speaks protocol version {}, this svckit speaks {VERSION}; restart it",
            response.version
        )));
    }
    Ok(response.result)
}

/// Whether a supervisor answers on `dir`'s socket.
pub fn is_running(dir: &StateDir) -> bool {
    UnixStream::connect(dir.socket()).is_ok()
}

fn connect(dir: &StateDir, launch: &Launch) -> Result<UnixStream, Error> {
    dir.check().map_err(Error::state_dir)?;
    let stream = connect_or_start(dir, launch)?;
    check_peer(dir, &stream)?;
    Ok(stream)
}

/// Only a supervisor of our own uid may answer: a socket planted by another user must never
/// tell root "stopped" while the service runs on.
fn check_peer(dir: &StateDir, stream: &UnixStream) -> Result<(), Error> {
    let peer = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|err| Error::io("read the supervisor's credentials", err.into()))?;
    let euid = nix::unistd::geteuid().as_raw();
    if peer.uid() != euid {
        return Err(Error::PermissionDenied(format!(
            "{} is answered by uid {}, not by this user (uid {euid})",
            dir.socket().display(),
            peer.uid()
        )));
    }
    Ok(())
}

fn connect_or_start(dir: &StateDir, launch: &Launch) -> Result<UnixStream, Error> {
    let socket = dir.socket();
    match UnixStream::connect(&socket) {
        Ok(stream) => return Ok(stream),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Error::PermissionDenied(format!(
                "connect to {}",
                socket.display()
            )));
        }
        Err(err) if *launch == Launch::Never => {
            return Err(Error::io(
                format!("no supervisor answers on {}", socket.display()),
                err,
            ));
        }
        Err(_) => {}
    }
    match launch {
        Launch::Never => unreachable!("answered above"),
        Launch::Fork => match crate::supervisor::daemonize_forked(dir.clone()) {
            // Another client started one first, which is just as good.
            Ok(_) | Err(Error::Daemonize(svckit_unix::Error::AlreadyRunning { .. })) => {}
            Err(Error::Daemonize(source @ svckit_unix::Error::MultiThreaded { .. })) => {
                return Err(Error::ThreadedLauncher {
                    dir: dir.root().to_owned(),
                    source,
                });
            }
            Err(err) => return Err(err),
        },
        Launch::Exec(program) => exec_supervisor(dir, program)?,
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match UnixStream::connect(&socket) {
            Ok(stream) => return Ok(stream),
            Err(err) if Instant::now() >= deadline => {
                return Err(Error::io(format!("connect to {}", socket.display()), err));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// `PROGRAM supervise --daemon --state-dir DIR`, which returns once the socket accepts
/// requests; its exit 4 means another client started one first, which is just as good.
fn exec_supervisor(dir: &StateDir, program: &std::path::Path) -> Result<(), Error> {
    dir.create().map_err(Error::state_dir)?;
    let output = Command::new(program)
        .arg("supervise")
        .arg("--daemon")
        .arg("--state-dir")
        .arg(dir.root())
        .stdin(Stdio::null())
        .output()
        .map_err(|err| Error::io(format!("start the supervisor ({})", program.display()), err))?;
    if !output.status.success() && output.status.code() != Some(4) {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Io {
            context: format!("start the supervisor for {}", dir.root().display()),
            source: io::Error::other(format!(
                "{} (see {})",
                said.lines()
                    .last()
                    .unwrap_or("it failed")
                    .trim_start_matches("svckit: error: "),
                dir.supervisor_log().display()
            )),
        });
    }
    Ok(())
}
