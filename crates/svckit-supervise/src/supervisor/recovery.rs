//! Recovery: a new supervisor (after a crash, SIGKILL or an upgrade) reads each service's
//! record, adopts a process that still runs (same pid, start time and pid space; its output
//! pipes found again through /proc) or resumes the desired state; and the record written on
//! every transition that makes this possible.

use super::{
    Duration, Error, Event, Instant, LastExit, OwnedFd, Record, ServiceName, Stream, Supervisor,
    SystemTime, UNIX_EPOCH, UnitState, fs, log, machine, process, store, unix_ms, watch,
};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

impl Supervisor {
    /// Loads every definition, finds the processes a previous supervisor left running (same
    /// pid *and* start time, this boot), and starts what should run: services wanted up, and
    /// `start = auto` services without a record of this boot.
    pub(super) fn recover(&mut self) {
        let names = store::names(&self.dir).unwrap_or_default();
        let mut autos = Vec::new();
        for name in names {
            let spec = match store::load_supervised(&self.dir, &name) {
                Ok(spec) => spec,
                Err(Error::OtherBackend { .. }) => continue,
                Err(err) => {
                    log(format_args!("skipping {name}: {err}"));
                    continue;
                }
            };
            if spec.start == svckit_core::StartType::Auto {
                autos.push(name.clone());
            }
            let record = store::read_record(&self.dir, &name).filter(|r| r.boot_id == self.boot_id);
            let unit = self.new_unit(spec);
            self.index_before(&name, &[], &unit.spec.before);
            self.units.insert(name.clone(), unit);
            self.reindex(&name);
            match record {
                Some(record) => self.adopt(&name, record),
                None => {
                    self.stop_leftovers(&name);
                    if autos.contains(&name) {
                        self.queue(&name, Event::Recover);
                    }
                }
            }
            // On demand: it listens unless it runs (a program adopted keeps the sockets the
            // previous supervisor handed it; they are bound again once it has ended).
            self.listen(&name);
        }
        if self.main.is_none() && self.pid1 && autos.len() == 1 {
            self.main = autos.pop();
        }
    }

