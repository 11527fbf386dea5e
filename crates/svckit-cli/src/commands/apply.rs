//! `svckit apply FILE|DIR...` and `svckit edit NAME`: definitions installed over the current
//! ones, each saying what changed (and whether a running service was restarted), on both
//! platforms.

use std::{fs, io};

use anyhow::Context as _;
use svckit::{ServiceName, ServiceSpec};
use svckit_install::{InstallOptions, InstallReport, Installed, Manager};

use super::definition;
use crate::{
    cli::{ApplyArgs, NameArgs},
    exit::{Exit, Failure},
};

/// Installs `spec` over its current definition (with its backend) and says what changed.
pub(super) fn apply(manager: &Manager, spec: ServiceSpec) -> anyhow::Result<()> {
    let name = spec.name.clone();
    let report = install(manager, spec)?;
    say_applied(&name, &report)
}

/// Installs `spec` over its current definition (with its backend).
fn install(manager: &Manager, spec: ServiceSpec) -> anyhow::Result<InstallReport> {
    let options = InstallOptions {
        force: true,
        root: None,
    };
    Ok(manager.install(spec, &options)?)
}

/// What applying did to `name`, in words.
fn say_applied(name: &ServiceName, report: &InstallReport) -> anyhow::Result<()> {
    match (report.changed.is_empty(), report.restarted) {
        _ if report.installed == Installed::Created => outln!(
            "{name}: installed ({}: {})",
            report.backend,
            report.location.display()
        ),
        (true, _) => outln!("{name}: unchanged"),
        (false, true) => outln!("{name}: changed {}; restarted", report.changed.join(", ")),
        (false, false) => outln!("{name}: changed {}", report.changed.join(", ")),
    }
    Ok(())
}

/// What applying did to `name`, for `--json`: one object per service.
fn applied_json(name: &ServiceName, report: &InstallReport, started: bool) -> serde_json::Value {
    let action = match (report.installed, report.changed.is_empty()) {
        (Installed::Created, _) => "installed",
        (Installed::Replaced, true) => "unchanged",
        (Installed::Replaced, false) => "changed",
    };
    serde_json::json!({
        "name": name.as_str(),
        "action": action,
        "changed": report.changed,
        "restarted": report.restarted,
        "started": started,
        "backend": report.backend.name(),
    })
}

/// What `svckit install` did, in the same words on both platforms: `installed NAME (BACKEND:
/// WHERE)`, or `reinstalled …: unchanged` / `: changed KEYS[; restarted]`, after the
/// uninstall of another backend's service of that name, if there was one.
pub(super) fn say_installed(name: &ServiceName, report: &InstallReport) -> anyhow::Result<()> {
    if let Some(old) = report.replaced {
        outln!("uninstalled {name} ({old})");
    }
    let what = match (
        report.installed,
        report.changed.is_empty(),
        report.restarted,
    ) {
        (Installed::Created, _, _) => String::new(),
        (Installed::Replaced, true, _) => ": unchanged".to_owned(),
        (Installed::Replaced, false, true) => {
            format!(": changed {}; restarted", report.changed.join(", "))
        }
        (Installed::Replaced, false, false) => format!(": changed {}", report.changed.join(", ")),
    };
    outln!(
        "{} {name} ({}: {}){what}",
        match report.installed {
            Installed::Created => "installed",
            Installed::Replaced => "reinstalled",
        },
        report.backend,
        report.location.display()
    );
    Ok(())
}

