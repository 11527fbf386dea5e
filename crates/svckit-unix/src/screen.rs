//! The terminal of `svckit status --watch` on Unix: the alternate screen, keys read one by
//! one without echo, and the signals that end the watch (SIGINT, SIGTERM, SIGHUP, SIGQUIT) or
//! redraw it (SIGWINCH) read from a signalfd instead of delivered; everything given back as
//! found when the [`Screen`] is dropped, on every way out.

use std::{
    io::{self, IsTerminal, Read, Write},
    os::fd::AsFd,
    time::Duration,
};

use nix::{
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::{
        signal::{SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios},
    },
};
use svckit_core::screen;
pub use svckit_core::screen::Wake;

/// The terminal while it is watched: given back as found when dropped.
pub struct Screen {
    /// The signals that end or redraw the watch, read instead of delivered.
    signals: SignalFd,
    /// Those signals, blocked while watched.
    blocked: SigSet,
    /// stdin's settings before (when stdin is a terminal).
    saved: Option<Termios>,
}

impl Screen {
    /// Takes the terminal: the alternate screen, keys read one by one without echo (when
    /// stdin is a terminal), and the signals that end or redraw the watch read instead of
    /// delivered.
    pub fn take() -> io::Result<Screen> {
        let mut blocked = SigSet::empty();
        for signal in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
            Signal::SIGWINCH,
        ] {
            blocked.add(signal);
        }
        blocked.thread_block()?;
        let signals =
            SignalFd::with_flags(&blocked, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        // Keys one by one, unechoed; Ctrl-C still a signal.
        let stdin = io::stdin();
        let saved = match stdin.is_terminal() {
            true => {
                let saved = termios::tcgetattr(stdin.as_fd())?;
                let mut raw = saved.clone();
                raw.local_flags
                    .remove(LocalFlags::ICANON | LocalFlags::ECHO);
                raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
                raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
                termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
                Some(saved)
            }
            false => None,
        };
        let screen = Screen {
            signals,
            blocked,
            saved,
        };
        let mut stdout = io::stdout().lock();
        stdout.write_all(screen::ENTER.as_bytes())?;
        stdout.flush()?;
        Ok(screen)
    }

    /// Draws `frame` in place ([`svckit_core::screen::in_place`]), cut at the window's
    /// height.
    pub fn show(&self, frame: &str) -> io::Result<()> {
        let rows = rustix::termios::tcgetwinsize(io::stdout())
            .map(|size| usize::from(size.ws_row))
            .ok()
            .filter(|rows| *rows > 0)
            .unwrap_or(24);
        let mut stdout = io::stdout().lock();
        stdout.write_all(screen::in_place(frame, rows).as_bytes())?;
        stdout.flush()
    }

    /// Waits at most `timeout` for a key or a signal.
    pub fn wait(&self, timeout: Duration) -> io::Result<Wake> {
        let stdin = io::stdin();
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if self.saved.is_some() {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => return Ok(Wake::Draw),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(Wake::Draw),
            Err(err) => return Err(err.into()),
        }
        let signalled = fds[0].any().unwrap_or(false);
        let keyed = fds.get(1).is_some_and(|fd| fd.any().unwrap_or(false));
        if signalled && let Some(info) = self.signals.read_signal()? {
            return Ok(match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGWINCH) => Wake::Draw,
                _ => Wake::Quit,
            });
        }
        if keyed {
            let mut key = [0u8; 64];
            let read = stdin.lock().read(&mut key)?;
            // End of input (the terminal went away) ends the watch too.
            if read == 0 || key[..read].iter().any(|k| matches!(k, b'q' | b'Q')) {
                return Ok(Wake::Quit);
            }
        }
        Ok(Wake::Draw)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(screen::LEAVE.as_bytes());
        let _ = stdout.flush();
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
        let _ = self.blocked.thread_unblock();
    }
}
