//! Engine and submit options: isolation off (per-node TMPDIR), chosen uid, per-run environment.

mod common;

use common::{node, result};
use polyphemus_engine::{Phase, TemplateLibrary, Workflow};

#[tokio::test]
async fn without_isolation_each_node_gets_its_own_tmpdir() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {generateName: tmpdir-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: show}
      - {name: b, template: show}
  - name: show
    container: {image: busybox, command: [sh, -c, "test -d \"$TMPDIR\" && echo $TMPDIR"]}
"#,
    )
    .unwrap();
    let engine = polyphemus_engine::Engine::new(polyphemus_engine::EngineOptions {
        work_dir: common::work_dir(),
        isolation: polyphemus_engine::Isolation::Off,
        ..Default::default()
    });
    let wf = engine
        .run(wf, Vec::new(), &TemplateLibrary::new())
        .await
        .unwrap();
    assert_eq!(wf.status.phase, Phase::Succeeded);
    let a = result(node(&wf, "[0].a")).unwrap_or_default().to_string();
    let b = result(node(&wf, "[0].b")).unwrap_or_default().to_string();
    assert!(a.ends_with(&node(&wf, "[0].a").id), "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn submit_with_uid_and_env() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        "kind: Workflow\nmetadata: {generateName: env-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {image: x, command: [sh, -c, 'echo $POLYPHEMUS_TOKEN {{workflow.uid}}']}\n",
    )
    .unwrap();
    let uid = uuid::Uuid::new_v4();
    let options = polyphemus_engine::SubmitOptions {
        uid: Some(uid),
        env: vec![("POLYPHEMUS_TOKEN".into(), "t0k3n".into())],
        ..Default::default()
    };
    let handle = common::engine()
        .submit_with(wf, Vec::new(), &TemplateLibrary::new(), options)
        .unwrap();
    assert_eq!(handle.uid(), uid.to_string());
    let wf = handle.wait().await;
    assert_eq!(wf.metadata.uid.as_deref(), Some(uid.to_string().as_str()));
    assert_eq!(result(node(&wf, "")), Some(format!("t0k3n {uid}").as_str()));
}

#[tokio::test]
async fn env_from_a_kubernetes_secret_keeps_the_value_the_engine_gives() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        r#"
kind: Workflow
metadata: {generateName: secret-env-}
spec:
  entrypoint: m
  templates:
  - name: m
    container:
      image: x
      command: [sh, -c, 'echo "$POLYPHEMUS_TOKEN|$PLAIN"']
      env:
      - name: POLYPHEMUS_TOKEN
        valueFrom: {secretKeyRef: {name: polyphemus-step-token, key: token}}
      - {name: PLAIN, value: from-template}
"#,
    )
    .unwrap();
    let options = polyphemus_engine::SubmitOptions {
        uid: None,
        env: vec![
            ("POLYPHEMUS_TOKEN".into(), "run-token".into()),
            ("PLAIN".into(), "from-engine".into()),
        ],
        ..Default::default()
    };
    let handle = common::engine()
        .submit_with(wf, Vec::new(), &TemplateLibrary::new(), options)
        .unwrap();
    let wf = handle.wait().await;
    assert_eq!(result(node(&wf, "")), Some("run-token|from-template"));
}

#[tokio::test]
async fn status_json_is_kept_on_disk() {
    common::init_tracing();
    let wf = Workflow::from_yaml(
        "kind: Workflow\nmetadata: {generateName: persisted-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {image: x, command: [sleep, '1']}\n",
    )
    .unwrap();
    let handle = common::engine()
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .unwrap();
    let path = handle.run_dir().join("status.json");
    // While running, the last known state reaches the disk.
    let mut running = None;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if let Ok(text) = std::fs::read_to_string(&path) {
            running = Some(text);
            break;
        }
    }
    let running: serde_json::Value =
        serde_json::from_str(&running.expect("status.json while running")).unwrap();
    let phase = running["status"]["phase"].as_str().unwrap_or_default();
    assert!(
        matches!(phase, "Pending" | "Running"),
        "the state on disk while the node sleeps is not final: {phase}"
    );
    let wf = handle.wait().await;
    let last: polyphemus_engine::WorkflowObject =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(last.status.phase, Phase::Succeeded);
    assert_eq!(last.status.nodes.len(), wf.status.nodes.len());
}

/// A step's program under `/tmp` (a checkout there) stays reachable from the node's private
/// `/tmp` when its directory is kept visible, as the local orchestrator keeps its binary's.
#[tokio::test]
async fn kept_directories_under_tmp_stay_reachable_from_a_private_tmp() {
    common::init_tracing();
    let bin = std::env::temp_dir().join(format!("engine-keep-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin).unwrap();
    let program = bin.join("hello");
    std::fs::write(&program, "#!/bin/sh\necho kept program ran\n").unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let yaml = format!(
        "kind: Workflow\nmetadata: {{generateName: keep-}}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {{image: x, command: ['{}']}}\n",
        program.display()
    );
    let engine = polyphemus_engine::Engine::new(polyphemus_engine::EngineOptions {
        work_dir: common::work_dir(),
        keep_visible: vec![bin.clone()],
        ..Default::default()
    });
    let wf = engine
        .run(
            Workflow::from_yaml(&yaml).unwrap(),
            Vec::new(),
            &TemplateLibrary::new(),
        )
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&bin);
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "")).unwrap_or_default(),
        "kept program ran"
    );
}

#[tokio::test]
async fn max_backoff_caps_every_wait_and_keeps_every_attempt() {
    common::init_tracing();
    // The built-in workflows' strategy: a permanent failure (exit 78) is not retried, any
    // other is, three times, 30 s apart here; the option makes the waits 10 ms.
    let yaml = |exit: u8| {
        format!(
            r#"
kind: Workflow
metadata: {{generateName: capped-}}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy:
      limit: "3"
      retryPolicy: Always
      backoff: {{duration: "30s", factor: "2"}}
      expression: "asInt(lastRetry.exitCode) != 78"
    container: {{image: busybox, command: [sh, -c, "exit {exit}"]}}
"#
        )
    };
    let engine = polyphemus_engine::Engine::new(polyphemus_engine::EngineOptions {
        work_dir: common::work_dir(),
        max_backoff: Some(std::time::Duration::from_millis(10)),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    for (exit, attempts) in [(1, 4), (78, 1)] {
        let wf = Workflow::from_yaml(&yaml(exit)).unwrap();
        let wf = engine
            .run(wf, Vec::new(), &TemplateLibrary::new())
            .await
            .unwrap();
        assert_eq!(wf.status.phase, Phase::Failed);
        assert_eq!(node(&wf, "").children.len(), attempts, "exit {exit}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
