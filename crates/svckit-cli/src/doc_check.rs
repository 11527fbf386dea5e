//! The documentation checked against the program (`cargo test`): every `svckit` command in
//! the shell and batch blocks of README.md and docs/*.md is parsed by svckit's own command
//! line (a synopsis such as `svckit logs NAME [-f] [--since T]` has its command and each of its
//! flags checked), every TOML block is read by the definition parser, and every relative link
//! reaches a file and, with `#anchor`, a heading of it. What a page says cannot drift from
//! what the program takes without a test failing.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use clap::{Parser, error::ErrorKind};

use crate::cli::Cli;

/// A fenced block of a page.
struct Block {
    page: PathBuf,
    /// The line of its opening fence (from 1).
    line: usize,
    lang: String,
    text: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (at, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(lang)) => {
                open = Some(Block {
                    page: page.to_owned(),
                    line: at + 1,
                    lang: lang.trim().to_owned(),
                    text: String::new(),
                });
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The block's lines with `\` (sh) or `^` (batch) continuations joined, and their numbers.
fn logical_lines(block: &Block) -> Vec<(usize, String)> {
    let continuation = if block.lang == "bat" { '^' } else { '\\' };
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut first = 0;
    for (at, line) in block.text.lines().enumerate() {
        if current.is_empty() {
            first = block.line + 1 + at;
        }
        match line.trim_end().strip_suffix(continuation) {
            Some(rest) => {
                current.push_str(rest);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                lines.push((first, std::mem::take(&mut current)));
            }
        }
    }
    lines
}

/// The commands of a shell line: split at `&&`, `||`, `;`, `|` and a comment, outside quotes.
fn commands(line: &str) -> Vec<String> {
    // A batch file's comment.
    let line = line.split(" :: ").next().unwrap_or_default();
    let mut commands = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '#') if current.is_empty() || current.ends_with(char::is_whitespace) => break,
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                commands.push(std::mem::take(&mut current));
            }
            (None, '|' | ';') => {
                if chars.peek() == Some(&'|') {
                    chars.next();
                }
                commands.push(std::mem::take(&mut current));
            }
            (None, c) => current.push(c),
        }
    }
    commands.push(current);
    commands
        .into_iter()
        .map(|command| command.trim().to_owned())
        .filter(|command| !command.is_empty())
        .collect()
}

/// `words` as svckit's argv when they run svckit (`svckit`, `svckit.exe`, `$S`, a path to it),
/// after any `NAME=value` assignments and up to a redirection.
fn svckit_argv(words: &[String]) -> Option<Vec<String>> {
    let assignment = |word: &String| {
        word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
    };
    let words: Vec<String> = words
        .iter()
        .skip_while(|word| assignment(word))
        .take_while(|word| !word.starts_with('>') && !word.starts_with("2>") && *word != "<")
        .cloned()
        .collect();
    // `source <(svckit completions bash)` and `$(svckit …)`: the inner command.
    let first = words.first()?;
    let program = first
        .trim_start_matches("<(")
        .trim_start_matches("$(")
        .trim_start_matches('"');
    let name = program.rsplit(['/', '\\']).next()?;
    if !matches!(name, "svckit" | "svckit.exe" | "$S") {
        return None;
    }
    let mut argv = vec!["svckit".to_owned()];
    argv.extend(
        words[1..]
            .iter()
            .map(|word| word.trim_end_matches(')').to_owned()),
    );
    Some(argv)
}

/// Whether a line is a synopsis rather than a command to type.
fn is_synopsis(line: &str) -> bool {
    line.contains('[')
        || line.contains('…')
        || line.contains("...")
        || line.contains(" | ")
        || line.contains('<')
}

/// A synopsis's command path and flags, checked against the command tree: Err names what is
/// not there.
fn check_synopsis(argv: &[String]) -> Result<(), String> {
    let mut command = crate::cli::whole();
    let mut path = vec!["svckit".to_owned()];
    let mut words = argv[1..].iter().peekable();
    while let Some(word) = words.peek() {
        let Some(sub) = command.find_subcommand(word.as_str()).cloned() else {
            break;
        };
        path.push((*word).clone());
        command = sub;
        words.next();
    }
    if let Some(word) = words.peek()
        && command.has_subcommands()
        && !word.starts_with('-')
        && !word.starts_with('[')
    {
        return Err(format!("{} has no command {word}", path.join(" ")));
    }
    for word in words {
        if word == "--" {
            break;
        }
        let flag = word
            .trim_start_matches('[')
            .split(['=', ']', '|'])
            .next()
            .unwrap_or_default()
            .trim_end_matches("...")
            .trim_end_matches('…');
        if let Some(long) = flag.strip_prefix("--") {
            if long.is_empty() {
                break;
            }
            let known = command
                .get_arguments()
                .any(|arg| arg.get_long() == Some(long) || long == "help");
            if !known {
                return Err(format!("{} has no --{long}", path.join(" ")));
            }
        } else if let Some(short) = flag.strip_prefix('-').and_then(|s| s.chars().next()) {
            let known = command
                .get_arguments()
                .any(|arg| arg.get_short() == Some(short))
                || short == 'h';
            if !known && flag.len() == 2 {
                return Err(format!("{} has no -{short}", path.join(" ")));
            }
        }
    }
    Ok(())
}

