//! A local object-store directory a step may write to: outside `/tmp`, `/var/tmp` and
//! `/dev/shm`, which are private to each step (copy_to_storage refuses them). A checkout may
//! live under `/tmp`, so the target dir is used only when it is outside them.

use std::path::{Path, PathBuf};

const SCRATCH: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// A fresh directory under `preferred` (e.g. `CARGO_TARGET_TMPDIR`) when that is outside a
/// step's scratch space, else under `/var/lib/polyphemus-tests` (or, where that cannot be
/// made, `$HOME/.cache/polyphemus-tests`). Both are made searchable (0755): a step user, as a
/// server running as root has, cannot pass a 0700 directory such as `/root`, and the sandbox
/// covers what it cannot pass.
pub fn storage_dir(preferred: &str) -> tempfile::TempDir {
    let outside = |path: &Path| !SCRATCH.iter().any(|scratch| path.starts_with(scratch));
    let preferred = PathBuf::from(preferred);
    let base = if outside(&preferred) {
        preferred
    } else {
        let system = PathBuf::from("/var/lib/polyphemus-tests");
        if std::fs::create_dir_all(&system).is_ok() && searchable_by_all(&system) {
            system
        } else {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
            home.join(".cache").join("polyphemus-tests")
        }
    };
    assert!(
        outside(&base),
        "no storage directory outside a step's scratch space: {base:?}"
    );
    std::fs::create_dir_all(&base).expect("storage base directory");
    let dir = tempfile::tempdir_in(&base).expect("storage directory");
    searchable_by_all(dir.path());
    dir
}

/// Makes `dir` 0755; whether that worked.
fn searchable_by_all(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).is_ok()
}
