//! Argo's own examples of daemons, sidecars, init containers, container sets, inline and
//! http templates (copies in `argo/`), run with their images swapped for local commands:
//! InfluxDB for `fake_influx` (tests/fixtures), nginx for `python3 -m http.server`, fixed
//! ports for free ones, `argosay` for `echo`, remote URLs for a local HTTP server.

use polyphemus_engine::Phase;

use super::common::{names, run};
use super::support::{free_port, serve_http};

const ARGOSAY: &str = "image: argoproj/argosay:v2";

/// Gives every `argosay` container (indented by `indent`) an `echo` command.
fn argosay_to_echo(yaml: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    yaml.replace(
        &format!("{pad}{ARGOSAY}\n"),
        &format!("{pad}{ARGOSAY}\n{pad}command: [echo, hello, argo]\n"),
    )
}

fn influx(yaml: &str, port: u16) -> String {
    yaml.replace(
        "image: influxdb:1.2\n",
        &format!("image: influxdb:1.2\n      command: [python3, -m, fake_influx, \"{port}\"]\n"),
    )
    .replace("8086", &port.to_string())
}

async fn phase_of(yaml: &str) -> Phase {
    let wf = run(yaml).await;
    if wf.status.phase != Phase::Succeeded {
        eprintln!("{:?}\n{:?}", names(&wf), wf.status);
    }
    wf.status.phase
}

#[tokio::test]
async fn argo_daemon_step() {
    let yaml = influx(include_str!("argo/daemon-step.yaml"), free_port());
    assert_eq!(phase_of(&yaml).await, Phase::Succeeded);
}

#[tokio::test]
async fn argo_dag_daemon_task() {
    let yaml = influx(include_str!("argo/dag-daemon-task.yaml"), free_port());
    assert_eq!(phase_of(&yaml).await, Phase::Succeeded);
}

#[tokio::test]
async fn argo_daemon_nginx() {
    let port = free_port();
    let yaml = include_str!("argo/daemon-nginx.yaml")
        .replace(
            "image: nginx:1.13\n",
            &format!("image: nginx:1.13\n      command: [python3, -m, http.server, \"{port}\", --bind, 127.0.0.1]\n"),
        )
        .replace("port: 80\n", &format!("port: {port}\n"))
        .replace(":80/", &format!(":{port}/"));
    assert_eq!(phase_of(&yaml).await, Phase::Succeeded);
}

#[tokio::test]
async fn argo_sidecar() {
    // The image's `influxd` becomes `fake_influx` (added by `influx`); curl is on the host.
    let yaml = include_str!("argo/sidecar.yaml")
        .replace("apk update &&", "")
        .replace("apk add curl &&", "")
        .replace("      command: [influxd]\n", "");
    assert_eq!(
        phase_of(&influx(&yaml, free_port())).await,
        Phase::Succeeded
    );
}

#[tokio::test]
async fn argo_sidecar_nginx() {
    let port = free_port();
    // `>&` is bash (and busybox sh, the image's); dash, this host's sh, refuses it.
    let yaml = include_str!("argo/sidecar-nginx.yaml")
        .replace(
            "command: [nginx, -g, daemon off;]",
            &format!("command: [python3, -m, http.server, \"{port}\", --bind, 127.0.0.1]"),
        )
        .replace("http://127.0.0.1/", &format!("http://127.0.0.1:{port}/"))
        .replace("command: [sh, -c]", "command: [bash, -c]");
    assert_eq!(phase_of(&yaml).await, Phase::Succeeded);
}

#[tokio::test]
async fn argo_init_container() {
    // Its main container mounts an emptyDir, which needs the sandbox.
    let engine = super::common::engine();
    if engine.sandbox_support() == polyphemus_engine::SandboxSupport::None {
        return;
    }
    assert_eq!(
        phase_of(include_str!("argo/init-container.yaml")).await,
        Phase::Succeeded
    );
}

#[tokio::test]
async fn argo_inline_steps_and_dag() {
    let steps = argosay_to_echo(include_str!("argo/steps-inline-workflow.yaml"), 16);
    assert_eq!(phase_of(&steps).await, Phase::Succeeded);
    let dag = argosay_to_echo(include_str!("argo/dag-inline-workflow.yaml"), 16);
    assert_eq!(phase_of(&dag).await, Phase::Succeeded);
}

#[tokio::test]
async fn argo_container_sets() {
    for yaml in [
        include_str!("argo/container-set-graph-workflow.yaml"),
        include_str!("argo/container-set-parallel-workflow.yaml"),
        include_str!("argo/container-set-sequence-workflow.yaml"),
        include_str!("argo/container-set-outputs-result-workflow.yaml"),
    ] {
        assert_eq!(phase_of(&argosay_to_echo(yaml, 12)).await, Phase::Succeeded);
    }
}

#[tokio::test]
async fn argo_http_templates() {
    let base = serve_http().await;
    let hello = include_str!("argo/http-hello-world.yaml")
        .replace(
            "https://raw.githubusercontent.com/argoproj/argo-workflows/4e450e250168e6b4d51a126b784e90b11a0162bc/pkg/apis/workflow/v1alpha1/generated.swagger.json",
            &format!("{base}/ok"),
        )
        .replace(
            "https://raw.githubusercontent.com/argoproj/argo-workflows/thisisnotahash/pkg/apis/workflow/v1alpha1/generated.swagger.json",
            &format!("{base}/missing"),
        );
    assert_eq!(phase_of(&hello).await, Phase::Succeeded);
    let condition = include_str!("argo/http-success-condition.yaml")
        .replace("https://httpbin.org/status/201", &format!("{base}/created"))
        .replace("https://google.com", &format!("{base}/google"));
    assert_eq!(phase_of(&condition).await, Phase::Succeeded);
}
