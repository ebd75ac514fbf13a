//! The Python SDK (`sdk/python/polyphemus`), embedded in the binary so that the local engine
//! can put it on every step's `PYTHONPATH` wherever the server runs: a script step's
//! `import polyphemus` works with no install step and no checkout.

use std::path::{Path, PathBuf};

/// The package's files, relative to the package directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../../sdk/python/polyphemus/__init__.py"),
    ),
    (
        "client.py",
        include_str!("../../../../sdk/python/polyphemus/client.py"),
    ),
    (
        "errors.py",
        include_str!("../../../../sdk/python/polyphemus/errors.py"),
    ),
    (
        "job.py",
        include_str!("../../../../sdk/python/polyphemus/job.py"),
    ),
    (
        "py.typed",
        include_str!("../../../../sdk/python/polyphemus/py.typed"),
    ),
];

/// Where a server whose run directory is `work_dir` keeps the SDK: `<work_dir>/.sdk/python`
/// (a name no workflow can have). A step of the local engine sees its own `/tmp` with only its
/// run's directory bound back, so under `/tmp` the SDK goes to `/var/tmp` instead, in a
/// directory named by its contents (servers of other versions never share one).
pub fn location(work_dir: &Path) -> PathBuf {
    let var_tmp = Path::new("/var/tmp");
    if work_dir.starts_with("/tmp") && var_tmp.is_dir() {
        var_tmp.join(format!("polyphemus-sdk-{:08x}", fingerprint()))
    } else {
        work_dir.join(".sdk").join("python")
    }
}

/// FNV-1a of the embedded files.
fn fingerprint() -> u32 {
    FILES
        .iter()
        .flat_map(|(name, text)| name.bytes().chain([0]).chain(text.bytes()))
        .fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
}

/// Writes the package to `<dir>/polyphemus/` (each file replaced atomically, so a step that
/// starts meanwhile sees a whole file) and returns `dir`, the entry for `PYTHONPATH`.
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    let package = dir.join("polyphemus");
    std::fs::create_dir_all(&package)?;
    for (name, text) in FILES {
        let path = package.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == *text) {
            continue;
        }
        let partial = package.join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_package_is_embedded() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/python/polyphemus");
        let mut on_disk: Vec<String> = std::fs::read_dir(&source)
            .expect("sdk/python/polyphemus")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".py") || name == "py.typed")
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new SDK modules to FILES");
    }

    #[test]
    fn the_sdk_stays_visible_to_steps_with_a_private_tmp() {
        let here = location(Path::new("/srv/polyphemus/runs"));
        assert_eq!(here, Path::new("/srv/polyphemus/runs/.sdk/python"));
        if Path::new("/var/tmp").is_dir() {
            assert!(location(Path::new("/tmp/x/runs")).starts_with("/var/tmp"));
        }
    }

    #[test]
    fn install_writes_the_package_and_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("polyphemus-sdk-test-{}", std::process::id()));
        let root = install(&dir).expect("installs");
        install(&dir).expect("installs again");
        let init = std::fs::read_to_string(root.join("polyphemus/__init__.py")).expect("written");
        assert!(init.contains("def main") || init.contains("main"), "{init}");
        let names: Vec<_> = std::fs::read_dir(root.join("polyphemus"))
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), FILES.len(), "no partial files left: {names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
