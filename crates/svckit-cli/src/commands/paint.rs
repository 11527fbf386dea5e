//! Colour for people at a terminal: only when stdout is one, `NO_COLOR` is unset or empty
//! (<https://no-color.org>) and `TERM` is not `dumb`; `CLICOLOR_FORCE=1` forces it (for a
//! pager). Colour never carries meaning alone: the words are the same without it.

use std::{borrow::Cow, io::IsTerminal, sync::OnceLock};

use anstyle::{AnsiColor, Style};

/// Whether this run paints.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        if set("NO_COLOR") {
            return false;
        }
        if std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| value != "0") {
            return true;
        }
        std::io::stdout().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    })
}

/// `text` as a terminal may show it: every control character (C0 but tab, DEL, C1) and every
/// bidirectional override written out as an escape (`\x1b`, `\u{202e}`), so text a service
/// wrote (its output, its sd_notify `STATUS=`) can never move the cursor, clear the screen,
/// set the window's title or reorder what is read. For every human-readable view; `--plain`
/// and `--json` stay as they are.
pub fn visible(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !hidden(c) => shown.push(c),
            c if (c as u32) < 0x100 => shown.push_str(&format!("\\x{:02x}", c as u32)),
            c => shown.extend(c.escape_unicode()),
        }
    }
    Cow::Owned(shown)
}

/// `text` in `style`, when painting.
pub fn paint(text: &str, style: Style) -> String {
    if enabled() && style != Style::new() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// The style of a state word: running green, on its way or waiting yellow, failed red,
/// paused cyan, unsupervised magenta, stopped plain.
pub fn state(word: &str) -> Style {
    let color = |color: AnsiColor| Style::new().fg_color(Some(color.into()));
    match word.split_whitespace().next().unwrap_or_default() {
        "running" | "reloading" => color(AnsiColor::Green).bold(),
        "starting" | "stopping" | "backoff" | "start" | "stop" | "continue" | "pause" => {
            color(AnsiColor::Yellow)
        }
        "failed" | "unknown" => color(AnsiColor::Red).bold(),
        "paused" => color(AnsiColor::Cyan),
        "unsupervised" => color(AnsiColor::Magenta),
        _ => Style::new(),
    }
}

/// A heading.
pub fn heading() -> Style {
    Style::new().bold()
}

/// What is quieter than the rest (times, events).
pub fn dim() -> Style {
    Style::new().dimmed()
}

/// A service's stderr.
pub fn error() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into()))
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(visible("plain\ttext é"), "plain\ttext é");
        assert_eq!(
            visible("\x1b]0;title\x07\x1b[2J"),
            "\\x1b]0;title\\x07\\x1b[2J"
        );
        assert_eq!(visible("a\rb\nc\u{7f}\u{9b}"), "a\\x0db\\x0ac\\x7f\\x9b");
        assert_eq!(visible("evil\u{202e}txt"), "evil\\u{202e}txt");
    }
}
