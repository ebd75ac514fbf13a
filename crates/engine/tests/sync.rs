//! Synchronization across the runs of one engine:
//! - a_workflow_mutex_makes_two_concurrent_runs_serial_and_the_waiting_one_pending
//! - a_template_semaphore_of_size_two_lets_two_of_three_run_at_once
//! - a_stopped_run_releases_its_lock
//! - a_semaphore_without_its_config_map_is_refused_naming_it
//! - argo_synchronization_examples_succeed

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use polyphemus_engine::{
    Engine, K8sObjects, NodeType, Phase, RunHandle, TemplateLibrary, Workflow, WorkflowObject,
};

fn engine_with(config: &str) -> Engine {
    let mut objects = K8sObjects::new();
    objects
        .load_text(std::path::Path::new("my-config.yaml"), config)
        .expect("objects");
    let mut opts = common::engine().options().clone();
    opts.objects = objects;
    Engine::new(opts)
}

fn submit(engine: &Engine, yaml: &str) -> RunHandle {
    common::init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    engine
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .expect("workflow starts")
}

/// (start, end) of every pod of the runs.
fn pod_spans(runs: &[WorkflowObject]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    runs.iter()
        .flat_map(|wf| wf.status.nodes.values())
        .filter(|n| n.node_type == NodeType::Pod)
        .map(|n| {
            (
                n.started_at.expect("started"),
                n.finished_at.expect("finished"),
            )
        })
        .collect()
}

