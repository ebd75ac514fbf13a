//! What the jobs that deliver discovered files share (`copy_to_storage`, `copy_to_sftp`): which
//! files are still to deliver, reading a source file from SFTP with its checks, and the loop
//! that delivers a few files at a time with progress, failures and a final report in the
//! run's state. Each job writes its own state keys ([`Keys`]): patches from parallel steps
//! replace top-level keys whole, so two jobs must never share one.

use crate::sftp_errors::sftp_kind;
use crate::{FailureKind, JobContext, JobError, JobOutcome};
use futures::{Future, StreamExt};
use russh_sftp::client::fs::{File, Metadata};
use russh_sftp::client::SftpSession;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// Files delivered at once over one SFTP connection.
const FILES_IN_FLIGHT: usize = 8;
/// How often progress reaches the run's state and output.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The state keys a delivery job owns, and its words for the run's output.
#[derive(Debug)]
pub(crate) struct Keys {
    /// path -> record of each delivered file (`copied`).
    pub done: &'static str,
    pub bytes: &'static str,
    pub failures: &'static str,
    pub destination: &'static str,
    /// `copy`, `copying`, `copied`.
    pub verb: &'static str,
    pub verbing: &'static str,
    pub verbed: &'static str,
}

/// A discovered file still to deliver.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub relative: String,
    pub size: u64,
    pub mtime: i64,
}

/// What was delivered for one file: its size and the record kept under `Keys::done`.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub size: u64,
    pub record: Value,
}

/// The files still to deliver: discovered, and not already delivered unchanged by this run
/// (a retried step).
pub(crate) fn pending(state: &Map<String, Value>, keys: &Keys) -> Vec<Pending> {
    let empty = Map::new();
    let object = |key: &str| state.get(key).and_then(Value::as_object).unwrap_or(&empty);
    let done = object(keys.done);
    object("files")
        .iter()
        .filter_map(|(relative, record)| {
            let size = record["size"].as_u64()?;
            let mtime = record["mtime"].as_i64()?;
            let delivered = done.get(relative).is_some_and(|d| {
                d["size"].as_u64() == Some(size) && d["mtime"].as_i64() == Some(mtime)
            });
            (!delivered).then(|| Pending {
                relative: relative.clone(),
                size,
                mtime,
            })
        })
        .collect()
}

/// `pre` of a delivery job: no when it is a dry run or nothing is left to deliver.
pub(crate) async fn should_run(context: &JobContext, keys: &Keys) -> Result<bool, JobError> {
    let todo = pending(&context.run_state().await?, keys);
    if context.runtime_params().await?["dry_run"].as_bool() == Some(true) {
        let line = format!("dry run: {} file(s) would be {}", todo.len(), keys.verbed);
        context.log(&line).await?;
        return Ok(false);
    }
    if todo.is_empty() {
        context.log(&format!("nothing to {}", keys.verb)).await?;
        return Ok(false);
    }
    Ok(true)
}

/// `post` of a delivery job: a job that failed before delivering anything (no connection)
/// says so in the state, so the summary is honest, and records an empty delivery, so
/// `sftp_discover` knows the job ran for this config and lists the files again next time.
pub(crate) async fn record_failure(
    context: &JobContext,
    keys: &Keys,
    outcome: &JobOutcome,
) -> Result<(), JobError> {
    let JobOutcome::Failed(why) = outcome else {
        return Ok(());
    };
    let state = context.run_state().await?;
    let mut record = Map::new();
    if state.get(keys.failures).is_none() {
        let failure = json!([{"path": "*", "error": why.message}]);
        record.insert(keys.failures.into(), failure);
    }
    if state.get(keys.done).is_none() {
        record.insert(keys.done.into(), json!({}));
        context.record_ledger(keys.done, Map::new()).await?;
    }
    if record.is_empty() {
        return Ok(());
    }
    context.update_state(record).await
}

/// A source file opened for reading, as it was when opened, hashed and counted as it is read.
pub(crate) struct Source {
    file: File,
    path: String,
    before: Metadata,
    listed_size: u64,
    hasher: Sha256,
    /// Bytes read so far.
    pub read: u64,
}

