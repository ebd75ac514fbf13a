//! Pod kinds beyond one container, run for real:
//! - daemons (module `daemons`)
//! - sidecar_is_reachable_from_main_and_killed_after_it
//! - sidecar_that_fails_by_itself_fails_the_pod
//! - init_containers_run_in_order_sharing_the_work_dir
//! - failed_init_container_fails_the_node_and_main_never_runs
//! - container_set_runs_by_dependencies_and_main_gives_the_outputs
//! - container_set_dependency_failure_fails_the_pod_without_running_dependents
//! - inline_templates_run_in_steps_and_tasks
//! - init_containers_mirror_and_container_sets_share_the_pods_volumes
//! - http templates and refusals (module `http`)
//! - and Argo's own examples (module `examples`)

mod common;
#[path = "podkinds/daemons.rs"]
mod daemons;
#[path = "podkinds/examples.rs"]
mod examples;
#[path = "podkinds/http.rs"]
mod http;
#[path = "podkinds/support.rs"]
mod support;

use common::{node, result, run};
use polyphemus_engine::{NodeType, Phase};
use support::{free_port, left_running};

#[tokio::test]
async fn sidecar_is_reachable_from_main_and_killed_after_it() {
    let port = free_port();
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: sidecar-}}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: curl
      command: [sh, -c, "until curl --silent http://127.0.0.1:{port}/x; do sleep 0.2; done"]
    sidecars:
    - name: web
      image: nginx
      command: [sh, -c, "echo from-sidecar > x && exec python3 -m http.server {port} --bind 127.0.0.1"]
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(result(node(&wf, "")), Some("from-sidecar"));
    assert_eq!(
        left_running(&format!("http.server {port}")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn sidecar_that_fails_by_itself_fails_the_pod() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: sidecar-fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: x, command: [sleep, "1"]}
    sidecars:
    - {name: broken, image: x, command: [sh, -c, "exit 4"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").message.as_deref(),
        Some("broken: Error (exit code 4)")
    );
}

#[tokio::test]
async fn init_containers_run_in_order_sharing_the_work_dir() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: init-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: x, command: [sh, -c, "cat order"]}
    initContainers:
    - {name: first, image: x, command: [sh, -c, "sleep 0.3; echo first >> order"]}
    - {name: second, image: x, command: [sh, -c, "echo second >> order"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(result(node(&wf, "")), Some("first\nsecond"));
}

#[tokio::test]
async fn failed_init_container_fails_the_node_and_main_never_runs() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: init-fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: x, command: [echo, main-ran]}
    initContainers:
    - {name: setup, image: x, command: [sh, -c, "exit 3"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    let n = node(&wf, "");
    assert_eq!(n.phase, Phase::Failed);
    assert_eq!(n.message.as_deref(), Some("setup: Error (exit code 3)"));
    assert_eq!(result(n), None);
}

#[tokio::test]
async fn container_set_runs_by_dependencies_and_main_gives_the_outputs() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: cset-}
spec:
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: x, command: [sh, -c, "sleep 0.3; echo a >> log"]}
      - {name: b, image: x, command: [sh, -c, "echo b >> log"], dependencies: [a]}
      - {name: c, image: x, command: [sh, -c, "echo c >> log"], dependencies: [a]}
      - {name: main, image: x, command: [sh, -c, "sort log | tr '\\n' ' '; echo done > /tmp/out"], dependencies: [b, c]}
    outputs:
      parameters: [{name: out, valueFrom: {path: /tmp/out}}]
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let pod = node(&wf, "");
    assert_eq!(pod.node_type, NodeType::Pod);
    assert_eq!(result(pod), Some("a b c "));
    let outputs = pod.outputs.as_ref().expect("outputs");
    assert_eq!(outputs.exit_code.as_deref(), Some("0"));
    assert_eq!(outputs.parameters[0].value, "done");
    let a = node(&wf, ".a");
    assert_eq!(a.node_type, NodeType::Container);
    assert_eq!(a.children.len(), 2, "b and c hang from a: {:?}", a.children);
    assert_eq!(pod.children, vec![a.id.clone()]);
    assert_eq!(node(&wf, ".main").phase, Phase::Succeeded);
}

#[tokio::test]
async fn container_set_dependency_failure_fails_the_pod_without_running_dependents() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: cset-fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: x, command: [sh, -c, "exit 2"]}
      - {name: main, image: x, command: [echo, ran], dependencies: [a]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(
        node(&wf, "").message.as_deref(),
        Some("a: Error (exit code 2)")
    );
    let main = node(&wf, ".main");
    assert_eq!(main.phase, Phase::Failed);
    assert_eq!(
        main.message.as_deref(),
        Some("dependency \"a\" exited with non-zero code: 2")
    );
}

#[tokio::test]
async fn inline_templates_run_in_steps_and_tasks() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: inline-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: s
        inline: {container: {image: x, command: [echo, from-step]}}
    - - name: d
        arguments: {parameters: [{name: m, value: "{{steps.s.outputs.result}}"}]}
        inline:
          inputs: {parameters: [{name: m}]}
          dag:
            tasks:
            - name: t
              arguments: {parameters: [{name: m, value: "{{inputs.parameters.m}}"}]}
              inline:
                inputs: {parameters: [{name: m}]}
                script: {image: x, command: [sh], source: "echo task-got-{{inputs.parameters.m}}"}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let s = node(&wf, "[0].s");
    assert_eq!(result(s), Some("from-step"));
    assert_eq!(s.template_name, None);
    assert_eq!(result(node(&wf, "[1].d.t")), Some("task-got-from-step"));
}

#[tokio::test]
async fn init_containers_mirror_and_container_sets_share_the_pods_volumes() {
    if common::engine().sandbox_support() == polyphemus_engine::SandboxSupport::None {
        eprintln!("no sandbox on this host: volumes cannot be mounted");
        return;
    }
    let wf = run(r#"
kind: Workflow
metadata: {generateName: pod-volumes-}
spec:
  entrypoint: main
  volumes: [{name: shared, emptyDir: {}}]
  templates:
  - name: main
    steps:
    - - {name: mirrored, template: mirrored}
      - {name: set, template: set}
  - name: mirrored
    container:
      image: x
      command: [cat, /tmp/shared/from-init]
      volumeMounts: [{name: shared, mountPath: /tmp/shared}]
    initContainers:
    - {name: fill, image: x, command: [sh, -c, "echo filled > /tmp/shared/from-init"], mirrorVolumeMounts: true}
  - name: set
    containerSet:
      volumeMounts: [{name: shared, mountPath: /tmp/shared}]
      containers:
      - {name: a, image: x, command: [sh, -c, "echo from-a > /tmp/shared/a"]}
      - {name: main, image: x, command: [cat, /tmp/shared/a], dependencies: [a]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(result(node(&wf, "[0].mirrored")), Some("filled"));
    assert_eq!(result(node(&wf, "[0].set")), Some("from-a"));
}
