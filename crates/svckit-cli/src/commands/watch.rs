//! `status --watch`: the status drawn again every interval, in place, as watch(1) and top do.
//!
//! On a terminal it takes the alternate screen (the shell's screen comes back as it was), hides
//! the cursor, cuts long lines instead of wrapping them and the frame at the window's height;
//! `q` (read without echo, no Enter needed) or Ctrl-C ends it, any other key or a resize draws
//! at once. The terminal is given back as found on every way out: q, Ctrl-C, SIGTERM, SIGHUP,
//! an error. Into a pipe or a file, each frame is printed after the last, a blank line between,
//! as vmstat does.

use std::{
    io::{self, IsTerminal, Write},
    time::{Duration, Instant},
};

use svckit::screen::{Screen, Wake};

use crate::exit::Exit;

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
        screen.show(&String::from_utf8_lossy(&out))?;
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
