//! A local object-store directory a step may write to: outside `/tmp`, `/var/tmp` and
//! `/dev/shm`, which are private to each step (copy_to_storage refuses them). A checkout may
//! live under `/tmp`, so the target dir is used only when it is outside them.

use std::path::{Path, PathBuf};

const SCRATCH: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// A fresh directory under `preferred` (e.g. `CARGO_TARGET_TMPDIR`) when that is outside a
/// step's scratch space, else under `$HOME/.cache/polyphemus-tests`.
pub fn storage_dir(preferred: &str) -> tempfile::TempDir {
    let outside = |path: &Path| !SCRATCH.iter().any(|scratch| path.starts_with(scratch));
    let preferred = PathBuf::from(preferred);
    let base = if outside(&preferred) {
        preferred
    } else {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".cache").join("polyphemus-tests")
    };
    assert!(
        outside(&base),
        "no storage directory outside a step's scratch space: {base:?}"
    );
    std::fs::create_dir_all(&base).expect("storage base directory");
    tempfile::tempdir_in(&base).expect("storage directory")
}
