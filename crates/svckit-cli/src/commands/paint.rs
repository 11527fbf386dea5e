//! Colour for people at a terminal: only when stdout is one, `NO_COLOR` is unset or empty
//! (<https://no-color.org>) and `TERM` is not `dumb`; `CLICOLOR_FORCE=1` forces it (for a
//! pager). Colour never carries meaning alone: the words are the same without it.

use std::{io::IsTerminal, sync::OnceLock};

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
#[cfg(unix)]
pub fn dim() -> Style {
    Style::new().dimmed()
}

/// A service's stderr.
#[cfg(unix)]
pub fn error() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into()))
}
