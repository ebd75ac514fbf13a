//! `argo retry` on the local engine (`Engine::retry`): a failed run starts again under its own
//! name and uid, keeps what succeeded, reruns what failed and what came after it:
//! - a_retried_steps_run_keeps_what_succeeded_and_reruns_the_failed_step_with_new_arguments
//! - a_retried_dag_keeps_the_branch_that_succeeded
//! - a_succeeded_run_is_retried_only_for_the_nodes_a_selector_names

mod common;

use common::{engine, node, result, run};
use polyphemus_engine::{Phase, RetryRequest, SubmitOptions, TemplateLibrary, WorkflowObject};

const STEPS: &str = r#"
kind: Workflow
metadata: {generateName: retry-steps-}
spec:
  entrypoint: main
  onExit: bye
  arguments: {parameters: [{name: mode, value: fail}]}
  templates:
  - name: main
    steps:
    - - {name: token, template: token}
    - - name: check
        template: check
        arguments:
          parameters:
          - {name: token, value: "{{steps.token.outputs.result}}"}
          - {name: mode, value: "{{workflow.parameters.mode}}"}
      - {name: side, template: ok}
    - - {name: after, template: ok}
  - name: token
    script: {image: python, command: [sh], source: "cat /proc/sys/kernel/random/uuid"}
  - name: check
    inputs: {parameters: [{name: token}, {name: mode}]}
    container: {image: busybox, command: [sh, -c, 'test "{{inputs.parameters.mode}}" = ok']}
  - name: ok
    container: {image: busybox, command: [echo, fine]}
  - name: bye
    container: {image: busybox, command: [echo, "{{workflow.status}}"]}
"#;

async fn retry(prior: &WorkflowObject, request: RetryRequest) -> WorkflowObject {
    engine()
        .retry(
            prior,
            &request,
            &TemplateLibrary::new(),
            SubmitOptions::default(),
        )
        .expect("the retry starts")
        .wait()
        .await
}

fn with_mode(mode: &str) -> RetryRequest {
    RetryRequest {
        parameters: vec![("mode".into(), mode.into())],
        ..Default::default()
    }
}

fn input<'a>(wf: &'a WorkflowObject, suffix: &str, name: &str) -> &'a str {
    let inputs = node(wf, suffix).inputs.as_ref().expect("inputs");
    let found = inputs.parameters.iter().find(|p| p.name == name);
    &found.expect("the input").value
}

#[tokio::test]
async fn a_retried_steps_run_keeps_what_succeeded_and_reruns_the_failed_step_with_new_arguments() {
    let first = run(STEPS).await;
    assert_eq!(
        first.status.phase,
        Phase::Failed,
        "{:?}",
        first.status.message
    );
    let token = result(node(&first, "[0].token"))
        .expect("a token")
        .to_owned();
    assert_eq!(node(&first, "[1].check").phase, Phase::Failed);
    assert!(first
        .status
        .node_by_name(&format!("{}[2].after", first.name()))
        .is_none());
    let first_exit = node(&first, ".onExit").finished_at;

    let second = retry(&first, with_mode("ok")).await;
    assert_eq!(
        second.status.phase,
        Phase::Succeeded,
        "{:?}",
        second.status.message
    );
    assert_eq!(second.name(), first.name());
    assert_eq!(second.metadata.uid, first.metadata.uid);
    assert_eq!(
        second.metadata.creation_timestamp,
        first.metadata.creation_timestamp
    );
    // Kept as it was: the same output and the same times; nothing ran it again.
    let kept = node(&second, "[0].token");
    assert_eq!(result(kept), Some(token.as_str()));
    assert_eq!(kept.started_at, node(&first, "[0].token").started_at);
    assert_eq!(
        node(&second, "[1].side").started_at,
        node(&first, "[1].side").started_at
    );
    // Run again with the kept step's output and the new argument, then what followed it.
    assert_eq!(input(&second, "[1].check", "token"), token);
    assert_eq!(input(&second, "[1].check", "mode"), "ok");
    assert_eq!(node(&second, "[1].check").phase, Phase::Succeeded);
    assert_eq!(node(&second, "[2].after").phase, Phase::Succeeded);
    // The exit handler runs again and sees the new outcome.
    let exit = node(&second, ".onExit");
    assert!(exit.finished_at > first_exit, "the exit handler ran again");
    assert!(second.status.started_at > first.status.started_at);
    // Every child a node names exists.
    for n in second.status.nodes.values() {
        for child in &n.children {
            assert!(
                second.status.nodes.contains_key(child),
                "{} names {child}",
                n.name
            );
        }
    }
}

