//! The host side of volumes: directories made for claims and emptyDirs, and the files of a
//! `secret`/`configMap` volume (one per key, or per `items` entry).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::decl::{object_label, ObjectSource, Source, VolumeMount};
use crate::error::EngineError;
use crate::exec::sandbox::StepUser;
use crate::k8s_objects::{K8sObjects, ObjectData};

/// The object a `secret`/`configMap` volume reads, and whether it is a Secret.
fn object<'a>(
    objects: &'a K8sObjects,
    source: &Source,
    o: &ObjectSource,
) -> (Option<&'a ObjectData>, String) {
    let secret = matches!(source, Source::Secret(_));
    let name = if secret { &o.secret_name } else { &o.name };
    let name = name.clone().unwrap_or_default();
    let data = if secret {
        objects.secret(&name)
    } else {
        objects.config_map(&name)
    };
    (data, object_label(secret, &name))
}

/// Refuses a mount of a missing object (unless `optional`) or of a missing `items` key.
pub(super) fn check_source(
    objects: &K8sObjects,
    source: &Source,
    m: &VolumeMount,
) -> Result<(), EngineError> {
    let o = match source {
        Source::Secret(o) | Source::ConfigMap(o) => o,
        Source::Claim { .. } | Source::EmptyDir => return Ok(()),
    };
    if m.sub_path.is_some() {
        return Err(EngineError::unsupported(
            format!("volumeMounts[{}].subPath", m.name),
            "a subPath of a secret or configMap volume is not supported; mount the whole volume",
        ));
    }
    let (data, label) = object(objects, source, o);
    match data {
        None if o.optional => Ok(()),
        None => Err(EngineError::Invalid(format!(
            "volume `{}`: {label} not found (put it in the --k8s-objects directory)",
            m.name
        ))),
        Some(data) => match o.items.iter().find(|i| !data.contains_key(&i.key)) {
            Some(item) if !o.optional => Err(EngineError::Invalid(format!(
                "volume `{}`: {label} has no key `{}`",
                m.name, item.key
            ))),
            _ => Ok(()),
        },
    }
}

/// A node's volume directory: only the engine passes it (steps see its volumes through their
/// mounts), so no other user of the host reads a secret written there.
pub(super) fn private_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| EngineError::io(dir, e))
}

/// Writes the files of a `secret`/`configMap` volume into `dir` (read-only to steps); they
/// belong to the step user, so that a `defaultMode: 0400` still lets the step read them.
pub(super) fn write_object(
    objects: &K8sObjects,
    (source, o): (&Source, &ObjectSource),
    dir: &Path,
    reader: Option<&StepUser>,
) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let (data, _) = object(objects, source, o);
    let Some(data) = data else {
        return Ok(()); // optional and missing: an empty directory, as Kubernetes mounts it
    };
    let default_mode = o.default_mode.unwrap_or(0o644);
    let entries: Vec<(&str, &str, u32)> = if o.items.is_empty() {
        data.keys()
            .map(|k| (k.as_str(), k.as_str(), default_mode))
            .collect()
    } else {
        o.items
            .iter()
            .map(|i| {
                (
                    i.key.as_str(),
                    i.path.as_str(),
                    i.mode.unwrap_or(default_mode),
                )
            })
            .collect()
    };
    for (key, rel, mode) in entries {
        let Some(bytes) = data.get(key) else {
            continue; // an optional object without this key
        };
        let file = dir.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
        }
        std::fs::write(&file, bytes).map_err(|e| EngineError::io(&file, e))?;
        if let Some(user) = reader {
            std::os::unix::fs::chown(&file, Some(user.uid), Some(user.gid))
                .map_err(|e| EngineError::io(&file, e))?;
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o777))
            .map_err(|e| EngineError::io(&file, e))?;
    }
    Ok(())
}

/// Creates `dir` if missing; a step user must own it to write it.
pub(super) fn ensure_dir(dir: &Path, writer: Option<&StepUser>) -> Result<(), EngineError> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    if let Some(user) = writer {
        std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
            .map_err(|e| EngineError::io(dir, e))?;
    }
    Ok(())
}
