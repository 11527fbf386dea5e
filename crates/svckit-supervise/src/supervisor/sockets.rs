//! The sockets of services started on demand: bound once and kept for the service's whole
//! life (a restart, a crash, a reload: none refuses a connection, which waits in the socket's
//! queue), watched for the first connection while the service listens, handed to its program
//! at each start, closed (and a socket file removed) when it is forgotten.

use std::{
    collections::HashMap,
    os::fd::{AsRawFd, RawFd},
};

use mio::{Interest, Poll, Token, unix::SourceFd};
use svckit_core::{ServiceName, listen::Listener};
use svckit_unix::sockets::{self, Bound};

/// The sockets of one service.
struct Held {
    /// The listeners they were bound for, and whether svckit accepts on them (non-blocking):
    /// a changed definition binds again.
    listeners: Vec<Listener>,
    accepting: bool,
    bound: Vec<Bound>,
    /// Each socket's token in the loop while watched.
    tokens: Vec<Token>,
    watched: bool,
}

/// Every on-demand service's sockets.
#[derive(Default)]
pub(super) struct Sockets {
    held: HashMap<ServiceName, Held>,
    /// Whose socket (and which of its listeners) each token is.
    owners: HashMap<Token, (ServiceName, usize)>,
}

impl Sockets {
    /// Binds `listeners` for `name`, unless they are bound already; sockets bound for other
    /// listeners (a changed definition) are closed first, and the new ones watched if the old
    /// were. All or none: a listener that cannot be bound closes those bound before it, and
    /// is named in the error; the old sockets are then bound (and watched) again, so a
    /// refused change leaves the service listening as before.
    pub(super) fn bind(
        &mut self,
        poll: &Poll,
        name: &ServiceName,
        listeners: &[Listener],
        accepting: bool,
        mut token: impl FnMut() -> Token,
    ) -> Result<(), String> {
        if self
            .held
            .get(name)
            .is_some_and(|held| held.listeners == listeners && held.accepting == accepting)
        {
            return Ok(());
        }
        let before = self
            .held
            .get(name)
            .map(|held| (held.listeners.clone(), held.accepting, held.watched));
        self.close(poll, name);
        let watched = before.as_ref().is_some_and(|(_, _, watched)| *watched);
        let bound = self.bind_anew(name, listeners, accepting, &mut token);
        let restored = match (&bound, &before) {
            (Err(_), Some((old, old_accepting, _))) => self
                .bind_anew(name, old, *old_accepting, &mut token)
                .is_ok(),
            _ => bound.is_ok(),
        };
        if restored && watched {
            self.watch(poll, name)
                .map_err(|err| format!("cannot watch its sockets: {err}"))?;
        }
        bound
    }

    /// Binds `listeners` for `name`, none bound for it now.
    fn bind_anew(
        &mut self,
        name: &ServiceName,
        listeners: &[Listener],
        accepting: bool,
        token: &mut impl FnMut() -> Token,
    ) -> Result<(), String> {
        if listeners.is_empty() {
            return Ok(());
        }
        let mut bound = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let made = sockets::bind(listener).and_then(|socket| match accepting {
                true => sockets::set_nonblocking(&socket.socket)
                    .map(|()| socket)
                    .map_err(|err| {
                        format!("{}: cannot make it non-blocking: {err}", listener.address)
                    }),
                false => Ok(socket),
            });
            match made {
                Ok(socket) => bound.push(socket),
                Err(err) => {
                    for (done, socket) in listeners.iter().zip(&bound) {
                        if let Some(path) = done.address.path() {
                            sockets::remove_file(path, socket);
                        }
                    }
                    return Err(err);
                }
            }
        }
        let tokens: Vec<Token> = bound.iter().map(|_| token()).collect();
        for (index, token) in tokens.iter().enumerate() {
            self.owners.insert(*token, (name.clone(), index));
        }
        self.held.insert(
            name.clone(),
            Held {
                listeners: listeners.to_vec(),
                accepting,
                bound,
                tokens,
                watched: false,
            },
        );
        Ok(())
    }

    /// The fds of `name`'s sockets, in the order of its listeners.
    pub(super) fn fds(&self, name: &ServiceName) -> Vec<RawFd> {
        self.held
            .get(name)
            .map(|held| held.bound.iter().map(|b| b.socket.as_raw_fd()).collect())
            .unwrap_or_default()
    }

    /// Watches `name`'s sockets for a connection (a connection already waiting is reported
    /// too: the loop sees a socket that is readable when it is added).
    pub(super) fn watch(&mut self, poll: &Poll, name: &ServiceName) -> std::io::Result<()> {
        let Some(held) = self.held.get_mut(name) else {
            return Ok(());
        };
        if held.watched {
            return Ok(());
        }
        for (bound, token) in held.bound.iter().zip(&held.tokens) {
            poll.registry().register(
                &mut SourceFd(&bound.socket.as_raw_fd()),
                *token,
                Interest::READABLE,
            )?;
        }
        held.watched = true;
        Ok(())
    }

    /// Stops watching `name`'s sockets: its program takes their connections.
    pub(super) fn unwatch(&mut self, poll: &Poll, name: &ServiceName) {
        let Some(held) = self.held.get_mut(name) else {
            return;
        };
        if held.watched {
            for bound in &held.bound {
                let _ = poll
                    .registry()
                    .deregister(&mut SourceFd(&bound.socket.as_raw_fd()));
            }
            held.watched = false;
        }
    }

    /// The socket of `name`'s listener `index`.
    pub(super) fn socket(&self, name: &ServiceName, index: usize) -> Option<&std::os::fd::OwnedFd> {
        Some(&self.held.get(name)?.bound.get(index)?.socket)
    }

    /// The service and listener `token` is a socket of.
    pub(super) fn owner(&self, token: Token) -> Option<(ServiceName, usize)> {
        self.owners.get(&token).cloned()
    }

    /// Closes `name`'s sockets and removes the socket files they made.
    pub(super) fn close(&mut self, poll: &Poll, name: &ServiceName) {
        self.unwatch(poll, name);
        let Some(held) = self.held.remove(name) else {
            return;
        };
        for token in &held.tokens {
            self.owners.remove(token);
        }
        for (listener, bound) in held.listeners.iter().zip(&held.bound) {
            if let Some(path) = listener.address.path() {
                sockets::remove_file(path, bound);
            }
        }
    }
}
