//! svckit as the README builds it to install (`cargo build-static`: static-pie, release), and
//! svckit-init as docs/containers.md builds it (`cargo build-init`), for the benchmarks that
//! time them beside the test build's dynamic svckit. Each is timed as installed: copied by
//! install(1), as the README does. The file the linker has just written starts slower from
//! the page cache than its copy (on this machine, `svckit --version` took 0.64 ms of CPU in
//! place and 0.50 ms copied, with 137 and 126 page faults; a status of 100 services 2.17 and
//! 1.60 ms): a fault maps a whole large folio of a copy, and the linker's output is cached
//! in small ones. The peers are timed as their packages installed them.

use std::path::Path;

/// Builds it from these sources into the target directory of `svckit` (the test build's
/// binary) and returns its path; `None` (said) when it cannot be built here (another
/// architecture: the alias names x86_64).
pub fn svckit_static(svckit: &str) -> Option<String> {
    built_by(svckit, "build-static", "svckit")
}

/// `cargo ALIAS` (one of .cargo/config.toml's static builds: `build-static`, `build-init`)
/// into the target directory of `svckit`: the path of the `binary` it writes, or `None`
/// (said) when it cannot be built here.
pub fn built_by(svckit: &str, alias: &str, binary: &str) -> Option<String> {
    let target = Path::new(svckit).parent()?.parent()?;
    let out = std::process::Command::new(env!("CARGO"))
        .arg(alias)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .ok()?;
    if !out.status.success() {
        println!(
            "(no {binary}: cargo {alias} failed: {})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
        return None;
    }
    let triple = match alias {
        // Linked with musl (see .cargo/config.toml).
        "build-init" => "x86_64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-gnu",
    };
    let built = target.join(triple).join("release").join(binary);
    let installed_dir = target.join("bench-installed");
    let installed = installed_dir.join(binary);
    let copied = std::fs::create_dir_all(&installed_dir).is_ok()
        && std::process::Command::new("install")
            .arg("-m")
            .arg("755")
            .arg(&built)
            .arg(&installed)
            .status()
            .is_ok_and(|status| status.success());
    if !copied {
        println!("(no {binary}: install(1) could not copy it)");
        return None;
    }
    Some(installed.display().to_string())
}
