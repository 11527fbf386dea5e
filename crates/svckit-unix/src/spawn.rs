//! Starting a supervised service: a child in a new session (so it leads its own process group
//! and has no controlling terminal), with every signal disposition at its default, an empty
//! signal mask, the configured umask, an optional readiness fd at a fixed number, and the
//! configured credentials (setgroups → setgid → setuid, verified).
//!
//! [`ChildSetup::spawn`] starts the program itself, born in its cgroup (clone3's
//! `CLONE_INTO_CGROUP`); [`ChildSetup::apply`] prepares a [`std::process::Command`] instead,
//! whose caller sets the program, arguments, environment, directory and stdio as usual.

use std::{
    ffi::{CString, OsStr},
    io,
    os::{
        fd::{AsRawFd, OwnedFd, RawFd},
        unix::ffi::OsStrExt,
    },
    path::PathBuf,
    process::Command,
};

use nix::{
    libc,
    sys::{
        signal::{SigSet, SigmaskHow, sigprocmask},
        stat::{Mode, umask},
    },
    unistd::setsid,
};

use crate::{privileges::Credentials, sys};

/// The fd number a child finds its readiness pipe at (`$SVCKIT_READY_FD`), when it is handed
/// no sockets.
pub const READY_FD: RawFd = 3;

/// The fd number a child handed `sockets` sockets finds its readiness pipe at: after them.
pub const fn ready_fd(sockets: usize) -> RawFd {
    READY_FD + sockets as RawFd
}

/// Sockets handed to a program as systemd hands them: at fd 3 on, with `LISTEN_PID` (its own
/// pid, known only in the child: the child execs the program itself, with the environment
/// below and `LISTEN_PID` added, once the rest of the setup is done).
#[derive(Debug)]
pub struct Handover {
    /// The sockets, in order (they stay the caller's; the child gets copies).
    pub fds: Vec<RawFd>,
    /// The program, looked up in the environment's PATH already ([`find_program`]).
    pub program: CString,
    /// Its arguments, its name first.
    pub argv: Vec<CString>,
    /// Its whole environment, `LISTEN_FDS` and `LISTEN_FDNAMES` among it, as `KEY=VALUE`.
    pub envp: Vec<CString>,
}

impl Handover {
    /// `fds` handed to `program` run with `args` (its `argv[0]` `argv0`, else its name) in
    /// exactly the environment `env` (see [`exec_strings`]).
    pub fn new(
        program: &OsStr,
        argv0: Option<&OsStr>,
        args: &[std::ffi::OsString],
        env: &[(std::ffi::OsString, std::ffi::OsString)],
        fds: Vec<RawFd>,
    ) -> io::Result<Handover> {
        let (program, argv, envp) = exec_strings(program, argv0, args, env)?;
        Ok(Handover {
            fds,
            program,
            argv,
            envp,
        })
    }
}

/// What execve(2) takes to run `program` with `args` in the environment `env`: the program
/// looked up in `env`'s PATH as execvp would ([`find_program`]), the arguments with `argv0`
/// (else its name) first, and the environment as `KEY=VALUE`; an error names a string that
/// holds a NUL byte.
pub fn exec_strings(
    program: &OsStr,
    argv0: Option<&OsStr>,
    args: &[std::ffi::OsString],
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> io::Result<(CString, Vec<CString>, Vec<CString>)> {
    let c = |text: &OsStr| {
        CString::new(text.as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} holds a NUL byte", text.to_string_lossy()),
            )
        })
    };
    let argv = std::iter::once(argv0.unwrap_or(program))
        .chain(args.iter().map(|arg| arg.as_os_str()))
        .map(c)
        .collect::<io::Result<Vec<_>>>()?;
    let envp = env
        .iter()
        .map(|(key, value)| {
            let mut pair = key.clone();
            pair.push("=");
            pair.push(value);
            c(&pair)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let path = env
        .iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.as_os_str());
    let found = find_program(program, path)?;
    Ok((c(found.as_os_str())?, argv, envp))
}

