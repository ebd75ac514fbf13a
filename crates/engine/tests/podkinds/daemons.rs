//! Daemon templates:
//! - daemon_is_reached_on_loopback_by_later_steps_and_killed_when_its_steps_end
//! - dag_daemon_task_is_daemoned_for_its_dependents_and_ready_only_after_its_probe
//! - daemon_past_its_active_deadline_is_killed_and_failed
//! - terminating_a_run_kills_its_daemons
//! - daemon_exec_probe_gates_the_next_step

use polyphemus_engine::{Phase, Workflow};

use super::common::{self, node, result, run};
use super::support::{free_port, left_running, running_with};

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
async fn daemon_exec_probe_gates_the_next_step() {
    let port = free_port();
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: daemon-exec-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: server, template: server}}
    - - {{name: client, template: client}}
  - name: server
    daemon: true
    container:
      image: x
      command: [sh, -c, "sleep 1; touch ready; exec python3 -m http.server {port} --bind 127.0.0.1"]
      readinessProbe: {{exec: {{command: [sh, -c, "test -f ready && curl -s -o /dev/null http://127.0.0.1:{port}/"]}}}}
  - name: client
    container: {{image: curl, command: [curl, --silent, -o, /dev/null, "http://127.0.0.1:{port}/"]}}
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(
        left_running(&format!("http.server {port}")).await,
        Vec::<String>::new()
    );
}
