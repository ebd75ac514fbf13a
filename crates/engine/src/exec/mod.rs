//! Execution of templates as Argo nodes: the per-run context shared by all node futures and
//! the result every node reports back to its parent (`Outcome`).

mod children;
mod container_set;
mod containers;
mod daemon;
mod dag;
mod dag_phase;
pub mod depends;
mod env_expand;
mod http;
mod invoke;
pub(crate) mod layer;
pub mod leftovers;
pub mod logs;
mod loops;
pub(crate) mod memoize;
pub mod node;
pub(crate) mod node_fs;
mod outputs;
mod pod;
mod probe;
pub mod process;
pub(crate) mod reach;
pub(crate) mod retained;
mod retry;
pub mod sandbox;
mod sidecar;
mod step_user;
mod steps;
pub mod suspend;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::library::{Resolved, Resolver};
use crate::state::Shared;
use crate::status::{node_id, NodeOutputs, ParamValue, Phase};
use crate::template::Scope;

pub use invoke::arguments;
pub use node::{run_call, Call};

/// Everything one workflow run shares.
pub struct RunCtx {
    pub wf_name: String,
    pub resolver: Resolver,
    pub shared: Arc<Shared>,
    pub run_dir: PathBuf,
    pub private_tmp: bool,
    /// The sandbox of the run's nodes (with `private_tmp`), else none.
    pub sandbox: Option<(sandbox::Support, Arc<sandbox::Plan>)>,
    /// The user the sandbox runs nodes as: their working dir and `/tmp` are made its own.
    pub step_user: Option<sandbox::StepUser>,
    /// Workflow-level `parallelism`: at most this many pods at once.
    pub pod_limit: Option<Arc<Semaphore>>,
    /// `workflow.*` variables, including global outputs as they appear.
    pub globals: Mutex<Scope>,
    /// Environment added to every node (before the template's own `env`).
    pub env: Vec<(String, String)>,
    /// `EngineOptions::max_backoff`.
    pub max_backoff: Option<std::time::Duration>,
    /// Volumes and Kubernetes objects of the run.
    pub k8s: Arc<crate::volumes::RunK8s>,
    /// The run's synchronization locks (shared by every run of the engine).
    pub locks: crate::sync::RunLocks,
    /// Where artifacts are loaded from and saved to.
    pub artifacts: Arc<crate::artifacts::RunArtifacts>,
    /// What suspended nodes wait on (`RunHandle::resume`).
    pub resumes: Arc<suspend::Resumes>,
    /// Where `memoize` templates keep their outputs.
    pub memo: Arc<dyn crate::memo::MemoCache>,
    /// Daemon pods still running, killed when their scope ends.
    pub daemons: daemon::Daemons,
    /// What a retried run keeps of the run it retries (nothing for a new run).
    pub retained: Arc<retained::Retained>,
}

impl RunCtx {
    pub fn id(&self, name: &str) -> String {
        node_id(&self.wf_name, name)
    }

    /// Creates the Running node of a group template (steps or dag) with its inputs; its id.
    pub(crate) fn start_group_node(
        &self,
        name: &str,
        display: &str,
        call: &Call,
        inputs: Option<crate::status::NodeInputs>,
        node_type: crate::status::NodeType,
    ) -> String {
        let id = self.id(name);
        self.shared.create_node(crate::state::NewNode {
            id: &id,
            name,
            display,
            node_type,
            template: Some(&call.resolved.template.name),
            boundary: call.boundary.as_deref(),
            phase: Phase::Running,
            message: None,
        });
        if inputs.is_some() {
            self.shared.with_node(&id, |n| n.inputs = inputs);
        }
        id
    }

    pub fn global_scope(&self) -> Scope {
        self.globals
            .lock()
            .map(|g| g.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Records `outputs.parameters[].globalName` values as `workflow.outputs.parameters.*`.
    pub fn publish_globals(&self, resolved: &Resolved, outputs: &NodeOutputs) {
        let Some(decl) = &resolved.template.outputs else {
            return;
        };
        crate::artifacts::publish_globals(self, &decl.artifacts, &outputs.artifacts);
        for p in &decl.parameters {
            let (Some(global), Some(value)) = (&p.global_name, outputs.param(&p.name)) else {
                continue;
            };
            if let Ok(mut g) = self.globals.lock() {
                g.set(
                    format!("workflow.outputs.parameters.{global}"),
                    value.to_string(),
                );
            }
            self.shared.update(|s| {
                let out = s.status.outputs.get_or_insert_with(Default::default);
                out.parameters.retain(|x| &x.name != global);
                out.parameters.push(ParamValue {
                    name: global.clone(),
                    value: value.to_string(),
                });
            });
        }
    }
}

/// What a finished node tells its parent.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub phase: Phase,
    pub message: Option<String>,
    pub outputs: NodeOutputs,
    /// Argo's outbound nodes: the leaves a following node hangs from.
    pub outbound: Vec<String>,
}

impl Outcome {
    pub fn new(id: &str, phase: Phase, message: Option<String>) -> Self {
        Outcome {
            id: id.to_string(),
            phase,
            message,
            outputs: NodeOutputs::default(),
            outbound: vec![id.to_string()],
        }
    }
}