/// Opens `root/relative` on the source host and checks it still has the listed size.
pub(crate) async fn open_source(
    sftp: &SftpSession,
    root: &str,
    file: &Pending,
) -> Result<Source, JobError> {
    let path = format!("{root}/{}", file.relative);
    let failed = |what: &str, error: russh_sftp::client::error::Error| {
        JobError::of_kind(sftp_kind(&error), format!("{what}: {error}"))
    };
    let remote = sftp
        .open(path.as_str())
        .await
        .map_err(|error| failed("cannot open", error))?;
    let before = remote
        .metadata()
        .await
        .map_err(|error| failed("cannot stat", error))?;
    let size_now = before.size.unwrap_or(0);
    if size_now != file.size {
        // Every attempt of this run reads the listing of this run: only the next run helps.
        return Err(JobError::Permanent(format!(
            "changed since it was listed ({} → {size_now} bytes); the next run copies it",
            file.size
        )));
    }
    Ok(Source {
        file: remote,
        path,
        before,
        listed_size: file.size,
        hasher: Sha256::new(),
        read: 0,
    })
}

impl Source {
    /// The next bytes of the file in `buffer`; empty at its end, which must be the listed size.
    pub async fn next_chunk<'b>(&mut self, buffer: &'b mut [u8]) -> Result<&'b [u8], JobError> {
        let n = self
            .file
            .read(buffer)
            .await
            .map_err(|error| JobError::Transient(format!("read failed: {error}")))?;
        if n == 0 {
            check_size(self.read, self.listed_size)?;
        }
        self.hasher.update(&buffer[..n]);
        self.read += n as u64;
        Ok(&buffer[..n])
    }

    /// The whole (small) file; reading one byte more than listed shows a file that grew,
    /// without reading all of it.
    pub async fn read_all(&mut self) -> Result<Vec<u8>, JobError> {
        let mut whole = Vec::with_capacity(usize::try_from(self.listed_size).unwrap_or(0));
        (&mut self.file)
            .take(self.listed_size + 1)
            .read_to_end(&mut whole)
            .await
            .map_err(|error| JobError::Transient(format!("read failed: {error}")))?;
        self.hasher.update(&whole);
        self.read = whole.len() as u64;
        check_size(self.read, self.listed_size)?;
        Ok(whole)
    }

    /// Whether the file still has the size and mtime it had when opened.
    pub async fn unchanged(&self, sftp: &SftpSession) -> bool {
        let after = sftp.metadata(self.path.as_str()).await.ok();
        after
            .as_ref()
            .is_some_and(|after| after.size == self.before.size && after.mtime == self.before.mtime)
    }

    /// The modification time it had when opened, else the listed one.
    pub fn mtime(&self, listed: i64) -> i64 {
        self.before.mtime.map_or(listed, i64::from)
    }

    /// SHA-256 of what was read, in hex.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

fn check_size(read: u64, expected: u64) -> Result<(), JobError> {
    if read == expected {
        Ok(())
    } else {
        Err(JobError::Permanent(format!(
            "read {read} bytes where {expected} were listed; the file changed while it was read"
        )))
    }
}

/// Says what is about to be delivered where (before connecting, so a failure has context).
pub(crate) async fn announce(
    context: &JobContext,
    keys: &Keys,
    todo: &[Pending],
    destination: &str,
) -> Result<(), JobError> {
    let total_bytes: u64 = todo.iter().map(|file| file.size).sum();
    let line = format!(
        "{} {} file(s), {total_bytes} bytes, to {destination}",
        keys.verbing,
        todo.len()
    );
    context.log(&line).await
}

