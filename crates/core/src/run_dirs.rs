//! The local engine's run directories (`<data dir>/runs/<workflow name>/`: work/, tmp/, logs/,
//! status.json): finding the one the engine made for a run, how many bytes it holds, removing
//! it. Blocking file system calls; callers run them on a blocking thread.

use polyphemus_engine::ArtifactRepository;
use polyphemus_model::RunId;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Where this server's local engine keeps its runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDirs {
    root: PathBuf,
    /// Where the runs saved their artifacts (`artifactGC: OnWorkflowDeletion` deletes them).
    artifacts: Option<ArtifactRepository>,
}

impl RunDirs {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            artifacts: None,
        }
    }

    /// The runs' artifact repository, whose `OnWorkflowDeletion` artifacts go with a run.
    pub fn with_artifact_repository(mut self, repository: ArtifactRepository) -> Self {
        self.artifacts = Some(repository);
        self
    }

    pub fn artifact_repository(&self) -> Option<&ArtifactRepository> {
        self.artifacts.as_ref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of run `run_id`, named after its workflow `name`, when this root holds one
    /// the engine made for that very run: `name` is one plain path segment (nothing like `.`,
    /// `..`, `a/b` or `.sdk` can point elsewhere), and the directory's `status.json` gives
    /// `run_id` as the workflow's uid (a run of another server with the same name is not it).
    pub fn find(&self, name: &str, run_id: &RunId) -> Option<PathBuf> {
        let mut components = Path::new(name).components();
        let plain = matches!(components.next(), Some(Component::Normal(part)) if part == name)
            && components.next().is_none()
            && !name.starts_with('.');
        if !plain {
            return None;
        }
        let dir = self.root.join(name);
        let status = std::fs::read(dir.join("status.json")).ok()?;
        let status: serde_json::Value = serde_json::from_slice(&status).ok()?;
        (status["metadata"]["uid"].as_str() == Some(run_id.as_str())).then_some(dir)
    }
}

/// Bytes of the regular files under `dir`; symbolic links are not followed.
pub fn measure(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => measure(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Removes `dir` and everything under it. A step may have left directories without write
/// permission (files in them cannot be unlinked then): those are made writable and the removal
/// is tried once more.
pub fn remove(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(dir);
            std::fs::remove_dir_all(dir)
        }
    }
}

#[cfg(unix)]
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !metadata.is_dir() {
        return;
    }
    let mode = metadata.permissions().mode() | 0o700;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        make_writable(&entry.path());
    }
}

#[cfg(not(unix))]
fn make_writable(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_dir(root: &Path, name: &str, uid: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("logs")).expect("dirs");
        let status = serde_json::json!({"metadata": {"name": name, "uid": uid}});
        std::fs::write(dir.join("status.json"), status.to_string()).expect("status");
        dir
    }

    #[test]
    fn a_run_dir_is_found_only_for_its_own_run_and_a_plain_name() {
        let root = tempfile::tempdir().expect("dir");
        let runs = RunDirs::new(root.path().to_path_buf());
        let dir = run_dir(root.path(), "nightly-x1", "uid-1");
        let uid = RunId::parse("uid-1").expect("run id");
        assert_eq!(runs.find("nightly-x1", &uid), Some(dir));
        let other = RunId::parse("uid-2").expect("run id");
        assert_eq!(
            runs.find("nightly-x1", &other),
            None,
            "another run's directory"
        );
        std::fs::write(
            root.path().join("status.json"),
            r#"{"metadata":{"uid":"uid-1"}}"#,
        )
        .expect("status");
        for name in [".", "..", "", "a/b", "../nightly-x1", ".sdk", "/tmp"] {
            assert_eq!(runs.find(name, &uid), None, "{name:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn removing_counts_nothing_twice_and_gets_past_read_only_directories() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("dir");
        let dir = run_dir(root.path(), "wf", "u");
        std::fs::write(dir.join("logs").join("node.log"), vec![b'x'; 1000]).expect("log");
        let outside = root.path().join("outside");
        std::fs::write(&outside, vec![b'y'; 5000]).expect("outside");
        std::os::unix::fs::symlink(&outside, dir.join("link")).expect("symlink");
        let status_bytes = std::fs::metadata(dir.join("status.json"))
            .expect("status")
            .len();
        assert_eq!(
            measure(&dir),
            1000 + status_bytes,
            "the link's target is not counted"
        );
        let locked = dir.join("work").join("locked");
        std::fs::create_dir_all(&locked).expect("dirs");
        std::fs::write(locked.join("f"), "z").expect("file");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).expect("chmod");
        remove(&dir).expect("removed");
        assert!(!dir.exists());
        assert!(outside.exists(), "the link's target stays");
        remove(&dir).expect("removing what is gone is fine");
    }
}
