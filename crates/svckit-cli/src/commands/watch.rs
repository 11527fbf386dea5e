//! `status --watch`: the status drawn again every interval, in place, as watch(1) and top do.
//!
//! On a terminal it takes the alternate screen (the shell's screen comes back as it was), hides
//! the cursor, cuts long lines instead of wrapping them and the frame at the window's height;
//! `q` (read without echo, no Enter needed) or Ctrl-C ends it, any other key or a resize draws
//! at once. The terminal is given back as found on every way out: q, Ctrl-C, SIGTERM, SIGHUP,
//! an error. Into a pipe or a file, each frame is printed after the last, a blank line between,
//! as vmstat does.

use std::{
    io::{self, IsTerminal, Read, Write},
    os::fd::AsFd,
    time::{Duration, Instant},
};

use nix::{
    poll::{PollFd, PollFlags, PollTimeout, poll},
    sys::{
        signal::{SigSet, Signal},
        signalfd::{SfdFlags, SignalFd},
        termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios},
    },
};

use crate::exit::Exit;

/// Enter the alternate screen, hide the cursor, no autowrap.
const ENTER: &str = "\x1b[?1049h\x1b[?25l\x1b[?7l";
/// Leave them, in the reverse order.
const LEAVE: &str = "\x1b[?7h\x1b[?25h\x1b[?1049l";

/// Draws `frame` every `interval` until interrupted (q, Ctrl-C, SIGTERM, SIGHUP). A frame that
/// fails shows its error instead, and the next one tries again.
pub fn watch(
    interval: Duration,
    what: &str,
    mut frame: impl FnMut(&mut Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<Exit> {
    let mut draw = |out: &mut Vec<u8>| {
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        let every = svckit::parse::format_duration(interval);
        let _ = writeln!(out, "{what}, every {every}: q quits    {now}\n");
        if let Err(err) = frame(out) {
            let _ = writeln!(out, "svckit: error: {err:#}");
        }
    };
    if !io::stdout().is_terminal() {
        let mut stdout = io::stdout().lock();
        loop {
            let mut out = Vec::new();
            draw(&mut out);
            out.push(b'\n');
            stdout.write_all(&out)?;
            stdout.flush()?;
            std::thread::sleep(interval);
        }
    }
    let screen = Screen::take()?;
    let mut next = Instant::now();
    loop {
        let mut out = Vec::new();
        draw(&mut out);
        screen.show(&out)?;
        next += interval;
        let now = Instant::now();
        if next < now {
            next = now + interval;
        }
        match screen.wait(next - now)? {
            Wake::Quit => return Ok(Exit::Ok),
            Wake::Draw => {}
        }
    }
}

/// Why a wait ended.
enum Wake {
    /// Time to draw (the interval passed, a key, a resize).
    Draw,
    /// q, Ctrl-C, SIGTERM, SIGHUP.
    Quit,
}

/// The terminal while it is watched: given back as found when dropped.
struct Screen {
    /// The signals that end or redraw the watch, read instead of delivered.
    signals: SignalFd,
    /// Those signals, blocked while watched.
    blocked: SigSet,
    /// stdin's settings before (when stdin is a terminal).
    saved: Option<Termios>,
}

impl Screen {
    fn take() -> anyhow::Result<Screen> {
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
        stdout.write_all(ENTER.as_bytes())?;
        stdout.flush()?;
        Ok(screen)
    }

    /// Draws `frame` from the top left, each line cleared to its end, cut at the window's
    /// height, the rest of the screen cleared.
    fn show(&self, frame: &[u8]) -> io::Result<()> {
        let rows = rustix::termios::tcgetwinsize(io::stdout())
            .map(|size| usize::from(size.ws_row))
            .ok()
            .filter(|rows| *rows > 0)
            .unwrap_or(24);
        let text = String::from_utf8_lossy(frame);
        let mut out = String::from("\x1b[H");
        for (index, line) in text.lines().take(rows).enumerate() {
            if index > 0 {
                out.push_str("\r\n");
            }
            out.push_str(line);
            out.push_str("\x1b[K");
        }
        out.push_str("\x1b[J");
        let mut stdout = io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()
    }

    /// Waits at most `timeout` for a key or a signal.
    fn wait(&self, timeout: Duration) -> anyhow::Result<Wake> {
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
        let _ = stdout.write_all(LEAVE.as_bytes());
        let _ = stdout.flush();
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
        let _ = self.blocked.thread_unblock();
    }
}
