//! Where artifacts are kept: the engine's artifact repository (Argo's `artifactRepository`
//! shape; a host directory by default, or an S3 bucket) and explicit `s3` locations, both
//! through `object_store`. Credentials come from Secret selectors or the engine's own
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, and never appear in a message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};

use super::Secrets;
use crate::error::EngineError;
use crate::model::{S3Artifact, SecretKeySelector};

/// Argo's default key of an output artifact: `{{workflow.name}}/{{pod.name}}`.
pub const DEFAULT_KEY_FORMAT: &str = "{{workflow.name}}/{{pod.name}}";

/// The engine's artifact repository, as in Argo's `artifactRepository` configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactRepository {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Repository>,
    /// Local engine: a directory of this host (the default, `<work dir>/.artifacts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalRepository>,
    /// Argo archives pod logs as artifacts; the engine keeps its logs in the run dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_logs: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Repository {
    #[serde(default)]
    pub endpoint: Option<String>,
    pub bucket: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub insecure: Option<bool>,
    #[serde(default)]
    pub key_format: Option<String>,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<SecretKeySelector>,
    #[serde(default)]
    pub secret_key_secret: Option<SecretKeySelector>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalRepository {
    pub path: PathBuf,
    #[serde(default)]
    pub key_format: Option<String>,
}

impl ArtifactRepository {
    /// A repository in host directory `dir`.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        ArtifactRepository {
            local: Some(LocalRepository {
                path: dir.into(),
                key_format: None,
            }),
            ..Default::default()
        }
    }

    /// Reads the YAML of `artifactRepository` (also accepted wrapped in that key).
    pub fn from_yaml(text: &str) -> Result<Self, EngineError> {
        let value: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| EngineError::Yaml(e.to_string()))?;
        let inner = value.get("artifactRepository").cloned().unwrap_or(value);
        let repo: ArtifactRepository = serde_yaml::from_value(inner)
            .map_err(|e| EngineError::Invalid(format!("artifactRepository: {e}")))?;
        if repo.s3.is_some() == repo.local.is_some() {
            return Err(EngineError::Invalid(
                "artifactRepository: give exactly one of `s3` or `local`".into(),
            ));
        }
        Ok(repo)
    }

    /// The key format of output artifacts (Argo's `keyFormat`, else `keyPrefix/` + default).
    pub fn key_format(&self) -> String {
        match (&self.s3, &self.local) {
            (Some(s3), _) => s3.key_format.clone().unwrap_or_else(|| {
                match s3.key_prefix.as_deref().filter(|p| !p.is_empty()) {
                    Some(prefix) => {
                        format!("{}/{DEFAULT_KEY_FORMAT}", prefix.trim_end_matches('/'))
                    }
                    None => DEFAULT_KEY_FORMAT.into(),
                }
            }),
            (None, Some(local)) => local
                .key_format
                .clone()
                .unwrap_or_else(|| DEFAULT_KEY_FORMAT.into()),
            (None, None) => DEFAULT_KEY_FORMAT.into(),
        }
    }

    /// The host directory of a local repository (steps must not see it).
    pub fn local_dir(&self) -> Option<&Path> {
        self.local.as_ref().map(|l| l.path.as_path())
    }
}

/// An open bucket or directory; `what` names it in messages (no credentials).
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    pub what: String,
}

/// Where the S3 client connects: Argo's `endpoint` is `host[:port]`, `insecure` picks http.
fn endpoint_url(endpoint: Option<&str>, insecure: bool) -> String {
    let endpoint = endpoint.unwrap_or("s3.amazonaws.com");
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.to_string()
    } else if insecure {
        format!("http://{endpoint}")
    } else {
        format!("https://{endpoint}")
    }
}

/// The value a Secret selector names, or an error naming the selector (not its value).
fn secret(
    field: &str,
    sel: &SecretKeySelector,
    secrets: Option<&Secrets>,
) -> Result<String, EngineError> {
    secrets
        .and_then(|s| s.0.secret_key(&sel.name, &sel.key))
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "{field}: key `{}` of Secret `{}` is not available to the local engine (give it a directory of Kubernetes objects holding that Secret)",
                sel.key, sel.name
            ))
        })
}

/// S3 bucket settings common to the repository and an explicit location.
pub struct Bucket<'a> {
    pub field: &'a str,
    pub endpoint: Option<&'a str>,
    pub bucket: &'a str,
    pub region: Option<&'a str>,
    pub insecure: bool,
    pub access_key: Option<&'a SecretKeySelector>,
    pub secret_key: Option<&'a SecretKeySelector>,
}