/// How a service's process is set up between fork and exec.
#[derive(Debug, Default)]
pub struct ChildSetup {
    /// The user and group to switch to.
    pub credentials: Option<Credentials>,
    /// The file mode creation mask (022 when `None`).
    pub umask: Option<u32>,
    /// The write end of a readiness pipe, to be found at [`READY_FD`] in the child.
    pub ready: Option<OwnedFd>,
    /// The open-file limit (soft, hard) to give the child: a supervisor that raised its own
    /// soft limit gives its services the one it was started with (see
    /// [`crate::process::raise_open_file_limit`]).
    pub open_files: Option<(u64, u64)>,
    /// A cgroup's `cgroup.procs` opened for writing ([`crate::cgroup::Cgroup::procs_for_writing`]):
    /// the child moves itself in first thing, so nothing it starts is outside it.
    pub cgroup: Option<OwnedFd>,
    /// Its resource limits (set before privileges are dropped: raising a hard limit needs
    /// root).
    pub limits: svckit_core::Limits,
    /// Its scheduling priority.
    pub nice: Option<i32>,
    /// Its OOM killer adjustment (`/proc/self/oom_score_adj`).
    pub oom_score_adjust: Option<i32>,
    /// Sockets to hand it (its readiness pipe then follows them: [`ready_fd`]).
    pub handover: Option<Handover>,
}

/// What [`ChildSetup::spawn`] runs: the program with its arguments in exactly its
/// environment (its PATH finds it), in its directory, its stdio, and its cgroup.
#[derive(Debug)]
pub struct Run<'a> {
    /// The program (a name is looked up in `env`'s PATH, as execvp does).
    pub program: &'a OsStr,
    /// Its `argv[0]`, when not the program's name (systemd's `@` prefix).
    pub argv0: Option<&'a OsStr>,
    /// Its arguments, its name not among them.
    pub args: &'a [std::ffi::OsString],
    /// Its whole environment.
    pub env: &'a [(std::ffi::OsString, std::ffi::OsString)],
    /// Its working directory.
    pub dir: &'a std::path::Path,
    /// Its stdin, stdout and stderr.
    pub stdio: [OwnedFd; 3],
    /// The cgroup it is born in (clone3's `CLONE_INTO_CGROUP`; where the kernel cannot, it
    /// moves itself in first thing, before anything else of it runs).
    pub cgroup: Option<&'a crate::cgroup::Cgroup>,
}

/// What a child runs: the program, its arguments and its environment, for execve(2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exec {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// Whether `LISTEN_PID` (the child's own pid) is added: it is handed sockets.
    listen_pid: bool,
}

/// A [`ChildSetup`] made ready to run in the child: everything allocated or opened that can
/// be, before the fork.
#[derive(Debug)]
pub(crate) struct Prepared {
    mask: Mode,
    credentials: Option<Credentials>,
    open_files: Option<(u64, u64)>,
    /// `cgroup.procs`, written by the child to move itself in.
    procs: Option<OwnedFd>,
    limits: Vec<(nix::sys::resource::Resource, u64, u64)>,
    nice: Option<i32>,
    oom: Option<Vec<u8>>,
    /// What the program finds from fd 3: its sockets, then its readiness pipe.
    placed: Vec<RawFd>,
    sockets: usize,
    exec: Option<Exec>,
}

