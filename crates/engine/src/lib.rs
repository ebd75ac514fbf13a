//! Polyphemus's local engine: runs Argo `Workflow` YAML on this machine as child processes
//! and reports status in Argo's own JSON shape.
//!
//! `Workflow::from_yaml` parses and checks a document, `TemplateLibrary::load_dir` loads
//! `WorkflowTemplate`s, `Engine::submit` validates references and parameters and starts a run,
//! `RunHandle` observes it (`status`, `subscribe`, `logs`), stops it and waits for the final
//! `WorkflowObject`; `cli::run_command` is `polyphemus engine run`.

pub mod artifacts;
mod baseline;
pub mod cli;
mod documents;
mod driver;
pub mod error;
mod exec;
pub mod expr;
mod images;
mod k8s_check;
pub mod k8s_objects;
mod library;
pub mod memo;
pub mod model;
mod pod_spec_patch;
mod render;
mod retry_run;
mod run;
mod setup;
mod state;
pub mod status;
mod sync;
mod template;
mod validate;
mod volumes;

pub use artifacts::{delete_run_artifacts, ArtifactRepository, SecretSource, Secrets};
pub use documents::{read_workflow_file, WorkflowFile};
pub use error::EngineError;
pub use exec::leftovers::kill_leftovers;
pub use exec::logs::read_tail;
pub use exec::node::parse_duration;
pub use exec::process::{private_tmp_available, Isolation};
pub use exec::retained::{Retained, RetryRequest};
pub use exec::sandbox::{running_as_root, StepUser, Support as SandboxSupport, DEFAULT_STEP_USER};
pub use k8s_objects::K8sObjects;
pub use library::TemplateLibrary;
pub use memo::{FileMemoCache, MemoCache, MemoEntry};
pub use model::Workflow;
pub use render::render_text;
pub use run::{Engine, EngineOptions, RunHandle, SubmitOptions};
pub use setup::{check_startable, check_startable_with, check_template};
pub use status::{
    MemoizationStatus, NodeOutputs, NodeStatus, NodeType, ParamValue, Phase, WorkflowObject,
    WorkflowStatus,
};
pub use sync::LockManager;
