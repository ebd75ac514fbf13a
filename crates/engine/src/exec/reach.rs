//! What a node must still read inside its sandbox besides its own directories: the programs
//! and libraries its `PATH` and `PYTHONPATH` point at.

use std::path::{Path, PathBuf};

/// Directories a node's environment points at that must stay readable (`PATH` and
/// `PYTHONPATH` entries; for a virtualenv on `PATH`, the venv and the Python it was made from).
pub(crate) fn reached_by_env(env: &[(String, String)]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for (name, value) in env {
        if name != "PATH" && name != "PYTHONPATH" {
            continue;
        }
        for entry in value.split(':').filter(|e| e.starts_with('/')) {
            let dir = PathBuf::from(entry);
            if let Some(venv) = dir.parent().filter(|v| v.join("pyvenv.cfg").is_file()) {
                dirs.push(venv.to_path_buf());
                if let Some(home) = venv_home(venv) {
                    dirs.push(home);
                }
            } else if let Some(prefix) = toolchain_prefix(&dir) {
                dirs.push(prefix);
            }
            dirs.push(dir);
        }
    }
    dirs
}

/// `<prefix>` for a `PATH` entry `<prefix>/bin` or `<prefix>/shims` whose prefix also has
/// `lib` or `libexec` (a toolchain such as pyenv, whose programs need the rest of it); a
/// directory of programs alone (`~/.cargo/bin`) shares nothing else of its parent.
fn toolchain_prefix(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?.to_str()?;
    let prefix = dir.parent()?;
    let toolchain = matches!(name, "bin" | "shims")
        && prefix.components().count() > 1
        && (prefix.join("lib").is_dir() || prefix.join("libexec").is_dir());
    toolchain.then(|| prefix.to_path_buf())
}

/// The prefix of the Python a venv was created from (`home = <prefix>/bin` in pyvenv.cfg).
fn venv_home(venv: &Path) -> Option<PathBuf> {
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    let home = cfg.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "home").then(|| PathBuf::from(v.trim()))
    })?;
    Some(home.parent().map(Path::to_path_buf).unwrap_or(home))
}
