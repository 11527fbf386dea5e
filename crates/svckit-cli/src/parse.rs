//! Parsers for the values the CLI takes: durations, octal modes, signals, `K=V` pairs.

pub use svckit::parse::{duration, env_pair, size, umask};

/// A timeout: a duration of more than zero (a zero timeout cannot be waited for; it failed
/// with exit 1 deep in a socket call).
pub fn timeout(text: &str) -> Result<std::time::Duration, String> {
    match duration(text)? {
        zero if zero.is_zero() => Err(format!(
            "{text:?} is not a timeout (it must be more than 0)"
        )),
        timeout => Ok(timeout),
    }
}

/// How often `status --watch` draws: from 100ms (faster is load, not news) to 1h.
pub fn watch_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = duration(text)?;
    if interval < std::time::Duration::from_millis(100)
        || interval > std::time::Duration::from_secs(3600)
    {
        return Err(format!("{text:?} is not a watch interval (100ms to 1h)"));
    }
    Ok(interval)
}

/// A point in time for `--since`: a duration ago (`10m`, `1h30m`), or a local time
/// (`2026-11-29 10:00` or `2026-11-29 10:00:30`).
pub fn since(text: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(ago) = duration(text) {
        return std::time::SystemTime::now()
            .checked_sub(ago)
            .ok_or_else(|| format!("{text:?} ago is before the epoch"));
    }
    let bad = || {
        format!(
            "{text:?} is neither a duration ago (10m) nor a time (03:14, yesterday, \
             \"2 min ago\", 2026-11-29 10:00)"
        )
    };
    let parsed = parse_datetime::parse_datetime(text).map_err(|_| bad())?;
    parsed.as_zoned().ok_or_else(bad)?;
    let seconds = parsed.unix_epoch_second();
    let nanos = u32::try_from(parsed.subsec_nanosecond()).unwrap_or(0);
    let at = match u64::try_from(seconds) {
        Ok(seconds) => std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(seconds, nanos)),
        Err(_) => None,
    };
    at.ok_or_else(|| format!("{text:?} is before the epoch"))
}

/// A regular expression (`--grep`): Rust's regex syntax, with `\w`, `\d`, `\s` and `.`
/// Unicode-aware.
///
/// svckit is built without the regex crate's Unicode tables of case folding, scripts and
/// categories: they were 120 KB of pointers that every start of every svckit command relocated
/// (0.07 ms of a `svckit status`, see docs/benchmarks.md). A pattern that needs them (`(?i)`,
/// `\p{Greek}`) is matched on bytes instead, without Unicode: `(?i)` folds ASCII letters,
/// other characters match as written; `\p{..}` classes are refused by name.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Compiled in Unicode mode.
    Unicode(regex::Regex),
    /// Compiled on bytes without Unicode (a pattern Unicode mode cannot build here).
    Bytes(regex::bytes::Regex),
}

impl Pattern {
    /// Whether it matches somewhere in `line`.
    pub fn is_match(&self, line: &str) -> bool {
        match self {
            Pattern::Unicode(regex) => regex.is_match(line),
            Pattern::Bytes(regex) => regex.is_match(line.as_bytes()),
        }
    }
}

/// A regular expression (`--grep`), see [`Pattern`].
pub fn pattern(text: &str) -> Result<Pattern, String> {
    match regex::Regex::new(text) {
        Ok(regex) => Ok(Pattern::Unicode(regex)),
        Err(unicode) => regex::bytes::RegexBuilder::new(text)
            .unicode(false)
            .build()
            .map(Pattern::Bytes)
            .map_err(|_| {
                let message = unicode.to_string();
                let why = pattern_error(&message);
                format!("{text:?} is not a regular expression: {why}")
            }),
    }
}

/// What is wrong with a pattern, in one line, from the regex crate's message: that spans lines
/// (the pattern, a caret, then the error), and without its Unicode tables a property is "not
/// found" or a build feature is named, which says nothing to a user.
fn pattern_error(message: &str) -> &str {
    let last = message.lines().last().unwrap_or_default();
    let last = last.strip_prefix("error: ").unwrap_or(last);
    if last.contains("Unicode property") || last.contains("feature") {
        "Unicode classes (\\p{..}) are not built into svckit"
    } else {
        last
    }
}

/// A signal by name (`TERM`, `SIGTERM`, `term`) or Linux number (`15`).
pub fn signal(text: &str) -> Result<svckit::Signal, String> {
    let bad = || format!("{text:?} is not a signal name or number");
    if let Ok(number) = text.parse::<i32>() {
        return svckit::Signal::from_number(number).ok_or_else(bad);
    }
    text.parse().map_err(|_| bad())
}

/// A command: a program (an absolute path) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandWords(pub Vec<String>);

/// A command line split into words as sh would (quotes, backslashes; on Windows as
/// CommandLineToArgvW would, so `C:\\Windows\\System32\\cmd.exe` keeps its backslashes), never
/// run by a shell: a program (an absolute path) and its arguments.
pub fn command_words(text: &str) -> Result<CommandWords, String> {
    let words = match cfg!(windows) {
        true => windows_words(text),
        false => shell_words::split(text).map_err(|err| format!("{text:?}: {err}"))?,
    };
    match words.first() {
        None => Err("the command is empty".to_owned()),
        Some(program) if !std::path::Path::new(program).is_absolute() => Err(format!(
            "{program:?} is not an absolute path (the command runs without a shell or PATH)"
        )),
        Some(_) => Ok(CommandWords(words)),
    }
}