#[tokio::test]
async fn a_retried_dag_keeps_the_branch_that_succeeded() {
    let first = run(r#"
kind: Workflow
metadata: {generateName: retry-dag-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: mode, value: fail}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: token}
      - {name: b, template: check, depends: a}
      - {name: c, template: token, depends: a}
      - {name: d, template: token, depends: b && c}
  - name: token
    script: {image: python, command: [sh], source: "cat /proc/sys/kernel/random/uuid"}
  - name: check
    container: {image: busybox, command: [sh, -c, 'test "{{workflow.parameters.mode}}" = ok']}
"#)
    .await;
    assert_eq!(first.status.phase, Phase::Failed);
    assert_eq!(node(&first, ".b").phase, Phase::Failed);

    let second = retry(&first, with_mode("ok")).await;
    assert_eq!(
        second.status.phase,
        Phase::Succeeded,
        "{:?}",
        second.status.message
    );
    for kept in [".a", ".c"] {
        assert_eq!(
            result(node(&second, kept)),
            result(node(&first, kept)),
            "{kept}"
        );
        assert_eq!(
            node(&second, kept).started_at,
            node(&first, kept).started_at
        );
    }
    assert_eq!(node(&second, ".b").phase, Phase::Succeeded);
    assert_eq!(node(&second, ".d").phase, Phase::Succeeded);
}

#[tokio::test]
async fn a_succeeded_run_is_retried_only_for_the_nodes_a_selector_names() {
    let mut first = run(STEPS).await;
    first = retry(&first, with_mode("ok")).await;
    assert_eq!(first.status.phase, Phase::Succeeded);

    // As Argo: a succeeded run needs restartSuccessful and a selector; a running one none.
    let refused = engine()
        .retry(
            &first,
            &RetryRequest::default(),
            &TemplateLibrary::new(),
            SubmitOptions::default(),
        )
        .err()
        .expect("refused");
    assert!(
        refused
            .to_string()
            .contains("restartSuccessful and nodeFieldSelector"),
        "{refused}"
    );
    let mut running = first.clone();
    running.status.phase = Phase::Running;
    let refused = engine()
        .retry(
            &running,
            &with_mode("ok"),
            &TemplateLibrary::new(),
            SubmitOptions::default(),
        )
        .err()
        .expect("refused");
    assert!(
        refused
            .to_string()
            .contains("Cannot retry a workflow in phase Running"),
        "{refused}"
    );
    let bad = RetryRequest {
        restart_successful: true,
        node_field_selector: Some("displayName".into()),
        ..Default::default()
    };
    let refused = engine()
        .retry(
            &first,
            &bad,
            &TemplateLibrary::new(),
            SubmitOptions::default(),
        )
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("nodeFieldSelector"),
        "{refused}"
    );

    // The selected step runs again, and with it everything after it; `side` ran beside
    // `check` after the token, so it runs again too.
    let request = RetryRequest {
        restart_successful: true,
        node_field_selector: Some("displayName=token".into()),
        ..Default::default()
    };
    let second = retry(&first, request).await;
    assert_eq!(
        second.status.phase,
        Phase::Succeeded,
        "{:?}",
        second.status.message
    );
    let (old, new) = (node(&first, "[0].token"), node(&second, "[0].token"));
    assert_ne!(result(new), result(old), "the token was made again");
    assert_eq!(
        input(&second, "[1].check", "token"),
        result(new).expect("a token")
    );
    assert!(node(&second, "[1].side").started_at > node(&first, "[1].side").started_at);
    assert_eq!(
        input(&second, "[1].check", "mode"),
        "ok",
        "the last arguments stay"
    );
}
