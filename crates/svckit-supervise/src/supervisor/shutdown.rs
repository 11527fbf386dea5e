//! Signals and the end: SIGTERM, SIGINT and SIGQUIT stop every service and then the
//! supervisor (a main service with the INT or QUIT that was sent); as PID 1 (or with a main
//! service) other signals go on to the services; a main service that ends for good ends the
//! supervisor with its status, as tini does.

use super::{
    Event, LastExit, Outcome, ServiceName, Signal, Supervisor, Token, UnitState, fs, log, process,
};

impl Supervisor {
    pub(super) fn on_signals(&mut self) {
        while let Ok(Some(signal)) = self.signals.try_read() {
            match signal {
                Signal::Chld => self.reap(),
                Signal::Term | Signal::Int | Signal::Quit => {
                    log(format_args!("{signal}: stopping every service"));
                    self.main_stops_with(signal);
                    self.begin_shutdown(None);
                }
                other if self.pid1 || self.main.is_some() => self.forward(other),
                other => log(format_args!("ignoring {other}")),
            }
        }
    }

    /// With a main service, INT and QUIT stop it with the signal that was sent (Ctrl-C,
    /// Ctrl-\ to `docker run`), not its stop signal, so its status is its own (130, 131, or
    /// the code it exits with on its own handler), as under tini; the others stop as usual.
    /// Only this supervisor's copy of the definition changes: it ends with the shutdown.
    fn main_stops_with(&mut self, signal: Signal) {
        let sent = match signal {
            Signal::Int | Signal::Quit => signal,
            _ => return,
        };
        let Some(main) = self.main.clone() else {
            return;
        };
        if let Some(unit) = self.unit(&main) {
            unit.spec.stop.signal = sent;
        }
    }

    /// As PID 1 (or with a main service), HUP, USR1 and USR2 go to the services' groups.
    pub(super) fn forward(&mut self, signal: Signal) {
        for unit in self.units.values() {
            if let (Some(target), true) = (unit.process.pgid, unit.life.state.has_process())
                && self.main.as_ref().is_none_or(|main| *main == unit.name)
            {
                process::send_group(target, signal);
            }
        }
    }

    /// With a main service: once it has ended for good, everything stops and the supervisor
    /// exits with its status.
    pub(super) fn check_main(&mut self, name: &ServiceName) {
        if self.main.as_ref() != Some(name) || self.shutdown.under_way() {
            return;
        }
        if self.units.get(name).is_some_and(|unit| {
            matches!(
                unit.life.state,
                UnitState::Exited | UnitState::Failed | UnitState::Stopped
            )
        }) {
            log(format_args!(
                "main service {name} ended: stopping the others"
            ));
            self.begin_shutdown(None);
        }
    }

    pub(super) fn begin_shutdown(&mut self, requester: Option<Token>) {
        self.shutdown.begin(requester);
        self.shutdown_next();
    }

    /// During a shutdown: stops every service no running service depends on (the reverse of
    /// the start order: `api` before the `db` it depends on), each once. The desired state
    /// stays as it is on disk: the next supervisor resumes it.
    pub(super) fn shutdown_next(&mut self) {
        if !self.shutdown.under_way() {
            return;
        }
        let left = self
            .units
            .values()
            .filter(|unit| !self.shutdown.asked(&unit.name));
        if left.clone().next().is_none() {
            return;
        }
        // What a service with a process is ordered after waits for it (one pass: a pass per
        // service was quadratic at thousands).
        // (And what says it starts before one, `before`.)
        let needed: std::collections::HashSet<&ServiceName> = self
            .units
            .values()
            .filter(|other| other.life.state.has_process())
            .flat_map(|other| {
                other
                    .spec
                    .ordered_after()
                    .chain(self.befores.get(&other.name).into_iter().flatten())
            })
            .collect();
        let mut ready: Vec<ServiceName> = left
            .clone()
            .filter(|unit| !needed.contains(&unit.name))
            .map(|unit| unit.name.clone())
            .collect();
        // Services that depend on each other (a cycle from before cycles were refused) would
        // wait for each other forever: once nothing asked to stop still runs (its stop may be
        // queued, not yet applied: a test caught db stopped before the api that needs it),
        // the rest go at once.
        let stops_under_way = self.units.values().any(|unit| {
            unit.life.state == UnitState::Stopping
                || self.shutdown.asked(&unit.name) && unit.life.state.has_process()
        });
        if ready.is_empty() && !stops_under_way {
            ready = left.map(|unit| unit.name.clone()).collect();
        }
        for name in ready {
            self.shutdown.ask(&name);
            self.queue(&name, Event::Shutdown);
        }
    }

    /// During a shutdown, once no service has a process left: the exit status.
    pub(super) fn finished(&mut self) -> Option<i32> {
        if !self.shutdown.under_way() {
            return None;
        }
        if self
            .units
            .values()
            .any(|unit| unit.life.state.has_process())
        {
            return None;
        }
        // Whatever the services wrote last is still in their pipes: keep it.
        for token in self.captures.tokens() {
            self.on_output(token);
        }
        for token in self.shutdown.end() {
            self.reply(
                token,
                Outcome::Done {
                    services: Vec::new(),
                },
            );
        }
        let _ = fs::remove_file(self.dir.socket());
        if let Some(cgroups) = &self.cgroups {
            cgroups.prune();
            cgroups.remove_if_empty();
        }
        let code = self
            .main
            .as_ref()
            .and_then(|main| self.units.get(main))
            .and_then(|unit| unit.last_exit)
            .map_or(0, LastExit::shell_status);
        Some(code)
    }
}

/// A shutdown of every service (SIGTERM, `svckit supervisor stop`, the main service's end):
/// who asked for it, to be answered when it is done, and which services it has stopped (or
/// asked to), dependents first.
#[derive(Debug, Default)]
pub(super) struct Shutdown {
    /// Under way, with the clients to answer once it is done.
    requesters: Option<Vec<Token>>,
    asked: std::collections::BTreeSet<ServiceName>,
}

impl Shutdown {
    /// Whether one is under way.
    pub(super) fn under_way(&self) -> bool {
        self.requesters.is_some()
    }

    /// Begins one (or joins the one under way), `requester` to be answered at its end.
    fn begin(&mut self, requester: Option<Token>) {
        self.requesters
            .get_or_insert_with(Vec::new)
            .extend(requester);
    }

    /// Whether it asked `name` to stop.
    fn asked(&self, name: &ServiceName) -> bool {
        self.asked.contains(name)
    }

    /// It asks `name` to stop.
    fn ask(&mut self, name: &ServiceName) {
        self.asked.insert(name.clone());
    }

    /// It is done: the clients to answer.
    fn end(&mut self) -> Vec<Token> {
        self.requesters.take().unwrap_or_default()
    }
}