impl ChildSetup {
    /// The setup ready to run in a child, the readiness write end (the caller's to drop once
    /// the child runs), and the proof that this process may fork.
    fn prepare(self) -> io::Result<(Prepared, Option<OwnedFd>, sys::SingleThreaded)> {
        if let Some((key, why)) = limits_refused(&self.limits) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("limits.{key}: {why}"),
            ));
        }
        let proof = sys::SingleThreaded::check().map_err(|why| why.into_io("set up a child"))?;
        let ready_raw = self.ready.as_ref().map(AsRawFd::as_raw_fd);
        let sockets: Vec<RawFd> = self
            .handover
            .as_ref()
            .map(|handover| handover.fds.clone())
            .unwrap_or_default();
        let placed = sockets.iter().copied().chain(ready_raw).collect();
        let prepared = Prepared {
            mask: Mode::from_bits_truncate(self.umask.unwrap_or(0o022) as libc::mode_t),
            credentials: self.credentials,
            open_files: self.open_files,
            procs: self.cgroup,
            limits: self
                .limits
                .each()
                .map(|(key, limit)| (resource(key), limit.soft, limit.hard))
                .collect(),
            nice: self.nice,
            oom: self
                .oom_score_adjust
                .map(|adjust| format!("{adjust}\n").into_bytes()),
            placed,
            sockets: sockets.len(),
            exec: self.handover.map(|handover| Exec {
                program: handover.program,
                argv: handover.argv,
                envp: handover.envp,
                listen_pid: true,
            }),
        };
        Ok((prepared, self.ready, proof))
    }

    /// Arranges for `command`'s child to run the setup before exec. Returns the readiness write
    /// end, which the caller must drop once the child is spawned (so the pipe reports EOF when
    /// the child closes its copy).
    ///
    /// Switching credentials allocates in the child, which is only sound when this process has
    /// one thread: with credentials, a multi-threaded caller gets an error instead.
    pub fn apply(self, command: &mut Command) -> io::Result<Option<OwnedFd>> {
        let (prepared, ready, proof) = self.prepare()?;
        sys::set_pre_exec(command, &proof, move |in_child| prepared.run(in_child));
        Ok(ready)
    }

    /// Starts [`Run`]'s program with this setup: forked (born in its cgroup, see
    /// [`Run::cgroup`]), its stdio and directory in place, the setup done, then exec'd.
    /// Returns its pid once it has exec'd, with the readiness write end (the caller's to drop),
    /// or why it could not start (the errno of the step that failed; the child is reaped).
    pub fn spawn(self, run: Run<'_>) -> io::Result<(svckit_core::Pid, Option<OwnedFd>)> {
        self.spawn_through(run, None)
    }

    /// [`ChildSetup::spawn`] through `forker` when there is one: the child is forked by the
    /// forker, this process's child all the same ([`crate::forker`]). Where the forker does
    /// not answer (it is then ended, and never asked again), or the order is too large, the
    /// child is forked here.
    pub fn spawn_through(
        self,
        run: Run<'_>,
        forker: Option<&crate::forker::Forker>,
    ) -> io::Result<(svckit_core::Pid, Option<OwnedFd>)> {
        let plain = match self.handover {
            Some(_) => None,
            None => Some(exec_strings(run.program, run.argv0, run.args, run.env)?),
        };
        let dir = CString::new(run.dir.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} holds a NUL byte", run.dir.display()),
            )
        })?;
        let (mut prepared, ready, proof) = self.prepare()?;
        if let Some((program, argv, envp)) = plain {
            prepared.exec = Some(Exec {
                program,
                argv,
                envp,
                listen_pid: false,
            });
        }
        if let Some(link) = forker.filter(|forker| forker.answers()) {
            let cgroup = run.cgroup.map(crate::cgroup::Cgroup::open_dir).transpose();
            // (A cgroup that cannot be opened is the direct path's to report.)
            if let Ok(cgroup) = cgroup {
                let order =
                    prepared.encode(&dir, &run.stdio, cgroup.as_ref().map(AsRawFd::as_raw_fd));
                if order.bytes.len() <= crate::forker::ORDER_MAX {
                    match link.ask(&order.bytes, &order.fds) {
                        Ok(crate::forker::Answer::Started(child)) => return Ok((child, ready)),
                        Ok(crate::forker::Answer::Failed(child, errno)) => {
                            if let Some(child) = child {
                                let _ = sys::wait_for(child);
                            }
                            return Err(io::Error::from_raw_os_error(errno));
                        }
                        // Too large for the link on this host: forked here, the forker
                        // kept for the next.
                        Err(err) if err.raw_os_error() == Some(libc::EMSGSIZE) => {}
                        Err(_) => link.end(),
                    }
                }
            }
        }
        let (report_read, report_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let born = match run.cgroup {
            Some(cgroup) => match cgroup
                .open_dir()
                .and_then(|dir| sys::fork_into_cgroup(&proof, std::os::fd::AsFd::as_fd(&dir)))
            {
                Ok(fork) => Some(fork),
                // A kernel before 5.7, or a cgroup clone3 cannot start a child in: the child
                // moves itself in instead.
                Err(_) => {
                    prepared.procs = Some(cgroup.procs_for_writing()?);
                    None
                }
            },
            None => None,
        };
        let fork = match born {
            Some(fork) => fork,
            None => sys::fork(&proof)?,
        };
        if let Some(in_child) = sys::in_forked_child(&fork) {
            prepared.exec_in_child(&in_child, &run.stdio, &dir, &report_write);
        }
        let sys::Fork::Parent { child } = fork else {
            unreachable!("the child execs or exits above")
        };
        drop(report_write);
        drop(run.stdio);
        // Nothing to read once it has exec'd (the pipe closes on exec); its errno if not.
        match read_errno(&report_read) {
            0 => Ok((child, ready)),
            errno => {
                let _ = sys::wait_for(child);
                Err(io::Error::from_raw_os_error(errno))
            }
        }
    }
}

