//! ETL jobs: the `EtlJob` trait (pre → process → post), the context a job sees, the registry of
//! jobs per workflow, and the generic jobs. Jobs reach Polyphemus only through the HTTP API
//! (`RunApi`, implemented by the typed client), never the database.

mod api;
mod context;
mod copy_to_sftp;
mod copy_to_storage;
mod delivery;
mod notify_webhook;
mod registry;
pub mod sftp;
mod sftp_discover;
pub mod sftp_write;
pub mod storage;

pub use api::{RunApi, RunTarget};
pub use context::JobContext;
pub use copy_to_sftp::CopyToSftp;
pub use copy_to_storage::{CopyToStorage, CHUNK_BYTES};
pub use notify_webhook::NotifyWebhook;
pub use registry::{find_job, job_names, job_specs};
pub use sftp_discover::SftpDiscover;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The Polyphemus API answered with an error or could not be reached.
    #[error("{0}")]
    Api(String),
    /// The config lacks something the job needs.
    #[error("config: {0}")]
    Config(String),
    /// The job's own work failed.
    #[error("{0}")]
    Failed(String),
    #[error("cancelled (SIGTERM)")]
    Cancelled,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// `pre` said the job should not run this time.
    Skipped,
    Failed(String),
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
            Ok(()) if context.is_cancelled() => JobOutcome::Failed(JobError::Cancelled.to_string()),
            Ok(()) => JobOutcome::Done,
            Err(error) => JobOutcome::Failed(error.to_string()),
        },
        Err(error) => JobOutcome::Failed(format!("pre: {error}")),
    };
    if let JobOutcome::Failed(why) = &outcome {
        let _ = context.log(&format!("failed: {why}")).await;
    }
    match job.post(context, &outcome).await {
        Ok(()) => outcome,
        Err(error) => {
            let why = format!("post: {error}");
            let _ = context.log(&why).await;
            match outcome {
                JobOutcome::Failed(first) => JobOutcome::Failed(first),
                _ => JobOutcome::Failed(why),
            }
        }
    }
}
