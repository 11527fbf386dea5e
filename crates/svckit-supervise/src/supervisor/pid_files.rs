//! The pid files forking daemons are awaited to write: the directory of each watched with
//! inotify, so the daemon's main pid is known the moment its file is written, not at a poll.
//! Where inotify is not to be had (or a directory cannot be watched), the loop looks for the
//! file every 10 ms instead.

use std::{
    os::fd::{AsFd, AsRawFd},
    path::Path,
};

use mio::{Interest, Poll, Token, unix::SourceFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use svckit_core::ServiceName;

use super::log;

/// The watches, each with the service that awaits its directory.
#[derive(Default)]
pub(super) struct PidFiles {
    /// Made at the first watch.
    inotify: Option<Inotify>,
    watches: Vec<(WatchDescriptor, ServiceName)>,
}

impl PidFiles {
    /// Watches `dir` for `name`, whose daemon writes its pid file there; the inotify fd is
    /// registered with `poll` as `token` the first time. Where it cannot, `name`'s pid file is
    /// polled (said in the supervisor's log).
    pub(super) fn watch(&mut self, poll: &Poll, token: Token, dir: &Path, name: &ServiceName) {
        if self.inotify.is_none() {
            let made = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                .map_err(std::io::Error::from)
                .and_then(|inotify| {
                    poll.registry().register(
                        &mut SourceFd(&inotify.as_fd().as_raw_fd()),
                        token,
                        Interest::READABLE,
                    )?;
                    Ok(inotify)
                });
            match made {
                Ok(inotify) => self.inotify = Some(inotify),
                Err(err) => {
                    log(format_args!("no inotify ({err}): pid files are polled"));
                    return;
                }
            }
        }
        let Some(inotify) = &self.inotify else {
            return;
        };
        let flags = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MODIFY;
        match inotify.add_watch(dir, flags) {
            Ok(wd) => self.watches.push((wd, name.clone())),
            Err(err) => log(format_args!(
                "{name}: cannot watch {} ({err}): its pid file is polled",
                dir.display()
            )),
        }
    }

    /// Stops watching for `name` (its daemon found, or no longer awaited). A directory another
    /// service awaits keeps its watch (inotify has one per directory).
    pub(super) fn unwatch(&mut self, name: &ServiceName) {
        let Some(inotify) = &self.inotify else {
            return;
        };
        let (gone, kept): (Vec<_>, Vec<_>) = self.watches.drain(..).partition(|(_, of)| of == name);
        self.watches = kept;
        for (wd, _) in gone {
            if !self.watches.iter().any(|(other, _)| *other == wd) {
                let _ = inotify.rm_watch(wd);
            }
        }
    }

    /// Whether a watch tells when `name`'s pid file is written.
    pub(super) fn watched(&self, name: &ServiceName) -> bool {
        self.watches.iter().any(|(_, of)| of == name)
    }

    /// The services whose watched directories something was written in since the last look.
    pub(super) fn written(&self) -> Vec<ServiceName> {
        let Some(inotify) = &self.inotify else {
            return Vec::new();
        };
        let mut names = Vec::new();
        while let Ok(events) = inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for event in events {
                names.extend(
                    self.watches
                        .iter()
                        .filter(|(wd, _)| *wd == event.wd)
                        .map(|(_, name)| name.clone()),
                );
            }
        }
        names.sort();
        names.dedup();
        names
    }
}
