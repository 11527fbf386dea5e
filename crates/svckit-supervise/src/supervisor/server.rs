//! The control server: accepting clients on the socket (and turning them away when out of
//! fds), reading one request line, turning it into an event of the machine, and answering
//! without ever blocking on a client that does not read.

use super::{
    Duration, Error, ErrorKind, Event, Instant, Interest, LastExit, Op, Outcome, Request, Response,
    ServiceName, Stream, Supervisor, Token, Uid, Unit, UnitState, UnixStream, VERSION, fs,
    getsockopt, io, log, logs, machine, sockopt, store,
};
use mio::net::UnixListener;
use std::io::{Read, Write};

pub(super) use crate::machine::Wait;

/// A connected client: its request as read so far, then its reply as written so far.
pub(super) struct Client {
    pub(super) stream: UnixStream,
    pub(super) buffer: Vec<u8>,
    /// The reply being written and how much of it is out: written as the socket takes it,
    /// never with the loop blocked on a client that does not read.
    pub(super) reply: Option<(Vec<u8>, usize)>,
    /// When the client is dropped: its request not sent in full, or its reply not read, by
    /// then. None while it waits for the supervisor (a start that waits for readiness).
    pub(super) deadline: Option<Instant>,
}

/// How long a client may take to send its request, or to read its reply.
pub(super) const CLIENT_IDLE: Duration = Duration::from_secs(10);

/// A response as the protocol sends it: one JSON line.
pub(super) fn response_line(result: Outcome) -> Vec<u8> {
    let response = Response {
        version: VERSION,
        result,
    };
    let mut line = serde_json::to_vec(&response).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The one line a client turned away for want of fds reads.
pub(super) fn busy_reply(err: &io::Error) -> Vec<u8> {
    let (kind, message) = out_of_fds(err);
    response_line(Outcome::Error { kind, message })
}

/// What a client is told when the supervisor is out of fds (`err`, EMFILE or ENFILE).
fn out_of_fds(err: &io::Error) -> (ErrorKind, String) {
    (
        ErrorKind::Busy,
        format!("the supervisor is out of file descriptors ({err}); try again"),
    )
}

/// A definition that cannot be loaded, as the client is told.
pub(super) fn refusal(err: Error) -> (ErrorKind, String) {
    let kind = match err {
        Error::NotInstalled(_) => ErrorKind::NotFound,
        Error::OtherBackend { .. } => ErrorKind::BadRequest,
        _ => ErrorKind::BadDefinition,
    };
    (kind, err.to_string())
}

/// The definitions that cannot be listed, as the client is told: out of fds, it is to try
/// again (a status of all was an empty list, as if nothing were installed).
fn unlisted(err: Error) -> (ErrorKind, String) {
    match &err {
        Error::Io { source, .. }
            if matches!(
                source.raw_os_error(),
                Some(nix::libc::EMFILE | nix::libc::ENFILE)
            ) =>
        {
            out_of_fds(source)
        }
        _ => refusal(err),
    }
}

/// The control socket: taking clients, and those connected, each by its token in the loop.
pub(super) struct Clients {
    acceptor: Acceptor,
    connected: std::collections::HashMap<Token, Client>,
}

impl Clients {
    /// Takes `listener` (registered with the loop already); nobody connected yet.
    pub(super) fn new(listener: UnixListener) -> Clients {
        Clients {
            acceptor: Acceptor::new(listener),
            connected: std::collections::HashMap::new(),
        }
    }

    /// Whether `token` is a connected client's.
    pub(super) fn has(&self, token: Token) -> bool {
        self.connected.contains_key(&token)
    }

    /// The clients whose time ran out by `now` (a request not sent, a reply not read).
    pub(super) fn past(&self, now: Instant) -> Vec<Token> {
        self.connected
            .iter()
            .filter(|(_, client)| client.deadline.is_some_and(|at| at <= now))
            .map(|(token, _)| *token)
            .collect()
    }

    /// When each client that is given a time must be done by.
    pub(super) fn deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        self.connected.values().filter_map(|client| client.deadline)
    }
}

/// The control socket's listening end, and what it needs to take clients even when the
/// supervisor is out of fds, and to tell whom it takes.
struct Acceptor {
    listener: UnixListener,
    /// An fd kept in reserve: when accept(2) fails with EMFILE, it is closed to accept (and
    /// turn away) the queued client, which would otherwise wait forever on an edge-triggered
    /// listener.
    reserve: Option<fs::File>,
    /// The supervisor's owner: root and it may ask anything.
    euid: Uid,
}

