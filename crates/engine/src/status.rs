//! Workflow and node status in Argo's own JSON shape (`status.nodes{id: …}`, camelCase,
//! RFC 3339 times to the second), plus Argo's deterministic node ids.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Artifact, ObjectMeta, WorkflowSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Phase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
    Skipped,
    Omitted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
            Phase::Error => "Error",
            Phase::Skipped => "Skipped",
            Phase::Omitted => "Omitted",
        }
    }

    /// Finished one way or another (Argo's `Fulfilled`).
    pub fn is_done(self) -> bool {
        !matches!(self, Phase::Pending | Phase::Running)
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Phase::Failed | Phase::Error)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeType {
    Pod,
    Steps,
    StepGroup,
    #[serde(rename = "DAG")]
    Dag,
    TaskGroup,
    Retry,
    Skipped,
    Suspend,
    Container,
    #[serde(rename = "HTTP")]
    Http,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParamValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeOutputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParamValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<String>,
}

impl NodeOutputs {
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
            && self.artifacts.is_empty()
            && self.result.is_none()
            && self.exit_code.is_none()
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub id: String,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub node_type: NodeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<crate::model::TemplateRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_scope: Option<String>,
    pub phase: Phase,
    #[serde(
        rename = "boundaryID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub boundary_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, with = "time_fmt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time_fmt", skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<NodeInputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<NodeOutputs>,
    /// A daemon pod that is ready and still running (or was, until its scope ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemoned: Option<bool>,
    /// Local engine extra: the host image is not pulled, but recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `{waiting: <lock>}` while the node waits for a synchronization lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronization_status: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memoization_status: Option<MemoizationStatus>,
}

/// Argo's `memoizationStatus` of a node whose template has `memoize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoizationStatus {
    pub hit: bool,
    pub key: String,
    pub cache_name: String,
}

impl NodeStatus {
    /// A suspend node waiting for a resume (Argo's `IsActiveSuspendNode`).
    pub fn is_active_suspend(&self) -> bool {
        self.node_type == NodeType::Suspend && self.phase == Phase::Running
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowOutputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParamValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStatus {
    pub phase: Phase,
    #[serde(default, with = "time_fmt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, with = "time_fmt", skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<WorkflowOutputs>,
    /// The mutexes and semaphores the run holds and waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronization: Option<serde_json::Value>,
    /// What a run based on a WorkflowTemplate (`spec.workflowTemplateRef`) executes: the
    /// template's spec merged with the workflow's own, kept here as Argo keeps it, while
    /// `spec` stays as submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_workflow_template_spec: Option<crate::model::WorkflowSpec>,
}

impl WorkflowStatus {
    /// Argo's progress: succeeded pods / all pods.
    pub fn compute_progress(&self) -> String {
        let pods = self.nodes.values().filter(|n| n.node_type == NodeType::Pod);
        let (mut done, mut total) = (0, 0);
        for p in pods {
            total += 1;
            if p.phase == Phase::Succeeded {
                done += 1;
            }
        }
        format!("{done}/{total}")
    }

    /// The node with this `name` (node names are unique in a workflow).
    pub fn node_by_name(&self, name: &str) -> Option<&NodeStatus> {
        self.nodes.values().find(|n| n.name == name)
    }
}

/// The Workflow object as `argo get -o json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowObject {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: WorkflowSpec,
    pub status: WorkflowStatus,
}

impl WorkflowObject {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    pub fn phase(&self) -> Phase {
        self.status.phase
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Argo's node id: the workflow name for the root node, else `<wf>-<fnv32a(name)>`.
pub fn node_id(workflow: &str, node_name: &str) -> String {
    if node_name == workflow {
        return workflow.to_string();
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in node_name.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{workflow}-{h}")
}

pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

mod time_fmt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&fmt_time(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_id_is_fnv32a() {
        // fnv32a("a") = 0xe40c292c
        assert_eq!(super::node_id("wf", "a"), format!("wf-{}", 0xe40c_292c_u32));
        assert_eq!(super::node_id("wf", "wf"), "wf");
    }
}