/// A command line split into words as CommandLineToArgvW splits it: blanks separate words
/// outside quotes; backslashes are literal but before a quote, where 2n of them are n and the
/// quote toggles quoting, and 2n+1 are n and a literal quote; `""` inside quotes is a quote.
pub fn windows_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut backslashes = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    backslashes += 1;
                }
                in_word = true;
                if chars.peek() == Some(&'"') {
                    word.extend(std::iter::repeat_n('\\', backslashes / 2));
                    if backslashes % 2 == 1 {
                        chars.next();
                        word.push('"');
                    }
                } else {
                    word.extend(std::iter::repeat_n('\\', backslashes));
                }
            }
            '"' => {
                in_word = true;
                if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    word.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A resource limit for a service: `KEY=N`, `KEY=SOFT:HARD` or `KEY=infinity`.
pub fn limit(text: &str) -> Result<(String, svckit::Limit), String> {
    const KEYS: [&str; 6] = ["nofile", "nproc", "core", "memlock", "as", "cpu"];
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=LIMIT"))?;
    if !KEYS.contains(&key) {
        return Err(format!("{key:?} is not one of {}", KEYS.join(", ")));
    }
    let limit = value
        .parse()
        .map_err(|err: svckit::ModelError| err.to_string())?;
    Ok((key.to_owned(), limit))
}

/// What a service waits for in one of its dependencies: `NAME=CONDITION` (`db=healthy`,
/// `redis=log_ready:Ready to accept connections`).
pub fn condition(
    text: &str,
) -> Result<(svckit::ServiceName, svckit::condition::Condition), String> {
    let (name, condition) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=CONDITION"))?;
    let name = svckit::ServiceName::new(name).map_err(|err| err.to_string())?;
    Ok((name, condition.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `--grep '('` printed the regex crate's message whole, three lines (the
    /// pattern, a caret under it, then the error), where every error is one line.
    #[test]
    fn regression_a_bad_grep_pattern_is_said_in_one_line() {
        for bad in ["(", "a{2,1}", "[z-a]", "*a", "\\"] {
            let err = super::pattern(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err:?}");
            assert!(
                err.starts_with(&format!("{bad:?} is not a regular expression: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn patterns_match_as_grep_would_without_unicode_tables() {
        let matches = |pattern: &str, line: &str| super::pattern(pattern).unwrap().is_match(line);
        assert!(matches("^b", "beta"));
        assert!(!matches("^b", "alpha beta"));
        // Case-insensitive: the case folding table is not built in, so ASCII letters fold.
        assert!(matches("(?i)ERROR", "an error here"));
        assert!(matches("(?i)error: é", "ERROR: é"));
        assert!(!matches("(?i)error", "no failure"));
        // \\w and . stay Unicode-aware.
        assert!(matches("^h\\w+o$", "héllo"));
        assert!(matches("^.$", "é"));
        assert!(matches("caf.", "café"));
        // A class that needs a table is refused, in words a user can act on. (A workspace
        // test build has the tables: proptest, a dev-dependency, asks for regex-syntax's
        // Unicode features, so the crate's messages without them are checked here as text.)
        let missing =
            "regex parse error:\n    \\p{Greek}\n    ^^^^^^^^^\nerror: Unicode property not found";
        assert_eq!(
            pattern_error(missing),
            "Unicode classes (\\p{..}) are not built into svckit"
        );
        let feature = "regex parse error:\n    (?i)é\n    ^^^^^\nerror: Unicode-aware case insensitivity matching is not available (make sure the unicode-case feature is enabled)";
        assert_eq!(
            pattern_error(feature),
            "Unicode classes (\\p{..}) are not built into svckit"
        );
        let err = super::pattern("(").unwrap_err();
        assert_eq!(err, "\"(\" is not a regular expression: unclosed group");
    }

    #[test]
    fn windows_words_are_split_as_command_line_to_argv_splits_them() {
        let split = |text: &str| windows_words(text);
        assert_eq!(
            split(r"C:\Windows\System32\cmd.exe /c echo hi"),
            [r"C:\Windows\System32\cmd.exe", "/c", "echo", "hi"]
        );
        assert_eq!(
            split(r#""C:\svc kit\t.exe"  "a b" c"#),
            [r"C:\svc kit\t.exe", "a b", "c"]
        );
        assert_eq!(split(r#"a\"b c\\"d e""#), [r#"a"b"#, r"c\d e"]);
        assert_eq!(split(r#"a\\\"b"#), [r#"a\"b"#]);
        assert_eq!(split(r#""say ""hi""" x"#), [r#"say "hi""#, "x"]);
        assert_eq!(split(r#""" x"#), ["", "x"]);
        assert!(split("   ").is_empty());
    }

    /// Regression: `--timeout 0` exited 1 ("cannot set a 0 duration timeout") instead of 2.
    #[test]
    fn regression_a_zero_timeout_is_bad_input() {
        assert!(timeout("0").unwrap_err().contains("more than 0"));
        assert!(timeout("0s").is_err());
        assert_eq!(timeout("1ms"), Ok(std::time::Duration::from_millis(1)));
    }

    #[test]
    fn env_pairs() {
        assert_eq!(env_pair("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(env_pair("A="), Ok(("A".into(), "".into())));
        assert!(env_pair("=x").is_err());
        assert!(env_pair("novalue").is_err());
    }

    #[test]
    fn signals() {
        use svckit::Signal;
        assert_eq!(signal("TERM"), Ok(Signal::Term));
        assert_eq!(signal("sigkill"), Ok(Signal::Kill));
        assert_eq!(signal("1"), Ok(Signal::Hup));
        assert_eq!(signal("17"), Ok(Signal::Chld));
        assert!(signal("NOPE").is_err());
        assert!(signal("999").is_err());
    }
}
