//! A command's prefixes and its variables, as systemd.service(5) gives them: a definition's
//! `program` and each command's first word may start with `-`, `+`, `!`, `@` and `:`, and with
//! `expand_env` its words name variables of the service's environment (`$VAR`, `${VAR}`).
//!
//! | prefix | what it asks |
//! |---|---|
//! | `-` | its failure is ignored: recorded, then treated as success |
//! | `+` | it runs with the supervisor's privileges, not as the service's user and group |
//! | `!` (`!!`) | the same as `+` for svckit, which has no sandboxing to keep |
//! | `@` | the word after the program is its `argv[0]`, the rest its arguments |
//! | `:` | its words are passed as they are, even with `expand_env` |

use std::collections::BTreeMap;

/// The prefixes of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prefix {
    /// `-`: a failure is recorded, then treated as success.
    pub ignore_failure: bool,
    /// `+` or `!`: run with the supervisor's privileges (root's), not as the service's user.
    pub privileged: bool,
    /// `@`: the second word is `argv[0]`.
    pub argv0: bool,
    /// `:`: no variable is expanded in it.
    pub verbatim: bool,
}

impl Prefix {
    /// The prefixes at the start of `word`, and the word after them. An error names a prefix
    /// given twice, or `+` with `!` (systemd refuses both).
    pub fn split(word: &str) -> Result<(Prefix, &str), String> {
        let mut prefix = Prefix::default();
        let mut rest = word;
        let mut seen = String::new();
        while let Some(c) = rest.chars().next() {
            let flag = match c {
                '-' => &mut prefix.ignore_failure,
                '@' => &mut prefix.argv0,
                ':' => &mut prefix.verbatim,
                '+' | '!' => &mut prefix.privileged,
                _ => break,
            };
            // `!!` is one prefix (ambient capabilities where `!` is refused): `!` for svckit.
            let width = if c == '!' && rest.starts_with("!!") {
                2
            } else {
                1
            };
            if *flag {
                let why = match c {
                    '+' | '!' if !seen.contains(c) => "`+` and `!` are one or the other",
                    _ => "is given twice",
                };
                return Err(format!("{word:?}: the prefix `{c}` {why}"));
            }
            *flag = true;
            seen.push(c);
            rest = &rest[width..];
        }
        Ok((prefix, rest))
    }

    /// Whether it asks for nothing.
    pub fn is_empty(self) -> bool {
        self == Prefix::default()
    }

    /// Its text, as it is written before the program (`-+`), in one order.
    pub fn text(self) -> String {
        [
            (self.ignore_failure, '-'),
            (self.privileged, '+'),
            (self.argv0, '@'),
            (self.verbatim, ':'),
        ]
        .into_iter()
        .filter_map(|(given, c)| given.then_some(c))
        .collect()
    }
}

/// A command taken apart: its prefixes, its program, its `argv[0]` (given by `@`), and its
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    /// Its prefixes.
    pub prefix: Prefix,
    /// The program, without its prefixes.
    pub program: &'a str,
    /// `argv[0]`, when `@` gives one.
    pub argv0: Option<&'a str>,
    /// Its arguments.
    pub args: &'a [String],
}

/// `command` (its words, the program first) taken apart. An error says what is wrong: no
/// program, a prefix given twice, `@` without the word it names.
pub fn parts(command: &[String]) -> Result<Parts<'_>, String> {
    let Some((first, rest)) = command.split_first() else {
        return Err("has an empty command".to_owned());
    };
    let (prefix, program) = Prefix::split(first)?;
    if program.is_empty() {
        return Err(format!("{first:?} names no program"));
    }
    let (argv0, args) = match prefix.argv0 {
        true => match rest.split_first() {
            Some((argv0, args)) => (Some(argv0.as_str()), args),
            None => return Err(format!("{first:?}: `@` needs the word argv[0] after it")),
        },
        false => (None, rest),
    };
    Ok(Parts {
        prefix,
        program,
        argv0,
        args,
    })
}

/// `$VAR` and `${VAR}` in `words`, by systemd's rules: a word that is `$VAR` alone becomes the
/// value's words (split at white space: none when it is empty or unset); `${VAR}`, and `$VAR`
/// within a word, become the value as it is (empty when unset); `$$` is one `$`; a `$` before
/// anything else stays.
pub fn expand<'v>(words: &[String], lookup: impl Fn(&str) -> Option<&'v str>) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    for word in words {
        if let Some(name) = word.strip_prefix('$')
            && is_name(name)
        {
            out.extend(
                lookup(name)
                    .into_iter()
                    .flat_map(|value| value.split_whitespace().map(str::to_owned)),
            );
            continue;
        }
        let mut text = String::with_capacity(word.len());
        let mut rest = word.as_str();
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(after) = after.strip_prefix('$') {
                text.push('$');
                rest = after;
            } else if let Some(inner) = after.strip_prefix('{')
                && let Some(end) = inner.find('}')
                && is_name(&inner[..end])
            {
                text.push_str(lookup(&inner[..end]).unwrap_or(""));
                rest = &inner[end + 1..];
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                match end {
                    0 => text.push('$'),
                    _ => text.push_str(lookup(&after[..end]).unwrap_or("")),
                }
                rest = &after[end..];
            }
        }
        text.push_str(rest);
        out.push(text);
    }
    out
}

