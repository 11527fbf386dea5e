//! Requests for several services at once ([`Op::Many`](crate::protocol::Op::Many): `svckit
//! start|stop|restart --all`, or several names). Each service's part is a request of its own,
//! answered to a token no connection has (a *part*); its outcome is kept until every part is
//! done, then the client gets them all in one answer. Starts and restarts go at once (a start
//! waits for its dependencies in the machine); a stop, as in a shutdown, once nothing among
//! the batch's services that is ordered after it has a process left, so dependents stop
//! first and the rest side by side.

use std::collections::{HashMap, HashSet};

use super::{Op, Outcome, ServiceName, Supervisor, Token};
use crate::protocol::ManyAction;

/// The open batches.
#[derive(Debug, Default)]
pub(super) struct Batches {
    /// Each part: its batch's client, and its place in the answer.
    parts: HashMap<Token, (Token, usize)>,
    /// Each open batch, by its client.
    open: HashMap<Token, Batch>,
}

#[derive(Debug)]
struct Batch {
    /// Each part's outcome, once it has one.
    results: Vec<Option<Outcome>>,
    /// How many have none yet.
    left: usize,
    /// Every part's token, in order.
    tokens: Vec<Token>,
    /// The services of its stops, and the stops not asked yet (each with its part).
    stopping: Vec<ServiceName>,
    stops: Vec<(ServiceName, Token)>,
}

impl Batches {
    /// Opens a batch for `client` with `parts` parts.
    fn open(&mut self, client: Token, parts: &[Token]) {
        for (index, part) in parts.iter().enumerate() {
            self.parts.insert(*part, (client, index));
        }
        self.open.insert(
            client,
            Batch {
                results: vec![None; parts.len()],
                left: parts.len(),
                tokens: parts.to_vec(),
                stopping: Vec::new(),
                stops: Vec::new(),
            },
        );
    }

    /// Whether `token` is a part's.
    pub(super) fn is_part(&self, token: Token) -> bool {
        self.parts.contains_key(&token)
    }

    /// Keeps `outcome` when `token` is a part's (giving it back when not): the client and its
    /// whole answer once that was the last part.
    pub(super) fn settle(
        &mut self,
        token: Token,
        outcome: Outcome,
    ) -> Result<Option<(Token, Outcome)>, Outcome> {
        let Some((client, index)) = self.parts.remove(&token) else {
            return Err(outcome);
        };
        let Some(batch) = self.open.get_mut(&client) else {
            return Ok(None);
        };
        if batch.results[index].is_none() {
            batch.results[index] = Some(outcome);
            batch.left -= 1;
        }
        if batch.left > 0 {
            return Ok(None);
        }
        let batch = self.open.remove(&client).map(|batch| batch.results);
        let results = batch.unwrap_or_default().into_iter().flatten().collect();
        Ok(Some((client, Outcome::Each { results })))
    }

    /// `client` is gone: its batch is dropped, its stops not asked yet never will be. The
    /// tokens of its parts (for the waiters to forget).
    pub(super) fn close(&mut self, client: Token) -> Vec<Token> {
        let Some(batch) = self.open.remove(&client) else {
            return Vec::new();
        };
        for part in &batch.tokens {
            self.parts.remove(part);
        }
        batch.tokens
    }

    /// The clients whose batches have stops not asked yet.
    fn with_stops(&self) -> Vec<Token> {
        self.open
            .iter()
            .filter(|(_, batch)| !batch.stops.is_empty())
            .map(|(client, _)| *client)
            .collect()
    }
}

impl Supervisor {
    /// [`Op::Many`] from `client`: each service's part dispatched as a request of its own
    /// (a stop kept for [`Supervisor::stops_next`]); a service that cannot be loaded has its
    /// error as its outcome.
    pub(super) fn many(&mut self, client: Token, action: ManyAction, names: Vec<String>) {
        let mut seen = HashSet::new();
        let names: Vec<String> = names
            .into_iter()
            .filter(|name| seen.insert(name.clone()))
            .collect();
        let parts: Vec<Token> = names.iter().map(|_| self.token()).collect();
        self.batches.open(client, &parts);
        if parts.is_empty() {
            self.reply(
                client,
                Outcome::Each {
                    results: Vec::new(),
                },
            );
            return;
        }
        for (name, part) in names.into_iter().zip(parts) {
            let dispatched = match action {
                ManyAction::Start { wait } => self.dispatch(part, Op::Start { name, wait }),
                ManyAction::Restart => self.dispatch(part, Op::Restart { name }),
                ManyAction::Stop => self.load(&name).map(|name| {
                    if let Some(batch) = self.batches.open.get_mut(&client) {
                        batch.stopping.push(name.clone());
                        batch.stops.push((name, part));
                    }
                }),
            };
            if let Err((kind, message)) = dispatched {
                self.reply(part, Outcome::Error { kind, message });
            }
        }
    }

    /// Asks the stops of each batch that may go now: a service once nothing of its batch
    /// that is ordered after it has a process left. Services that wait for each other (a
    /// cycle) all go once nothing asked still runs.
    pub(super) fn stops_next(&mut self) {
        for client in self.batches.with_stops() {
            let Some(batch) = self.batches.open.get_mut(&client) else {
                continue;
            };
            let alive = |name: &ServiceName| {
                self.units
                    .get(name)
                    .is_some_and(|unit| unit.life.state.has_process())
            };
            let needed: HashSet<&ServiceName> = batch
                .stopping
                .iter()
                .filter(|name| alive(name))
                .filter_map(|name| self.units.get(name))
                .flat_map(|unit| {
                    unit.spec
                        .ordered_after()
                        .chain(self.befores.get(&unit.name).into_iter().flatten())
                })
                .collect();
            let (mut ready, mut wait): (Vec<_>, Vec<_>) = batch
                .stops
                .drain(..)
                .partition(|(name, _)| !needed.contains(name));
            let waiting: HashSet<&ServiceName> = wait.iter().map(|(name, _)| name).collect();
            let asked_run = batch
                .stopping
                .iter()
                .any(|name| !waiting.contains(name) && alive(name));
            if ready.is_empty() && !asked_run {
                ready = std::mem::take(&mut wait);
            }
            batch.stops = wait;
            for (name, part) in ready {
                let stop = Op::Stop {
                    name: name.to_string(),
                };
                if let Err((kind, message)) = self.dispatch(part, stop) {
                    self.reply(part, Outcome::Error { kind, message });
                }
            }
        }
    }
}