impl Prepared {
    /// In the child, after fork: `stdio` at 0, 1 and 2, into `dir`, the setup ([`run`]), and
    /// the exec; never returns. A step that fails writes its errno to `report` (closed on
    /// exec: nothing is read there once the program runs) and the child exits 127.
    ///
    /// [`run`]: Prepared::run
    fn exec_in_child(
        &self,
        in_child: &sys::InChild,
        stdio: &[OwnedFd; 3],
        dir: &std::ffi::CStr,
        report: &OwnedFd,
    ) -> ! {
        let stdio = stdio.each_ref().map(AsRawFd::as_raw_fd);
        let failed = sys::place_fds_in_child(in_child, &stdio, 0)
            .and_then(|()| Ok(nix::unistd::chdir(dir)?))
            .and_then(|()| self.run(in_child))
            .err()
            .unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOEXEC));
        let errno = failed.raw_os_error().unwrap_or(libc::EIO);
        let _ = nix::unistd::write(report, &errno.to_ne_bytes());
        sys::exit_now(127);
    }

    /// In the child, after fork: into its cgroup (unless born there), a new session, its
    /// limits, priority and OOM score, its umask, every signal at its default and none blocked,
    /// its fds from 3, its credentials; then the exec, when it runs its own (else the caller
    /// execs, and this returns).
    fn run(&self, in_child: &sys::InChild) -> io::Result<()> {
        if let Some(procs) = &self.procs {
            // "0" is the writer itself.
            nix::unistd::write(procs, b"0")?;
        }
        setsid()?;
        if let Some((soft, hard)) = self.open_files {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, soft, hard)?;
        }
        for (resource, soft, hard) in &self.limits {
            let value = |v: u64| match v {
                svckit_core::Limit::INFINITY => nix::sys::resource::RLIM_INFINITY,
                v => v,
            };
            nix::sys::resource::setrlimit(*resource, value(*soft), value(*hard))?;
        }
        if let Some(nice) = self.nice {
            rustix::process::setpriority_process(None, nice)?;
        }
        if let Some(oom) = &self.oom {
            std::fs::write("/proc/self/oom_score_adj", oom)?;
        }
        umask(self.mask);
        sys::reset_signal_dispositions();
        // The parent (the supervisor) blocks the signals it reads from a signalfd; a
        // blocked mask survives exec, and the service would never see SIGTERM.
        sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
        match self.placed.as_slice() {
            [] => {}
            [fd] if self.sockets == 0 => sys::place_fd_in_child(in_child, *fd, READY_FD)?,
            fds => sys::place_fds_in_child(in_child, fds, READY_FD)?,
        }
        if let Some(credentials) = &self.credentials {
            credentials.apply_in_child()?;
        }
        if let Some(exec) = &self.exec {
            let mut envp = exec.envp.clone();
            if exec.listen_pid {
                // LISTEN_PID is this child's pid: only here is it known.
                envp.push(
                    CString::new(format!("LISTEN_PID={}", std::process::id()))
                        .map_err(io::Error::other)?,
                );
            }
            let err = nix::unistd::execve(&exec.program, &exec.argv, &envp)
                .map(|never| match never {})
                .unwrap_err();
            return Err(err.into());
        }
        Ok(())
    }
}

