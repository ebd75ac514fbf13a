//! `copy_to_storage`: streams each file `sftp_discover` recorded from SFTP to object storage.
//! Never holds a whole file in memory (parts of [`PART_BYTES`], under one budget for the
//! step's files: [`crate::part_upload`]); hashes with SHA-256 on the
//! way; verifies the size read, the size stored and that the source did not change while it
//! was read. A failed upload is aborted, so no partial object becomes visible (S3 multipart
//! uploads and the local store's staged files only appear on completion). Files this run
//! already copied (a retried step) are not copied again.

use crate::delivery::{self, open_source, Delivered, Keys, Pending};
use crate::part_upload::{upload_in_parts, PartBudget, PARTS_BUDGET, PART_BYTES};
use crate::sftp::{SftpConnection, SftpSettings};
use crate::storage::{store_kind, Destination};
use crate::{EtlJob, JobContext, JobError, JobOutcome};
use async_trait::async_trait;
use object_store::PutPayload;
use russh_sftp::client::SftpSession;
use serde_json::json;
use tokio::sync::watch;

/// The state keys this job owns.
const KEYS: Keys = Keys {
    done: "copied",
    bytes: "bytes_copied",
    failures: "failures",
    destination: "destination",
    verb: "copy",
    verbing: "copying",
    verbed: "copied",
};

#[derive(Debug, Default, Clone, Copy)]
pub struct CopyToStorage;

/// What was stored for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedFile {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub mtime: i64,
}

#[async_trait]
impl EtlJob for CopyToStorage {
    fn name(&self) -> &'static str {
        "copy_to_storage"
    }

    async fn pre(&self, context: &mut JobContext) -> Result<bool, JobError> {
        delivery::should_run(context, &KEYS).await
    }

    async fn process(&self, context: &mut JobContext) -> Result<(), JobError> {
        let todo = delivery::pending(&context.run_state().await?, &KEYS);
        let root = context
            .config_str("root")
            .ok_or_else(|| JobError::Config("root is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        let destination = Destination::from_context(context)?;
        let settings = SftpSettings::from_context(context)?;
        delivery::announce(context, &KEYS, &todo, &destination.display).await?;
        let connection = SftpConnection::connect(&settings).await?;
        let (sftp, store, root) = (&connection.sftp, &destination, root.as_str());
        let budget = &PartBudget::new(PARTS_BUDGET);
        delivery::deliver_all(
            context,
            &KEYS,
            &destination.display,
            todo,
            |file, cancelled| async move {
                let stored = copy_one(sftp, store, root, &file, budget, cancelled).await?;
                Ok(Delivered {
                    size: stored.size,
                    record: json!({"key": stored.key, "size": stored.size,
                                   "sha256": stored.sha256, "mtime": stored.mtime}),
                })
            },
        )
        .await
    }

    async fn post(&self, context: &mut JobContext, outcome: &JobOutcome) -> Result<(), JobError> {
        delivery::record_failure(context, &KEYS, outcome).await
    }
}

/// Copies one file; on any error nothing is left visible under its key.
async fn copy_one(
    sftp: &SftpSession,
    destination: &Destination,
    root: &str,
    file: &Pending,
    budget: &PartBudget,
    cancelled: watch::Receiver<bool>,
) -> Result<CopiedFile, JobError> {
    let key = destination.key(&file.relative)?;
    let failed = |what: &str, error: object_store::Error| {
        JobError::of_kind(store_kind(&error), format!("{what}: {error}"))
    };
    let mut source = open_source(sftp, root, file).await?;
    let store = &destination.store;
    if file.size <= PART_BYTES as u64 {
        // Small: one request, atomic by itself, held in memory as one part of the budget.
        let _held = budget.take().await?;
        let whole = source.read_all().await?;
        store
            .put(&key, PutPayload::from(whole))
            .await
            .map_err(|error| failed(&format!("upload to {key} failed"), error))?;
    } else {
        upload_in_parts(store.as_ref(), &key, &mut source, budget, &cancelled).await?;
    }

    // The object holds what was read, and the source did not change while it was read.
    let stored = store
        .head(&key)
        .await
        .map_err(|error| failed(&format!("cannot check {key} after upload"), error))?;
    let read_bytes = source.read;
    if stored.size != read_bytes || !source.unchanged(sftp).await {
        let _ = store.delete(&key).await;
        // Another attempt reads the file again, which may have settled by then.
        return Err(JobError::Transient(if stored.size != read_bytes {
            format!(
                "{key} holds {} bytes, {read_bytes} were sent; removed",
                stored.size
            )
        } else {
            "changed while it was copied; the object was removed, the next run copies it".to_owned()
        }));
    }
    Ok(CopiedFile {
        key: key.to_string(),
        size: read_bytes,
        sha256: source.sha256(),
        mtime: source.mtime(file.mtime),
    })
}
