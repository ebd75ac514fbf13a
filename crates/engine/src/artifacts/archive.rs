//! Argo's archive format for artifacts: a gzip-compressed tar whose one top-level entry is
//! the file or directory saved (named after its path's last component), and the reverse.

use std::io;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Argo's default compression level for `tar` archives (gzip's default).
pub const DEFAULT_LEVEL: u32 = 6;

/// `src` (file or directory, recursively) as a tar+gzip archive at `level` (0-9).
pub fn pack(src: &Path, level: u32) -> io::Result<Vec<u8>> {
    let name = src
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("artifact"));
    let gz = GzEncoder::new(Vec::new(), Compression::new(level.min(9)));
    let mut tar = tar::Builder::new(gz);
    // Symlinks are archived as links, as Argo's executor does, never followed out of `src`.
    tar.follow_symlinks(false);
    if src.is_dir() {
        tar.append_dir_all(&name, src)?;
    } else {
        tar.append_path_with_name(src, &name)?;
    }
    tar.into_inner()?.finish()
}

/// Whether `data` starts with gzip's magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Extracts a tar+gzip archive so that its single top-level entry becomes `dest` (an
/// archive of several top-level entries becomes directory `dest` holding them).
pub fn unpack(data: &[u8], dest: &Path) -> io::Result<()> {
    let staging = sibling(dest, "unpack");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let result = extract(data, &staging).and_then(|()| move_single_entry(&staging, dest));
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn extract(data: &[u8], into: &Path) -> io::Result<()> {
    let mut archive = tar::Archive::new(GzDecoder::new(data));
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    // `unpack` refuses entries that would land outside `into` (`..`, absolute paths).
    archive.unpack(into)?;
    Ok(())
}

fn move_single_entry(staging: &Path, dest: &Path) -> io::Result<()> {
    let entries: Vec<PathBuf> = std::fs::read_dir(staging)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    let from = match entries.as_slice() {
        [single] => single.clone(),
        _ => staging.to_path_buf(),
    };
    remove_any(dest)?;
    std::fs::rename(&from, dest)
}

/// Removes `p` whether it is a file, a directory or absent.
pub fn remove_any(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A hidden path next to `dest`, on the same filesystem so that a rename works.
fn sibling(dest: &Path, what: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Whether `data` is a tar+gzip archive (its first entry header reads).
pub fn is_tar_gz(data: &[u8]) -> bool {
    if !is_gzip(data) {
        return false;
    }
    let mut archive = tar::Archive::new(GzDecoder::new(data));
    let Ok(mut entries) = archive.entries() else {
        return false;
    };
    matches!(entries.next(), Some(Ok(_)))
}

/// The bytes of a gzip stream decompressed (used for a single-file read in tests).
#[cfg(test)]
fn gunzip(data: &[u8]) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_round_trips_and_becomes_the_destination() {
        let dir = tempfile::tempdir().expect("tmp");
        let src = dir.path().join("out");
        std::fs::create_dir_all(src.join("sub")).expect("mkdir");
        std::fs::write(src.join("sub/a.txt"), "A").expect("write");
        let data = pack(&src, DEFAULT_LEVEL).expect("pack");
        assert!(is_tar_gz(&data));
        let dest = dir.path().join("in/placed");
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        unpack(&data, &dest).expect("unpack");
        let read = std::fs::read_to_string(dest.join("sub/a.txt")).expect("read");
        assert_eq!(read, "A");
    }

    #[test]
    fn a_file_round_trips_under_a_new_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let src = dir.path().join("hello.txt");
        std::fs::write(&src, "hello\n").expect("write");
        let data = pack(&src, 0).expect("pack");
        assert!(!gunzip(&data).expect("gunzip").is_empty());
        let dest = dir.path().join("message");
        unpack(&data, &dest).expect("unpack");
        assert_eq!(std::fs::read_to_string(dest).expect("read"), "hello\n");
        assert!(!is_tar_gz(b"plain text"));
    }
}