/// Which of `limits` cannot be set for a service started by this process, and why:
/// `nofile` above the kernel's maximum (`fs.nr_open`; setrlimit fails with EPERM), or, for a
/// process that is not root, a hard limit above its own (only CAP_SYS_RESOURCE raises one).
/// `None` when every limit can be set. For install (a definition refused by name) and for each
/// start (a failure said as what it is, not "spawn: Operation not permitted").
pub fn limits_refused(limits: &svckit_core::Limits) -> Option<(&'static str, String)> {
    let root = nix::unistd::geteuid().is_root();
    let shown = svckit_core::Limit::value_name;
    for (key, limit) in limits.each() {
        if key == "nofile"
            && let Some(most) = std::fs::read_to_string("/proc/sys/fs/nr_open")
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
            && limit.hard > most
        {
            return Some((
                key,
                format!(
                    "{} is above the kernel's maximum of open files (fs.nr_open = {most})",
                    shown(limit.hard)
                ),
            ));
        }
        if root {
            continue;
        }
        let Ok((_, hard)) = nix::sys::resource::getrlimit(resource(key)) else {
            continue;
        };
        let hard = match hard {
            nix::sys::resource::RLIM_INFINITY => svckit_core::Limit::INFINITY,
            hard => hard,
        };
        if limit.hard > hard {
            return Some((
                key,
                format!(
                    "{} is above this user's hard limit {} (only root may raise a hard limit)",
                    shown(limit.hard),
                    shown(hard)
                ),
            ));
        }
    }
    None
}

/// The resource a limit key names.
fn resource(key: &str) -> nix::sys::resource::Resource {
    RESOURCES
        .iter()
        .find(|(name, _)| *name == key)
        .map_or(nix::sys::resource::Resource::RLIMIT_CPU, |(_, resource)| {
            *resource
        })
}

/// The limits a definition sets, by their keys.
const RESOURCES: [(&str, nix::sys::resource::Resource); 6] = {
    use nix::sys::resource::Resource;
    [
        ("nofile", Resource::RLIMIT_NOFILE),
        ("nproc", Resource::RLIMIT_NPROC),
        ("core", Resource::RLIMIT_CORE),
        ("memlock", Resource::RLIMIT_MEMLOCK),
        ("as", Resource::RLIMIT_AS),
        ("cpu", Resource::RLIMIT_CPU),
    ]
};

/// `program` as execvp finds it: a path as it is, a name in each directory of `path` (else
/// `/bin:/usr/bin`, execvp's default), the first executable file wins; none is ENOENT, or
/// EACCES when one was found but not executable.
pub fn find_program(program: &OsStr, path: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(program.into());
    }
    let mut denied = false;
    for dir in std::env::split_paths(path.unwrap_or(OsStr::new("/bin:/usr/bin"))) {
        let file = dir.join(program);
        if !file.is_file() {
            continue;
        }
        match nix::unistd::access(&file, nix::unistd::AccessFlags::X_OK) {
            Ok(()) => return Ok(file),
            Err(_) => denied = true,
        }
    }
    Err(io::Error::from_raw_os_error(match denied {
        true => libc::EACCES,
        false => libc::ENOENT,
    }))
}

/// What the forker is asked to start ([`crate::forker`]): a prepared setup, the directory, the
/// child's stdio, the descriptors it finds from fd 3, and the cgroup it is born in.
pub(crate) struct Order {
    prepared: Prepared,
    dir: CString,
    stdio: [OwnedFd; 3],
    /// The descriptors `prepared.placed` names (kept open until the child has exec'd).
    placed: Vec<OwnedFd>,
    cgroup: Option<OwnedFd>,
}

/// An order's bytes, and the descriptors sent with them (in this order: stdio, placed, then
/// `cgroup.procs` and the cgroup's directory when there are).
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) fds: Vec<RawFd>,
}

/// Writes the fields of an order.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    fn strings(&mut self, v: &[CString]) {
        self.u32(v.len() as u32);
        for s in v {
            self.bytes(s.as_bytes());
        }
    }
}

/// Reads the fields of an order; a short or malformed one is EINVAL.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn cstring(&mut self) -> io::Result<CString> {
        CString::new(self.bytes()?).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }
    fn strings(&mut self) -> io::Result<Vec<CString>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.cstring()).collect()
    }
}

