//! ETL jobs: the `EtlJob` trait (pre → process → post), the context a job sees, the registry of
//! jobs per workflow, and the generic jobs. Jobs reach Polyphemus only through the HTTP API
//! (`RunApi`, implemented by the typed client), never the database.

mod api;
mod context;
mod copy_to_sftp;
mod copy_to_storage;
mod delivery;
mod error;
mod notify_message;
mod notify_webhook;
mod part_upload;
mod registry;
pub mod scan_window;
pub mod sftp;
mod sftp_discover;
mod sftp_errors;
pub mod sftp_write;
pub mod storage;

pub use api::{RunApi, RunTarget};
pub use context::JobContext;
pub use copy_to_sftp::CopyToSftp;
pub use copy_to_storage::CopyToStorage;
pub use error::{FailureKind, JobError, JobFailure, PERMANENT_EXIT_CODE, TRANSIENT_EXIT_CODE};
pub use notify_webhook::NotifyWebhook;
pub use part_upload::PART_BYTES;
pub use registry::{find_job, job_names, job_specs};
pub use sftp_discover::SftpDiscover;

use async_trait::async_trait;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// `pre` said the job should not run this time.
    Skipped,
    Failed(JobFailure),
}

/// One small, single-purpose step of a pipeline.
#[async_trait]
pub trait EtlJob: Send + Sync {
    fn name(&self) -> &'static str;

    /// May the job proceed this time?
    async fn pre(&self, _context: &mut JobContext) -> Result<bool, JobError> {
        Ok(true)
    }

    /// The work.
    async fn process(&self, context: &mut JobContext) -> Result<(), JobError>;

    /// Records what happened; runs after `process`, also when `pre` said no or `process` failed.
    async fn post(&self, _context: &mut JobContext, _outcome: &JobOutcome) -> Result<(), JobError> {
        Ok(())
    }
}

/// Runs `pre`, then `process` if allowed, then always `post`.
pub async fn run_job(job: &dyn EtlJob, context: &mut JobContext) -> JobOutcome {
    let outcome = match job.pre(context).await {
        Ok(false) => JobOutcome::Skipped,
        Ok(true) => match job.process(context).await {
            Ok(()) if context.is_cancelled() => {
                JobOutcome::Failed(JobFailure::from(&JobError::Cancelled))
            }
            Ok(()) => JobOutcome::Done,
            Err(error) => JobOutcome::Failed(JobFailure::from(&error)),
        },
        Err(error) => JobOutcome::Failed(JobFailure::in_phase("pre", &error)),
    };
    if let JobOutcome::Failed(why) = &outcome {
        let _ = context.log(&format!("failed: {why}")).await;
    }
    match job.post(context, &outcome).await {
        Ok(()) => outcome,
        Err(error) => {
            let why = JobFailure::in_phase("post", &error);
            let _ = context.log(&why.message).await;
            match outcome {
                JobOutcome::Failed(first) => JobOutcome::Failed(first),
                _ => JobOutcome::Failed(why),
            }
        }
    }
}