/// Every svckit command of every shell and batch block parses (or, in a synopsis, names
/// commands and flags that exist).
#[test]
fn every_command_in_the_docs_is_one_svckit_takes() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        for block in blocks(&page) {
            if !matches!(block.lang.as_str(), "sh" | "bat" | "dockerfile") {
                continue;
            }
            for (line_no, line) in logical_lines(&block) {
                let synopsis = is_synopsis(&line);
                for command in commands(&line) {
                    let Ok(words) = shell_words::split(&command) else {
                        failures.push(format!(
                            "{}:{line_no}: cannot split {command:?}",
                            block.page.display()
                        ));
                        continue;
                    };
                    let words: Vec<String> = match words.first().map(String::as_str) {
                        // A Dockerfile's ENTRYPOINT ["svckit", "run", …] or RUN svckit …
                        Some("ENTRYPOINT" | "CMD" | "RUN") => continue,
                        _ => words,
                    };
                    let Some(argv) = svckit_argv(&words) else {
                        continue;
                    };
                    checked += 1;
                    let outcome = match Cli::try_parse_from(&argv) {
                        // `[--flag]` parses as a name: a synopsis's flags are looked up.
                        _ if synopsis => check_synopsis(&argv),
                        Ok(_) => Ok(()),
                        Err(err)
                            if matches!(
                                err.kind(),
                                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                            ) =>
                        {
                            Ok(())
                        }
                        Err(err) => Err(err.to_string().lines().next().unwrap_or("").to_owned()),
                    };
                    if let Err(err) = outcome {
                        failures.push(format!(
                            "{}:{line_no}: {command}\n    {err}",
                            block.page.display()
                        ));
                    }
                }
            }
        }
    }
    // And each `svckit …` code span of the prose, as a synopsis when it is not a whole command.
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut fenced = false;
        for (at, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if fenced {
                continue;
            }
            for span in line.split('`').skip(1).step_by(2) {
                let Ok(words) = shell_words::split(span) else {
                    continue;
                };
                let Some(argv) = svckit_argv(&words) else {
                    continue;
                };
                checked += 1;
                let parsed = Cli::try_parse_from(&argv)
                    .map(drop)
                    .or_else(|err| match err.kind() {
                        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(()),
                        _ => Err(err),
                    });
                if (parsed.is_err() || is_synopsis(span))
                    && let Err(err) = check_synopsis(&argv)
                {
                    failures.push(format!(
                        "{}:{}: `{span}`\n    {err}",
                        page.display(),
                        at + 1
                    ));
                }
            }
        }
    }
    eprintln!("{checked} svckit commands checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 120, "only {checked} commands found in the docs");
}

/// Every TOML block is a definition the parser reads (a fragment, such as a `[readiness]`
/// table alone, with a program added).
#[test]
fn every_definition_in_the_docs_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        for block in blocks(&page)
            .into_iter()
            .filter(|block| block.lang == "toml")
        {
            checked += 1;
            let has_program = block
                .text
                .lines()
                .any(|line| line.trim_start().starts_with("program"));
            let text = match has_program {
                true => block.text.clone(),
                false => format!("program = \"/bin/true\"\n{}", block.text),
            };
            if let Err(err) = svckit::ServiceSpec::from_toml(&text, Some("doc")) {
                failures.push(format!(
                    "{}:{}: {} (line {} of the block)",
                    block.page.display(),
                    block.line,
                    err.message,
                    err.line - usize::from(!has_program)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 3, "only {checked} definitions found in the docs");
}

/// GitHub's anchor of a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(page: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(page).unwrap_or_default();
    let mut fenced = false;
    let mut anchors = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            anchors.insert(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

/// Every relative link of the docs reaches a file, and its `#anchor` a heading there; every
/// page under docs/ is linked from the README.
#[test]
fn every_link_in_the_docs_reaches_its_page_and_heading() {
    let mut failures = Vec::new();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        if page.parent().is_some_and(|dir| dir.ends_with("docs"))
            && !readme.contains(&format!("(docs/{name})"))
        {
            failures.push(format!("docs/{name} is not linked from the README"));
        }
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = match file {
                "" => page.clone(),
                file => page.parent().unwrap().join(file),
            };
            if !file.exists() {
                failures.push(format!("{}: {target}: no such file", page.display()));
            } else if !fragment.is_empty()
                && file.extension().is_some_and(|ext| ext == "md")
                && !anchors(&file).contains(fragment)
            {
                failures.push(format!("{}: {target}: no such heading", page.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