/// A client taken from the queue.
pub(super) struct Accepted {
    pub(super) stream: UnixStream,
    /// Its uid, when the socket says (`SO_PEERCRED`).
    pub(super) peer: Option<Uid>,
}

impl Accepted {
    /// Whether it may ask anything: the supervisor's owner, or root.
    pub(super) fn allowed(&self, owner: Uid) -> bool {
        self.peer.is_some_and(|uid| uid == owner || uid.is_root())
    }
}

impl Acceptor {
    /// Takes `listener` (registered with the loop already).
    pub(super) fn new(listener: UnixListener) -> Acceptor {
        Acceptor {
            listener,
            reserve: fs::File::open("/dev/null").ok(),
            euid: nix::unistd::geteuid(),
        }
    }

    /// The supervisor's owner.
    pub(super) fn owner(&self) -> Uid {
        self.euid
    }

    /// The next queued client; `None` once the queue is empty (or accept(2) failed, said in
    /// the supervisor's log). Out of fds, a queued client is turned away with a reply it can
    /// read, and the next is tried.
    pub(super) fn next(&mut self) -> Option<Accepted> {
        loop {
            let (stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err)
                    if matches!(
                        err.raw_os_error(),
                        Some(nix::libc::EMFILE | nix::libc::ENFILE)
                    ) && self.reserve.is_some() =>
                {
                    // Out of fds (accept(2) says so before it looks at the queue): free the
                    // reserve, turn a queued client away with a reply it can read, take the
                    // reserve back, and go on with the queue until it is empty.
                    self.reserve = None;
                    let turned_away = match self.listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.write(&busy_reply(&err));
                            true
                        }
                        Err(_) => false,
                    };
                    self.reserve = fs::File::open("/dev/null").ok();
                    if !turned_away {
                        return None;
                    }
                    log(format_args!("accept: {err}; a client was turned away"));
                    continue;
                }
                Err(err) => {
                    log(format_args!("accept: {err}"));
                    return None;
                }
            };
            let peer = getsockopt(&stream, sockopt::PeerCredentials)
                .map(|c| Uid::from_raw(c.uid()))
                .ok();
            return Some(Accepted { stream, peer });
        }
    }
}

impl Supervisor {
    /// Takes every queued client: registered with the loop, given its time to ask; one that
    /// may not ask is told so.
    pub(super) fn accept(&mut self) {
        while let Some(accepted) = self.clients.acceptor.next() {
            let allowed = accepted.allowed(self.clients.acceptor.owner());
            let Accepted { mut stream, peer } = accepted;
            let token = self.token();
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            self.clients.connected.insert(
                token,
                Client {
                    stream,
                    buffer: Vec::new(),
                    reply: None,
                    deadline: Some(Instant::now() + CLIENT_IDLE),
                },
            );
            if !allowed {
                let uid = peer.map_or("unknown".into(), |uid| uid.to_string());
                self.reply(
                    token,
                    Outcome::Error {
                        kind: ErrorKind::PermissionDenied,
                        message: format!(
                            "permission denied: uid {uid} does not own this supervisor"
                        ),
                    },
                );
            }
        }
    }

    pub(super) fn on_client(&mut self, token: Token) {
        let Some(client) = self.clients.connected.get_mut(&token) else {
            return;
        };
        if client.reply.is_some() {
            self.flush_reply(token);
            return;
        }
        let mut chunk = [0u8; 4096];
        let mut closed = false;
        loop {
            match client.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => client.buffer.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if let Some(end) = client.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = client.buffer.drain(..=end).collect();
            client.deadline = None;
            self.request(token, &line);
        } else if closed || client.buffer.len() > 1 << 16 {
            self.drop_client(token);
        }
    }

    pub(super) fn drop_client(&mut self, token: Token) {
        if let Some(mut client) = self.clients.connected.remove(&token) {
            let _ = self.poll.registry().deregister(&mut client.stream);
        }
        let mut gone: std::collections::HashSet<Token> =
            self.batches.close(token).into_iter().collect();
        gone.insert(token);
        for name in self.index.list(super::Set::Waited) {
            if let Some(unit) = self.units.get_mut(&name) {
                unit.waiters.retain(|(t, _)| !gone.contains(t));
            }
            self.reindex(&name);
        }
    }

