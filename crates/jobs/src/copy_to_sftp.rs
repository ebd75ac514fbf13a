//! `copy_to_sftp`: streams each file `sftp_discover` recorded from the source SFTP host to a
//! second SFTP host (`deposit_*` config keys and secrets), below `deposit_root` with the same
//! subdirectories as below the source root. Each file is written to a hidden temporary name
//! in its target directory and renamed over its final name only once it is complete and
//! checked (size written, source unchanged while read), so a reader never sees a half file;
//! the temporary file is removed on any error. Files this run already deposited (a retried
//! step) are not deposited again. Records `deposited`, `bytes_deposited`, `deposit_failures`
//! and `deposit_destination`: keys of its own, as it runs in parallel with `copy_to_storage`.

use crate::delivery::{self, open_source, Delivered, Keys, Pending, Source};
use crate::sftp::{SftpConnection, SftpSettings};
use crate::sftp_errors::sftp_kind;
use crate::sftp_write::{parent, SftpWriter};
use crate::{EtlJob, FailureKind, JobContext, JobError, JobOutcome};
use async_trait::async_trait;
use russh_sftp::client::fs::{File, Metadata};
use russh_sftp::client::SftpSession;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// The prefix of the deposit host's config keys and secrets.
const PREFIX: &str = "deposit_";

/// The state keys this job owns.
const KEYS: Keys = Keys {
    done: "deposited",
    bytes: "bytes_deposited",
    failures: "deposit_failures",
    destination: "deposit_destination",
    verb: "deposit",
    verbing: "depositing",
    verbed: "deposited",
};

#[derive(Debug, Default, Clone, Copy)]
pub struct CopyToSftp;

/// Where files go: the open deposit host and the directory below which they land.
struct Deposit {
    writer: SftpWriter,
    root: String,
    /// Marks this run's temporary files, so a retried step reuses (truncates) its own.
    tag: String,
}

#[async_trait]
impl EtlJob for CopyToSftp {
    fn name(&self) -> &'static str {
        "copy_to_sftp"
    }

    async fn pre(&self, context: &mut JobContext) -> Result<bool, JobError> {
        delivery::should_run(context, &KEYS).await
    }

    async fn process(&self, context: &mut JobContext) -> Result<(), JobError> {
        let todo = delivery::pending(&context.run_state().await?, &KEYS);
        let source_root = required_dir(context, "root")?;
        let deposit_root = required_dir(context, "deposit_root")?;
        let source = SftpSettings::from_context(context)?;
        let target = SftpSettings::with_prefix(context, PREFIX)?;
        let display = format!("sftp://{}{deposit_root}", target.address());
        delivery::announce(context, &KEYS, &todo, &display).await?;
        let from = SftpConnection::connect(&source).await?;
        let deposit = Deposit {
            writer: SftpWriter::connect(&target).await?,
            root: deposit_root,
            tag: temporary_tag(context.target.run_id.as_str()),
        };
        let (sftp, deposit, root) = (&from.sftp, &deposit, source_root.as_str());
        delivery::deliver_all(context, &KEYS, &display, todo, |file, cancelled| async move {
            deposit_one(sftp, deposit, root, &file, cancelled).await
        })
        .await
    }

    async fn post(&self, context: &mut JobContext, outcome: &JobOutcome) -> Result<(), JobError> {
        delivery::record_failure(context, &KEYS, outcome).await
    }
}

/// An absolute directory from the config, without a trailing slash.
fn required_dir(context: &JobContext, key: &str) -> Result<String, JobError> {
    let dir = context
        .config_str(key)
        .ok_or_else(|| JobError::Config(format!("{key} is not set")))?;
    if !dir.starts_with('/') {
        return Err(JobError::Config(format!("{key} must be an absolute path")));
    }
    Ok(dir.trim_end_matches('/').to_owned())
}

/// The part of a run id that is safe in a file name.
fn temporary_tag(run_id: &str) -> String {
    run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(36)
        .collect()
}

/// `relative` below the deposit root, refusing a path that would climb out of it (state can
/// be patched through the API, so a path is not trusted to be what sftp_discover listed).
fn target_path(root: &str, relative: &str) -> Result<String, JobError> {
    let climbs = relative.starts_with('/')
        || relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if climbs {
        return Err(JobError::Permanent(format!(
            "{relative:?} is not a plain path below the root; refused"
        )));
    }
    Ok(format!("{root}/{relative}"))
}

