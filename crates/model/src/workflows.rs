//! What a reload of the workflow packages did, and the configs a changed package broke.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConfigId, FieldError, ProjectName, VersionNumber, WorkflowManifest, WorkflowType};

/// The latest version of a config that its workflow package's current config schema refuses:
/// it cannot be launched until it is changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BrokenConfig {
    pub project_name: ProjectName,
    pub config_id: ConfigId,
    pub version_number: VersionNumber,
    pub workflow_name: String,
    /// The package digest the version was validated against (null: before digests).
    pub package_digest: Option<String>,
    /// What the current schema says, each at its JSON pointer under `/config`.
    pub errors: Vec<FieldError>,
}

/// One workflow type (`GET /workflows/{name}`): its manifest and the configs it now refuses,
/// among those of the projects the caller can see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub manifest: WorkflowManifest,
    pub broken_configs: Vec<BrokenConfig>,
}

/// How a workflow type changed in a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageChange {
    Added,
    Changed,
    Unchanged,
}

impl PackageChange {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageChange::Added => "added",
            PackageChange::Changed => "changed",
            PackageChange::Unchanged => "unchanged",
        }
    }
}

/// One workflow type after a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReloadedWorkflow {
    pub name: WorkflowType,
    pub source: String,
    pub digest: String,
    pub change: PackageChange,
    /// Configs of this type the new package's schema refuses (all projects).
    pub broken_configs: usize,
}

/// The answer to `POST /workflows/reload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowsReloaded {
    pub workflows: Vec<ReloadedWorkflow>,
    /// Workflow types that are gone: their configs cannot be launched.
    pub removed: Vec<WorkflowType>,
}
