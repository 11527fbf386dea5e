//! `svckit import UNIT.service`: a systemd service unit as a svckit definition
//! ([`svckit::unit_import`] maps it), with its drop-ins and environment files found and read
//! as systemd finds them.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use svckit::{ServiceName, unit_import};

use crate::{cli::ImportArgs, exit::Exit};

/// Where systemd looks for a unit's drop-in directories (`UNIT.d/`), most important first;
/// the unit's own directory comes last.
const DROPIN_ROOTS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// `svckit import`.
pub fn import(args: ImportArgs) -> anyhow::Result<Exit> {
    let unit = &args.unit;
    let file_name = unit
        .file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("{}: not a unit file name", unit.display()))?;
    let Some(stem) = file_name.strip_suffix(".service") else {
        bail!("{}: not a service unit (NAME.service)", unit.display());
    };
    let name = match &args.name {
        Some(name) => ServiceName::new(name)?,
        None => ServiceName::new(stem.trim_end_matches('@')).with_context(|| {
            format!("{file_name}: not a service name svckit takes; give one with --as NAME")
        })?,
    };
    let text = fs::read_to_string(unit).with_context(|| format!("read {}", unit.display()))?;
    let dropins = dropins(unit, file_name)
        .iter()
        .map(|path| fs::read_to_string(path).with_context(|| format!("read {}", path.display())))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let find = |program: &str| {
        unit_import::PROGRAM_PATH
            .iter()
            .map(|dir| Path::new(dir).join(program))
            .find(|path| path.is_file())
            .map(|path| path.display().to_string())
    };
    let imported = match unit_import::import(name, &text, &dropins, &find) {
        Ok(imported) => imported,
        // Bad input: one line, exit 2.
        Err(err) => {
            eprintln!("svckit: error: {}: {err}", unit.display());
            return Ok(Exit::Usage);
        }
    };
    imported
        .spec
        .validate()
        .with_context(|| format!("{}: the definition it makes is not valid", unit.display()))?;
    if !args.install {
        outln!("{}", imported.spec.to_toml().trim_end());
    }
    let mut stderr = std::io::stderr().lock();
    for finding in &imported.findings {
        let verdict = match finding.verdict {
            unit_import::Verdict::NotHonoured => "not honoured",
            unit_import::Verdict::Informational => "informational",
        };
        let _ = writeln!(
            stderr,
            "svckit: import: {}={}: {verdict}: {}",
            finding.directive, finding.value, finding.why
        );
    }
    drop(stderr);
    if imported.lossy() && !args.lenient {
        if args.install {
            eprintln!(
                "svckit: error: {}: not installed: some directive is not honoured (--lenient \
                 installs it all the same)",
                unit.display()
            );
        }
        return Ok(Exit::Usage);
    }
    if args.install {
        let manager = super::manager(&args.state)?;
        super::apply::apply(&manager, imported.spec)?;
    }
    Ok(Exit::Ok)
}

/// The drop-ins of the unit at `unit` (`file_name`): `*.conf` of every `FILE_NAME.d/` in
/// systemd's directories and the unit's own, a name in a more important directory hiding the
/// same name in the others; in the order of their names, as systemd applies them.
fn dropins(unit: &Path, file_name: &str) -> Vec<PathBuf> {
    let own = unit.parent().map(Path::to_path_buf);
    let dirs = DROPIN_ROOTS
        .iter()
        .map(PathBuf::from)
        .chain(own)
        .map(|root| root.join(format!("{file_name}.d")));
    let mut by_name: std::collections::BTreeMap<std::ffi::OsString, PathBuf> =
        std::collections::BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "conf") {
                by_name.entry(entry.file_name()).or_insert(path);
            }
        }
    }
    by_name.into_values().collect()
}
