//! `copy_to_storage`: streams each file `sftp_discover` recorded from SFTP to object storage.
//! Never holds a whole file in memory (chunks of [`CHUNK_BYTES`]); hashes with SHA-256 on the
//! way; verifies the size read, the size stored and that the source did not change while it
//! was read. A failed upload is aborted, so no partial object becomes visible (S3 multipart
//! uploads and the local store's staged files only appear on completion). Files this run
//! already copied (a retried step) are not copied again.

use crate::sftp::{SftpConnection, SftpSettings};
use crate::storage::Destination;
use crate::{EtlJob, JobContext, JobError, JobOutcome};
use async_trait::async_trait;
use futures::StreamExt;
use object_store::{PutPayload, WriteMultipart};
use russh_sftp::client::SftpSession;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Upload part size; files up to this size go up in one request.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one file in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Files copied at once over the one SFTP connection.
const FILES_IN_FLIGHT: usize = 4;
/// How often progress reaches the run's state and output.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Clone, Copy)]
pub struct CopyToStorage;

/// A file to copy, as discovered.
#[derive(Debug, Clone)]
struct Pending {
    relative: String,
    size: u64,
    mtime: i64,
}

/// What was stored for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedFile {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub mtime: i64,
}

/// The files still to copy: discovered, and not already copied by this run unchanged.
fn pending(state: &Map<String, Value>) -> Vec<Pending> {
    let empty = Map::new();
    let copied = state
        .get("copied")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let files = state
        .get("files")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    files
        .iter()
        .filter_map(|(relative, record)| {
            let size = record["size"].as_u64()?;
            let mtime = record["mtime"].as_i64()?;
            let done = copied.get(relative).is_some_and(|c| {
                c["size"].as_u64() == Some(size) && c["mtime"].as_i64() == Some(mtime)
            });
            (!done).then(|| Pending {
                relative: relative.clone(),
                size,
                mtime,
            })
        })
        .collect()
}

#[async_trait]
impl EtlJob for CopyToStorage {
    fn name(&self) -> &'static str {
        "copy_to_storage"
    }

    async fn pre(&self, context: &mut JobContext) -> Result<bool, JobError> {
        let state = context.run_state().await?;
        let todo = pending(&state);
        if context.runtime_params().await?["dry_run"].as_bool() == Some(true) {
            context
                .log(&format!("dry run: {} file(s) would be copied", todo.len()))
                .await?;
            return Ok(false);
        }
        if todo.is_empty() {
            context.log("nothing to copy").await?;
            return Ok(false);
        }
        Ok(true)
    }

    async fn process(&self, context: &mut JobContext) -> Result<(), JobError> {
        let mut state = context.run_state().await?;
        let todo = pending(&state);
        let root = context
            .config_str("root")
            .ok_or_else(|| JobError::Config("root is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        let destination = Destination::from_context(context)?;
        let settings = SftpSettings::from_context(context)?;
        let total_bytes: u64 = todo.iter().map(|file| file.size).sum();
        context
            .log(&format!(
                "copying {} file(s), {total_bytes} bytes, to {}",
                todo.len(),
                destination.display
            ))
            .await?;
        let connection = SftpConnection::connect(&settings).await?;

        let mut copied = match state.remove("copied") {
            Some(Value::Object(copied)) => copied,
            _ => Map::new(),
        };
        let mut bytes_copied = state
            .get("bytes_copied")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let mut failures = Vec::new();
        let started = Instant::now();
        let mut last_progress = Instant::now();
        let cancelled = context.cancellation();
        let sftp = &connection.sftp;
        let destination = &destination;
        let root = root.as_str();
        // After SIGTERM no new file starts; those in flight stop at their next part.
        let stop_starting = cancelled.clone();
        let mut copies = futures::stream::iter(todo.iter().cloned())
            .take_while(move |_| std::future::ready(!*stop_starting.borrow()))
            .map(|file| {
                let cancelled = cancelled.clone();
                async move {
                    let result = copy_one(sftp, destination, root, &file, cancelled).await;
                    (file, result)
                }
            })
            .buffer_unordered(FILES_IN_FLIGHT);
        let mut done = 0usize;
        while let Some((file, result)) = copies.next().await {
            done += 1;
            match result {
                Ok(stored) => {
                    bytes_copied += stored.size;
                    copied.insert(
                        file.relative.clone(),
                        json!({"key": stored.key, "size": stored.size,
                               "sha256": stored.sha256, "mtime": stored.mtime}),
                    );
                }
                Err(error) => {
                    context
                        .log(&format!("{}: not copied: {error}", file.relative))
                        .await?;
                    failures.push(json!({"path": file.relative, "error": error.to_string()}));
                }
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                context
                    .log(&format!(
                        "{done}/{} files, {bytes_copied} bytes copied",
                        todo.len()
                    ))
                    .await?;
                let progress = progress_state(&copied, bytes_copied, &failures, destination);
                context.update_state(progress).await?;
            }
        }
        drop(copies);
        context
            .update_state(progress_state(
                &copied,
                bytes_copied,
                &failures,
                destination,
            ))
            .await?;
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        context
            .log(&format!(
                "copied {} of {} file(s), {bytes_copied} bytes in {seconds:.1} s ({:.1} MB/s)",
                todo.len() - failures.len(),
                todo.len(),
                bytes_copied as f64 / 1e6 / seconds
            ))
            .await?;
        if context.is_cancelled() {
            return Err(JobError::Cancelled);
        }
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(JobError::Failed(format!(
                "{} of {} file(s) were not copied (first: {}: {})",
                failures.len(),
                todo.len(),
                first["path"].as_str().unwrap_or_default(),
                first["error"].as_str().unwrap_or_default()
            ))),
        }
    }

    async fn post(&self, context: &mut JobContext, outcome: &JobOutcome) -> Result<(), JobError> {
        // A failed connection copies nothing: say so in the state, so the summary is honest.
        if let JobOutcome::Failed(why) = outcome {
            let state = context.run_state().await?;
            if state.get("failures").is_none() {
                let mut record = Map::new();
                record.insert("failures".into(), json!([{"path": "*", "error": why}]));
                context.update_state(record).await?;
            }
        }
        Ok(())
    }
}

