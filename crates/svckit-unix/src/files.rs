//! Files written whole or not at all: a temporary file beside the target (created exclusively,
//! never through a symlink), written, flushed to disk, given its mode, then renamed over the
//! target, and the directory synced. A crash leaves the old file or the new one, never half.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// Writes `contents` to `path` atomically with permission bits `mode`, and syncs it to disk
/// before returning (for files that must survive a power cut: units, scripts, definitions).
/// The error names the path.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write(path, contents, mode, true)
}

/// Like [`write_atomic`] without the syncs: atomic against crashes of the process, not of the
/// machine (for state rewritten often, like the supervisor's records).
pub fn replace(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write(path, contents, mode, false)
}

fn write(path: &Path, contents: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let _ = fs::remove_file(&temp);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(contents)?;
        // The umask may have taken bits away from `mode`: set them exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        if sync {
            file.sync_all()?;
        }
        fs::rename(&temp, path)?;
        if sync && let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|err: io::Error| {
        io::Error::new(err.kind(), format!("write {}: {err}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn replaces_the_file_with_the_mode_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("svckit-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("script");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new", 0o755).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o755
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_atomic(&dir.join("missing/x"), b"", 0o644).unwrap_err();
        assert!(err.to_string().contains("missing/x"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
