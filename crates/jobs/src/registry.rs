//! Which jobs each workflow type runs, by name (`polyphemus run_job <workflow> <job>`).

use crate::{CopyToStorage, EtlJob, NotifyWebhook, SftpDiscover};

/// The job `name` of workflow `workflow`, if there is one.
pub fn find_job(workflow: &str, name: &str) -> Option<Box<dyn EtlJob>> {
    match (workflow, name) {
        ("sftp-to-storage", "sftp_discover") => Some(Box::new(SftpDiscover)),
        ("sftp-to-storage", "copy_to_storage") => Some(Box::new(CopyToStorage)),
        ("sftp-to-storage", "notify_webhook") => Some(Box::new(NotifyWebhook::default())),
        _ => None,
    }
}

/// The job names of a workflow type, for error messages.
pub fn job_names(workflow: &str) -> &'static [&'static str] {
    match workflow {
        "sftp-to-storage" => &["sftp_discover", "copy_to_storage", "notify_webhook"],
        _ => &[],
    }
}