    pub(super) fn adopt(&mut self, name: &ServiceName, record: Record) {
        let alive = record.pid.filter(|pid| {
            record.state.has_process()
                && process::start_time(*pid).ok() == record.start_ticks
                && !process::is_gone(*pid)
        });
        let unit = self.units.get_mut(name).expect("inserted");
        unit.restarts = record.restarts;
        unit.last_exit = record.last_exit;
        unit.note(|n| &mut n.last_exit_why, record.last_exit_why.clone());
        unit.runtime.created = record.runtime.iter().map(Into::into).collect();
        let Some(pid) = alive else {
            self.stop_leftovers(name);
            let Some(unit) = self.unit(name) else {
                return;
            };
            if record.state.has_process() {
                unit.last_exit = Some(LastExit::Unknown);
            }
            self.restore(name, &record, false);
            if record.wanted {
                self.queue(name, Event::Recover);
            }
            return;
        };
        log(format_args!("{name}: adopting PID {pid}"));
        self.journal.record(
            name,
            format_args!("adopted PID {pid}, left running by the previous supervisor"),
        );
        unit.process.pid = Some(pid);
        unit.process.pgid = Some(pid);
        unit.process.sid = Some(pid);
        // Its cgroup, if the previous supervisor made one and the process is in it.
        unit.process.cgroup = self
            .cgroups
            .as_ref()
            .and_then(|cgroups| cgroups.service(name.as_str()).ok())
            .filter(|cgroup| cgroup.pids().contains(&pid));
        unit.process.start_ticks = record.start_ticks;
        let started_at = UNIX_EPOCH + Duration::from_millis(record.started_ms.unwrap_or(0));
        let age = SystemTime::now()
            .duration_since(started_at)
            .unwrap_or_default();
        unit.process.started = Some((
            Instant::now() - age.min(Duration::from_secs(1 << 30)),
            started_at,
        ));
        self.restore(name, &record, true);
        if let Some(unit) = self.unit(name) {
            unit.since = UNIX_EPOCH + Duration::from_millis(record.since_ms);
        }
        let token = self.token();
        match process::pidfd(pid) {
            Ok(fd) => {
                let _ = watch(&self.poll, &fd, token);
                if let Some(unit) = self.unit(name) {
                    unit.process.pidfd = Some((token, fd));
                }
            }
            Err(err) => log(format_args!("{name}: cannot watch PID {pid}: {err}")),
        }
        // Its output pipes: the same pipes, opened again through /proc.
        if let Some((out_ino, err_ino)) = record.pipes {
            for (fd, ino, stream) in [(1, out_ino, Stream::Stdout), (2, err_ino, Stream::Stderr)] {
                // One pipe for both (near the open-file limit): captured once, as stdout.
                if stream == Stream::Stderr && err_ino == out_ino {
                    continue;
                }
                let path = format!("/proc/{pid}/fd/{fd}");
                if fs::metadata(&path).map(|m| m.ino()).ok() != Some(ino) {
                    continue;
                }
                let opened = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_NONBLOCK)
                    .open(&path);
                if let Ok(file) = opened {
                    self.capture_adopted(name, stream, OwnedFd::from(file));
                }
            }
            if let Some(unit) = self.unit(name) {
                unit.pipes = record.pipes;
            }
        }
        if record.state == UnitState::Stopping {
            // A stop was under way: it goes on, and the service stays wanted as it was.
            self.queue(name, Event::Shutdown);
        }
        self.reindex(name);
        self.persist(name);
    }

    /// Tells the machine what `record` says of `name` (a just-loaded service), its main
    /// process adopted (`alive`) or not: the row it restores. Nothing is carried out.
    fn restore(&mut self, name: &ServiceName, record: &Record, alive: bool) {
        let Some(unit) = self.unit(name) else {
            return;
        };
        let event = Event::Adopt {
            recorded: record.state,
            wanted: record.wanted,
            alive,
        };
        let now = Instant::now();
        if let Ok(transition) =
            machine::transition(unit.life, event, &unit.policy, &mut unit.history, now)
        {
            debug_assert!(transition.actions.is_empty());
            unit.life = transition.next;
        }
        self.reindex(name);
    }

    /// Stops what is left in `name`'s cgroup when there is no process of it to adopt: a
    /// supervisor killed between spawning a process and writing its record leaves one that
    /// no record names. Done before anything of this supervisor's is spawned, so no service
    /// ever runs twice.
    pub(super) fn stop_leftovers(&mut self, name: &ServiceName) {
        let Some(cgroup) = self
            .cgroups
            .as_ref()
            .and_then(|cgroups| cgroups.service(name.as_str()).ok())
        else {
            return;
        };
        let found = cgroup.pids();
        if found.is_empty() {
            return;
        }
        cgroup.kill_all();
        // Killed processes leave the cgroup as they exit, before they are reaped.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cgroup.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let pids: Vec<String> = found.iter().map(ToString::to_string).collect();
        let said = format!(
            "stopped PID {} left by the previous supervisor, which no record names \
             (it was killed while starting them)",
            pids.join(", ")
        );
        log(format_args!("{name}: {said}"));
        self.journal.record(name, format_args!("{said}"));
    }

    pub(super) fn persist(&mut self, name: &ServiceName) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        let record = Record {
            boot_id: self.boot_id.clone(),
            wanted: unit.life.wanted,
            state: unit.life.state,
            pid: unit.process.pid,
            start_ticks: unit.process.start_ticks,
            started_ms: unit.process.started.map(|(_, at)| unix_ms(at)),
            since_ms: unix_ms(unit.since),
            restarts: unit.restarts,
            last_exit: unit.last_exit,
            last_exit_why: unit.notes().last_exit_why.clone(),
            pipes: unit.pipes,
            runtime: unit.runtime.created.iter().map(Into::into).collect(),
        };
        // Each event saves it: most say nothing new (a start's steps before the spawn), and
        // an unchanged record is not written again (a write costs a system call or two, on
        // the way of a first connection to its program). What was written is kept as a
        // digest of its bytes, not as a copy (160 bytes and its strings, per service).
        let written = store::record_bytes(&record).and_then(|bytes| {
            let digest = svckit_core::hash::fnv1a(&bytes);
            if unit.recorded == Some(digest) {
                return Ok(None);
            }
            store::write_record_bytes(&self.dir, name, &bytes).map(|()| Some(digest))
        });
        match written {
            Ok(None) => {}
            Ok(Some(digest)) => {
                if let Some(unit) = self.units.get_mut(name) {
                    unit.recorded = Some(digest);
                }
            }
            Err(err) => log(format_args!("{name}: cannot save its state: {err}")),
        }
    }
}
