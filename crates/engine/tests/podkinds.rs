//! Pod kinds beyond one container, run for real:
//! - daemon_is_reached_on_loopback_by_later_steps_and_killed_when_its_steps_end
//! - dag_daemon_task_is_daemoned_for_its_dependents_and_ready_only_after_its_probe
//! - daemon_past_its_active_deadline_is_killed_and_failed
//! - terminating_a_run_kills_its_daemons
//! - sidecar_is_reachable_from_main_and_killed_after_it
//! - init_containers_run_in_order_sharing_the_work_dir
//! - failed_init_container_fails_the_node_and_main_never_runs
//! - container_set_runs_by_dependencies_and_main_gives_the_outputs
//! - container_set_dependency_failure_fails_the_pod_without_running_dependents
//! - inline_templates_run_in_steps_and_tasks
//! - http templates and refusals (module `http`)
//! - and Argo's own examples (module `examples`)

mod common;
#[path = "podkinds/examples.rs"]
mod examples;
#[path = "podkinds/http.rs"]
mod http;
#[path = "podkinds/support.rs"]
mod support;

use common::{node, result, run};
use polyphemus_engine::{NodeType, Phase, Workflow};
use support::{free_port, left_running, running_with};

#[tokio::test]
async fn daemon_is_reached_on_loopback_by_later_steps_and_killed_when_its_steps_end() {
    let port = free_port();
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: daemon-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: inner, template: inner}}
    - - {{name: after, template: closed}}
  - name: inner
    steps:
    - - {{name: server, template: server}}
    - - name: client
        template: client
        arguments: {{parameters: [{{name: ip, value: "{{{{steps.server.ip}}}}"}}]}}
  - name: server
    daemon: true
    container:
      image: nginx
      command: [sh, -c, "echo hi > index.html && exec python3 -m http.server {port} --bind 127.0.0.1"]
      readinessProbe: {{httpGet: {{path: /index.html, port: {port}}}}}
  - name: client
    inputs: {{parameters: [{{name: ip}}]}}
    container:
      image: curl
      command: [curl, --silent, "http://{{{{inputs.parameters.ip}}}}:{port}/index.html"]
  - name: closed
    container:
      image: curl
      command: [sh, -c, "! curl --silent --max-time 2 http://127.0.0.1:{port}/"]
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(result(node(&wf, "[0].inner[1].client")), Some("hi"));
    let server = node(&wf, "[0].inner[0].server");
    assert_eq!(server.phase, Phase::Succeeded);
    // Argo unsets `daemoned` when it kills the daemon at the end of its scope.
    assert_eq!(server.daemoned, None);
    assert_eq!(
        left_running(&format!("http.server {port}")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn dag_daemon_task_is_daemoned_for_its_dependents_and_ready_only_after_its_probe() {
    let port = free_port();
    // The server only listens after 1s: the client would fail if it started before the probe.
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: dag-daemon-}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {{name: server, template: server}}
      - name: client
        template: client
        depends: server.Daemoned
        arguments: {{parameters: [{{name: ip, value: "{{{{tasks.server.ip}}}}"}}]}}
  - name: server
    daemon: true
    container:
      image: x
      command: [sh, -c, "sleep 1 && exec python3 -m http.server {port} --bind 127.0.0.1"]
      ports: [{{name: web, containerPort: {port}}}]
      readinessProbe: {{tcpSocket: {{port: web}}, periodSeconds: 1}}
  - name: client
    inputs: {{parameters: [{{name: ip}}]}}
    container:
      image: curl
      command: [sh, -c, "curl --silent -o /dev/null -w '%{{http_code}}' http://{{{{inputs.parameters.ip}}}}:{port}/"]
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(result(node(&wf, ".client")), Some("200"));
    assert_eq!(node(&wf, ".server").phase, Phase::Succeeded);
    assert_eq!(
        left_running(&format!("http.server {port}")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn daemon_past_its_active_deadline_is_killed_and_failed() {
    let secs = 4000 + (uuid::Uuid::new_v4().as_u128() % 5000) as u64;
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: daemon-deadline-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: d, template: d}}
    - - {{name: wait, template: wait}}
  - name: d
    daemon: true
    activeDeadlineSeconds: 1
    container: {{image: x, command: [sleep, "{secs}"]}}
  - name: wait
    container: {{image: x, command: [sleep, "2"]}}
"#
    ))
    .await;
    let d = node(&wf, "[0].d");
    assert_eq!(d.phase, Phase::Failed);
    assert_eq!(
        d.message.as_deref(),
        Some("Pod was active on the node longer than the specified deadline")
    );
    assert_eq!(
        left_running(&format!("sleep {secs}")).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn terminating_a_run_kills_its_daemons() {
    common::init_tracing();
    let secs = 4000 + (uuid::Uuid::new_v4().as_u128() % 5000) as u64;
    let wf = Workflow::from_yaml(&format!(
        r#"
kind: Workflow
metadata: {{generateName: daemon-stop-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: d, template: d}}
    - - {{name: wait, template: wait}}
  - name: d
    daemon: true
    container: {{image: x, command: [sleep, "{secs}"]}}
  - name: wait
    container: {{image: x, command: [sleep, "60"]}}
"#
    ))
    .expect("workflow");
    let handle = common::engine()
        .submit(wf, Vec::new(), &polyphemus_engine::TemplateLibrary::new())
        .expect("submits");
    for _ in 0..100 {
        if !running_with(&format!("sleep {secs}")).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    handle.terminate();
    let wf = handle.wait().await;
    assert_ne!(wf.status.phase, Phase::Succeeded);
    assert_eq!(
        left_running(&format!("sleep {secs}")).await,
        Vec::<String>::new()
    );
}

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
