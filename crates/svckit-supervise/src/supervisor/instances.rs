//! Services that run an instance per connection (inetd; systemd's `Accept=yes`): the loop
//! accepts every connection waiting on a listener, runs one instance of the program for it
//! (the connection on its stdin and stdout, or at fd 3), within the limits (the total, and per
//! remote address: a connection beyond is closed at once and counted), and hears of each
//! instance's end. Instances are the service's processes: in its cgroup, stopped with it.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use svckit_core::{LastExit, Pid, ServiceName, Signal, listen::AcceptMode};
use svckit_unix::sockets::{self, Connection};

use super::{Supervisor, log, process};

/// One instance: its process, who it serves, since when.
struct Instance {
    pid: Pid,
    from: String,
    source: Option<IpAddr>,
    started: Instant,
}

/// A service's instances, and what came of its connections: boxed, and only from its first
/// connection on (a service started per connection is rare, and a supervisor may hold
/// thousands of units).
#[derive(Default)]
pub(super) struct Instances(Option<Box<Connections>>);

/// What [`Instances`] holds.
#[derive(Default)]
struct Connections {
    running: Vec<Instance>,
    /// Connections accepted, and refused (beyond a limit), since the supervisor started.
    accepted: u64,
    refused: u64,
    /// When a refusal was last told in the event log (at most one a second is).
    refusal_told: Option<Instant>,
}

impl Instances {
    /// Whether none runs.
    pub(super) fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// How many run.
    pub(super) fn count(&self) -> usize {
        self.0.as_ref().map_or(0, |held| held.running.len())
    }

    /// Connections accepted since the supervisor started.
    pub(super) fn accepted(&self) -> u64 {
        self.0.as_ref().map_or(0, |held| held.accepted)
    }

    /// Connections refused (beyond a limit) since the supervisor started.
    pub(super) fn refused(&self) -> u64 {
        self.0.as_ref().map_or(0, |held| held.refused)
    }

    /// Sends `signal` to each instance's process group (each leads a session of its own).
    pub(super) fn signal_all(&self, signal: Signal) {
        for instance in self.0.iter().flat_map(|held| &held.running) {
            process::send_group(instance.pid, signal);
        }
    }

    /// What it holds, made at the first connection.
    fn held(&mut self) -> &mut Connections {
        self.0.get_or_insert_default()
    }

    /// The instance `pid`, taken out when it ended: who it served and for how long.
    fn ended(&mut self, pid: Pid) -> Option<(String, Duration)> {
        self.0.as_mut()?.ended(pid)
    }
}

impl Connections {
    /// Why a connection from `source` is refused, if it is: a limit reached.
    fn refusal(&self, max: u32, per_source: Option<u32>, source: Option<IpAddr>) -> Option<String> {
        if self.running.len() >= max as usize {
            return Some(format!("{max} instances run, max_connections"));
        }
        let (Some(limit), Some(source)) = (per_source, source) else {
            return None;
        };
        let theirs = self
            .running
            .iter()
            .filter(|instance| instance.source == Some(source))
            .count();
        (theirs >= limit as usize)
            .then(|| format!("{source} has {theirs}, max_connections_per_source"))
    }

    /// The instance `pid`, taken out when it ended: who it served and for how long.
    fn ended(&mut self, pid: Pid) -> Option<(String, Duration)> {
        let index = self.running.iter().position(|i| i.pid == pid)?;
        let instance = self.running.swap_remove(index);
        Some((instance.from, instance.started.elapsed()))
    }
}

