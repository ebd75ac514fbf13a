//! One text rule on both stores: client text holding NUL (which PostgreSQL cannot store) is a
//! 400 problem+json naming the field on every route that takes text, in the body (however
//! deep), the path or the query; text the orchestrator reports has NUL replaced, so a run whose
//! step printed one still gets its final status.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    nul_in_any_body_field_is_a_bad_request_naming_it,
    nul_in_a_path_or_query_parameter_is_a_bad_request_naming_it,
    invalid_unicode_in_a_body_is_a_bad_request,
    a_failed_step_whose_last_log_line_holds_nul_still_records_its_final_status,
);

/// Sends `body` (raw JSON text, so `\u0000` escapes arrive as written) and checks the answer
/// is a 400 problem+json whose first error points at `pointer`.
async fn assert_refused(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    pointer: &str,
) {
    let mut request = app
        .client
        .request(method.clone(), format!("{}/api/v1{path}", app.base))
        .bearer_auth(&app.admin);
    if let Some(body) = &body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    let problem: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{method} {path} {body:?}: {problem}"
    );
    assert_eq!(content_type, "application/problem+json", "{method} {path}");
    assert_eq!(problem["status"], 400);
    assert_eq!(
        problem["errors"][0]["pointer"], pointer,
        "{method} {path}: {problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("NUL"),
        "{problem}"
    );
}

async fn nul_in_any_body_field_is_a_bad_request_naming_it(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let nul = "a\u{0}b";
    let mut deep_config = crate::harness::valid_config("h");
    deep_config["root"] = json!(nul);
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/projects/labors/configs".into(),
            json!({"workflow_type": "sftp-to-storage", "workflow_name": nul, "config": {}}),
            "/workflow_name",
        ),
        (
            Method::POST,
            "/projects/labors/configs".into(),
            json!({"workflow_type": "sftp-to-storage", "workflow_name": "x", "config": deep_config,
                "comment": "fine"}),
            "/config/root",
        ),
        (
            Method::POST,
            "/projects/labors/configs".into(),
            json!({"workflow_type": "sftp-to-storage", "workflow_name": "x", "config": {},
                "secrets": {"password": nul}}),
            "/secrets/password",
        ),
        (
            Method::PATCH,
            format!("/projects/labors/configs/{id}"),
            json!({"comment": nul}),
            "/comment",
        ),
        (
            Method::PATCH,
            format!("/projects/labors/configs/{id}"),
            json!({"config": {"list": [{"deep": [nul]}]}}),
            "/config/list/0/deep/0",
        ),
        (
            Method::PUT,
            format!("/projects/labors/configs/{id}/secrets"),
            json!({"pass\u{0}word": "v"}),
            "/pass\u{FFFD}word",
        ),
        (
            Method::PUT,
            format!("/projects/labors/configs/{id}/runtime"),
            json!({"config": {"max_files": 1, "note": {"x": nul}}}),
            "/config/note/x",
        ),
        (
            Method::PUT,
            format!("/projects/labors/configs/{id}/runtime"),
            json!({"timezone": nul}),
            "/timezone",
        ),
        (
            Method::POST,
            format!("/projects/labors/configs/{id}/submit"),
            json!({"workflow_yaml": nul, "version_number": 1}),
            "/workflow_yaml",
        ),
        (
            Method::POST,
            format!("/projects/labors/configs/{id}/submit"),
            json!({"workflow_yaml": "x", "version_number": 1, "parameters": {"p": nul}}),
            "/parameters/p",
        ),
        (
            Method::POST,
            "/projects/labors/runs".into(),
            json!({"run_id": "r2", "name": nul, "config_id": id, "version_number": 1}),
            "/name",
        ),
        (
            Method::PATCH,
            "/projects/labors/runs/r1".into(),
            json!({"append_output": nul}),
            "/append_output",
        ),
        (
            Method::PATCH,
            "/projects/labors/runs/r1".into(),
            json!({"output": nul}),
            "/output",
        ),
        (
            Method::PATCH,
            "/projects/labors/runs/r1".into(),
            json!({"state": {"files": [{"name": "ok"}, {"name": nul}]}}),
            "/state/files/1/name",
        ),
        (
            Method::PUT,
            "/projects/labors/runs/r1/metadata".into(),
            json!({"phase": "Failed", "message": nul, "nodes": {}}),
            "/message",
        ),
        (
            Method::PUT,
            "/projects/labors/runs/r1/metadata".into(),
            json!({"phase": "Failed", "nodes": {"n": {"name": "n", "type": "Pod", "phase": "Failed",
                "message": nul}}}),
            "/nodes/n/message",
        ),
        (
            Method::POST,
            "/projects/labors/runs/r1/sync".into(),
            json!({"workflow_name": nul}),
            "/workflow_name",
        ),
    ];
    for (method, path, body, pointer) in cases {
        assert_refused(&app, method, &path, Some(body), pointer).await;
    }
    // Nothing was stored by the refused requests.
    let (_, versions) = app
        .get(
            &format!("/projects/labors/configs/{id}/versions"),
            &app.admin,
        )
        .await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));
    let (_, run) = app.get("/projects/labors/runs/r1", &app.admin).await;
    assert_eq!(run["output"], "");
    assert_eq!(run["state"], json!({}));
    // An escaped backslash before "u0000" is ordinary text, not a NUL.
    let (status, run) = app
        .patch(
            "/projects/labors/runs/r1",
            &app.admin,
            json!({"append_output": "\\u0000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let (_, run) = app.get("/projects/labors/runs/r1", &app.admin).await;
    assert_eq!(run["output"], "\\u0000");
}

async fn nul_in_a_path_or_query_parameter_is_a_bad_request_naming_it(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            "/projects/lab%00ors/configs".into(),
            None,
            "/project",
        ),
        (
            Method::GET,
            "/projects/labors/runs/r%001".into(),
            None,
            "/run_id",
        ),
        (
            Method::PATCH,
            "/projects/labors/runs/r%001".into(),
            Some(json!({"output": "x"})),
            "/run_id",
        ),
        (
            Method::GET,
            "/projects/labors/runs/r%001/metadata".into(),
            None,
            "/run_id",
        ),
        (
            Method::POST,
            "/projects/labors/runs/r%001/stop".into(),
            None,
            "/run_id",
        ),
        (Method::GET, "/workflows/sftp%00".into(), None, "/name"),
        (
            Method::GET,
            "/projects/labors/configs?workflow_type=sftp%00".into(),
            None,
            "/workflow_type",
        ),
        (
            Method::GET,
            "/projects/labors/configs?cursor=%00".into(),
            None,
            "/cursor",
        ),
        (
            Method::GET,
            format!("/projects/labors/configs/{id}/runs?cursor=a%00"),
            None,
            "/cursor",
        ),
        (
            Method::GET,
            format!("/projects/labors/configs/{id}/previous_state?keys=a%00"),
            None,
            "/keys",
        ),
        (
            Method::GET,
            format!("/projects/labors/configs/{id}/previous_state?keys=a&before_run_id=r%00"),
            None,
            "/before_run_id",
        ),
        (
            Method::GET,
            "/projects/labors/events?cursor=%00".into(),
            None,
            "/cursor",
        ),
    ];
    for (method, path, body, pointer) in cases {
        assert_refused(&app, method, &path, body, pointer).await;
    }
}

