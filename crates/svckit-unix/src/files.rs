//! Files written whole or not at all: a temporary file beside the target (created exclusively,
//! never through a symlink), written, flushed to disk, given its mode, then renamed over the
//! target, and the directory synced. A crash leaves the old file or the new one, never half.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// Reads `file` to its end as text, without the fstat(2) that std's `read_to_string` makes
/// to size its buffer first: for the small pseudo-files of /proc and cgroup2 (whose size says
/// 0 or a page anyway), read for every service in a status of all of them.
pub fn read_pseudo(mut file: fs::File) -> io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    String::from_utf8(bytes).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Reads the pseudo-file at `path` (/proc's) to its end as text, in reads of a page: std's
/// `read_to_string` sizes its buffer from the file's size, 0 for these, and so reads 32 bytes,
/// then 32, 64, 128, ... (eight reads for a mountinfo, on the way of every daemonize).
pub fn read_proc(path: impl AsRef<Path>) -> io::Result<String> {
    read_pseudo(fs::File::open(path)?)
}

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

/// The most a file rewritten in place ([`rewrite`]) may hold: one page, written by one
/// pwrite(2) at offset 0, which a SIGKILL cannot tear (the kernel checks for a fatal signal
/// between the chunks of a write, and a page is one chunk).
const IN_PLACE: usize = 4096;

/// Like [`replace`] for a file rewritten often whose readers skip trailing ASCII spaces (a
/// JSON document): an existing regular file of ours with one link, and a text of at most a
/// page, is overwritten in place with one pwrite(2), padded with spaces to the old length so
/// nothing of the old text is left after it. A process killed at any moment leaves the old
/// text or the new one. Anything else (no file yet, a longer text, a file with another owner
/// or more than one link) is written by [`replace`]. In place there is no new inode, no
/// rename and no eviction of the old one (on ext4, a rename over a file also starts the
/// writeback of the new one): a third of the supervisor's time in a stop of thousands.
pub fn rewrite(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::{FileExt, MetadataExt};
    if contents.len() > IN_PLACE {
        return replace(path, contents, mode);
    }
    let opened = fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path);
    let Ok(file) = opened else {
        return replace(path, contents, mode);
    };
    let ours = |meta: &fs::Metadata| {
        meta.is_file()
            && meta.nlink() == 1
            && meta.uid() == nix::unistd::geteuid().as_raw()
            && meta.mode() & 0o7777 == mode
            && (meta.len() as usize) <= IN_PLACE
    };
    let old_len = match file.metadata() {
        Ok(meta) if ours(&meta) => meta.len() as usize,
        _ => return replace(path, contents, mode),
    };
    let mut text = contents.to_vec();
    text.resize(old_len.max(contents.len()), b' ');
    match file.write_at(&text, 0) {
        Ok(written) if written == text.len() => Ok(()),
        // Short (a full disk as it grew): the whole text by the atomic way, or its error.
        _ => replace(path, contents, mode),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn rewrite_overwrites_in_place_padding_with_spaces_and_replaces_what_it_may_not() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("svckit-rewrite-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("record.json");
        rewrite(&path, b"{\"a\":\"long text\"}", 0o600).unwrap();
        let ino = fs::metadata(&path).unwrap().ino();
        rewrite(&path, b"{\"a\":1}", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\":1}          ");
        assert_eq!(fs::metadata(&path).unwrap().ino(), ino, "in place");
        // More than a page: replaced, exactly.
        let big = vec![b'x'; IN_PLACE + 1];
        rewrite(&path, &big, 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), big);
        assert_ne!(fs::metadata(&path).unwrap().ino(), ino);
        // A second link (someone's file linked in): never written through; replaced.
        let other = dir.join("other");
        fs::write(&other, "theirs").unwrap();
        fs::set_permissions(&other, fs::Permissions::from_mode(0o600)).unwrap();
        fs::remove_file(&path).unwrap();
        fs::hard_link(&other, &path).unwrap();
        rewrite(&path, b"{}", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&other).unwrap(), "theirs");
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        // A symlink planted at the path: not followed, replaced.
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&other, &path).unwrap();
        rewrite(&path, b"{}", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&other).unwrap(), "theirs");
        assert!(!fs::symlink_metadata(&path).unwrap().is_symlink());
        fs::remove_dir_all(&dir).unwrap();
    }

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
