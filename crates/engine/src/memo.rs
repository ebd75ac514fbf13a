//! Where `memoize` keeps outputs: the `MemoCache` trait (Argo's ConfigMap cache: entries by
//! cache name and key, with the time they were stored) and `FileMemoCache`, one JSON file per
//! entry under a directory, which `polyphemus engine run` uses.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::status::NodeOutputs;

/// One cached result, in the shape of Argo's ConfigMap cache entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoEntry {
    /// The node whose outputs these are.
    #[serde(rename = "nodeID")]
    pub node_id: String,
    pub outputs: NodeOutputs,
    /// When the entry was stored: `memoize.maxAge` is counted from here.
    #[serde(rename = "creationTimestamp")]
    pub created_at: DateTime<Utc>,
}

/// A store of memoized outputs by (cache name, key). `save` replaces an entry whole.
pub trait MemoCache: Send + Sync + std::fmt::Debug {
    fn load<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<MemoEntry>, EngineError>>;

    fn save<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
        entry: MemoEntry,
    ) -> BoxFuture<'a, Result<(), EngineError>>;
}

/// Entries as `<dir>/<cache name>/<key>.json`, each written whole (temp file + rename).
#[derive(Debug, Clone)]
pub struct FileMemoCache {
    dir: PathBuf,
}

impl FileMemoCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The entry's file; names and keys are checked by the engine before (no `/`, no `..`).
    fn path(&self, cache: &str, key: &str) -> PathBuf {
        self.dir.join(cache).join(format!("{key}.json"))
    }
}

impl MemoCache for FileMemoCache {
    fn load<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<MemoEntry>, EngineError>> {
        Box::pin(async move {
            let path = self.path(cache, key);
            let text = match tokio::fs::read_to_string(&path).await {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(EngineError::io(&path, e)),
            };
            serde_json::from_str(&text).map(Some).map_err(|e| {
                EngineError::Internal(format!("malformed cache entry {}: {e}", path.display()))
            })
        })
    }

    fn save<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
        entry: MemoEntry,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(async move {
            let path = self.path(cache, key);
            let dir = self.dir.join(cache);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| EngineError::io(&dir, e))?;
            let bytes =
                serde_json::to_vec(&entry).map_err(|e| EngineError::Internal(e.to_string()))?;
            // Concurrent runs may save the same key: each renames its own whole file.
            let tmp = dir.join(format!(".{key}.{}.tmp", uuid::Uuid::new_v4()));
            tokio::fs::write(&tmp, bytes)
                .await
                .map_err(|e| EngineError::io(&tmp, e))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| EngineError::io(&path, e))
        })
    }
}
