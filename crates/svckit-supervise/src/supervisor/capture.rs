//! Capture: draining each service's stdout and stderr pipes into its rotated log files
//! (splice where it can), never blocking the loop on a slow disk or a full one.

use super::{Drained, OwnedFd, ServiceName, Stream, Supervisor, Token, log, unwatch, watch};
use crate::logs::{LogFile, PipeEnd};
use std::collections::HashMap;
use std::os::fd::AsFd;

/// A captured stream: the read end of a service's stdout or stderr pipe.
pub(super) struct Capture {
    pub(super) unit: ServiceName,
    pub(super) stream: Stream,
    pub(super) pipe: OwnedFd,
}

/// Every captured stream, by its token in the loop, and the buffer of the slow path (reads
/// where splice(2) cannot be used), shared by them all.
#[derive(Default)]
pub(super) struct Captures {
    pipes: HashMap<Token, Capture>,
    scratch: Vec<u8>,
}

impl Captures {
    /// Whether `token` is a captured stream's.
    pub(super) fn has(&self, token: Token) -> bool {
        self.pipes.contains_key(&token)
    }

    /// Every captured stream's token.
    pub(super) fn tokens(&self) -> Vec<Token> {
        self.pipes.keys().copied().collect()
    }

    /// The tokens of `name`'s streams.
    fn of(&self, name: &ServiceName) -> Vec<Token> {
        self.pipes
            .iter()
            .filter(|(_, capture)| &capture.unit == name)
            .map(|(token, _)| *token)
            .collect()
    }

    /// Moves what the pipe of `token` holds into `log`.
    fn drain(&mut self, token: Token, log: &mut LogFile) -> Option<Drained> {
        let capture = self.pipes.get(&token)?;
        Some(log.drain(&PipeEnd(&capture.pipe), &mut self.scratch))
    }
}

impl Supervisor {
    /// Watches `pipe`, `name`'s `stream`; its content is read when the loop hears it has
    /// some (see [`Supervisor::capture_adopted`] for a pipe that may hold some already).
    pub(super) fn capture(
        &mut self,
        name: &ServiceName,
        stream: Stream,
        pipe: OwnedFd,
    ) -> Option<Token> {
        let token = self.token();
        if let Err(err) = watch(&self.poll, &pipe, token) {
            log(format_args!(
                "{name}: cannot watch its {}: {err}",
                stream.name()
            ));
            return None;
        }
        if let Some(holder) = &self.holder
            && let Err(err) = holder.hold(pipe.as_fd())
        {
            log(format_args!(
                "{name}: the fd holder did not take its {}: {err}",
                stream.name()
            ));
        }
        self.captures.pipes.insert(
            token,
            Capture {
                unit: name.clone(),
                stream,
                pipe,
            },
        );
        Some(token)
    }

    /// Captures a pipe that may hold output already (a new process's, an adopted service's):
    /// what it holds is drained at once, as epoll reports only new readiness for
    /// edge-triggered sources registered late.
    pub(super) fn capture_adopted(&mut self, name: &ServiceName, stream: Stream, pipe: OwnedFd) {
        if let Some(token) = self.capture(name, stream, pipe) {
            self.on_output(token);
        }
    }

    pub(super) fn on_output(&mut self, token: Token) {
        let Some(capture) = self.captures.pipes.get(&token) else {
            return;
        };
        let (name, stream) = (capture.unit.clone(), capture.stream);
        let index = match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        };
        let Some(unit) = self.units.get_mut(&name) else {
            self.captures.pipes.remove(&token);
            return;
        };
        let had_error = unit.logs[index].error().is_some();
        let drained = self.captures.drain(token, &mut unit.logs[index]);
        match (had_error, unit.logs[index].error()) {
            (false, Some(error)) => log(format_args!(
                "{name}: cannot store its {}: {error}; draining it meanwhile",
                stream.name()
            )),
            (true, None) => log(format_args!("{name}: storing its {} again", stream.name())),
            _ => {}
        }
        if drained == Some(Drained::Eof) {
            self.close_capture(token);
        }
        // A line a dependent waits for (log_ready).
        if self
            .units
            .get_mut(&name)
            .is_some_and(|unit| unit.logs[index].take_seen())
        {
            self.check_dependents();
        }
    }

    /// Drains whatever `name`'s pipes hold now: its main process ended, and what it wrote
    /// last is stored (and timed) before its end is told, so the log reads in order.
    pub(super) fn drain_unit(&mut self, name: &ServiceName) {
        for token in self.captures.of(name) {
            self.on_output(token);
        }
    }

    pub(super) fn close_capture(&mut self, token: Token) {
        if let Some(capture) = self.captures.pipes.remove(&token) {
            unwatch(&self.poll, &capture.pipe);
        }
    }
}
