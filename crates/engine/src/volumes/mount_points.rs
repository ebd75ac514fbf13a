//! Mount points of a node's volumes on the host: they must exist before the host turns
//! read-only in the sandbox, and the engine never makes them in the system's directories.

use std::path::Path;

use crate::error::EngineError;

/// Where the engine never makes a new mount point on the host: a directory there (even an
/// empty one, say `/etc/nologin` or `/root/.ssh/authorized_keys`) changes the machine itself.
const NO_NEW_MOUNT_POINTS: &[&str] = &[
    "/etc", "/root", "/home", "/var", "/run", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
    "/libx32", "/boot", "/dev", "/proc", "/sys",
];

/// Why no mount point may be made at `target`, when it may not.
fn refuse_mount_point(target: &Path) -> Option<String> {
    if target
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Some("it contains `..`".into());
    }
    NO_NEW_MOUNT_POINTS
        .iter()
        .find(|p| target.starts_with(p))
        .map(|p| {
            format!(
                "the engine makes no new directory under {p} on the host: mount at an \
                 existing directory, or elsewhere (/mnt, /data, …)"
            )
        })
}

/// Mount points must exist before the host turns read-only in the sandbox: outside `/tmp`
/// (each node's own) they are made on the host, as a kubelet makes them in an image, but
/// never under the system's own directories.
pub(crate) fn create(mounts: &[crate::exec::sandbox::Bind]) -> Result<(), EngineError> {
    for m in mounts.iter().filter(|m| !m.target.starts_with("/tmp")) {
        if !m.target.is_dir() {
            if let Some(why) = refuse_mount_point(&m.target) {
                return Err(EngineError::Invalid(format!(
                    "cannot create the mount point {}: {why}",
                    m.target.display()
                )));
            }
            std::fs::create_dir_all(&m.target).map_err(|e| {
                EngineError::Invalid(format!(
                    "cannot create the mount point {} on this host: {e}",
                    m.target.display()
                ))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_never_made_in_the_systems_directories() {
        assert!(refuse_mount_point(Path::new("/mnt/vol")).is_none());
        assert!(refuse_mount_point(Path::new("/data/x")).is_none());
        for p in [
            "/etc/nologin",
            "/root/.ssh/authorized_keys",
            "/var/spool/cron/x",
            "/usr/bin/x",
        ] {
            assert!(refuse_mount_point(Path::new(p)).is_some(), "{p}");
        }
        assert!(refuse_mount_point(Path::new("/mnt/../etc/x")).is_some());
    }
}
