//! Capture: draining each service's stdout and stderr pipes into its rotated log files,
//! never blocking the loop on a slow disk or a full one.

use super::{Drained, OwnedFd, ServiceName, Stream, Supervisor, Token, log, unwatch, watch};
use crate::logs::{LogFile, PipeEnd};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::AsFd;

/// A captured stream: the read end of a service's stdout or stderr pipe.
pub(super) struct Capture {
    pub(super) unit: ServiceName,
    pub(super) stream: Stream,
    pub(super) pipe: OwnedFd,
}

/// Every captured stream, by its token in the loop, and the buffer their reads go through,
/// shared by them all.
#[derive(Default)]
pub(super) struct Captures {
    pipes: HashMap<Token, Capture>,
    scratch: Vec<u8>,
}

impl Captures {
    /// How many streams are captured (a descriptor each).
    pub(super) fn len(&self) -> usize {
        self.pipes.len()
    }

    /// Whether `token` is a captured stream's.
    pub(super) fn has(&self, token: Token) -> bool {
        self.pipes.contains_key(&token)
    }

    /// Every captured stream's token.
    pub(super) fn tokens(&self) -> Vec<Token> {
        self.pipes.keys().copied().collect()
    }

    /// Captures `capture` under `token`.
    fn insert(&mut self, token: Token, capture: Capture) {
        self.pipes.insert(token, capture);
    }

    /// Captures the stream of `token` no more.
    fn remove(&mut self, token: Token) -> Option<Capture> {
        self.pipes.remove(&token)
    }

    /// Moves what the pipe of `token` holds into `log`.
    fn drain(&mut self, token: Token, log: &mut LogFile) -> Option<Drained> {
        let capture = self.pipes.get(&token)?;
        Some(log.drain(&PipeEnd(&capture.pipe), &mut self.scratch))
    }
}

/// How many logs stay open at once. Beyond it the least recently written is closed (it
/// reopens at its end on its next write): the supervisor holds its services' output pipes,
/// two per service, and a bounded number of files however many services there are.
pub(super) const OPEN_LOGS: usize = 128;

/// The logs that may be open, by their last use.
#[derive(Default)]
pub(super) struct OpenLogs {
    next: u64,
    by_use: BTreeMap<u64, (ServiceName, usize)>,
    last_use: HashMap<(ServiceName, usize), u64>,
}

impl OpenLogs {
    /// `name`'s log `index` was just used: it becomes the most recent. Returns the logs to
    /// close, beyond [`OPEN_LOGS`].
    fn used(&mut self, name: &ServiceName, index: usize) -> Vec<(ServiceName, usize)> {
        let key = (name.clone(), index);
        if let Some(before) = self.last_use.insert(key.clone(), self.next) {
            self.by_use.remove(&before);
        }
        self.by_use.insert(self.next, key);
        self.next += 1;
        let mut beyond = Vec::new();
        while self.by_use.len() > OPEN_LOGS {
            beyond.extend(self.oldest());
        }
        beyond
    }

    /// Lets go of the least recently used log: the one to close.
    pub(super) fn oldest(&mut self) -> Option<(ServiceName, usize)> {
        let (_, key) = self.by_use.pop_first()?;
        self.last_use.remove(&key);
        Some(key)
    }

    /// `name`'s log `index` is closed (or gone).
    fn forget(&mut self, name: &ServiceName, index: usize) {
        if let Some(at) = self.last_use.remove(&(name.clone(), index)) {
            self.by_use.remove(&at);
        }
    }

    /// How many logs it counts as open.
    pub(super) fn len(&self) -> usize {
        self.by_use.len()
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
        // Each service knows its streams' tokens (a look through every stream for a
        // service's, at each main process's end, made a stop of thousands quadratic): two,
        // mostly, in room for two.
        if let Some(unit) = self.units.get_mut(name) {
            if unit.streams.capacity() == 0 {
                unit.streams.reserve_exact(2);
            }
            unit.streams.push(token);
        }
        self.captures.insert(
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
        let Some(unit) = self.units.get(&name) else {
            self.captures.remove(token);
            return;
        };
        // A log opens with its time index: room for both is made first, closing the least
        // recently written logs, so the reserve stays free for clients (a start of many
        // decides on its room before the logs of the first ones open).
        if !unit.logs[index].is_open() {
            self.make_room(2);
        }
        let Some(unit) = self.units.get_mut(&name) else {
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
        self.log_used(&name, index);
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

    /// `name`'s log `index` was just used (it may have opened its file): the logs used least
    /// recently are closed beyond [`OPEN_LOGS`].
    pub(super) fn log_used(&mut self, name: &ServiceName, index: usize) {
        let open = self
            .units
            .get(name)
            .is_some_and(|unit| unit.logs[index].is_open());
        if !open {
            self.open_logs.forget(name, index);
            return;
        }
        for (name, index) in self.open_logs.used(name, index) {
            if let Some(unit) = self.units.get_mut(&name) {
                unit.logs[index].close();
            }
        }
    }

    /// Drains whatever `name`'s pipes hold now: its main process ended, and what it wrote
    /// last is stored (and timed) before its end is told, so the log reads in order.
    pub(super) fn drain_unit(&mut self, name: &ServiceName) {
        let tokens = self
            .units
            .get(name)
            .map(|unit| unit.streams.clone())
            .unwrap_or_default();
        for token in tokens {
            self.on_output(token);
        }
    }

    pub(super) fn close_capture(&mut self, token: Token) {
        if let Some(capture) = self.captures.remove(token) {
            unwatch(&self.poll, &capture.pipe);
            if let Some(unit) = self.units.get_mut(&capture.unit) {
                unit.streams.retain(|t| *t != token);
                if unit.streams.is_empty() {
                    unit.streams = Vec::new();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The least recently used logs are the ones let go, and a log used again moves to the end.
    #[test]
    fn open_logs_lets_the_least_recently_used_go() {
        let mut open = OpenLogs::default();
        let name = |i: usize| ServiceName::new(format!("s{i}")).unwrap();
        for i in 0..OPEN_LOGS {
            assert!(open.used(&name(i), 0).is_empty());
        }
        // s0 is used again: s1 is now the oldest.
        assert!(open.used(&name(0), 0).is_empty());
        assert_eq!(open.used(&name(OPEN_LOGS), 1), vec![(name(1), 0)]);
        assert_eq!(open.used(&name(OPEN_LOGS + 1), 0), vec![(name(2), 0)]);
        open.forget(&name(3), 0);
        assert!(open.used(&name(OPEN_LOGS + 2), 0).is_empty());
        assert_eq!(open.len(), OPEN_LOGS);
    }
}
