//! DAG failure handling as Argo's controller does it: every task's `depends` is evaluated
//! whatever failed elsewhere, `dag.failFast` only fails the DAG once a target branch failed,
//! the template's `failFast` stops new tasks after any failure, and `children` only names
//! nodes that exist.

mod common;

use common::{node, run};
use polyphemus_engine::{Phase, WorkflowObject};

/// Every child id of every node names a node of the status.
fn assert_children_exist(wf: &WorkflowObject) {
    for n in wf.status.nodes.values() {
        for c in &n.children {
            assert!(
                wf.status.nodes.contains_key(c),
                "{} lists child {c}, which is no node",
                n.name
            );
        }
    }
}

#[tokio::test]
async fn depends_with_an_or_still_runs_after_a_failed_branch() {
    // Argo: `a && (b || c)` holds when b failed and c succeeded, so d runs and the DAG (whose
    // only target d succeeded) succeeds. A slow c makes the failure of b come first.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: complex-deps-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: ok}
      - {name: b, template: fail, depends: a}
      - {name: c, template: slow, depends: a}
      - {name: d, template: ok, depends: "a && (b || c)"}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 1; echo slow"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"#)
    .await;
    assert_eq!(node(&wf, ".b").phase, Phase::Failed);
    assert_eq!(node(&wf, ".d").phase, Phase::Succeeded);
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_children_exist(&wf);
}

#[tokio::test]
async fn a_handled_failure_does_not_stop_a_task_waiting_elsewhere() {
    // Argo's dag-continue-on-fail: D (B.Failed && C) runs although E failed, because nothing
    // decided the DAG yet: G (E && F) waits for the slow F, and only when G is omitted does
    // the DAG fail, target G inheriting E's failure.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-continue-on-fail-}
spec:
  entrypoint: workflow
  templates:
  - name: workflow
    dag:
      tasks:
      - {name: A, template: ok}
      - {name: B, depends: A, template: fail}
      - {name: C, depends: A, template: ok}
      - {name: D, depends: "B.Failed && C", template: ok}
      - {name: E, depends: A, template: fail}
      - {name: F, depends: A, template: slow}
      - {name: G, depends: "E && F", template: ok}
  - name: ok
    container: {image: busybox, command: [echo, hello]}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 1; echo slow"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "echo intentional failure; exit 1"]}
"#)
    .await;
    assert_eq!(node(&wf, ".D").phase, Phase::Succeeded);
    assert_eq!(node(&wf, ".G").phase, Phase::Omitted);
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_children_exist(&wf);
}

#[tokio::test]
async fn fail_fast_fails_the_dag_once_a_target_failed_and_creates_no_node_for_the_rest() {
    // `fail` is a target (a leaf): with dag.failFast (the default) the DAG is failed as soon
    // as it fails, so `late`, waiting on the slow task, never starts and gets no node.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-fail-fast-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: fail, template: fail}
      - {name: slow, template: slow}
      - {name: late, template: ok, depends: slow}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 2; echo slow"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, ".slow").phase,
        Phase::Succeeded,
        "running tasks finish"
    );
    let late = format!("{}.late", wf.name());
    assert!(
        wf.status.node_by_name(&late).is_none(),
        "late never started"
    );
    assert_children_exist(&wf);
}

#[tokio::test]
async fn without_fail_fast_every_branch_runs_to_its_end() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-no-fail-fast-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: fail, template: fail}
      - {name: slow, template: slow}
      - {name: late, template: ok, depends: slow}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 1; echo slow"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(node(&wf, ".late").phase, Phase::Succeeded);
    assert_children_exist(&wf);
}

#[tokio::test]
async fn the_template_fail_fast_stops_new_tasks_after_any_failure() {
    // `failFast: true` on the template itself (not dag.failFast): a failure handled by a
    // `depends` still stops new tasks, and the DAG fails with Argo's message.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-template-fail-fast-}
spec:
  entrypoint: main
  templates:
  - name: main
    failFast: true
    dag:
      tasks:
      - {name: fail, template: fail}
      - {name: slow, template: slow}
      - {name: after, template: ok, depends: "fail.Failed && slow"}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 1; echo slow"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").message.as_deref(),
        Some("template has failed or errored children and failFast enabled")
    );
    let after = format!("{}.after", wf.name());
    assert!(wf.status.node_by_name(&after).is_none());
    assert_children_exist(&wf);
}

#[tokio::test]
async fn only_the_targets_and_their_dependencies_run() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-target-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      target: B
      tasks:
      - {name: A, template: ok}
      - {name: B, template: ok, depends: A}
      - {name: C, template: ok, depends: A}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(node(&wf, ".B").phase, Phase::Succeeded);
    let c = format!("{}.C", wf.name());
    assert!(
        wf.status.node_by_name(&c).is_none(),
        "C is not needed by target B"
    );
}
