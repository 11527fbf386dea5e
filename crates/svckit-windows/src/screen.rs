//! The console of `svckit status --watch` on Windows: the alternate screen through the
//! console's virtual-terminal mode, keys read one by one without echo (`q` quits), and Ctrl-C
//! caught so the console is given back as found when the [`Screen`] is dropped.

use std::{
    io::{self, Write},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use svckit_core::screen;
pub use svckit_core::screen::Wake;
use windows_sys::Win32::System::Console::{
    ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT, ENABLE_PROCESSED_OUTPUT,
    ENABLE_VIRTUAL_TERMINAL_PROCESSING,
};

use crate::sys;

/// Ctrl-C or Ctrl-Break came: the watch ends at its next look.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The console while it is watched: given back as found when dropped.
#[derive(Debug)]
pub struct Screen {
    /// stdin's and stdout's console modes before, each when it is a console.
    saved: (Option<u32>, Option<u32>),
}

impl Screen {
    /// Takes the console: virtual-terminal output and the alternate screen, keys one by one
    /// without echo (when stdin is the console), Ctrl-C caught.
    pub fn take() -> io::Result<Screen> {
        let saved = sys::console_modes();
        let (input, output) = saved;
        sys::set_console_modes(
            input.map(|mode| mode & !(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT)),
            output.map(|mode| mode | ENABLE_PROCESSED_OUTPUT | ENABLE_VIRTUAL_TERMINAL_PROCESSING),
        )?;
        // A second watch in one process keeps the first handler, which does the same.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
        let screen = Screen { saved };
        let mut stdout = io::stdout().lock();
        stdout.write_all(screen::ENTER.as_bytes())?;
        stdout.flush()?;
        Ok(screen)
    }

    /// Draws `frame` in place ([`svckit_core::screen::in_place`]), cut at the window's
    /// height.
    pub fn show(&self, frame: &str) -> io::Result<()> {
        let rows = sys::console_rows().unwrap_or(24);
        let mut stdout = io::stdout().lock();
        stdout.write_all(screen::in_place(frame, rows).as_bytes())?;
        stdout.flush()
    }

    /// Waits at most `timeout` for a key or Ctrl-C (looked at every 100 ms).
    pub fn wait(&self, timeout: Duration) -> io::Result<Wake> {
        let deadline = Instant::now() + timeout;
        loop {
            if INTERRUPTED.load(Ordering::SeqCst) {
                return Ok(Wake::Quit);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Wake::Draw);
            }
            match sys::console_input_quits(left.min(Duration::from_millis(100)))? {
                Some(true) => return Ok(Wake::Quit),
                Some(false) => return Ok(Wake::Draw),
                None => {}
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(screen::LEAVE.as_bytes());
        let _ = stdout.flush();
        let _ = sys::set_console_modes(self.saved.0, self.saved.1);
    }
}
