//! `suspend` templates and resuming, as Argo does them:
//! - suspend_with_duration_resumes_itself_then_the_next_step_runs
//! - suspend_without_duration_waits_until_resumed
//! - resume_is_refused_when_nothing_is_suspended
//! - resume_supplies_outputs_the_next_step_reads
//! - resume_without_a_value_for_a_supplied_output_is_refused_and_changes_nothing
//! - expired_suspend_takes_the_output_default
//! - workflow_level_suspend_starts_nothing_until_resumed
//! - suspending_a_running_workflow_lets_the_running_step_finish_and_starts_nothing_more
//! - stop_fails_a_suspended_node
//! - a_stopped_suspended_workflow_still_runs_its_exit_handler
//! - invalid_suspend_fields_are_refused_naming_them

mod common;

use std::time::{Duration, Instant};

use common::{engine, node, result, run};
use polyphemus_engine::{
    EngineError, NodeType, Phase, RunHandle, TemplateLibrary, Workflow, WorkflowObject,
};

fn submit(yaml: &str) -> RunHandle {
    common::init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .expect("workflow starts")
}

/// Waits (at most 20 s) until the run's status satisfies `ok`.
async fn until(handle: &RunHandle, ok: impl Fn(&WorkflowObject) -> bool) -> WorkflowObject {
    let mut rx = handle.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let status = handle.status();
            if ok(&status) {
                return status;
            }
            let _ = rx.changed().await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("timed out; status: {:?}", handle.status().status))
}

fn suspended(wf: &WorkflowObject, suffix: &str) -> bool {
    let name = format!("{}{suffix}", wf.name());
    wf.status
        .node_by_name(&name)
        .is_some_and(|n| n.node_type == NodeType::Suspend && n.phase == Phase::Running)
}

const APPROVAL: &str = r#"
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: build, template: say}
    - - {name: approve, template: approve}
    - - {name: release, template: say}
  - name: approve
    suspend: {}
  - name: say
    container: {image: busybox, command: [echo, hello]}
"#;