impl Prepared {
    /// The order that starts this setup in `dir` with `stdio` (and in `cgroup`, a cgroup's
    /// directory), for the forker.
    pub(crate) fn encode(
        &self,
        dir: &std::ffi::CStr,
        stdio: &[OwnedFd; 3],
        cgroup: Option<RawFd>,
    ) -> Encoded {
        let mut w = Writer::default();
        w.u32(self.mask.bits());
        match &self.credentials {
            None => w.u8(0),
            Some(credentials) => {
                w.u8(1);
                match &credentials.user {
                    None => w.u8(0),
                    Some(user) => {
                        w.u8(1);
                        w.bytes(user.name.as_bytes());
                        w.u32(user.uid.as_raw());
                        w.bytes(user.home.as_os_str().as_bytes());
                        w.bytes(user.shell.as_os_str().as_bytes());
                    }
                }
                w.u32(credentials.gid.as_raw());
                w.u32(credentials.groups.len() as u32);
                for gid in &credentials.groups {
                    w.u32(gid.as_raw());
                }
            }
        }
        match self.open_files {
            None => w.u8(0),
            Some((soft, hard)) => {
                w.u8(1);
                w.u64(soft);
                w.u64(hard);
            }
        }
        w.u32(self.limits.len() as u32);
        for (resource, soft, hard) in &self.limits {
            let index = RESOURCES.iter().position(|(_, r)| r == resource);
            w.u8(index.unwrap_or(RESOURCES.len() - 1) as u8);
            w.u64(*soft);
            w.u64(*hard);
        }
        match self.nice {
            None => w.u8(0),
            Some(nice) => {
                w.u8(1);
                w.u32(nice as u32);
            }
        }
        match &self.oom {
            None => w.u8(0),
            Some(oom) => {
                w.u8(1);
                w.bytes(oom);
            }
        }
        w.u32(self.sockets as u32);
        w.u32(self.placed.len() as u32);
        match &self.exec {
            None => w.u8(0),
            Some(exec) => {
                w.u8(1);
                w.bytes(exec.program.as_bytes());
                w.strings(&exec.argv);
                w.strings(&exec.envp);
                w.u8(u8::from(exec.listen_pid));
            }
        }
        w.bytes(dir.to_bytes());
        w.u8(u8::from(self.procs.is_some()));
        w.u8(u8::from(cgroup.is_some()));
        let fds = stdio
            .iter()
            .map(AsRawFd::as_raw_fd)
            .chain(self.placed.iter().copied())
            .chain(self.procs.as_ref().map(AsRawFd::as_raw_fd))
            .chain(cgroup)
            .collect();
        Encoded { bytes: w.0, fds }
    }
}