    pub(super) fn request(&mut self, token: Token, line: &[u8]) {
        let request: Request = match serde_json::from_slice(line) {
            Ok(request) => request,
            Err(err) => {
                let version = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("version")?.as_u64());
                let (kind, message) = match version {
                    Some(v) if v != u64::from(VERSION) => (
                        ErrorKind::Version,
                        format!(
                            "protocol version {v} is not supported (this supervisor speaks {VERSION})"
                        ),
                    ),
                    _ => (ErrorKind::BadRequest, format!("bad request: {err}")),
                };
                return self.reply(token, Outcome::Error { kind, message });
            }
        };
        if request.version != VERSION {
            return self.reply(
                token,
                Outcome::Error {
                    kind: ErrorKind::Version,
                    message: format!(
                        "protocol version {} is not supported (this supervisor speaks {VERSION})",
                        request.version
                    ),
                },
            );
        }
        if self.shutdown.under_way() && request.op != Op::Shutdown {
            return self.reply(
                token,
                Outcome::Error {
                    kind: ErrorKind::ShuttingDown,
                    message: "the supervisor is shutting down".into(),
                },
            );
        }
        if let Err((kind, message)) = self.dispatch(token, request.op) {
            self.reply(token, Outcome::Error { kind, message });
        }
    }

    /// Turns a request into an event of the machine (a status is answered at once). A start
    /// or restart of a service without a process re-reads its definition first, so a
    /// reinstall takes effect.
    pub(super) fn dispatch(&mut self, token: Token, op: Op) -> Result<(), (ErrorKind, String)> {
        let (name, event, wait) = match op {
            Op::Status { name, brief } => return self.reply_statuses(token, name, brief),
            Op::Shutdown => {
                self.begin_shutdown(Some(token));
                return Ok(());
            }
            Op::Start { name, wait } => {
                let wait = if wait { Wait::Running } else { Wait::Applied };
                (name, Event::Start, wait)
            }
            Op::Stop { name } => (name, Event::Stop, Wait::Stopped),
            Op::Restart { name } => (name, Event::Restart, Wait::Running),
            Op::Pause { name } => (name, Event::Pause, Wait::Applied),
            Op::Continue { name } => (name, Event::Continue, Wait::Applied),
            Op::Reload { name } => (name, Event::Reload, Wait::Reloaded),
            Op::Forget { name } => (name, Event::Forget, Wait::Forgotten),
            Op::Listen { name } => return self.listen_request(token, &name),
            Op::Many { action, names } => {
                self.many(token, action, names);
                return Ok(());
            }
        };
        let name = self.load(&name)?;
        let wait = match (event, self.units[&name].spec.reload_action()) {
            (Event::Reload, None) => {
                return Err((
                    ErrorKind::Unsupported,
                    format!(
                        "service {name} has no reload: its program is sent no signal unless \
                         reload.signal says which (SIGHUP ends most programs), and runs no \
                         command unless reload.command says so; restart it, or reinstall it \
                         with --reload-signal or --reload-command"
                    ),
                ));
            }
            (Event::Reload, Some(svckit_core::ReloadAction::Signal(_))) => Wait::Applied,
            _ => wait,
        };
        // A start re-reads the definition (a reinstall's policies apply to a running
        // service at once); a restart reads it when the new process is spawned.
        if matches!(event, Event::Start)
            || (event == Event::Restart && !self.units[&name].life.state.has_process())
        {
            self.refresh(&name)?;
        }
        self.queue_request(&name, event, token, wait);
        Ok(())
    }

    /// [`Op::Listen`]: the definition read again; its sockets bound (or closed, when it has
    /// none now) unless its program runs with the old ones; the machine told.
    fn listen_request(&mut self, token: Token, name: &str) -> Result<(), (ErrorKind, String)> {
        let name = self.load(name)?;
        self.refresh(&name)?;
        let unit = &self.units[&name];
        let state = unit.life.state;
        if unit.spec.listen.is_empty() || unit.spec.start == svckit_core::StartType::Disabled {
            self.sockets.close(&self.poll, &name);
            let event = match state {
                UnitState::Listening => Event::Stop,
                _ => Event::Listen,
            };
            self.queue_request(&name, event, token, Wait::Applied);
            return Ok(());
        }
        if !state.has_process() {
            self.bind_sockets(&name)
                .map_err(|reason| (ErrorKind::CannotListen, format!("service {name}: {reason}")))?;
        }
        self.queue_request(&name, Event::Listen, token, Wait::Applied);
        Ok(())
    }

    /// Answers with the status of `name`, or of every installed service (`brief`: only what a
    /// table shows).
    pub(super) fn reply_statuses(
        &mut self,
        token: Token,
        name: Option<String>,
        brief: bool,
    ) -> Result<(), (ErrorKind, String)> {
        let one = name.is_some();
        let names = match name {
            Some(name) => vec![self.load(&name)?],
            None => {
                let mut names = Vec::new();
                for name in store::names(&self.dir).map_err(unlisted)? {
                    if let Ok(name) = self.load(name.as_str()) {
                        names.push(name);
                    }
                }
                names
            }
        };
        let services = names
            .iter()
            .map(|name| self.status_of(&self.units[name], one, brief))
            .collect();
        self.reply(token, Outcome::Done { services });
        Ok(())
    }

    /// Answers a client with `name`'s status (none, when the unit is gone: forgotten in the
    /// same batch).
    pub(super) fn reply_status(&mut self, token: Token, name: &ServiceName) {
        let services = self
            .units
            .get(name)
            .map(|unit| self.status_of(unit, true, false))
            .into_iter()
            .collect();
        self.reply(token, Outcome::Done { services });
    }

    /// Answers a client: the reply is written as far as the socket takes it now, the rest
    /// when it is writable again; a client that does not read it within [`CLIENT_IDLE`] is
    /// dropped. A client has one reply.
    pub(super) fn reply(&mut self, token: Token, result: Outcome) {
        // A part of a request for several: kept until the last one, then all answered.
        let result = match self.batches.settle(token, result) {
            Ok(None) => return,
            Ok(Some((client, each))) => return self.reply(client, each),
            Err(result) => result,
        };
        let Some(client) = self.clients.connected.get_mut(&token) else {
            return;
        };
        if client.reply.is_some() {
            return;
        }
        client.reply = Some((response_line(result), 0));
        client.deadline = Some(Instant::now() + CLIENT_IDLE);
        let _ = self.poll.registry().reregister(
            &mut client.stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        );
        self.flush_reply(token);
    }

    pub(super) fn flush_reply(&mut self, token: Token) {
        let Some(client) = self.clients.connected.get_mut(&token) else {
            return;
        };
        let Some((line, written)) = &mut client.reply else {
            return;
        };
        loop {
            match client.stream.write(&line[*written..]) {
                Ok(n) => {
                    *written += n;
                    if *written == line.len() || n == 0 {
                        break;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.drop_client(token);
    }

    pub(super) fn answer_waiters(&mut self, name: &ServiceName) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        let life = unit.life;
        let waiters = std::mem::take(&mut unit.waiters);
        let mut kept = Vec::new();
        for (token, wait) in waiters {
            let unit = &self.units[name];
            let outcome = match wait {
                // A reload command: answered once it ended, with how.
                Wait::Reloaded if unit.control.running().is_none() => {
                    Some(match unit.control.reload_error() {
                        None => Ok(()),
                        Some(error) => Err((
                            ErrorKind::ReloadFailed,
                            format!("service {name} did not reload: {error}"),
                        )),
                    })
                }
                wait => match machine::verdict(wait, life, &unit.policy, unit.last_exit) {
                    Some(machine::Verdict::Done) => Some(Ok(())),
                    Some(machine::Verdict::StartFailed) => {
                        Some(Err((ErrorKind::StartFailed, self.start_failure(unit))))
                    }
                    None => None,
                },
            };
            match outcome {
                Some(Ok(())) => {
                    // (A part of a request for several: the status of all's cheaper one.)
                    let status = self.status_of(unit, !self.batches.is_part(token), false);
                    self.reply(
                        token,
                        Outcome::Done {
                            services: vec![status],
                        },
                    );
                }
                Some(Err((kind, message))) => self.reply(token, Outcome::Error { kind, message }),
                None => kept.push((token, wait)),
            }
        }
        if let Some(unit) = self.unit(name) {
            unit.waiters.extend(kept);
        }
        self.reindex(name);
    }

    pub(super) fn start_failure(&self, unit: &Unit) -> String {
        let how = match (&unit.notes().reason, unit.last_exit) {
            // It could not be started: the reason names what (the program, a file, a dir).
            (Some(reason), Some(LastExit::SpawnFailed(_))) => reason.clone(),
            (Some(reason), _) if unit.life.state != UnitState::Failed => reason.clone(),
            (_, Some(exit)) => exit.to_string(),
            (Some(reason), None) => reason.clone(),
            (None, None) => "stopped".into(),
        };
        // What it said last (nginx -t's complaint and its verdict) is usually the why.
        let said = [Stream::Stderr, Stream::Stdout]
            .into_iter()
            .find_map(|stream| {
                let lines: Vec<String> = logs::tail(&self.dir.log(&unit.name, stream), 3, 0)
                    .ok()?
                    .into_iter()
                    .map(|line| line.trim().chars().take(300).collect::<String>())
                    .filter(|line| !line.is_empty())
                    .collect();
                (!lines.is_empty()).then(|| format!("; its last output: {}", lines.join(" / ")))
            })
            .unwrap_or_default();
        format!(
            "service {} failed to start: {how} (now {}){said}",
            unit.name, unit.life.state
        )
    }
}
