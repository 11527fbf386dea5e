//! A watched screen (`svckit status --watch`), what the terminals of both platforms share: the
//! escape sequences that take and give back the screen, a frame drawn in place, and why a wait
//! between two frames ended. The terminal itself (raw keys, the signals or console events that
//! end a watch, the window's height) is each platform's: `svckit_unix::screen` and
//! `svckit_windows::screen`.

/// Enter the alternate screen, hide the cursor, no autowrap.
pub const ENTER: &str = "\x1b[?1049h\x1b[?25l\x1b[?7l";
/// Leave them, in the reverse order.
pub const LEAVE: &str = "\x1b[?7h\x1b[?25h\x1b[?1049l";

/// Why a wait between two frames ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Time to draw (the interval passed, a key, a resize).
    Draw,
    /// q, Ctrl-C, or the terminal going away (SIGTERM, SIGHUP, the console closed).
    Quit,
}

/// `frame` as drawn in place: from the top left, each line cleared to its end, cut at `rows`
/// lines, the rest of the screen cleared.
pub fn in_place(frame: &str, rows: usize) -> String {
    let mut out = String::from("\x1b[H");
    for (index, line) in frame.lines().take(rows.max(1)).enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        out.push_str(line);
        out.push_str("\x1b[K");
    }
    out.push_str("\x1b[J");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_drawn_from_the_top_and_cut_at_the_window() {
        assert_eq!(
            in_place("one\ntwo\nthree\n", 2),
            "\x1b[Hone\x1b[K\r\ntwo\x1b[K\x1b[J"
        );
        assert_eq!(in_place("", 10), "\x1b[H\x1b[J");
    }
}