/// `dir/.name.TAG.part`: hidden, next to the final name (a rename never crosses file systems).
fn temporary_path(path: &str, tag: &str) -> String {
    let dir = parent(path);
    let name = &path[dir.len() + 1..];
    format!("{dir}/.{name}.{tag}.part")
}

/// Deposits one file; on any error its temporary file is removed and the final name is
/// untouched.
async fn deposit_one(
    sftp: &SftpSession,
    deposit: &Deposit,
    root: &str,
    file: &Pending,
    cancelled: watch::Receiver<bool>,
) -> Result<Delivered, JobError> {
    let path = target_path(&deposit.root, &file.relative)?;
    let mut source = open_source(sftp, root, file).await?;
    deposit.writer.create_dir_all(parent(&path)).await?;
    let temporary = temporary_path(&path, &deposit.tag);
    let target = deposit.writer.sftp();
    let written = async {
        let out = target.create(temporary.as_str()).await.map_err(|error| {
            let what = format!("cannot create {temporary}: {error}");
            JobError::of_kind(sftp_kind(&error), what)
        })?;
        stream(&mut source, out, cancelled).await?;
        check_written(target, &temporary, source.read).await?;
        if !source.unchanged(sftp).await {
            // Another attempt reads the file again, which may have settled by then.
            return Err(JobError::Transient(
                "changed while it was copied; not deposited, the next run copies it".into(),
            ));
        }
        keep_mtime(target, &temporary, source.mtime(file.mtime)).await;
        deposit.writer.replace(&temporary, &path).await
    }
    .await;
    if let Err(error) = written {
        let _ = target.remove_file(temporary.as_str()).await;
        return Err(error);
    }
    Ok(Delivered {
        size: source.read,
        record: json!({"path": path, "size": source.read, "sha256": source.sha256(),
                       "mtime": source.mtime(file.mtime)}),
    })
}

/// Copies the whole source into `out`, which is closed (every write acknowledged) at the end.
async fn stream(
    source: &mut Source,
    mut out: File,
    cancelled: watch::Receiver<bool>,
) -> Result<(), JobError> {
    let failed = |error: std::io::Error| {
        JobError::of_kind(FailureKind::of_io(&error), format!("write failed: {error}"))
    };
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        if *cancelled.borrow() {
            return Err(JobError::Cancelled);
        }
        let chunk = source.next_chunk(&mut buffer).await?;
        if chunk.is_empty() {
            break;
        }
        out.write_all(chunk).await.map_err(failed)?;
    }
    // Durable before the rename makes it visible (a no-op where fsync@openssh.com is missing).
    out.sync_all()
        .await
        .map_err(|error| JobError::of_kind(sftp_kind(&error), format!("fsync failed: {error}")))?;
    out.shutdown().await.map_err(failed)
}

/// The temporary file holds as many bytes as were read.
async fn check_written(target: &SftpSession, temporary: &str, read: u64) -> Result<(), JobError> {
    let written = target
        .metadata(temporary)
        .await
        .map_err(|error| {
            let what = format!("cannot check {temporary}: {error}");
            JobError::of_kind(sftp_kind(&error), what)
        })?
        .size;
    if written == Some(read) {
        return Ok(());
    }
    Err(JobError::Transient(format!(
        "{temporary} holds {} bytes, {read} were sent",
        written.unwrap_or(0)
    )))
}

/// Gives the deposited file the source's modification time, as `cp -p` would; a server that
/// refuses only loses that detail.
async fn keep_mtime(target: &SftpSession, temporary: &str, mtime: i64) {
    let Ok(mtime) = u32::try_from(mtime) else {
        return;
    };
    let times = Metadata {
        atime: Some(mtime),
        mtime: Some(mtime),
        ..Metadata::default()
    };
    if let Err(error) = target.set_metadata(temporary, times).await {
        tracing::debug!(%error, "the deposit host kept its own mtime");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_climbs_out_of_the_root_is_refused() {
        assert_eq!(
            target_path("/drop", "run-1/a.gz").ok().as_deref(),
            Some("/drop/run-1/a.gz")
        );
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            assert!(target_path("/drop", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_temporary_file_is_hidden_next_to_the_final_one() {
        assert_eq!(
            temporary_path("/drop/run-1/a.gz", "5f0c-1"),
            "/drop/run-1/.a.gz.5f0c-1.part"
        );
        assert_eq!(temporary_tag("5f0c/../x y"), "5f0cxy");
    }
}
