//! Failure paths: each case asserts the workflow phase, node phases and outputs.

mod common;

use std::time::{Duration, Instant};

use common::{node, result, run, run_with};
use polyphemus_engine::{EngineError, NodeType, Phase, TemplateLibrary, Workflow};

#[tokio::test]
async fn retries_exhausted() {
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: retry-fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 2, retryPolicy: Always, backoff: {duration: "10ms", factor: 2}}
    container: {image: busybox, command: [sh, -c, "echo try; exit 3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    let retry = node(&wf, "");
    assert_eq!(retry.node_type, NodeType::Retry);
    assert_eq!(retry.phase, Phase::Failed);
    assert!(retry
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("No more retries left"));
    assert_eq!(retry.children.len(), 3);
    for i in 0..3 {
        let attempt = node(&wf, &format!("({i})"));
        assert_eq!(attempt.node_type, NodeType::Pod);
        assert_eq!(attempt.phase, Phase::Failed);
        assert_eq!(attempt.message.as_deref(), Some("Error (exit code 3)"));
        let out = attempt.outputs.as_ref().expect("outputs");
        assert_eq!(out.exit_code.as_deref(), Some("3"));
        assert_eq!(out.result.as_deref(), Some("try"));
    }
    assert!(wf
        .status
        .node_by_name(&format!("{}(3)", wf.name()))
        .is_none());
}

#[tokio::test]
async fn retry_expression_stops_retrying() {
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: retry-expr-}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: 5, expression: "asInt(lastRetry.exitCode) == 2"}
    container: {image: busybox, command: [sh, -c, "exit 4"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").children.len(),
        1,
        "exit 4 is not retried by the expression"
    );
}

#[tokio::test]
async fn template_deadline_kills_the_process_group() {
    let started = Instant::now();
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: deadline-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: slow, template: slow}
  - name: slow
    activeDeadlineSeconds: 1
    container:
      image: busybox
      command: [sh, -c, "sleep 297 & echo $! > pid; echo started; wait"]
"#)
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "deadline not enforced"
    );
    assert_eq!(wf.status.phase, Phase::Failed);
    let slow = node(&wf, "[0].slow");
    assert_eq!(slow.phase, Phase::Failed);
    assert!(slow
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("deadline"));
    // The pid the step wrote is its pid in the sandbox's own PID namespace, which means
    // another process (or none) on the host: look for the background sleep by its command line.
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| {
            let dir = entry.path();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next())
                == Some("Z");
            cmdline == b"sleep\x00297\x00" && !zombie
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        survivors.is_empty(),
        "background sleep survived: {survivors:?}"
    );
}

#[tokio::test]
async fn workflow_deadline_and_exit_handler() {
    let started = Instant::now();
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: wf-deadline-}
spec:
  entrypoint: main
  activeDeadlineSeconds: 1
  onExit: exit
  templates:
  - name: main
    container: {image: busybox, command: [sleep, "60"]}
  - name: exit
    container: {image: busybox, command: [sh, -c, "echo {{workflow.status}}"]}
"#)
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        wf.status.message.as_deref(),
        Some("Step exceeded its deadline")
    );
    assert_eq!(node(&wf, "").phase, Phase::Failed);
    let exit = node(&wf, ".onExit");
    assert_eq!(exit.phase, Phase::Succeeded);
    assert_eq!(result(exit), Some("Failed"));
}

#[tokio::test]
async fn on_exit_runs_on_failure_and_sees_status() {
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: exit-handler-}
spec:
  entrypoint: main
  onExit: exit-handler
  templates:
  - name: main
    steps:
    - - {name: boom, template: boom}
    - - {name: never, template: boom}
  - name: boom
    container: {image: busybox, command: [sh, -c, "exit 1"]}
  - name: exit-handler
    script:
      image: python
      command: [python]
      source: |
        import json
        failures = json.loads('{{workflow.failures}}')
        print("{{workflow.status}}", len(failures), failures[0]["displayName"])
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(node(&wf, "[0].boom").phase, Phase::Failed);
    assert!(
        wf.status
            .node_by_name(&format!("{}[1]", wf.name()))
            .is_none(),
        "second group must not run"
    );
    let exit = node(&wf, ".onExit");
    assert_eq!(exit.phase, Phase::Succeeded);
    assert_eq!(result(exit), Some("Failed 1 boom"));
}