/// `svckit apply FILE|DIR...`: every definition read and checked before any is installed,
/// then each applied in the order given (a directory's files by name).
pub fn apply_files(args: ApplyArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let mut files = Vec::new();
    for path in &args.paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<std::path::PathBuf> = fs::read_dir(path)
            .with_context(|| format!("read {}", path.display()))?
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|file| file.extension().is_some_and(|ext| ext == "toml") && file.is_file())
            .collect();
        if found.is_empty() {
            return Err(Failure::new(
                Exit::Usage,
                format!("{}: no definition (*.toml) in it", path.display()),
            )
            .into());
        }
        found.sort();
        files.extend(found);
    }
    let mut specs: Vec<(std::path::PathBuf, ServiceSpec)> = Vec::new();
    for file in files {
        let spec = definition::read(&file, None)?;
        if let Some((other, _)) = specs.iter().find(|(_, seen)| seen.name == spec.name) {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "{} and {} both define {}",
                    other.display(),
                    file.display(),
                    spec.name
                ),
            )
            .into());
        }
        manager
            .check(&spec)
            .with_context(|| format!("{}: nothing applied", file.display()))?;
        specs.push((file, spec));
    }
    let mut applied = Applied::read(&manager);
    // Gone from a directory it was applied from: removed, with --prune.
    let mut gone = Vec::new();
    if args.prune {
        for dir in args.paths.iter().filter(|path| path.is_dir()) {
            let dir = fs::canonicalize(dir).with_context(|| format!("read {}", dir.display()))?;
            for (name, from) in &applied.files {
                let there = specs.iter().any(|(_, spec)| spec.name.as_str() == name);
                if !there && std::path::Path::new(from).parent() == Some(dir.as_path()) {
                    gone.push(ServiceName::new(name)?);
                }
            }
        }
    }
    let mut results: Vec<serde_json::Value> = Vec::new();
    if args.dry_run {
        for (_, spec) in &specs {
            outln!("{}", plan(&manager, spec));
        }
        for name in &gone {
            outln!("{name}: would be removed (its file is gone from its directory)");
        }
        return Ok(Exit::Ok);
    }
    for (file, spec) in specs {
        let name = spec.name.clone();
        let starts = matches!(
            spec.start,
            svckit::StartType::Auto | svckit::StartType::Delayed
        );
        let report =
            install(&manager, spec).with_context(|| format!("apply {}", file.display()))?;
        if !args.json {
            say_applied(&name, &report)?;
        }
        if let Ok(path) = fs::canonicalize(&file) {
            applied
                .files
                .insert(name.to_string(), path.display().to_string());
        }
        // The state it asks for: an auto service that does not run is started.
        if starts
            && manager
                .status(&name)
                .is_ok_and(|status| status.state != svckit::State::Running)
        {
            let timeout = std::time::Duration::from_secs(120);
            let status = manager.perform(svckit_install::Action::Start, &name, timeout, true)?;
            if !args.json {
                outln!(
                    "{}",
                    super::report::outcome(svckit_install::Action::Start, &status)
                );
            }
            results.push(applied_json(&name, &report, true));
        } else {
            results.push(applied_json(&name, &report, false));
        }
    }
    for name in gone {
        let backend = manager.uninstall(&name, std::time::Duration::from_secs(120))?;
        applied.files.remove(name.as_str());
        match args.json {
            true => results.push(serde_json::json!({
                "name": name.as_str(),
                "action": "removed",
                "changed": [],
                "restarted": false,
                "started": false,
                "backend": backend.name(),
            })),
            false => outln!("{name}: removed ({backend}; its file is gone from its directory)"),
        }
    }
    applied.write(&manager)?;
    if args.json {
        outln!("{}", serde_json::Value::Array(results));
    }
    Ok(Exit::Ok)
}

/// What applying `spec` would do, in the words apply says it.
fn plan(manager: &Manager, spec: &ServiceSpec) -> String {
    let name = &spec.name;
    let auto = matches!(
        spec.start,
        svckit::StartType::Auto | svckit::StartType::Delayed
    );
    let Ok(old) = manager.definition(name) else {
        return match auto {
            true => format!("{name}: would be installed and started"),
            false => format!("{name}: would be installed"),
        };
    };
    // Compared as install compares: its backend as resolved.
    let mut new = spec.clone();
    if new.backend == svckit::BackendKind::Auto {
        new.backend = old.backend;
    }
    let changed = svckit_install::changed_keys(&old, &new);
    let running = manager
        .status(name)
        .is_ok_and(|status| status.state == svckit::State::Running);
    let restart = running
        && changed
            .iter()
            .any(|key| svckit_install::shapes_the_process(key));
    let start = auto && !running;
    let mut said = match changed.is_empty() {
        true => format!("{name}: unchanged"),
        false => format!("{name}: would change {}", changed.join(", ")),
    };
    if restart {
        said.push_str("; would restart");
    }
    if start {
        said.push_str("; would start");
    }
    said
}

