//! Spec features beyond the example corpus: parallelism, stop, templateRef, recursion,
//! withSequence, global outputs, templateDefaults, timeouts, enums, live status and logs.

mod common;

use std::time::{Duration, Instant};

use common::{node, result, run, run_with};
use polyphemus_engine::{EngineError, NodeType, Phase, TemplateLibrary, Workflow};

#[tokio::test]
async fn workflow_parallelism_limits_pods() {
    let started = Instant::now();
    let wf = run(r#"
kind: Workflow
metadata: {generateName: parallelism-}
spec:
  entrypoint: main
  parallelism: 1
  templates:
  - name: main
    steps:
    - - {name: s, template: nap, withItems: [1, 2, 3]}
  - name: nap
    container: {image: busybox, command: [sleep, "0.3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert!(
        started.elapsed() >= Duration::from_millis(850),
        "pods overlapped: {:?}",
        started.elapsed()
    );
    assert_eq!(wf.status.progress.as_deref(), Some("3/3"));
}

#[tokio::test]
async fn stop_kills_and_runs_exit_handler() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {generateName: stop-}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    container: {image: busybox, command: [sleep, "60"]}
  - name: bye
    container: {image: busybox, command: [sh, -c, "echo {{workflow.status}}"]}
"#,
    )
    .unwrap();
    let handle = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .unwrap();
    let mut rx = handle.subscribe();
    let started = Instant::now();
    // Wait until the pod runs, observing progress through the watch channel.
    while handle
        .status()
        .status
        .nodes
        .values()
        .all(|n| n.phase != Phase::Running)
    {
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .expect("progress")
            .expect("open");
    }
    handle.stop();
    let wf = handle.wait().await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        wf.status.message.as_deref(),
        Some("Stopped with strategy 'Stop'")
    );
    assert_eq!(node(&wf, "").phase, Phase::Failed);
    assert_eq!(result(node(&wf, ".onExit")), Some("Failed"));
}

#[tokio::test]
async fn template_ref_and_workflow_template_ref() {
    let mut lib = TemplateLibrary::new();
    lib.add(Workflow::from_yaml(r#"
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: shared}
spec:
  entrypoint: greet
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: greet
    inputs: {parameters: [{name: who}]}
    steps:
    - - {name: say, template: say, arguments: {parameters: [{name: who, value: "{{inputs.parameters.who}}"}]}}
  - name: say
    inputs: {parameters: [{name: who}]}
    container: {image: busybox, command: [echo, "hello {{inputs.parameters.who}}"]}
"#).unwrap())
    .unwrap();
    let wf = run_with(
        r#"
kind: Workflow
metadata: {generateName: template-ref-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: call
        templateRef: {name: shared, template: greet}
        arguments: {parameters: [{name: who, value: ref}]}
"#,
        Vec::new(),
        &lib,
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "[0].call[0].say")), Some("hello ref"));
    let called = node(&wf, "[0].call");
    assert_eq!(
        called.template_ref.as_ref().map(|r| r.name.as_str()),
        Some("shared")
    );
    assert_eq!(
        called.template_ref.as_ref().map(|r| r.template.as_str()),
        Some("greet")
    );

    let wf = run_with("kind: Workflow\nmetadata: {generateName: wftref-}\nspec:\n  workflowTemplateRef: {name: shared}\n",
        vec![("who".into(), "param".into())], &lib).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "[0].say")), Some("hello param"));

    // A WorkflowTemplate submitted directly runs like `argo submit --from workflowtemplate/shared`.
    let template = lib.get("shared").expect("loaded").as_ref().clone();
    let handle = common::engine().submit(template, Vec::new(), &lib).unwrap();
    let watcher = handle.clone();
    let polled = tokio::spawn(async move { watcher.wait().await.status.phase });
    let wf = handle.wait().await;
    assert!(wf.name().starts_with("shared-"), "{}", wf.name());
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(polled.await.unwrap(), Phase::Succeeded);
    assert_eq!(result(node(&wf, "[0].say")), Some("hello world"));
    assert_eq!(
        wf.metadata
            .labels
            .get("workflows.argoproj.io/phase")
            .map(String::as_str),
        Some("Succeeded")
    );

    let bad = Workflow::from_yaml("kind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    steps:\n    - - {name: a, templateRef: {name: shared, template: nope}}\n").unwrap();
    let err = common::engine()
        .submit(bad, Vec::new(), &lib)
        .err()
        .expect("error");
    assert!(matches!(err, EngineError::UnknownTemplate(_)), "{err}");
}

