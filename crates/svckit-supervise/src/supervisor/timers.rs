//! The machine's timers: one per service at most (a restart's backoff, a start's or a stop's
//! timeout), armed and cancelled by the machine's actions, fired by the loop as
//! [`Event::Timer`](crate::machine::Event::Timer).

use std::{collections::BTreeMap, time::Instant};

use svckit_core::ServiceName;

/// When each service's timer fires.
#[derive(Debug, Default)]
pub(super) struct Timers {
    due: BTreeMap<ServiceName, Instant>,
}

impl Timers {
    /// Arms `name`'s timer for `at` (replacing one armed before).
    pub(super) fn arm(&mut self, name: &ServiceName, at: Instant) {
        self.due.insert(name.clone(), at);
    }

    /// Moves `name`'s armed timer to `at` if that is later (sd_notify's EXTEND_TIMEOUT_USEC);
    /// arms it when none is.
    pub(super) fn extend(&mut self, name: &ServiceName, at: Instant) {
        let due = self.due.entry(name.clone()).or_insert(at);
        *due = (*due).max(at);
    }

    /// Cancels `name`'s timer.
    pub(super) fn cancel(&mut self, name: &ServiceName) {
        self.due.remove(name);
    }

    /// When `name`'s timer fires, if one is armed.
    pub(super) fn of(&self, name: &ServiceName) -> Option<Instant> {
        self.due.get(name).copied()
    }

    /// The soonest armed timer.
    pub(super) fn next(&self) -> Option<Instant> {
        self.due.values().min().copied()
    }

    /// The services whose timers are due by `now`, their timers disarmed.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<ServiceName> {
        let due: Vec<ServiceName> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &due {
            self.due.remove(name);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_timer_fires_once_when_due_and_extending_only_delays_it() {
        let mut timers = Timers::default();
        let (web, db) = (
            ServiceName::new("web").unwrap(),
            ServiceName::new("db").unwrap(),
        );
        let now = Instant::now();
        timers.arm(&web, now + Duration::from_secs(1));
        timers.arm(&db, now + Duration::from_secs(5));
        timers.extend(&web, now);
        assert_eq!(timers.of(&web), Some(now + Duration::from_secs(1)));
        assert_eq!(timers.next(), Some(now + Duration::from_secs(1)));
        assert_eq!(timers.take_due(now + Duration::from_secs(2)), [web]);
        assert_eq!(timers.take_due(now + Duration::from_secs(2)), []);
        timers.cancel(&db);
        assert_eq!(timers.next(), None);
    }
}