#[test]
fn bad_yaml_is_an_error() {
    let e = Workflow::from_yaml("spec: [unclosed").unwrap_err();
    assert!(matches!(e, EngineError::Yaml(_)), "{e}");
    let e = Workflow::from_yaml(
        "kind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: a\n  templates:\n  - name: a\n    resource: {action: create}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("spec.templates[a].resource"), "{e}");
    let e = Workflow::from_yaml(
        "kind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: a\n  templates:\n  - name: a\n    container: {image: x, command: [echo], volumeMounts: []}\n    resource: {action: create}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("spec.templates[a].resource"), "{e}");
}

#[tokio::test]
async fn unknown_template_is_an_error_before_running() {
    let wf = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {generateName: unknown-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: does-not-exist}
"#,
    )
    .unwrap();
    let err = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .err()
        .expect("error");
    assert!(matches!(err, EngineError::UnknownTemplate(_)), "{err}");
    assert!(err.to_string().contains("does-not-exist"), "{err}");
}

#[tokio::test]
async fn missing_parameter_is_an_error() {
    let yaml = r#"
kind: Workflow
metadata: {generateName: missing-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: message}]}
  templates:
  - name: main
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
"#;
    let wf = Workflow::from_yaml(yaml).unwrap();
    let err = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .err()
        .expect("error");
    assert!(
        matches!(&err, EngineError::MissingParameter(p) if p == "message"),
        "{err}"
    );
    let nested = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {generateName: missing-nested-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: say, template: echo}
  - name: echo
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.message}}"]}
"#,
    )
    .unwrap();
    let err = common::engine()
        .submit(nested, Vec::new(), &TemplateLibrary::new())
        .err()
        .expect("error");
    assert!(
        matches!(&err, EngineError::MissingParameter(p) if p.starts_with("message")),
        "{err}"
    );
    assert!(err.to_string().contains("`say`"), "{err}");
    let wf = run_with(
        yaml,
        vec![("message".into(), "given".into())],
        &TemplateLibrary::new(),
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded);
    assert_eq!(result(node(&wf, "")), Some("given"));
}

#[tokio::test]
async fn dag_depends_failed_and_skipped() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: depends-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: fail}
      - {name: B, template: ok, depends: "A.Failed"}
      - {name: C, template: ok, depends: "A"}
      - {name: D, template: ok, when: "1 == 2"}
      - {name: E, template: ok, depends: "D.Skipped && (B || C.Succeeded)"}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
"#)
    .await;
    assert_eq!(node(&wf, ".A").phase, Phase::Failed);
    assert_eq!(node(&wf, ".B").phase, Phase::Succeeded);
    let c = node(&wf, ".C");
    assert_eq!((c.phase, c.node_type), (Phase::Omitted, NodeType::Skipped));
    let d = node(&wf, ".D");
    assert_eq!((d.phase, d.node_type), (Phase::Skipped, NodeType::Skipped));
    assert_eq!(d.message.as_deref(), Some("when '1 == 2' evaluated false"));
    assert_eq!(node(&wf, ".E").phase, Phase::Succeeded);
    assert_eq!(result(node(&wf, ".E")), Some("ok"));
    // The only target task (E) succeeded: A's failure is handled, the DAG succeeds (Argo's rule).
    assert_eq!(wf.status.phase, Phase::Succeeded);

    // A target omitted below a failed task inherits the failure: the DAG fails.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: depends-fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: A, template: fail}
      - {name: C, template: ok, dependencies: [A]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
  - name: ok
    container: {image: busybox, command: [echo, ok]}
"#)
    .await;
    assert_eq!(node(&wf, ".C").phase, Phase::Omitted);
    assert_eq!(node(&wf, "").phase, Phase::Failed);
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(wf.status.progress.as_deref(), Some("0/1"));
}

#[tokio::test]
async fn parallel_nodes_have_private_tmp() {
    if !common::engine().private_tmp() {
        println!("skipped: no private /tmp here (unshare --mount unavailable or isolation off), nodes share /tmp");
        return;
    }
    let wf = run(r#"
kind: Workflow
metadata: {generateName: private-tmp-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: write, arguments: {parameters: [{name: v, value: from-a}]}}
      - {name: b, template: write, arguments: {parameters: [{name: v, value: from-b}]}}
  - name: write
    inputs: {parameters: [{name: v}]}
    container:
      image: busybox
      command: [sh, -c, "test ! -e /tmp/out.txt || exit 9; echo {{inputs.parameters.v}} > /tmp/out.txt; sleep 0.5; cat /tmp/out.txt; ls /tmp | grep -c out"]
    outputs:
      parameters: [{name: out, valueFrom: {path: /tmp/out.txt}}]
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    for (step, v) in [("a", "from-a"), ("b", "from-b")] {
        let n = node(&wf, &format!("[0].{step}"));
        // One out file each: the other node's never shows (a run dir under /tmp, as in a
        // checkout there, is bound back inside each private /tmp, so /tmp is not otherwise empty).
        assert_eq!(result(n), Some(format!("{v}\n1").as_str()));
        assert_eq!(n.outputs.as_ref().and_then(|o| o.param("out")), Some(v));
    }
}

#[tokio::test]
async fn fallback_to_logs_on_error_puts_the_log_tail_in_the_message() {
    let wf = run(r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: termination-}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, "echo progress; echo 'cannot connect: refused' >&2; exit 1"]
      terminationMessagePolicy: FallbackToLogsOnError
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").message.as_deref(),
        Some("Error (exit code 1): progress\ncannot connect: refused")
    );
}
