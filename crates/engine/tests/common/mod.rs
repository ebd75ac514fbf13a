//! Helpers shared by the engine's integration tests.
#![allow(
    dead_code,
    reason = "each test binary uses only some of these helpers; `expect` would be unfulfilled \
              (an error under -D warnings) in a binary that uses them all"
)]

use std::path::PathBuf;

use polyphemus_engine::{
    Engine, EngineOptions, NodeStatus, TemplateLibrary, Workflow, WorkflowObject,
};

pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("engine-tests")
}

pub fn engine() -> Engine {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    Engine::new(EngineOptions {
        work_dir: work_dir(),
        env: vec![("PYTHONPATH".into(), fixtures.into())],
        // A checkout under /tmp: the fixtures must stay reachable from a node's private /tmp.
        keep_visible: vec![PathBuf::from(fixtures)],
        ..Default::default()
    })
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_test_writer()
        .try_init();
}

pub async fn run(yaml: &str) -> WorkflowObject {
    run_with(yaml, Vec::new(), &TemplateLibrary::new()).await
}

pub async fn run_with(
    yaml: &str,
    params: Vec<(String, String)>,
    lib: &TemplateLibrary,
) -> WorkflowObject {
    init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    engine()
        .run(wf, params, lib)
        .await
        .expect("workflow starts")
}

/// The node whose name is the workflow name + `suffix` (e.g. `[0].hello`, `.A`).
pub fn node<'a>(wf: &'a WorkflowObject, suffix: &str) -> &'a NodeStatus {
    let name = format!("{}{suffix}", wf.name());
    wf.status
        .node_by_name(&name)
        .unwrap_or_else(|| panic!("no node {name}; nodes: {:?}", names(wf)))
}

pub fn names(wf: &WorkflowObject) -> Vec<String> {
    let mut v: Vec<String> = wf.status.nodes.values().map(|n| n.name.clone()).collect();
    v.sort();
    v
}

pub fn result(n: &NodeStatus) -> Option<&str> {
    n.outputs.as_ref().and_then(|o| o.result.as_deref())
}
