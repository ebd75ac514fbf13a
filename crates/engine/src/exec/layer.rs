//! A node's writable layer, as a container has one: what it writes at absolute paths outside
//! its `/tmp`, working dir and volumes lands in the layer's `root` on the host, seen inside the
//! sandbox at those paths; the host itself is never written. An existing host directory that
//! must take new entries gets an overlay (the host's files read-only below, the node's above);
//! a new top-level entry (`/result.txt`, `/inputs/…`) needs a new root: the layer's root, with
//! every top-level entry of the host bound into it, in which the node then runs chrooted.
//!
//! Only paths the template declares (artifacts, output parameters, mount points) get a layer:
//! other nodes keep the plain sandbox, and its cost.

use std::path::{Component, Path, PathBuf};

use super::sandbox::{quote, StepUser};

/// Where the kernel's own file systems are: nothing of a node's goes there.
const KERNEL_DIRS: &[&str] = &["/proc", "/sys", "/dev"];

/// The writable layer of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layer {
    /// Holds `root` (the node's files by their path) and `ovl` (the overlays' work dirs).
    dir: PathBuf,
    /// Existing host directories (canonical) that get an overlay, none inside another.
    overlays: Vec<PathBuf>,
    /// Whether a path needs a new top-level entry, so the node runs in a new root.
    new_root: bool,
}

/// `p` with its deepest existing ancestor's symbolic links resolved (`/bin/x` is
/// `/usr/bin/x` on a merged-`/usr` host), and that ancestor: the directory the node's writes
/// go into.
fn resolve(p: &Path) -> Result<(PathBuf, PathBuf), String> {
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        return Err(format!("`{}` must be absolute, without `..`", p.display()));
    }
    let parent = p.parent().unwrap_or(Path::new("/"));
    for a in parent.ancestors() {
        if let Ok(existing) = a.canonicalize() {
            let rest = p.strip_prefix(a).unwrap_or(p);
            return Ok((existing.join(rest), existing));
        }
    }
    Err(format!("`{}` has no existing ancestor", p.display()))
}

impl Layer {
    /// The layer node `id` needs for `paths` (absolute paths the sandbox must let it write),
    /// kept under `run_dir` unless an overlaid directory holds `run_dir` (an overlay cannot
    /// keep its files inside what it covers); `None` when `paths` is empty.
    pub fn plan(run_dir: &Path, id: &str, paths: &[PathBuf]) -> Result<Option<Layer>, String> {
        if paths.is_empty() {
            return Ok(None);
        }
        let mut overlays: Vec<PathBuf> = Vec::new();
        let mut new_root = false;
        for p in paths {
            let (full, into) = resolve(p)?;
            let refused = KERNEL_DIRS
                .iter()
                .chain(&["/tmp"])
                .find(|k| full.starts_with(k));
            if let Some(k) = refused {
                return Err(format!(
                    "`{}` is under {k}, which the local engine gives a node itself",
                    p.display()
                ));
            }
            match into == Path::new("/") {
                true => new_root = true,
                false => overlays.push(into),
            }
        }
        overlays.sort_by_key(|p| p.components().count());
        let mut outermost: Vec<PathBuf> = Vec::new();
        for o in overlays {
            if !outermost.iter().any(|kept| o.starts_with(kept)) {
                outermost.push(o);
            }
        }
        let base = match outermost.iter().any(|o| run_dir.starts_with(o)) {
            true => std::env::temp_dir().join(format!(
                "polyphemus-layers/{}",
                run_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("run")
            )),
            false => run_dir.join("layers"),
        };
        Ok(Some(Layer {
            dir: base.join(id),
            overlays: outermost,
            new_root,
        }))
    }

    /// The node's files by their path inside the sandbox.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Where absolute path `p` of the node is on the host, when it is in this layer (a
    /// top-level entry of the host, bound into a new root, is the host's, not the node's).
    pub fn host_path(&self, p: &Path) -> Option<PathBuf> {
        let (full, into) = resolve(p).ok()?;
        let covered = self.overlays.iter().any(|o| into.starts_with(o));
        let new_entry = self.new_root && into == Path::new("/") && {
            let top: PathBuf = full.components().take(2).collect();
            top.symlink_metadata().is_err()
        };
        (covered || new_entry).then(|| self.root().join(full.strip_prefix("/").unwrap_or(&full)))
    }

