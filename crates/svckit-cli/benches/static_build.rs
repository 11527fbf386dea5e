//! svckit as the README builds it to install (`cargo build-static`: static-pie, release), for
//! the benchmarks that time the CLI's start beside the test build's dynamic one.

use std::path::Path;

/// Builds it from these sources into the target directory of `svckit` (the test build's
/// binary) and returns its path; `None` (said) when it cannot be built here (another
/// architecture: the alias names x86_64).
pub fn svckit_static(svckit: &str) -> Option<String> {
    let target = Path::new(svckit).parent()?.parent()?;
    let out = std::process::Command::new(env!("CARGO"))
        .arg("build-static")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .ok()?;
    if !out.status.success() {
        println!(
            "(no static svckit: cargo build-static failed: {})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
        return None;
    }
    Some(
        target
            .join("x86_64-unknown-linux-gnu/release/svckit")
            .display()
            .to_string(),
    )
}
