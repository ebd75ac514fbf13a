//! Where a package's files come from: embedded in the binary, or a directory on disk.

use super::check::Problem;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub enum PackageFiles {
    /// A built-in package: its directory name under `workflows/` and its files' texts.
    Embedded {
        dir: &'static str,
        files: &'static [(&'static str, &'static str)],
    },
    Dir(PathBuf),
}

impl PackageFiles {
    /// What `GET /workflows` reports as the package's `source`.
    pub fn source(&self) -> String {
        match self {
            PackageFiles::Embedded { .. } => "built-in".to_owned(),
            PackageFiles::Dir(dir) => dir.display().to_string(),
        }
    }

    /// The path a problem names: `workflows/<dir>/<file>` for built-ins.
    pub fn path(&self, name: &str) -> PathBuf {
        match self {
            PackageFiles::Embedded { dir, .. } => Path::new("workflows").join(dir).join(name),
            PackageFiles::Dir(dir) => dir.join(name),
        }
    }

    /// Reads a file of the package. The name must stay inside the package's directory.
    pub fn read(&self, name: &str) -> Result<String, Problem> {
        let inside = !name.is_empty()
            && Path::new(name)
                .components()
                .all(|part| matches!(part, Component::Normal(_)));
        if !inside {
            return Err(Problem::new(
                self.path(super::MANIFEST_FILE),
                "/workflow",
                format!("{name:?} must be a file name inside the package's directory"),
            ));
        }
        match self {
            PackageFiles::Embedded { files, .. } => files
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| Problem::new(self.path(name), "", "no such file in the package")),
            PackageFiles::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path).map_err(|error| Problem::io(path, &error))
            }
        }
    }
}