async fn invalid_unicode_in_a_body_is_a_bad_request(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    for body in [
        b"{\"append_output\": \"\xff\xfe\"}".to_vec(),
        br#"{"append_output": "\ud800"}"#.to_vec(),
    ] {
        let response = app
            .client
            .patch(format!("{}/api/v1/projects/labors/runs/r1", app.base))
            .bearer_auth(&app.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

/// A step that prints a NUL byte as its last line, then fails: the engine takes that line as
/// the step's message (`FallbackToLogsOnError`, as Argo does).
const NUL_PRINTER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: nul-printer-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: speak, template: speak}
    - name: speak
      container:
        image: busybox
        command: [sh, -c, "printf 'before\\000after\\n'; exit 1"]
        terminationMessagePolicy: FallbackToLogsOnError
"#;

async fn a_failed_step_whose_last_log_line_holds_nul_still_records_its_final_status(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": NUL_PRINTER, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let metadata = loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        if status == StatusCode::OK && metadata["phase"] == "Failed" {
            break metadata;
        }
        assert!(
            Instant::now() < deadline,
            "no final metadata: {status} {metadata}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let speak = metadata["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|node| node["display_name"] == "speak")
        .expect("the speak node");
    let message = speak["message"].as_str().expect("a message");
    assert!(message.contains("before\u{FFFD}after"), "{message}");
    assert!(metadata["failed_nodes"]
        .as_array()
        .is_some_and(|f| !f.is_empty()));
    let (_, run) = app
        .get(&format!("/projects/labors/runs/{run_id}"), &app.admin)
        .await;
    assert!(
        run["output"]
            .as_str()
            .unwrap_or("")
            .contains("before\u{FFFD}after"),
        "{run}"
    );
    let (status, pipelines) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{pipelines}");
    assert_eq!(pipelines[0]["pipeline_state"], "failed", "{pipelines}");
    assert_eq!(pipelines[0]["last_run"]["phase"], "Failed");
}