impl Store {
    /// The engine's repository.
    pub fn repository(
        repo: &ArtifactRepository,
        secrets: Option<&Secrets>,
    ) -> Result<Store, EngineError> {
        if let Some(s3) = &repo.s3 {
            return Store::s3(
                &Bucket {
                    field: "artifactRepository.s3",
                    endpoint: s3.endpoint.as_deref(),
                    bucket: &s3.bucket,
                    region: s3.region.as_deref(),
                    insecure: s3.insecure.unwrap_or(false),
                    access_key: s3.access_key_secret.as_ref(),
                    secret_key: s3.secret_key_secret.as_ref(),
                },
                secrets,
            );
        }
        let dir = repo
            .local_dir()
            .ok_or_else(|| EngineError::Invalid("artifactRepository: no location".into()))?;
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        // Deleting the last file of a directory removes the directory (artifactGC leaves none).
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
            EngineError::Internal(format!("artifact repository {}: {e}", dir.display()))
        })?;
        Ok(Store {
            inner: Arc::new(fs.with_automatic_cleanup(true)),
            what: format!("artifact repository {}", dir.display()),
        })
    }

    /// The bucket of an explicit `s3` location.
    pub fn s3_location(
        field: &str,
        s3: &S3Artifact,
        secrets: Option<&Secrets>,
    ) -> Result<Store, EngineError> {
        let bucket = s3.bucket.as_deref().ok_or_else(|| {
            EngineError::Invalid(format!("{field}.bucket: required with `endpoint`"))
        })?;
        Store::s3(
            &Bucket {
                field,
                endpoint: s3.endpoint.as_deref(),
                bucket,
                region: s3.region.as_deref(),
                insecure: s3.insecure.unwrap_or(false),
                access_key: s3.access_key_secret.as_ref(),
                secret_key: s3.secret_key_secret.as_ref(),
            },
            secrets,
        )
    }

    fn s3(b: &Bucket<'_>, secrets: Option<&Secrets>) -> Result<Store, EngineError> {
        let url = endpoint_url(b.endpoint, b.insecure);
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&url)
            .with_bucket_name(b.bucket)
            .with_region(b.region.unwrap_or("us-east-1"))
            .with_allow_http(url.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
        let access = match b.access_key {
            Some(sel) => Some(secret(
                &format!("{}.accessKeySecret", b.field),
                sel,
                secrets,
            )?),
            None => std::env::var("AWS_ACCESS_KEY_ID").ok(),
        };
        let secret_key = match b.secret_key {
            Some(sel) => Some(secret(
                &format!("{}.secretKeySecret", b.field),
                sel,
                secrets,
            )?),
            None => std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
        };
        builder = match (access, secret_key) {
            (Some(a), Some(s)) => builder.with_access_key_id(a).with_secret_access_key(s),
            // No credentials anywhere: anonymous requests (a public bucket).
            _ => builder.with_skip_signature(true),
        };
        let store = builder
            .build()
            .map_err(|e| EngineError::Invalid(format!("{}: {e}", b.field)))?;
        Ok(Store {
            inner: Arc::new(store),
            what: format!("s3://{}/ at {url}", b.bucket),
        })
    }

    fn key(&self, key: &str) -> Result<Key, EngineError> {
        Key::parse(key.trim_matches('/'))
            .map_err(|e| EngineError::Invalid(format!("artifact key `{key}`: {e}")))
    }

    fn failed(&self, action: &str, key: &str, e: object_store::Error) -> EngineError {
        EngineError::Internal(format!("cannot {action} `{key}` in {}: {e}", self.what))
    }

    pub async fn put(&self, key: &str, data: Vec<u8>) -> Result<(), EngineError> {
        let k = self.key(key)?;
        self.inner
            .put(&k, Bytes::from(data).into())
            .await
            .map(|_| ())
            .map_err(|e| self.failed("write", key, e))
    }

    /// The object at `key`; `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, EngineError> {
        let k = self.key(key)?;
        match self.inner.get(&k).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.failed("read", key, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("read", key, e)),
        }
    }

    /// The keys under directory `prefix` (an artifact saved as a directory without archive).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, EngineError> {
        let k = self.key(prefix)?;
        let metas: Vec<_> = self
            .inner
            .list(Some(&k))
            .try_collect()
            .await
            .map_err(|e| self.failed("list", prefix, e))?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Deletes `key` and everything under `key/`; how many objects went.
    pub async fn delete_tree(&self, key: &str) -> Result<usize, EngineError> {
        let mut keys = self.list(key).await?;
        let k = self.key(key)?.to_string();
        if !keys.contains(&k) {
            keys.push(k);
        }
        let mut deleted = 0;
        for k in keys {
            match self.inner.delete(&self.key(&k)?).await {
                Ok(()) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.failed("delete", &k, e)),
            }
        }
        Ok(deleted)
    }
}