impl Supervisor {
    /// The machine's AcceptConnections: every connection waiting on `name`'s listener
    /// `index` gets an instance, or is closed at once beyond a limit.
    pub(super) fn accept_connections(&mut self, name: &ServiceName, index: usize) {
        loop {
            let Some(socket) = self.sockets.socket(name, index) else {
                return;
            };
            let connection = match sockets::accept(socket) {
                Ok(Some(connection)) => connection,
                Ok(None) => return,
                Err(err) => {
                    // Out of fds, a connection reset before it was taken: the next edge
                    // brings the rest.
                    log(format_args!("{name}: cannot accept a connection: {err}"));
                    return;
                }
            };
            let Some(unit) = self.unit(name) else {
                return;
            };
            let source = connection.remote.map(|remote| remote.ip());
            let instances = unit.instances.held();
            let refused = instances.refusal(
                unit.spec.max_connections,
                unit.spec.max_connections_per_source,
                source,
            );
            if let Some(why) = refused {
                instances.refused += 1;
                let now = Instant::now();
                let quiet = instances
                    .refusal_told
                    .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1));
                if !quiet {
                    instances.refusal_told = Some(now);
                    let refused = instances.refused;
                    let from = connection.from();
                    self.journal.record(
                        name,
                        format_args!(
                            "refused a connection from {from}: {why} ({refused} refused so far)"
                        ),
                    );
                }
                continue;
            }
            instances.accepted += 1;
            self.spawn_instance(name, index, connection);
        }
    }

    /// Runs an instance of `name`'s program for `connection`, taken on its listener `index`.
    fn spawn_instance(&mut self, name: &ServiceName, index: usize, connection: Connection) {
        let Some(spec) = self.unit(name).map(|unit| unit.spec.clone()) else {
            return;
        };
        let from = connection.from();
        let source = connection.remote.map(|remote| remote.ip());
        let mut extra = connection.env();
        // Its cgroup: the service's, made once (the instances share it).
        if self
            .unit(name)
            .is_some_and(|unit| unit.process.cgroup.is_none())
        {
            let cgroup = self.service_cgroup(name);
            if let Some(unit) = self.unit(name) {
                unit.process.cgroup = cgroup;
            }
        }
        let cgroup = self.unit(name).and_then(|unit| unit.process.cgroup.clone());
        let (stdio, sockets) = match spec.accept {
            AcceptMode::Fd => {
                use std::os::fd::AsRawFd;
                // Named as systemd names an accepted socket: the listener's name, else
                // "connection".
                let named = spec.listen.get(index).and_then(|l| l.name.as_deref());
                extra.push(("LISTEN_FDS".into(), "1".into()));
                extra.push((
                    "LISTEN_FDNAMES".into(),
                    named.unwrap_or("connection").into(),
                ));
                (None, vec![connection.fd.as_raw_fd()])
            }
            _ => (Some(connection.fd.try_clone()), Vec::new()),
        };
        let stdio = match stdio.transpose() {
            Ok(stdio) => stdio,
            Err(err) => {
                log(format_args!("{name}: cannot hand over a connection: {err}"));
                return;
            }
        };
        let (argv0, args) = spec.program_argv();
        let spawned = self.spawn_process(
            name,
            &spec,
            super::spawn::Process {
                program: spec.program.as_os_str(),
                argv0,
                args,
                prefix: spec.program_prefix,
                extra,
                ready: None,
                cgroup: cgroup.as_ref(),
                sockets,
                stdio,
                main: false,
            },
        );
        // Ours closes now: the instance holds the connection.
        drop(connection);
        match spawned {
            Ok((pid, _)) => {
                self.journal.record(
                    name,
                    format_args!("started PID {pid} for a connection from {from}"),
                );
                if let Some(unit) = self.unit(name) {
                    unit.instances.held().running.push(Instance {
                        pid,
                        from,
                        source,
                        started: Instant::now(),
                    });
                }
            }
            Err((_, reason)) => {
                log(format_args!("{name}: {reason}"));
                self.journal
                    .record(name, format_args!("{reason} (a connection from {from})"));
            }
        }
    }

    /// An instance of a service ended: told, and a stopping service may be gone now. Whether
    /// `pid` was one.
    pub(super) fn instance_ended(&mut self, pid: Pid, exit: LastExit) -> bool {
        let found = self.units.values_mut().find_map(|unit| {
            let (from, ran) = unit.instances.ended(pid)?;
            Some((unit.name.clone(), from, ran))
        });
        let Some((name, from, ran)) = found else {
            return false;
        };
        self.journal.record(
            &name,
            format_args!(
                "PID {pid} (a connection from {from}) ended with {exit} after {}",
                crate::machine::ran(ran)
            ),
        );
        self.check_group(&name);
        true
    }
}
