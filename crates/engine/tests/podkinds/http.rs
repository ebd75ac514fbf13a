//! `http` templates against a local HTTP server, and the template kinds refused:
//! - http_template_succeeds_on_2xx_and_gives_the_body
//! - http_template_without_an_answer_fails_naming_why
//! - http_success_condition_sees_status_body_and_headers
//! - resource_templates_are_refused_as_needing_a_cluster

use polyphemus_engine::{EngineError, NodeType, Phase, Workflow};

use super::common::{node, result, run};
use super::support::{free_port, serve_http};

#[tokio::test]
async fn http_template_succeeds_on_2xx_and_gives_the_body() {
    let base = serve_http().await;
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: http-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: good, template: get, arguments: {{parameters: [{{name: path, value: ok}}]}}}}
      - name: bad
        template: get
        continueOn: {{failed: true}}
        arguments: {{parameters: [{{name: path, value: missing}}]}}
  - name: get
    inputs: {{parameters: [{{name: path}}]}}
    http: {{url: "{base}/{{{{inputs.parameters.path}}}}"}}
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let good = node(&wf, "[0].good");
    assert_eq!(good.node_type, NodeType::Http);
    assert_eq!(result(good), Some("hello"));
    let bad = node(&wf, "[0].bad");
    assert_eq!(bad.phase, Phase::Failed);
    assert_eq!(
        bad.message.as_deref(),
        Some("received non-2xx response code: 404")
    );
}

#[tokio::test]
async fn http_template_without_an_answer_fails_naming_why() {
    let closed = free_port();
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: http-refused-}}
spec:
  entrypoint: get
  templates:
  - name: get
    http: {{url: "http://127.0.0.1:{closed}/", headers: [{{name: Authorization, value: s3cr3t}}]}}
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    let msg = node(&wf, "").message.clone().unwrap_or_default();
    assert!(msg.starts_with("error sending request"), "{msg}");
    assert!(!msg.contains("s3cr3t"), "{msg}");
}

#[tokio::test]
async fn http_success_condition_sees_status_body_and_headers() {
    let base = serve_http().await;
    let wf = run(&format!(
        r#"
kind: Workflow
metadata: {{generateName: http-cond-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {{name: created, template: created}}
      - {{name: header, template: header}}
      - {{name: body, template: body, continueOn: {{failed: true}}}}
  - name: created
    http: {{url: "{base}/created", method: POST, body: "x", successCondition: "response.statusCode == 201"}}
  - name: header
    http:
      url: "{base}/echo"
      headers: [{{name: X-Token, value: seen}}]
      successCondition: 'response.headers["X-Echo"][0] == "seen" && response.body == "seen"'
  - name: body
    http: {{url: "{base}/ok", successCondition: 'response.body contains "nope"'}}
"#
    ))
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(node(&wf, "[0].created").phase, Phase::Succeeded);
    assert_eq!(node(&wf, "[0].header").phase, Phase::Succeeded);
    let body = node(&wf, "[0].body");
    assert_eq!(body.phase, Phase::Failed);
    assert_eq!(
        body.message.as_deref(),
        Some("successCondition 'response.body contains \"nope\"' evaluated false")
    );
}

#[test]
fn resource_templates_are_refused_as_needing_a_cluster() {
    let refused = |yaml: &str| match Workflow::from_yaml(yaml) {
        Err(EngineError::Unsupported { field, reason }) => format!("{field}: {reason}"),
        other => panic!("not refused: {other:?}"),
    };
    let resource = refused(
        "kind: Workflow\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    resource: {action: create, manifest: x}\n",
    );
    assert!(
        resource.contains("spec.templates[m].resource"),
        "{resource}"
    );
    assert!(resource.contains("need a Kubernetes cluster"), "{resource}");
    let secret = refused(
        "kind: Workflow\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    http: {url: x, headers: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]}\n",
    );
    assert!(secret.contains("http.headers[A].valueFrom"), "{secret}");
}
