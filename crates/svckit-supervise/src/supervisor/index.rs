//! Which services each of the loop's checks is about, kept as their states change, so that a
//! wake-up, an event or a reaped child costs what concerns it, not a pass over every service
//! (at 10,000 services, passes at each wake-up were most of a stop of all of them).
//!
//! [`Index::update`] files a unit by what it is now; the supervisor calls it wherever a unit's
//! state, phase, main process, watchdog, waiters or definition change (through
//! `Supervisor::reindex`). Debug builds check the index against a pass over every unit at each
//! wake-up ([`Index::check`]), so a change that forgot to update it fails the tests.

use std::collections::{BTreeSet, HashMap};

use svckit_core::{Pid, ServiceName};

use super::Unit;
use crate::machine::{Phase, UnitState};

/// A set of the index: what the units in it have in common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Set {
    /// Stopping with its main process gone: its group is polled (other members may live on).
    Draining,
    /// Its start waits on its dependencies.
    Dependencies,
    /// Awaiting a forking daemon's main process.
    FindingMain,
    /// Has a watchdog deadline.
    Watchdog,
    /// Running with idle_stop: its connections are counted.
    IdleStop,
    /// Clients wait for it.
    Waited,
}

const SETS: [Set; 6] = [
    Set::Draining,
    Set::Dependencies,
    Set::FindingMain,
    Set::Watchdog,
    Set::IdleStop,
    Set::Waited,
];

impl Set {
    /// Whether `unit` belongs in this set.
    fn holds(self, unit: &Unit) -> bool {
        let state = unit.life.state;
        match self {
            Set::Draining => state == UnitState::Stopping && unit.process.pid.is_none(),
            Set::Dependencies => {
                state == UnitState::Starting && unit.life.phase == Phase::Dependencies
            }
            Set::FindingMain => unit.life.phase == Phase::FindingMain,
            Set::Watchdog => unit.watchdog_due.is_some(),
            Set::IdleStop => state == UnitState::Running && unit.spec.idle_stop.is_some(),
            Set::Waited => !unit.waiters.is_empty(),
        }
    }
}

/// `unit`'s main process and control command, those it has.
fn pids_of(unit: &Unit) -> impl Iterator<Item = Pid> {
    unit.process
        .pid
        .into_iter()
        .chain(unit.control.running().map(|(pid, _)| pid))
}

/// The sets, and which service each main process and control command is of.
#[derive(Debug, Default)]
pub(super) struct Index {
    sets: [BTreeSet<ServiceName>; SETS.len()],
    /// The service of each main process and control command (entries of processes that ended
    /// unreaped may linger: a lookup checks the service still has that process).
    owners: HashMap<Pid, ServiceName>,
    /// What each service requires, as last filed, and the reverse: who requires each.
    requires: HashMap<ServiceName, Vec<ServiceName>>,
    required_by: HashMap<ServiceName, BTreeSet<ServiceName>>,
}

impl Index {
    /// Files `unit` by what it is now.
    pub(super) fn update(&mut self, unit: &Unit) {
        for set in SETS {
            let members = &mut self.sets[set as usize];
            if set.holds(unit) {
                if !members.contains(&unit.name) {
                    members.insert(unit.name.clone());
                }
            } else {
                members.remove(&unit.name);
            }
        }
        if let Some(pid) = unit.process.pid {
            self.owns(pid, &unit.name);
        }
        if let Some((pid, _)) = unit.control.running() {
            self.owns(pid, &unit.name);
        }
        // (Most have none, and none filed: nothing to do.)
        let filed = self.requires.get(&unit.name).map_or(&[][..], Vec::as_slice);
        if filed != unit.spec.requires.as_slice() {
            self.unrequire(&unit.name);
            for required in &unit.spec.requires {
                self.required_by
                    .entry(required.clone())
                    .or_default()
                    .insert(unit.name.clone());
            }
            if !unit.spec.requires.is_empty() {
                self.requires
                    .insert(unit.name.clone(), unit.spec.requires.clone());
            }
        }
    }

    /// Takes back what `name` was filed as requiring.
    fn unrequire(&mut self, name: &ServiceName) {
        for required in self.requires.remove(name).unwrap_or_default() {
            if let Some(by) = self.required_by.get_mut(&required) {
                by.remove(name);
                if by.is_empty() {
                    self.required_by.remove(&required);
                }
            }
        }
    }

    /// The services that require `name` (as their definitions were last filed).
    pub(super) fn required_by(&self, name: &ServiceName) -> Vec<ServiceName> {
        self.required_by
            .get(name)
            .map(|by| by.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets `unit` (it is gone).
    pub(super) fn remove(&mut self, unit: &Unit) {
        for members in &mut self.sets {
            members.remove(&unit.name);
        }
        self.unrequire(&unit.name);
        let pids = pids_of(unit);
        for pid in pids {
            if self.owners.get(&pid) == Some(&unit.name) {
                self.owners.remove(&pid);
            }
        }
    }

    /// Notes that `pid` is `name`'s (its main process or control command).
    pub(super) fn owns(&mut self, pid: Pid, name: &ServiceName) {
        if self.owners.get(&pid) != Some(name) {
            self.owners.insert(pid, name.clone());
        }
    }

    /// The service `pid` is noted as belonging to.
    pub(super) fn owner(&self, pid: Pid) -> Option<&ServiceName> {
        self.owners.get(&pid)
    }

    /// The service `pid` was noted as belonging to, the note taken back (the process ended).
    pub(super) fn take_owner(&mut self, pid: Pid) -> Option<ServiceName> {
        self.owners.remove(&pid)
    }

    /// The services in `set`.
    pub(super) fn members(&self, set: Set) -> &BTreeSet<ServiceName> {
        &self.sets[set as usize]
    }

    /// The services in `set`, copied (for a loop that changes the supervisor).
    pub(super) fn list(&self, set: Set) -> Vec<ServiceName> {
        self.members(set).iter().cloned().collect()
    }

    /// Panics naming the first set that differs from what a pass over `units` finds, or a
    /// process not noted as its service's: a change of a unit that did not update the index.
    #[cfg(debug_assertions)]
    pub(super) fn check<'a>(&self, units: impl Iterator<Item = &'a Unit> + Clone) {
        for set in SETS {
            let found: BTreeSet<ServiceName> = units
                .clone()
                .filter(|unit| set.holds(unit))
                .map(|unit| unit.name.clone())
                .collect();
            assert_eq!(found, self.sets[set as usize], "the index's {set:?} set");
        }
        for unit in units.clone() {
            for required in &unit.spec.requires {
                assert!(
                    self.required_by(required).contains(&unit.name),
                    "the index: {} requires {required}",
                    unit.name
                );
            }
        }
        for unit in units {
            let pids = pids_of(unit);
            for pid in pids {
                assert_eq!(
                    self.owners.get(&pid),
                    Some(&unit.name),
                    "the index's owner of PID {pid}"
                );
            }
        }
    }
}
