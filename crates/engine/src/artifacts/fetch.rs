//! Loading one input artifact onto a host path: `raw` data, an `http` URL, or an `s3` key
//! (of the repository or an explicit bucket), a tar+gzip archive unpacked, a directory saved
//! without archive rebuilt from its keys, `subPath` picked out, `mode` applied.

use std::path::{Path, PathBuf};

use super::archive;
use super::repository::Store;
use super::RunArtifacts;
use crate::error::EngineError;
use crate::model::Artifact;

/// Whether the artifact was there (a missing one is fine only if `optional`).
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Found,
    Missing(String),
}

/// Places artifact `a` at `dest` (which must not exist yet).
pub async fn load(
    run: &RunArtifacts,
    field: &str,
    a: &Artifact,
    dest: &Path,
) -> Result<Loaded, EngineError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
    }
    let target = match &a.sub_path {
        Some(_) => staging_path(dest),
        None => dest.to_path_buf(),
    };
    let loaded = if let Some(raw) = &a.raw {
        let data = raw.data.clone().unwrap_or_default();
        write_file(&target, data.as_bytes())?;
        Loaded::Found
    } else if let Some(http) = &a.http {
        load_http(field, &http.url, &http.headers, a, &target).await?
    } else if a.s3.is_some() {
        let (store, key) = run.locate(field, a)?;
        load_key(&store, &key, a, &target).await?
    } else {
        return Err(EngineError::Invalid(format!(
            "{field}: no location (raw, http, s3 or from)"
        )));
    };
    if loaded != Loaded::Found {
        return Ok(loaded);
    }
    if let Some(sub) = &a.sub_path {
        let plain = Path::new(sub.trim_start_matches('/'))
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        let picked = target.join(sub.trim_start_matches('/'));
        if !plain || (picked.exists() && !super::stage::resolves_inside(&picked, &target)) {
            let _ = archive::remove_any(&target);
            return Err(EngineError::Invalid(format!(
                "{field}.subPath: `{sub}` leads outside the artifact"
            )));
        }
        if !picked.exists() {
            let _ = archive::remove_any(&target);
            return Ok(Loaded::Missing(format!("subPath {sub} not found")));
        }
        std::fs::rename(&picked, dest).map_err(|e| EngineError::io(dest, e))?;
        let _ = archive::remove_any(&target);
    }
    // Never through a link: the engine may run as root.
    if let Some(mode) = a.mode.filter(|_| !dest.is_symlink()) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode))
            .map_err(|e| EngineError::io(dest, e))?;
    }
    Ok(Loaded::Found)
}

fn staging_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.whole"))
}

fn write_file(dest: &Path, data: &[u8]) -> Result<(), EngineError> {
    std::fs::write(dest, data).map_err(|e| EngineError::io(dest, e))
}

/// Writes fetched bytes: unpacked when they are a tar+gzip archive (as Argo auto-detects),
/// else as the file itself; `archive: none` keeps them as they are.
async fn place_bytes(a: &Artifact, data: bytes::Bytes, dest: &Path) -> Result<(), EngineError> {
    let keep_raw = a.archive.as_ref().is_some_and(|s| s.none.is_some());
    let dest_owned = dest.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if !keep_raw && archive::is_tar_gz(&data) {
            archive::unpack(&data, &dest_owned).map_err(|e| EngineError::io(&dest_owned, e))
        } else {
            write_file(&dest_owned, &data)
        }
    })
    .await
    .map_err(|e| EngineError::Internal(e.to_string()))?
}

async fn load_key(
    store: &Store,
    key: &str,
    a: &Artifact,
    dest: &Path,
) -> Result<Loaded, EngineError> {
    if let Some(data) = store.get(key).await? {
        place_bytes(a, data, dest).await?;
        return Ok(Loaded::Found);
    }
    // A directory saved without archive: one object per file under `key/`.
    let prefix = format!("{}/", key.trim_end_matches('/'));
    let keys = store.list(key).await?;
    if keys.is_empty() {
        return Ok(Loaded::Missing(format!(
            "key {key} not found in {}",
            store.what
        )));
    }
    for k in keys {
        let Some(rel) = k.strip_prefix(&prefix) else {
            continue;
        };
        let Some(data) = store.get(&k).await? else {
            continue;
        };
        let file = dest.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
        }
        write_file(&file, &data)?;
    }
    Ok(Loaded::Found)
}

async fn load_http(
    field: &str,
    url: &str,
    headers: &[crate::model::Header],
    a: &Artifact,
    dest: &Path,
) -> Result<Loaded, EngineError> {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    for h in headers {
        req = req.header(&h.name, &h.value);
    }
    // The URL may carry a token in its query: messages name the field, not the URL.
    let failed = |e: String| EngineError::Invalid(format!("{field}.http: {e}"));
    let resp = req
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(Loaded::Missing("HTTP 404 Not Found".into()));
    }
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    let data = resp
        .bytes()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    place_bytes(a, data, dest).await?;
    Ok(Loaded::Found)
}