/// Delivers `todo` with `deliver_one`, a few at a time, logging and recording progress under
/// `keys`; fails naming the first file that was not delivered. After SIGTERM no new file
/// starts; those in flight stop at their next chunk (they watch the receiver they are given).
pub(crate) async fn deliver_all<F, Fut>(
    context: &JobContext,
    keys: &Keys,
    destination: &str,
    todo: Vec<Pending>,
    deliver_one: F,
) -> Result<(), JobError>
where
    F: Fn(Pending, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = Result<Delivered, JobError>>,
{
    let mut state = context.run_state().await?;
    let mut progress = Progress {
        done: match state.remove(keys.done) {
            Some(Value::Object(done)) => done,
            _ => Map::new(),
        },
        unrecorded: Map::new(),
        bytes: state.get(keys.bytes).and_then(Value::as_u64).unwrap_or(0),
        failures: Vec::new(),
        any_transient: false,
    };
    let count = todo.len();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let cancelled = context.cancellation();
    let stop_starting = cancelled.clone();
    let deliver_one = &deliver_one;
    let mut deliveries = futures::stream::iter(todo)
        .take_while(move |_| std::future::ready(!*stop_starting.borrow()))
        .map(|file| {
            let cancelled = cancelled.clone();
            async move {
                let result = deliver_one(file.clone(), cancelled).await;
                (file, result)
            }
        })
        .buffer_unordered(FILES_IN_FLIGHT);
    let mut finished = 0usize;
    while let Some((file, result)) = deliveries.next().await {
        finished += 1;
        progress.add(context, keys, &file, result).await?;
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let line = format!(
                "{finished}/{count} files, {} bytes {}",
                progress.bytes, keys.verbed
            );
            context.log(&line).await?;
            progress.save(context, keys, destination).await?;
        }
    }
    drop(deliveries);
    progress.save(context, keys, destination).await?;
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    context
        .log(&format!(
            "{} {} of {count} file(s), {} bytes in {seconds:.1} s ({:.1} MB/s)",
            keys.verbed,
            count - progress.failures.len(),
            progress.bytes,
            progress.bytes as f64 / 1e6 / seconds
        ))
        .await?;
    if context.is_cancelled() {
        return Err(JobError::Cancelled);
    }
    progress.verdict(keys, count)
}

/// What a delivery run has done so far.
struct Progress {
    done: Map<String, Value>,
    /// Delivered since the last save, for the config's ledger.
    unrecorded: Map<String, Value>,
    bytes: u64,
    failures: Vec<Value>,
    /// Whether one of the failures may pass on another attempt.
    any_transient: bool,
}

impl Progress {
    async fn add(
        &mut self,
        context: &JobContext,
        keys: &Keys,
        file: &Pending,
        result: Result<Delivered, JobError>,
    ) -> Result<(), JobError> {
        match result {
            Ok(delivered) => {
                self.bytes += delivered.size;
                self.unrecorded
                    .insert(file.relative.clone(), delivered.record.clone());
                self.done.insert(file.relative.clone(), delivered.record);
            }
            Err(error) => {
                let line = format!("{}: not {}: {error}", file.relative, keys.verbed);
                context.log(&line).await?;
                self.any_transient |= error.kind() == FailureKind::Transient;
                self.failures
                    .push(json!({"path": file.relative, "error": error.to_string()}));
            }
        }
        Ok(())
    }

    /// Records what was delivered since the last save in the config's ledger (first: a file
    /// in the ledger is never delivered again, even if this run then fails), then the
    /// progress in the run's state.
    async fn save(
        &mut self,
        context: &JobContext,
        keys: &Keys,
        destination: &str,
    ) -> Result<(), JobError> {
        let delivered = std::mem::take(&mut self.unrecorded);
        context.record_ledger(keys.done, delivered).await?;
        context.update_state(self.state(keys, destination)).await
    }

    fn state(&self, keys: &Keys, destination: &str) -> Map<String, Value> {
        let mut state = Map::new();
        state.insert(keys.done.into(), Value::Object(self.done.clone()));
        state.insert(keys.bytes.into(), json!(self.bytes));
        state.insert(keys.failures.into(), Value::Array(self.failures.clone()));
        state.insert(keys.destination.into(), json!(destination));
        state
    }

    /// Failed when a file was not delivered: transient when another attempt may deliver one of
    /// them (files delivered already are not delivered again), else permanent.
    fn verdict(&self, keys: &Keys, count: usize) -> Result<(), JobError> {
        let kind = if self.any_transient {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        };
        match self.failures.first() {
            None => Ok(()),
            Some(first) => Err(JobError::of_kind(
                kind,
                format!(
                    "{} of {count} file(s) were not {} (first: {}: {})",
                    self.failures.len(),
                    keys.verbed,
                    first["path"].as_str().unwrap_or_default(),
                    first["error"].as_str().unwrap_or_default()
                ),
            )),
        }
    }
}
