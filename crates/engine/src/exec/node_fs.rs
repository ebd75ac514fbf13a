//! Where a node's paths are on the host: its `/tmp` is its own tmp dir (when sandboxed), a
//! relative path is under its working dir, a path under a volume's mount point is in the
//! volume's host directory, and any other absolute path is in its writable layer. The engine
//! (perhaps root) reads and writes a node's files only there: never the host path a step
//! names, which could be the server's key.

use std::path::{Path, PathBuf};

use super::layer::Layer;
use super::sandbox::Bind;
use super::RunCtx;
use crate::error::EngineError;
use crate::model::Template;

/// The file system of one node, as the engine places inputs into it and reads outputs.
#[derive(Clone, Copy)]
pub(crate) struct NodeFs<'a> {
    pub work: &'a Path,
    pub tmp: &'a Path,
    /// Whether the node is sandboxed (its `/tmp` is `tmp`, the host is read-only to it).
    pub private_tmp: bool,
    pub mounts: &'a [Bind],
    pub layer: Option<&'a Layer>,
}

impl NodeFs<'_> {
    /// Where `p` is on the host, and the directory it must stay in (symbolic links
    /// followed); `None` when the node cannot have written there.
    pub fn locate(&self, p: &str) -> Option<(PathBuf, PathBuf)> {
        if p == "/tmp" || p.starts_with("/tmp/") {
            let rest = p.trim_start_matches("/tmp").trim_start_matches('/');
            return Some(match self.private_tmp {
                true => (self.tmp.join(rest), self.tmp.to_path_buf()),
                false => (PathBuf::from(p), PathBuf::from("/tmp")),
            });
        }
        let path = Path::new(p);
        if path.is_relative() {
            return Some((self.work.join(p), self.work.to_path_buf()));
        }
        if let Some(m) = self.volume_of(path) {
            let rest = path.strip_prefix(&m.target).unwrap_or(Path::new(""));
            return Some((m.host.join(rest), m.host.clone()));
        }
        let layer = self.layer?;
        layer.host_path(path).map(|host| (host, layer.root()))
    }

    /// The volume whose mount point holds `p` (the innermost).
    fn volume_of(&self, p: &Path) -> Option<&Bind> {
        self.mounts
            .iter()
            .filter(|m| p.starts_with(&m.target))
            .max_by_key(|m| m.target.components().count())
    }

    /// Where an output parameter's file may be: as [`Self::locate`], and unsandboxed the
    /// host path itself (the step wrote the host with the server's rights).
    pub fn candidates(&self, p: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.locate(p).map(|(host, _)| host).into_iter().collect();
        if !self.private_tmp && !v.contains(&PathBuf::from(p)) && Path::new(p).is_absolute() {
            v.push(PathBuf::from(p));
        }
        v
    }

    /// The absolute paths of `declared` that need the writable layer: outside `/tmp` and the
    /// volumes, and (for mount points) not already on the host.
    pub fn layer_paths<'p>(
        mounts: &[Bind],
        declared: impl Iterator<Item = &'p str>,
    ) -> Vec<PathBuf> {
        let probe = NodeFs {
            work: Path::new(""),
            tmp: Path::new(""),
            private_tmp: true,
            mounts,
            layer: None,
        };
        let mut paths: Vec<PathBuf> = declared
            .filter(|p| p.starts_with('/') && !(*p == "/tmp" || p.starts_with("/tmp/")))
            .filter(|p| probe.volume_of(Path::new(p)).is_none())
            .map(PathBuf::from)
            .collect();
        for m in mounts {
            let outer = probe
                .volume_of(&m.target)
                .is_some_and(|o| o.target != m.target);
            if !m.target.starts_with("/tmp") && !outer && !m.target.is_dir() {
                paths.push(m.target.clone());
            }
        }
        paths
    }
}

/// The writable layer node `id` needs for the absolute paths `t` declares (artifacts,
/// output parameters, mount points), made ready for it.
pub(super) fn node_layer(
    ctx: &RunCtx,
    id: &str,
    t: &Template,
    mounts: &[Bind],
) -> Result<Option<Layer>, EngineError> {
    let here = format!("spec.templates[{}]", t.name);
    let inputs = t.inputs.iter().flat_map(|i| i.artifacts.iter());
    let outputs = t.outputs.iter().flat_map(|o| o.artifacts.iter());
    let params = t.outputs.iter().flat_map(|o| o.parameters.iter());
    let declared = inputs
        .chain(outputs)
        .filter_map(|a| a.path.as_deref())
        .chain(params.filter_map(|p| p.value_from.as_ref()?.path.as_deref()));
    let paths = NodeFs::layer_paths(mounts, declared);
    let layer = Layer::plan(&ctx.run_dir, id, &paths)
        .map_err(|why| EngineError::Invalid(format!("{here}: {why}")))?;
    if let Some(layer) = &layer {
        if let Some(p) = layer.unmountable() {
            return Err(EngineError::Invalid(format!(
                "{here}: the node's writable layer cannot be mounted at {} (a `,`, `:`, quote or backslash in the path)",
                p.display()
            )));
        }
        layer
            .create(ctx.step_user.as_ref())
            .map_err(|e| EngineError::io(layer.root(), e))?;
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_tmp_work_volumes_and_nothing_else_without_a_layer() {
        let mounts = [Bind {
            host: PathBuf::from("/data/vol"),
            target: PathBuf::from("/mnt/vol"),
            read_only: false,
        }];
        let fs = NodeFs {
            work: Path::new("/w"),
            tmp: Path::new("/t"),
            private_tmp: true,
            mounts: &mounts,
            layer: None,
        };
        let host = |p: &str| fs.locate(p).map(|(h, _)| h);
        assert_eq!(host("/tmp/a"), Some(PathBuf::from("/t/a")));
        assert_eq!(host("out/a"), Some(PathBuf::from("/w/out/a")));
        assert_eq!(host("/mnt/vol/x/y"), Some(PathBuf::from("/data/vol/x/y")));
        assert_eq!(
            host("/etc/shadow"),
            None,
            "the host's own files are never read"
        );
        assert!(fs.candidates("/etc/shadow").is_empty());
        let declared = ["/tmp/x", "/mnt/vol/f", "/result.txt", "rel"];
        assert_eq!(
            NodeFs::layer_paths(&mounts, declared.into_iter()),
            vec![PathBuf::from("/result.txt"), PathBuf::from("/mnt/vol")]
        );
    }
}