impl Order {
    /// The order in `bytes`, with the descriptors that came with it.
    pub(crate) fn decode(bytes: &[u8], fds: Vec<OwnedFd>) -> io::Result<Order> {
        use nix::unistd::{Gid, Uid};
        let mut r = Reader(bytes);
        let mask = Mode::from_bits_truncate(r.u32()? as libc::mode_t);
        let credentials = match r.u8()? {
            0 => None,
            _ => {
                let user = match r.u8()? {
                    0 => None,
                    _ => Some(crate::privileges::UserInfo {
                        name: String::from_utf8_lossy(&r.bytes()?).into_owned(),
                        uid: Uid::from_raw(r.u32()?),
                        home: PathBuf::from(OsStr::from_bytes(&r.bytes()?)),
                        shell: PathBuf::from(OsStr::from_bytes(&r.bytes()?)),
                    }),
                };
                let gid = Gid::from_raw(r.u32()?);
                let groups = (0..r.u32()?)
                    .map(|_| Ok(Gid::from_raw(r.u32()?)))
                    .collect::<io::Result<_>>()?;
                Some(Credentials { user, gid, groups })
            }
        };
        let open_files = match r.u8()? {
            0 => None,
            _ => Some((r.u64()?, r.u64()?)),
        };
        let limits = (0..r.u32()?)
            .map(|_| {
                let index = usize::from(r.u8()?).min(RESOURCES.len() - 1);
                Ok((RESOURCES[index].1, r.u64()?, r.u64()?))
            })
            .collect::<io::Result<_>>()?;
        let nice = match r.u8()? {
            0 => None,
            _ => Some(r.u32()? as i32),
        };
        let oom = match r.u8()? {
            0 => None,
            _ => Some(r.bytes()?),
        };
        let sockets = r.u32()? as usize;
        let placed_count = r.u32()? as usize;
        let exec = match r.u8()? {
            0 => None,
            _ => Some(Exec {
                program: r.cstring()?,
                argv: r.strings()?,
                envp: r.strings()?,
                listen_pid: r.u8()? != 0,
            }),
        };
        let dir = r.cstring()?;
        let has_procs = r.u8()? != 0;
        let has_cgroup = r.u8()? != 0;
        let expected = 3 + placed_count + usize::from(has_procs) + usize::from(has_cgroup);
        if fds.len() != expected || sockets > placed_count {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut fds = fds.into_iter();
        let mut next = || {
            fds.next()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
        };
        let stdio = [next()?, next()?, next()?];
        let placed: Vec<OwnedFd> = (0..placed_count)
            .map(|_| next())
            .collect::<io::Result<_>>()?;
        let procs = has_procs.then(&mut next).transpose()?;
        let cgroup = has_cgroup.then(&mut next).transpose()?;
        Ok(Order {
            prepared: Prepared {
                mask,
                credentials,
                open_files,
                procs,
                limits,
                nice,
                oom,
                placed: placed.iter().map(AsRawFd::as_raw_fd).collect(),
                sockets,
                exec,
            },
            dir,
            stdio,
            placed,
            cgroup,
        })
    }

    /// Starts the order's child as this process's sibling (the child of its parent, which
    /// reaps it), born in the order's cgroup where the kernel can; returns once it has exec'd
    /// (its pid) or failed (its pid, if it was forked, and the errno of the step that failed).
    pub(crate) fn start(mut self) -> (Option<svckit_core::Pid>, i32) {
        let proof = match sys::SingleThreaded::check() {
            Ok(proof) => proof,
            Err(_) => return (None, libc::EAGAIN),
        };
        let report = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok(pipe) => pipe,
            Err(errno) => return (None, errno as i32),
        };
        let (report_read, report_write) = report;
        let fork = match self.cgroup.take() {
            Some(dir) => match sys::fork_sibling(&proof, Some(std::os::fd::AsFd::as_fd(&dir))) {
                Ok(fork) => Ok(fork),
                // As ChildSetup::spawn: where clone3 cannot start it in its cgroup, the child
                // moves itself in by writing cgroup.procs.
                Err(_) => match nix::fcntl::openat(
                    &dir,
                    "cgroup.procs",
                    nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(procs) => {
                        self.prepared.procs = Some(procs);
                        sys::fork_sibling(&proof, None)
                    }
                    Err(errno) => Err(errno.into()),
                },
            },
            None => sys::fork_sibling(&proof, None),
        };
        let fork = match fork {
            Ok(fork) => fork,
            Err(err) => return (None, err.raw_os_error().unwrap_or(libc::EIO)),
        };
        if let Some(in_child) = sys::in_forked_child(&fork) {
            self.prepared
                .exec_in_child(&in_child, &self.stdio, &self.dir, &report_write);
        }
        let sys::Fork::Parent { child } = fork else {
            unreachable!("the child execs or exits above")
        };
        drop(report_write);
        let errno = read_errno(&report_read);
        // Its copies of them closed now that it has exec'd.
        drop(self.placed);
        (Some(child), errno)
    }
}

/// What a child reported on its report pipe before it closed (on exec): 0 once it exec'd, else
/// the errno of the step that failed.
fn read_errno(report: &OwnedFd) -> i32 {
    let mut errno = [0u8; 4];
    let mut read = 0;
    while read < errno.len() {
        match nix::unistd::read(report, &mut errno[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(errno) => return errno as i32,
        }
    }
    match read {
        0 => 0,
        _ => i32::from_ne_bytes(errno),
    }
}
