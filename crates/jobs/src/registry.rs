//! Which jobs each workflow type runs, by name (`polyphemus run_job <workflow> <job>`).

use crate::{CopyToStorage, EtlJob, NotifyWebhook, SftpDiscover};
use polyphemus_model::WorkflowType;

/// The job `name` of workflow `workflow`, if there is one.
pub fn find_job(workflow: &WorkflowType, name: &str) -> Option<Box<dyn EtlJob>> {
    match (workflow.as_str(), name) {
        ("sftp-to-storage", "sftp_discover") => Some(Box::new(SftpDiscover)),
        ("sftp-to-storage", "copy_to_storage") => Some(Box::new(CopyToStorage)),
        ("sftp-to-storage", "notify_webhook") => Some(Box::new(NotifyWebhook::default())),
        _ => None,
    }
}

/// The job names of a workflow type, for error messages.
pub fn job_names(workflow: &WorkflowType) -> &'static [&'static str] {
    match workflow.as_str() {
        "sftp-to-storage" => &["sftp_discover", "copy_to_storage", "notify_webhook"],
        _ => &[],
    }
}