/// Which file each service `svckit apply` applied came from (`applied.toml` in the state
/// directory), for `--prune`.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Applied {
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
}

impl Applied {
    fn read(manager: &Manager) -> Applied {
        fs::read_to_string(manager.applied_record())
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Written aside, then renamed over the old record (on Unix owner-only, never through a
    /// symlink, as every file of the state directory).
    fn write(&self, manager: &Manager) -> anyhow::Result<()> {
        let path = manager.applied_record();
        let text = toml::to_string(self)?;
        #[cfg(unix)]
        let written = svckit_unix::files::write_atomic(&path, text.as_bytes(), 0o600);
        #[cfg(windows)]
        let written = {
            let aside = path.with_extension("toml.new");
            fs::write(&aside, text).and_then(|()| fs::rename(&aside, &path))
        };
        written.with_context(|| format!("write {}", path.display()))
    }
}

/// `svckit edit NAME`: the definition in $VISUAL or $EDITOR (vi without either), checked,
/// then applied. A bad edit changes nothing; the edited file is kept and named.
pub fn edit(args: NameArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let name = ServiceName::new(&args.name)?;
    let spec = manager.definition(&name)?;
    let scratch = tempfile_for(&name)?;
    fs::write(&scratch, spec.to_toml()).with_context(|| format!("write {}", scratch.display()))?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    // The editor may take arguments ("code --wait"), split as sh would.
    let words = shell_words::split(&editor)
        .map_err(|err| Failure::new(Exit::Usage, format!("editor {editor:?}: {err}")))?;
    let Some((program, rest)) = words.split_first() else {
        return Err(Failure::new(Exit::Usage, "the editor is empty ($VISUAL, $EDITOR)").into());
    };
    let status = std::process::Command::new(program)
        .args(rest)
        .arg(&scratch)
        .status()
        .with_context(|| format!("run the editor {program}"))?;
    if !status.success() {
        let _ = fs::remove_file(&scratch);
        return Err(Failure::new(
            Exit::Failed,
            format!("the editor {program} ended with {status}: nothing changed"),
        )
        .into());
    }
    let edited = definition::read(&scratch, Some(name.as_str())).and_then(|edited| {
        if edited.name != name {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "the edit renamed {name} to {}: install it anew instead",
                    edited.name
                ),
            )
            .into());
        }
        edited.validate().map_err(anyhow::Error::from)?;
        Ok(edited)
    });
    match edited {
        Ok(edited) => {
            let _ = fs::remove_file(&scratch);
            apply(&manager, edited)?;
            Ok(Exit::Ok)
        }
        Err(err) => {
            // One line, even for a parser's message that spans several.
            let why = format!("{err:#}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            Err(Failure::new(
                Exit::Usage,
                format!(
                    "{why}; nothing changed (the edit is kept in {})",
                    scratch.display()
                ),
            )
            .into())
        }
    }
}

/// A new private file to edit `name`'s definition in: `$TMPDIR/svckit-edit-NAME-PID-N.toml`.
fn tempfile_for(name: &ServiceName) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir();
    for n in 0..100 {
        let path = dir.join(format!(
            "svckit-edit-{name}-{}-{n}.toml",
            std::process::id()
        ));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => return Ok(path),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err).with_context(|| format!("create {}", path.display())),
        }
    }
    anyhow::bail!("no free name for a file to edit in {}", dir.display())
}