/// The most pods running at one instant.
fn most_at_once(spans: &[(DateTime<Utc>, DateTime<Utc>)]) -> usize {
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Polls `handle` until `pred` holds of its status (or 20 s pass).
async fn until(handle: &RunHandle, pred: impl Fn(&WorkflowObject) -> bool) -> WorkflowObject {
    for _ in 0..400 {
        let now = handle.status();
        if pred(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition never held: {:?}", handle.status().status);
}

fn mutex_workflow(mutex: &str, seconds: f32) -> String {
    format!(
        "kind: Workflow\nmetadata: {{generateName: mutex-}}\nspec:\n  entrypoint: m\n  synchronization:\n    mutex: {{name: {mutex}}}\n  templates:\n  - name: m\n    container: {{image: x, command: [sleep, '{seconds}']}}\n"
    )
}

#[tokio::test]
async fn a_workflow_mutex_makes_two_concurrent_runs_serial_and_the_waiting_one_pending() {
    let engine = common::engine();
    let mutex = format!("m{}", uuid::Uuid::new_v4().simple());
    let first = submit(&engine, &mutex_workflow(&mutex, 1.0));
    until(&first, |wf| !wf.status.nodes.is_empty()).await;
    let second = submit(&engine, &mutex_workflow(&mutex, 1.0));
    let waiting = until(&second, |wf| wf.status.phase == Phase::Pending).await;
    let lock = format!("local/Mutex/{mutex}");
    assert_eq!(
        waiting.status.message.as_deref(),
        Some(format!("Waiting for {lock} lock. Lock status: 0/1").as_str())
    );
    let sync = waiting
        .status
        .synchronization
        .expect("synchronization status");
    assert_eq!(sync["mutex"]["waiting"][0]["mutex"], lock.as_str());
    let holding = first
        .status()
        .status
        .synchronization
        .expect("holder status");
    assert_eq!(
        holding["mutex"]["holding"][0]["holder"],
        format!("local/{}", first.name())
    );
    let runs = [first.wait().await, second.wait().await];
    assert!(runs.iter().all(|wf| wf.status.phase == Phase::Succeeded));
    assert_eq!(most_at_once(&pod_spans(&runs)), 1, "{:?}", pod_spans(&runs));
}

#[tokio::test]
async fn a_template_semaphore_of_size_two_lets_two_of_three_run_at_once() {
    let key = format!("k{}", uuid::Uuid::new_v4().simple());
    let engine = engine_with(&format!(
        "kind: ConfigMap\nmetadata: {{name: my-config}}\ndata: {{{key}: '2'}}\n"
    ));
    let yaml = format!(
        r#"
kind: Workflow
metadata: {{generateName: semaphore-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: work, template: work, withItems: [1, 2, 3]}}
  - name: work
    synchronization:
      semaphores:
      - configMapKeyRef: {{name: my-config, key: {key}}}
    container: {{image: x, command: [sleep, '1']}}
"#
    );
    let handle = submit(&engine, &yaml);
    let waiting = until(&handle, |wf| {
        wf.status
            .nodes
            .values()
            .any(|n| n.synchronization_status.is_some())
    })
    .await;
    let node = waiting
        .status
        .nodes
        .values()
        .find(|n| n.synchronization_status.is_some())
        .expect("a waiting node");
    let lock = format!("local/ConfigMap/my-config/{key}");
    assert_eq!(node.phase, Phase::Pending);
    assert_eq!(
        node.synchronization_status.as_ref().expect("status")["waiting"],
        lock.as_str()
    );
    assert_eq!(
        node.message.as_deref(),
        Some(format!("Waiting for {lock} lock. Lock status: 0/2").as_str())
    );
    let done = handle.wait().await;
    assert_eq!(done.status.phase, Phase::Succeeded, "{:?}", done.status);
    let spans = pod_spans(std::slice::from_ref(&done));
    assert_eq!(spans.len(), 3);
    assert_eq!(most_at_once(&spans), 2, "{spans:?}");
}

#[tokio::test]
async fn a_stopped_run_releases_its_lock() {
    let engine = common::engine();
    let mutex = format!("m{}", uuid::Uuid::new_v4().simple());
    let first = submit(&engine, &mutex_workflow(&mutex, 60.0));
    until(&first, |wf| !wf.status.nodes.is_empty()).await;
    let second = submit(&engine, &mutex_workflow(&mutex, 0.1));
    until(&second, |wf| wf.status.phase == Phase::Pending).await;
    first.stop();
    let done = tokio::time::timeout(Duration::from_secs(20), second.wait())
        .await
        .expect("the waiting run got the lock");
    assert_eq!(done.status.phase, Phase::Succeeded);
    assert_eq!(first.wait().await.status.phase, Phase::Failed);
}

#[tokio::test]
async fn a_semaphore_without_its_config_map_is_refused_naming_it() {
    common::init_tracing();
    let yaml = "kind: Workflow\nmetadata: {generateName: sem-}\nspec:\n  entrypoint: m\n  synchronization:\n    semaphore: {configMapKeyRef: {name: absent-config, key: workflow}}\n  templates:\n  - name: m\n    container: {image: x, command: [true]}\n";
    let wf = Workflow::from_yaml(yaml).expect("valid");
    let err = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("ConfigMap absent-config") && err.contains("workflow"),
        "{err}"
    );
}

/// Argo's examples (image-only sleeps shortened); `my-config` as Argo's docs define it.
#[tokio::test]
async fn argo_synchronization_examples_succeed() {
    let engine = engine_with(
        "kind: ConfigMap\nmetadata: {name: my-config}\ndata: {workflow: '1', template: '2'}\n",
    );
    let examples = [
        "kind: Workflow\nmetadata: {generateName: synchronization-wf-level-}\nspec:\n  entrypoint: hello-world\n  synchronization:\n    semaphores:\n      - configMapKeyRef: {name: my-config, key: workflow}\n  templates:\n    - name: hello-world\n      container: {image: busybox, command: [echo], args: [\"hello world\"]}\n",
        "kind: Workflow\nmetadata: {generateName: synchronization-wf-level-}\nspec:\n  entrypoint: hello-world\n  synchronization:\n    mutexes:\n      - name: test\n  templates:\n    - name: hello-world\n      container: {image: busybox, command: [echo], args: [\"hello world\"]}\n",
        "kind: Workflow\nmetadata: {generateName: synchronization-tmpl-level-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: synchronization-acquire-lock\n        template: acquire-lock\n        arguments: {parameters: [{name: seconds, value: '{{item}}'}]}\n        withParam: '[\"1\",\"2\",\"3\",\"4\",\"5\"]'\n  - name: acquire-lock\n    synchronization:\n      semaphores:\n        - configMapKeyRef: {name: my-config, key: template}\n    container: {image: alpine, command: [sh, -c], args: [\"sleep 0.2; echo acquired lock\"]}\n",
        "kind: Workflow\nmetadata: {generateName: synchronization-db-tmpl-level-mutex-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, template: acquire-lock, withParam: '[\"1\",\"2\"]'}\n      - {name: b, template: acquire-lock-1, withParam: '[\"1\",\"2\"]'}\n  - name: acquire-lock\n    synchronization:\n      mutexes: [{name: welcome, database: true}]\n    container: {image: alpine, command: [sh, -c], args: [\"sleep 0.2; echo acquired lock\"]}\n  - name: acquire-lock-1\n    synchronization:\n      mutexes: [{name: test, database: true}]\n    container: {image: alpine, command: [sh, -c], args: [\"sleep 0.2; echo acquired lock\"]}\n",
    ];
    for yaml in examples {
        let wf = submit(&engine, yaml).wait().await;
        assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    }
}
