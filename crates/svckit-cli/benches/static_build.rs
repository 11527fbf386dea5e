//! svckit as the README builds it to install (`cargo build-static`: static-pie, release), and
//! svckit-init as docs/containers.md builds it (`cargo build-init`), for the benchmarks that
//! time them beside the test build's dynamic svckit.

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
    Some(
        target
            .join("x86_64-unknown-linux-gnu/release")
            .join(binary)
            .display()
            .to_string(),
    )
}
