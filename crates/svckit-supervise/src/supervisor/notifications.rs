//! The sd_notify server: one abstract datagram socket per supervisor, named in each notify
//! service's `$NOTIFY_SOCKET`. A datagram counts only when its sender (SCM_CREDENTIALS) is the
//! service's main process, or, with `notify_access = all`, any process of it; READY=1 makes
//! it running, STATUS= is shown, MAINPID= moves the main process (to one of the service's),
//! WATCHDOG=1 keeps it from being treated as hung, EXTEND_TIMEOUT_USEC= gives the start more
//! time, ERRNO= says why it failed.

use super::{
    Event, Instant, NotifyAccess, Pid, ServiceName, Signal, StateDir, Supervisor, UnitState, io,
    later, log,
};
use svckit_unix::notify::{Listener, Notice};

use crate::notify;

impl Supervisor {
    /// Binds the notify socket (abstract: reachable by a service running as any user; only
    /// a sender's credentials decide who is heard).
    pub(super) fn bind_notify(dir: &StateDir) -> io::Result<Listener> {
        Listener::bind(&notify::socket_name(&dir.id()))
    }

    /// Reads every waiting datagram and acts on what its sender may say.
    pub(super) fn on_notify(&mut self) {
        while let Some(Ok(Some((sender, notices)))) = self.notify.as_ref().map(Listener::receive) {
            if let Some(name) = self.notifying_unit(sender) {
                for notice in notices {
                    self.heard(&name, sender, notice);
                }
                self.reindex(&name);
            }
        }
    }

    /// The notify service `sender` may speak for.
    fn notifying_unit(&self, sender: Pid) -> Option<ServiceName> {
        // Its main process, most often: found by the index, not a look through every service.
        if let Some(name) = self.index.owner(sender)
            && self
                .units
                .get(name)
                .is_some_and(|unit| unit.spec.says_ready() && unit.process.pid == Some(sender))
        {
            return Some(name.clone());
        }
        self.units
            .values()
            .filter(|unit| unit.spec.says_ready())
            .find(|unit| {
                unit.process.pid == Some(sender)
                    || unit.spec.notify_access == NotifyAccess::All && unit.process.contains(sender)
            })
            .map(|unit| unit.name.clone())
    }

    fn heard(&mut self, name: &ServiceName, sender: Pid, notice: Notice) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        match notice {
            Notice::Ready => self.queue(name, Event::Ready),
            Notice::Status(text) => unit.note(|n| &mut n.notice, Some(text)),
            Notice::MainPid(pid) => {
                // Only to a process of the service: never a way to make it signal another.
                if pid != sender && !unit.process.contains(pid) {
                    log(format_args!(
                        "{name}: MAINPID={pid} ignored: not a process of the service"
                    ));
                    return;
                }
                self.make_main(name, pid);
            }
            Notice::Watchdog => {
                if !unit.spec.watchdog.is_zero() {
                    unit.watchdog_due = Some(later(unit.spec.watchdog));
                }
            }
            Notice::WatchdogTrigger => unit.watchdog_due = Some(Instant::now()),
            Notice::ExtendTimeout(more) => {
                if matches!(unit.life.state, UnitState::Starting | UnitState::Stopping) {
                    self.timers.extend(name, later(more));
                }
            }
            Notice::Errno(errno) => {
                let reason = format!(
                    "it said ERRNO={errno} ({})",
                    io::Error::from_raw_os_error(errno)
                );
                unit.note(|n| &mut n.reason, Some(reason));
            }
            Notice::Reloading => self.queue(name, Event::Reloading),
            Notice::Stopping => self.queue(name, Event::Stopping),
        }
    }

    /// Whether `unit` runs and its watchdog's time has passed without a WATCHDOG=1.
    pub(super) fn watchdog_expired(&self, unit: &super::Unit, now: Instant) -> bool {
        matches!(unit.life.state, UnitState::Running | UnitState::Reloading)
            && unit.watchdog_due.is_some_and(|due| due <= now)
    }

    /// Services whose watchdog went unfed are hung: the machine is told (it kills them,
    /// [`Supervisor::kill_hung`], and decides on their end as a watchdog's).
    pub(super) fn hung(&mut self, hung: Vec<ServiceName>) {
        for name in hung {
            let Some(unit) = self.units.get_mut(&name) else {
                continue;
            };
            let watchdog = svckit_core::parse::format_duration(unit.spec.watchdog);
            log(format_args!(
                "{name}: no WATCHDOG=1 within {watchdog}: killed as hung"
            ));
            let reason = format!("watchdog: no WATCHDOG=1 within {watchdog}");
            unit.note(|n| &mut n.reason, Some(reason));
            unit.watchdog_due = None;
            self.reindex(&name);
            self.queue(&name, Event::Hung);
        }
    }

    /// Kills a hung service as systemd does: SIGABRT to the main process, then SIGKILL to
    /// what is left; its main process's end (reaped, or through the pidfd) is then decided on.
    pub(super) fn kill_hung(&mut self, name: &ServiceName) {
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        unit.process.signal_main(Signal::Abrt);
        unit.process.kill_all();
        self.reindex(name);
    }
}