fn progress_state(
    copied: &Map<String, Value>,
    bytes_copied: u64,
    failures: &[Value],
    destination: &Destination,
) -> Map<String, Value> {
    let mut state = Map::new();
    state.insert("copied".into(), Value::Object(copied.clone()));
    state.insert("bytes_copied".into(), json!(bytes_copied));
    state.insert("failures".into(), Value::Array(failures.to_vec()));
    state.insert("destination".into(), json!(destination.display));
    state
}

/// Copies one file; on any error nothing is left visible under its key.
async fn copy_one(
    sftp: &SftpSession,
    destination: &Destination,
    root: &str,
    file: &Pending,
    cancelled: tokio::sync::watch::Receiver<bool>,
) -> Result<CopiedFile, JobError> {
    let key = destination.key(&file.relative)?;
    let path = format!("{root}/{}", file.relative);
    let failed = |what: String| JobError::Failed(what);
    let mut remote = sftp
        .open(path.as_str())
        .await
        .map_err(|error| failed(format!("cannot open: {error}")))?;
    let before = remote
        .metadata()
        .await
        .map_err(|error| failed(format!("cannot stat: {error}")))?;
    let size_now = before.size.unwrap_or(0);
    if size_now != file.size {
        return Err(failed(format!(
            "changed since it was listed ({} → {size_now} bytes); the next run copies it",
            file.size
        )));
    }

    let mut hasher = Sha256::new();
    let mut read_bytes: u64 = 0;
    let mut buffer = vec![0u8; 256 * 1024];
    let store = &destination.store;
    if file.size <= CHUNK_BYTES as u64 {
        // Small: one request, atomic by itself.
        let mut whole = Vec::with_capacity(file.size as usize);
        // One byte more than listed shows a file that grew, without reading all of it.
        (&mut remote)
            .take(file.size + 1)
            .read_to_end(&mut whole)
            .await
            .map_err(|error| failed(format!("read failed: {error}")))?;
        hasher.update(&whole);
        read_bytes = whole.len() as u64;
        check_size(read_bytes, file.size)?;
        store
            .put(&key, PutPayload::from(whole))
            .await
            .map_err(|error| failed(format!("upload to {key} failed: {error}")))?;
    } else {
        let upload = store
            .put_multipart(&key)
            .await
            .map_err(|error| failed(format!("upload to {key} could not start: {error}")))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK_BYTES);
        let streamed: Result<(), JobError> = async {
            loop {
                if *cancelled.borrow() {
                    return Err(JobError::Cancelled);
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|error| failed(format!("upload to {key} failed: {error}")))?;
                let n = remote
                    .read(&mut buffer)
                    .await
                    .map_err(|error| failed(format!("read failed: {error}")))?;
                if n == 0 {
                    return check_size(read_bytes, file.size);
                }
                hasher.update(&buffer[..n]);
                writer.write(&buffer[..n]);
                read_bytes += n as u64;
            }
        }
        .await;
        if let Err(error) = streamed {
            let _ = writer.abort().await;
            return Err(error);
        }
        writer
            .finish()
            .await
            .map_err(|error| failed(format!("upload to {key} could not complete: {error}")))?;
    }

    // The object holds what was read, and the source did not change while it was read.
    let stored = store
        .head(&key)
        .await
        .map_err(|error| failed(format!("cannot check {key} after upload: {error}")))?;
    let after = sftp.metadata(path.as_str()).await.ok();
    let unchanged = after
        .as_ref()
        .is_some_and(|after| after.size == before.size && after.mtime == before.mtime);
    if stored.size != read_bytes || !unchanged {
        let _ = store.delete(&key).await;
        return Err(failed(if stored.size != read_bytes {
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
        sha256: hex::encode(hasher.finalize()),
        mtime: before.mtime.map_or(file.mtime, i64::from),
    })
}

fn check_size(read: u64, expected: u64) -> Result<(), JobError> {
    if read == expected {
        Ok(())
    } else {
        Err(JobError::Failed(format!(
            "read {read} bytes where {expected} were listed; the file changed while it was read"
        )))
    }
}