/// Whether any of `words` names a variable (or escapes a `$` as `$$`): whether [`expand`]
/// changes them.
pub fn names_variables(words: &[String]) -> bool {
    let none: BTreeMap<String, String> = BTreeMap::new();
    expand(words, |name| none.get(name).map(String::as_str)) != words
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn prefixes_are_read_in_any_order_and_once() {
        let (prefix, rest) = Prefix::split("-+/bin/x").unwrap();
        assert!(prefix.ignore_failure && prefix.privileged && !prefix.argv0);
        assert_eq!(rest, "/bin/x");
        let (prefix, rest) = Prefix::split("!!/lib/systemd/systemd-networkd").unwrap();
        assert!(prefix.privileged);
        assert_eq!(rest, "/lib/systemd/systemd-networkd");
        assert_eq!(
            Prefix::split("/bin/x").unwrap(),
            (Prefix::default(), "/bin/x")
        );
        assert!(Prefix::split("--/bin/x").unwrap_err().contains("twice"));
        assert!(
            Prefix::split("+!/bin/x")
                .unwrap_err()
                .contains("one or the other")
        );
        assert!(
            Prefix::split("!+/bin/x")
                .unwrap_err()
                .contains("one or the other")
        );
        assert_eq!(Prefix::split(":@-/bin/x").unwrap().0.text(), "-@:");
    }

    #[test]
    fn at_takes_the_next_word_as_argv0() {
        let command = words("@/bin/sh -sh -c true");
        let parts = parts(&command).unwrap();
        assert_eq!(parts.program, "/bin/sh");
        assert_eq!(parts.argv0, Some("-sh"));
        assert_eq!(parts.args, ["-c", "true"]);
        assert!(
            super::parts(&words("@/bin/sh"))
                .unwrap_err()
                .contains("argv[0]")
        );
        assert!(
            super::parts(&words("-"))
                .unwrap_err()
                .contains("no program")
        );
        assert!(super::parts(&[]).is_err());
    }

    #[test]
    fn variables_are_expanded_by_systemd_s_rules() {
        let env: BTreeMap<&str, &str> = [("OPTS", "-a  -b"), ("ONE", "x y"), ("EMPTY", "")]
            .into_iter()
            .collect();
        let lookup = |name: &str| env.get(name).copied();
        assert_eq!(expand(&words("$OPTS"), lookup), ["-a", "-b"]);
        assert_eq!(expand(&words("${OPTS}"), lookup), ["-a  -b"]);
        assert_eq!(expand(&words("--o=$ONE"), lookup), ["--o=x y"]);
        assert_eq!(expand(&words("$EMPTY $UNSET z"), lookup), ["z"]);
        assert_eq!(expand(&words("${UNSET}"), lookup), [""]);
        assert_eq!(expand(&words("$$ONE a$ $1"), lookup), ["$ONE", "a$", ""]);
        assert_eq!(expand(&words("${not-a-name}"), lookup), ["${not-a-name}"]);
        assert!(names_variables(&words("-c $$")));
        assert!(!names_variables(&words("-c plain")));
    }

    proptest::proptest! {
        #[test]
        fn words_without_a_dollar_are_left_as_they_are(
            list in proptest::collection::vec("[^$]{0,12}", 0..6)
        ) {
            let lookup = |_: &str| Some("value");
            proptest::prop_assert_eq!(expand(&list, lookup), list.clone());
            proptest::prop_assert!(!names_variables(&list));
        }

        #[test]
        fn a_doubled_dollar_is_always_one_dollar(text in "[a-z$]{0,20}") {
            let doubled = text.replace('$', "$$");
            let lookup = |_: &str| Some("value");
            proptest::prop_assert_eq!(expand(&[doubled], lookup), vec![text]);
        }

        #[test]
        fn any_prefix_text_splits_or_says_why(text in "[-+!@:]{0,5}/bin/x") {
            if let Ok((prefix, rest)) = Prefix::split(&text) {
                proptest::prop_assert_eq!(rest, "/bin/x");
                let again = format!("{}{rest}", prefix.text());
                proptest::prop_assert_eq!(Prefix::split(&again).unwrap().0, prefix);
            }
        }
    }
}