#[tokio::test]
async fn recursion_sequence_globals_and_defaults() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: recursion-}
spec:
  entrypoint: count
  arguments: {parameters: [{name: n, value: "0"}]}
  templateDefaults:
    timeout: 30s
  templates:
  - name: count
    inputs: {parameters: [{name: n}]}
    steps:
    - - {name: inc, template: inc, arguments: {parameters: [{name: n, value: "{{inputs.parameters.n}}"}]}}
    - - name: again
        template: count
        when: "{{steps.inc.outputs.result}} < 3"
        arguments: {parameters: [{name: n, value: "{{steps.inc.outputs.result}}"}]}
      - name: seq
        template: echo
        when: "{{steps.inc.outputs.result}} == 3"
        withSequence: {count: "3", start: "1", format: "n%02d"}
        arguments: {parameters: [{name: m, value: "{{item}}"}]}
  - name: inc
    inputs: {parameters: [{name: n}]}
    script:
      image: python
      command: [python]
      source: "print({{inputs.parameters.n}} + 1)"
    outputs:
      parameters:
      - {name: last, value: "{{inputs.parameters.n}}", globalName: last-n}
  - name: echo
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{=upper(inputs.parameters.m)}}"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let deepest = node(&wf, "[1].again[1].again[1].seq(2:n03)");
    assert_eq!(result(deepest), Some("N03"));
    assert_eq!(node(&wf, "[1].seq(0:n01)").phase, Phase::Skipped);
    let globals = wf.status.outputs.clone().unwrap_or_default().parameters;
    assert_eq!(
        globals
            .iter()
            .find(|p| p.name == "last-n")
            .map(|p| p.value.as_str()),
        Some("2")
    );
}

#[tokio::test]
async fn steps_timeout_and_enum() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: timeout-}
spec:
  entrypoint: main
  templates:
  - name: main
    timeout: 1s
    steps:
    - - {name: slow, template: slow}
  - name: slow
    container: {image: busybox, command: [sleep, "30"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").message.as_deref(),
        Some("Step exceeded its deadline")
    );
    assert_eq!(node(&wf, "[0].slow").phase, Phase::Failed);

    let yaml = "kind: Workflow\nmetadata: {generateName: enum-}\nspec:\n  entrypoint: m\n  arguments: {parameters: [{name: c, value: red, enum: [red, blue]}]}\n  templates:\n  - name: m\n    container: {image: x, command: [echo, '{{workflow.parameters.c}}']}\n";
    let err = common::engine()
        .submit(
            Workflow::from_yaml(yaml).unwrap(),
            vec![("c".into(), "green".into())],
            &TemplateLibrary::new(),
        )
        .err()
        .expect("enum error");
    assert!(err.to_string().contains("not one of"), "{err}");
}

#[tokio::test]
async fn logs_and_status_json() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {name: logs-and-json}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: say}
      - {name: b, template: say, depends: a, continueOn: {failed: true}}
  - name: say
    container: {image: busybox, command: [sh, -c, "echo out; echo err >&2"], workingDir: /work/dir}
"#,
    )
    .unwrap();
    let handle = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .unwrap();
    assert_eq!(handle.name(), "logs-and-json");
    let a_id = polyphemus_engine::status::node_id("logs-and-json", "logs-and-json.a");
    let log_view = {
        let h = &handle;
        let mut rx = h.subscribe();
        loop {
            if let Some(l) = h.logs(&a_id).filter(|l| l.contains("err")) {
                break l;
            }
            tokio::time::timeout(Duration::from_secs(5), rx.changed())
                .await
                .expect("progress")
                .expect("open");
        }
    };
    assert!(log_view.contains("out") && log_view.contains("err"));
    let wf = handle.wait().await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    let json: serde_json::Value = serde_json::from_str(&wf.to_json().unwrap()).unwrap();
    assert_eq!(json["metadata"]["namespace"], "local");
    assert_eq!(json["status"]["phase"], "Succeeded");
    assert_eq!(json["status"]["progress"], "2/2");
    let a = &json["status"]["nodes"][&a_id];
    assert_eq!(a["type"], "Pod");
    assert_eq!(a["displayName"], "a");
    assert_eq!(a["boundaryID"], "logs-and-json");
    assert_eq!(a["outputs"]["result"], "out");
    assert_eq!(a["outputs"]["exitCode"], "0");
    assert_eq!(json["status"]["nodes"]["logs-and-json"]["type"], "DAG");
    assert!(json["status"]["nodes"]["logs-and-json"]["outboundNodes"].is_array());
    assert_eq!(node(&wf, ".b").node_type, NodeType::Pod);
}

#[tokio::test]
async fn dag_parallelism_and_fail_fast() {
    let started = Instant::now();
    let wf = run(r#"
kind: Workflow
metadata: {generateName: dag-parallelism-}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    dag:
      tasks:
      - {name: a, template: nap}
      - {name: b, template: nap}
      - {name: c, template: nap}
  - name: nap
    container: {image: busybox, command: [sleep, "0.3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert!(
        started.elapsed() >= Duration::from_millis(850),
        "tasks overlapped"
    );

    let wf = run(r#"
kind: Workflow
metadata: {generateName: fail-fast-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: boom, template: boom}
      - {name: slow, template: nap}
      - {name: after, template: nap, depends: slow}
  - name: boom
    container: {image: busybox, command: [sh, -c, "exit 2"]}
  - name: nap
    container: {image: busybox, command: [sleep, "0.5"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, ".slow").phase,
        Phase::Succeeded,
        "running tasks finish"
    );
    let after = format!("{}.after", wf.name());
    assert!(
        wf.status.node_by_name(&after).is_none(),
        "failFast: no new task after a failure"
    );
    assert_eq!(
        node(&wf, "")
            .message
            .as_deref()
            .map(|m| m.starts_with("child '")),
        Some(true)
    );
}