#[tokio::test]
async fn suspend_with_duration_resumes_itself_then_the_next_step_runs() {
    let started = Instant::now();
    let wf = run(r#"
kind: Workflow
metadata: {generateName: delay-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: delay, template: delay}
    - - {name: release, template: say}
  - name: delay
    suspend: {duration: "1s"}
  - name: say
    container: {image: busybox, command: [echo, released]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    let delay = node(&wf, "[0].delay");
    assert_eq!(delay.node_type, NodeType::Suspend);
    assert_eq!(delay.phase, Phase::Succeeded);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let release = node(&wf, "[1].release");
    assert_eq!(result(release), Some("released"));
    assert!(release.started_at >= delay.finished_at);
}

#[tokio::test]
async fn suspend_without_duration_waits_until_resumed() {
    let handle = submit(APPROVAL);
    let wf = until(&handle, |wf| suspended(wf, "[1].approve")).await;
    assert_eq!(wf.status.phase, Phase::Running);
    assert!(handle.is_suspended());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wf = handle.status();
    assert!(suspended(&wf, "[1].approve"), "still waiting");
    assert!(wf
        .status
        .node_by_name(&format!("{}[2].release", wf.name()))
        .is_none());

    assert_eq!(handle.resume().expect("resumes"), 1);
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(node(&wf, "[1].approve").phase, Phase::Succeeded);
    assert_eq!(result(node(&wf, "[2].release")), Some("hello"));
    // Again, after the end: nothing is suspended any more.
    assert!(matches!(handle.resume(), Err(EngineError::NotSuspended)));
    assert!(!handle.is_suspended());
}

#[tokio::test]
async fn resume_is_refused_when_nothing_is_suspended() {
    let handle = submit(
        r#"
kind: Workflow
metadata: {generateName: busy-}
spec:
  entrypoint: nap
  templates:
  - name: nap
    container: {image: busybox, command: [sleep, "0.5"]}
"#,
    );
    assert!(matches!(handle.resume(), Err(EngineError::NotSuspended)));
    assert_eq!(handle.wait().await.status.phase, Phase::Succeeded);
}

const OUTPUTS: &str = r#"
kind: Workflow
metadata: {generateName: suspend-outputs-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - name: release
        template: print
        arguments: {parameters: [{name: message, value: "{{steps.approve.outputs.parameters.message}}"}]}
  - name: approve
    suspend: {}
    outputs:
      parameters:
      - name: message
        valueFrom: {supplied: {}}
  - name: print
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
"#;

#[tokio::test]
async fn resume_supplies_outputs_the_next_step_reads() {
    let handle = submit(OUTPUTS);
    until(&handle, |wf| suspended(wf, "[0].approve")).await;
    let values = [("message".to_owned(), "Hello, world!".to_owned())];
    assert_eq!(handle.resume_with(&values).expect("resumes"), 1);
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    let approve = node(&wf, "[0].approve");
    let outputs = approve.outputs.as_ref().expect("outputs");
    assert_eq!(outputs.param("message"), Some("Hello, world!"));
    assert_eq!(result(node(&wf, "[1].release")), Some("Hello, world!"));
}

#[tokio::test]
async fn resume_without_a_value_for_a_supplied_output_is_refused_and_changes_nothing() {
    let handle = submit(OUTPUTS);
    until(&handle, |wf| suspended(wf, "[0].approve")).await;
    let err = handle.resume().expect_err("no value for `message`");
    assert!(err.to_string().contains("'message'"), "{err}");
    let unknown = [("nope".to_owned(), "x".to_owned())];
    let err = handle.resume_with(&unknown).expect_err("unknown output");
    assert!(err.to_string().contains("`nope`"), "{err}");
    assert!(suspended(&handle.status(), "[0].approve"));
    handle.terminate();
    assert_eq!(handle.wait().await.status.phase, Phase::Failed);
}

#[tokio::test]
async fn expired_suspend_takes_the_output_default() {
    let wf = run(&OUTPUTS
        .replace("suspend: {}", "suspend: {duration: \"1\"}")
        .replace(
            "valueFrom: {supplied: {}}",
            "valueFrom: {supplied: {}, default: fallback}",
        ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(result(node(&wf, "[1].release")), Some("fallback"));
}

#[tokio::test]
async fn workflow_level_suspend_starts_nothing_until_resumed() {
    let handle = submit(
        r#"
kind: Workflow
metadata: {generateName: held-}
spec:
  entrypoint: say
  suspend: true
  templates:
  - name: say
    container: {image: busybox, command: [echo, go]}
"#,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wf = handle.status();
    assert_eq!(wf.status.phase, Phase::Running);
    assert!(
        wf.status.nodes.is_empty(),
        "nothing started: {:?}",
        wf.status.nodes
    );
    assert_eq!(wf.spec.suspend, Some(true));
    assert!(handle.is_suspended());
    assert_eq!(handle.resume().expect("resumes the workflow"), 0);
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(wf.spec.suspend, None);
    assert_eq!(result(node(&wf, "")), Some("go"));
}

#[tokio::test]
async fn suspending_a_running_workflow_lets_the_running_step_finish_and_starts_nothing_more() {
    let handle = submit(
        r#"
kind: Workflow
metadata: {generateName: paused-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: slow}
    - - {name: second, template: say}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 0.5; echo first"]}
  - name: say
    container: {image: busybox, command: [echo, second]}
"#,
    );
    until(&handle, |wf| {
        wf.status
            .node_by_name(&format!("{}[0].first", wf.name()))
            .is_some_and(|n| n.phase == Phase::Running)
    })
    .await;
    handle.suspend().expect("suspends a running workflow");
    handle.suspend().expect("a second suspend changes nothing");
    let first_done = until(&handle, |wf| {
        wf.status
            .node_by_name(&format!("{}[0].first", wf.name()))
            .is_some_and(|n| n.phase == Phase::Succeeded)
    })
    .await;
    assert_eq!(first_done.spec.suspend, Some(true));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = handle.status();
    assert!(handle.is_suspended());
    assert_eq!(held.status.phase, Phase::Running);
    let second = held
        .status
        .node_by_name(&format!("{}[1].second", held.name()));
    assert!(
        second.is_none_or(|n| n.phase == Phase::Pending),
        "nothing new runs while suspended: {second:?}"
    );
    handle.resume().expect("resumes");
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(wf.spec.suspend, None);
    assert_eq!(result(node(&wf, "[1].second")), Some("second"));
    assert!(matches!(handle.suspend(), Err(EngineError::Ended)));
}

#[tokio::test]
async fn stop_fails_a_suspended_node() {
    let handle = submit(APPROVAL);
    until(&handle, |wf| suspended(wf, "[1].approve")).await;
    handle.stop();
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(node(&wf, "[1].approve").phase, Phase::Failed);
    assert!(matches!(handle.resume(), Err(EngineError::NotSuspended)));
}

#[test]
fn invalid_suspend_fields_are_refused_naming_them() {
    let with = |template: &str| {
        let yaml = format!(
            "kind: Workflow\nmetadata: {{name: x}}\nspec:\n  entrypoint: t\n  templates:\n  - name: t\n{template}"
        );
        Workflow::from_yaml(&yaml)
            .map(|_| ())
            .expect_err("refused")
            .to_string()
    };
    let e = with("    suspend: {duration: soon}\n");
    assert!(e.contains("spec.templates[t].suspend.duration"), "{e}");
    let e = with("    suspend: {when: later}\n");
    assert!(e.contains("spec.templates[t].suspend.when"), "{e}");
    let e = with(
        "    container: {image: busybox, command: [echo]}\n    outputs: {parameters: [{name: m, valueFrom: {supplied: {}}}]}\n",
    );
    assert!(
        e.contains("outputs.parameters[m].valueFrom.supplied"),
        "{e}"
    );
    let e = with(
        "    suspend: {}\n    outputs: {parameters: [{name: m, valueFrom: {path: /tmp/m}}]}\n",
    );
    assert!(e.contains("outputs.parameters[m]"), "{e}");
}

#[tokio::test]
async fn a_stopped_suspended_workflow_still_runs_its_exit_handler() {
    let handle = submit(
        r#"
kind: Workflow
metadata: {generateName: held-stop-}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    steps:
    - - {name: first, template: slow}
    - - {name: second, template: bye}
  - name: slow
    container: {image: busybox, command: [sh, -c, "sleep 0.3"]}
  - name: bye
    container: {image: busybox, command: [echo, bye]}
"#,
    );
    handle.suspend().expect("suspends");
    tokio::time::sleep(Duration::from_millis(800)).await;
    handle.stop();
    let wf = tokio::time::timeout(Duration::from_secs(20), handle.wait())
        .await
        .expect("a stopped suspended run ends");
    assert_eq!(wf.status.phase, Phase::Failed);
    let exit = wf
        .status
        .node_by_name(&format!("{}.onExit", wf.name()))
        .expect("the exit handler ran");
    assert_eq!(exit.phase, Phase::Succeeded);
}
