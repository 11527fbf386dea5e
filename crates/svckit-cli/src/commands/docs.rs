//! `svckit completions SHELL` and `svckit man`: generated from the clap definitions, so they
//! never disagree with the parser.

use std::{fs, io::Write};

use anyhow::Context as _;
use clap::CommandFactory;

use crate::{
    cli::{Cli, CompletionsArgs, ManArgs},
    exit::Exit,
};

/// `svckit completions SHELL`: the shell code that has the shell ask this svckit for
/// completions as the line is typed (service names, flag values, paths where a path is
/// meant), the same as `COMPLETE=SHELL svckit` prints.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<Exit> {
    let script = crate::complete::registration(args.shell)?;
    std::io::stdout().lock().write_all(&script)?;
    Ok(Exit::Ok)
}

/// `svckit man [--dir DIR]`: svckit(1) on stdout, or every page written into DIR.
pub fn man(args: ManArgs) -> anyhow::Result<Exit> {
    let command = Cli::command();
    let Some(dir) = args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        std::io::stdout().lock().write_all(&page)?;
        return Ok(Exit::Ok);
    };
    fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, command: clap::Command| -> anyhow::Result<()> {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .title(name.to_uppercase())
            .render(&mut page)?;
        let path = dir.join(format!("{name}.1"));
        fs::write(&path, page).with_context(|| format!("write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = format!("svckit-{}", sub.get_name());
        let page = sub
            .clone()
            .bin_name(format!("svckit {}", sub.get_name()))
            .name(name.clone());
        write(name, page)?;
    }
    write("svckit".to_owned(), command)?;
    for path in written {
        outln!("{}", path.display());
    }
    Ok(Exit::Ok)
}