    /// Makes the layer's directories (the step user's, so that it may write there).
    pub fn create(&self, user: Option<&StepUser>) -> std::io::Result<()> {
        let root = self.root();
        let mut dirs = vec![self.dir.clone(), root.clone(), self.dir.join("ovl")];
        for (i, o) in self.overlays.iter().enumerate() {
            dirs.push(root.join(o.strip_prefix("/").unwrap_or(o)));
            dirs.push(self.dir.join("ovl").join(i.to_string()));
        }
        for d in &dirs {
            std::fs::create_dir_all(d)?;
        }
        if let Some(u) = user {
            // The upper directories and everything on the way, so the step may write there.
            for d in dirs.iter().filter(|d| !d.starts_with(self.dir.join("ovl"))) {
                for a in d.ancestors().take_while(|a| a.starts_with(&root)) {
                    std::os::unix::fs::chown(a, Some(u.uid), Some(u.gid))?;
                }
            }
        }
        Ok(())
    }

    /// The lines of the sandbox script that mount the layer, once the host is read-only and
    /// staged (`bind_rw` binds a staged host directory back writable). With a new root they
    /// end by running `$1`, the rest of the script, chrooted there (`shift`ed off).
    pub fn script(&self, bind_rw: impl Fn(&Path) -> String) -> Vec<String> {
        let mut lines = vec![bind_rw(&self.dir)];
        let root = self.root();
        for (i, o) in self.overlays.iter().enumerate() {
            let upper = root.join(o.strip_prefix("/").unwrap_or(o));
            let work = self.dir.join("ovl").join(i.to_string());
            let opts = format!(
                "lowerdir={},upperdir={},workdir={}",
                o.display(),
                upper.display(),
                work.display()
            );
            lines.push(format!(
                "mount -t overlay overlay -o {} {} || fail 'cannot overlay '{}",
                quote(Path::new(&opts)),
                quote(o),
                quote(o)
            ));
        }
        if self.new_root {
            lines.push(format!(
                "r={}; for x in /* /.[!.]*; do [ -e \"$x\" ] || [ -L \"$x\" ] || continue; \
                 n=\"$r$x\"; if [ -L \"$x\" ]; then ln -sfn \"$(readlink \"$x\")\" \"$n\"; \
                 elif [ -d \"$x\" ]; then mkdir -p \"$n\" && mount --rbind \"$x\" \"$n\"; \
                 else : >\"$n\" && mount --bind \"$x\" \"$n\"; fi || fail \"cannot bind $x into the node's root\"; done",
                quote(&root)
            ));
            lines.push("rest=$1; shift; exec chroot \"$r\" /bin/sh -c \"$rest\" sh \"$@\"".into());
        }
        lines
    }

    /// Whether the rest of the script runs chrooted (passed as its first argument).
    pub fn chroots(&self) -> bool {
        self.new_root
    }

    /// Whether an overlay path would break the `mount` options it is written into.
    pub fn unmountable(&self) -> Option<&Path> {
        let bad = |p: &Path| {
            p.to_str()
                .is_none_or(|s| s.contains([',', ':', '\'', '\\']))
        };
        std::iter::once(self.dir.as_path())
            .chain(self.overlays.iter().map(PathBuf::as_path))
            .find(|p| bad(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_top_level_entry_needs_a_new_root_and_an_existing_directory_an_overlay() {
        let run = Path::new("/var/tmp/polyphemus-layer-test/run");
        let paths = [
            PathBuf::from("/result.txt"),
            PathBuf::from("/usr/local/bin/kubectl"),
            PathBuf::from("/usr/local/bin/more/x"),
        ];
        let layer = Layer::plan(run, "n1", &paths)
            .expect("plan")
            .expect("layer");
        assert!(layer.new_root);
        assert_eq!(layer.overlays, vec![PathBuf::from("/usr/local/bin")]);
        assert_eq!(
            layer.host_path(Path::new("/result.txt")),
            Some(run.join("layers/n1/root/result.txt"))
        );
        assert_eq!(
            layer.host_path(Path::new("/usr/local/bin/more/x")),
            Some(run.join("layers/n1/root/usr/local/bin/more/x"))
        );
        assert_eq!(layer.host_path(Path::new("/etc/passwd")), None);
        assert_eq!(layer.host_path(Path::new("/etc")), None, "the host's own");
    }

    #[test]
    fn kernel_directories_tmp_and_dot_dot_are_refused() {
        let run = Path::new("/var/tmp/run");
        for p in ["/proc/x", "/dev/shm/x", "/tmp/x", "/mnt/../etc/x", "rel"] {
            assert!(Layer::plan(run, "n", &[PathBuf::from(p)]).is_err(), "{p}");
        }
        assert_eq!(Layer::plan(run, "n", &[]), Ok(None));
    }

    #[test]
    fn an_overlay_over_the_run_dir_keeps_its_files_elsewhere() {
        let run = Path::new("/var/polyphemus-test/run-x");
        let layer = Layer::plan(run, "n", &[PathBuf::from("/var/new-file")])
            .expect("plan")
            .expect("layer");
        assert_eq!(layer.overlays, vec![PathBuf::from("/var")]);
        assert!(!layer.dir.starts_with("/var"), "{layer:?}");
    }
}
