//! The object-storage side of sftp-to-storage, through the `object_store` crate: a local
//! directory (`file:///…`), an S3-compatible endpoint (`http(s)://…`) or AWS S3 (no URL).

use crate::{FailureKind, JobContext, JobError};
use object_store::aws::{AmazonS3Builder, Checksum};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// Where copies go: a store and the key prefix inside it.
#[derive(Debug, Clone)]
pub struct Destination {
    pub store: Arc<dyn ObjectStore>,
    /// Prepended to each file's path below the SFTP root.
    pub prefix: String,
    /// `s3://bucket/prefix` or `file:///dir/bucket/prefix`, for messages and the summary.
    pub display: String,
}

impl Destination {
    pub fn from_context(context: &JobContext) -> Result<Self, JobError> {
        let bucket = context
            .config_str("bucket")
            .ok_or_else(|| JobError::Config("bucket is not set".into()))?;
        let prefix = context
            .config_str("prefix")
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        let url = context.config_str("storage_url").unwrap_or("");
        let (store, display): (Arc<dyn ObjectStore>, String) =
            if let Some(dir) = url.strip_prefix("file://") {
                refuse_scratch_space(url, dir)?;
                let root = std::path::Path::new(dir).join(bucket);
                std::fs::create_dir_all(&root).map_err(|error| {
                    let what = format!("cannot create {}: {error}", root.display());
                    JobError::of_kind(FailureKind::of_io(&error), what)
                })?;
                let store = LocalFileSystem::new_with_prefix(&root)
                    .map_err(|error| JobError::Config(format!("storage_url {url}: {error}")))?;
                (Arc::new(store), format!("file://{}", root.display()))
            } else {
                (
                    Arc::new(s3(context, url, bucket)?),
                    format!("s3://{bucket}"),
                )
            };
        let display = if prefix.is_empty() {
            display
        } else {
            format!("{display}/{prefix}")
        };
        Ok(Self {
            store,
            prefix,
            display,
        })
    }

    /// The object key of a file at `relative` below the SFTP root.
    pub fn key(&self, relative: &str) -> Result<ObjectPath, JobError> {
        let key = if self.prefix.is_empty() {
            relative.to_owned()
        } else {
            format!("{}/{relative}", self.prefix)
        };
        ObjectPath::parse(&key).map_err(|error| {
            JobError::Permanent(format!("{relative} cannot be an object key: {error}"))
        })
    }
}

/// Whether another attempt can get past an object storage error (after the store's own
/// retries): not a missing bucket or object, refused credentials or permissions, or a request
/// the store cannot take; a timeout, a dropped connection or a 5xx may pass.
pub(crate) fn store_kind(error: &object_store::Error) -> FailureKind {
    use object_store::Error;
    match error {
        Error::NotFound { .. }
        | Error::PermissionDenied { .. }
        | Error::Unauthenticated { .. }
        | Error::InvalidPath { .. }
        | Error::NotSupported { .. }
        | Error::NotImplemented
        | Error::UnknownConfigurationKey { .. }
        | Error::AlreadyExists { .. }
        | Error::Precondition { .. } => FailureKind::Permanent,
        _ => FailureKind::Transient,
    }
}

/// A step's `/tmp` is its own on the local engine (and a pod's scratch space on Argo): files
/// "stored" there vanish with the step, so such a destination is refused, not silently lost.
fn refuse_scratch_space(url: &str, dir: &str) -> Result<(), JobError> {
    let path = std::path::Path::new(dir);
    let scratch = ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .any(|scratch| path.starts_with(scratch));
    if scratch {
        return Err(JobError::Config(format!(
            "storage_url {url} is in a step's scratch space (/tmp, /var/tmp, /dev/shm), which \
             is private to each step and removed when it ends; choose a directory outside them"
        )));
    }
    Ok(())
}

fn s3(context: &JobContext, url: &str, bucket: &str) -> Result<impl ObjectStore, JobError> {
    let region = context.config_str("region").unwrap_or("us-east-1");
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(region)
        // S3 verifies each part against its SHA-256 (which signing computes anyway); moto
        // also completes a 1 GiB multipart upload in 6 s with it, 10 s without (copy_bench).
        .with_checksum_algorithm(Checksum::SHA256)
        .with_retry(RetryConfig {
            max_retries: 5,
            retry_timeout: Duration::from_secs(120),
            ..RetryConfig::default()
        })
        .with_client_options(ClientOptions::new().with_timeout(Duration::from_secs(300)));
    if !url.is_empty() {
        // S3-compatible servers (MinIO, Ceph, moto) address buckets by path, not host name.
        builder = builder
            .with_endpoint(url)
            .with_allow_http(url.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    match (
        context.config_str("storage_access_key_id"),
        context.secret("storage_secret_key"),
    ) {
        (Some(id), Some(secret)) => {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
        }
        (None, None) => {} // AWS_* variables or instance metadata, as AWS tools do
        _ => {
            return Err(JobError::Config(
                "storage_access_key_id and the secret storage_secret_key go together".into(),
            ))
        }
    }
    builder
        .build()
        .map_err(|error| JobError::Config(format!("object storage: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_bucket_or_refused_credentials_are_permanent_the_rest_transient() {
        let source = || Box::<dyn std::error::Error + Send + Sync>::from("answer");
        let path = || "raw/a".to_owned();
        let permanent = [
            object_store::Error::NotFound {
                path: path(),
                source: source(),
            },
            object_store::Error::PermissionDenied {
                path: path(),
                source: source(),
            },
            object_store::Error::Unauthenticated {
                path: path(),
                source: source(),
            },
        ];
        for error in permanent {
            assert_eq!(store_kind(&error), FailureKind::Permanent, "{error}");
        }
        let generic = object_store::Error::Generic {
            store: "S3",
            source: source(),
        };
        assert_eq!(store_kind(&generic), FailureKind::Transient);
    }
}
