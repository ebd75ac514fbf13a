//! Argo Server's workflow API on the local engine (`/argo/api/v1`): a namespace is a project,
//! the token a Polyphemus token; answers are checked against Argo's swagger.json.
//!
//! - an_ad_hoc_workflow_runs_and_reads_back_in_argo_shapes
//! - a_workflow_naming_a_config_version_is_a_run_of_it
//! - a_dry_run_checks_the_workflow_and_stores_nothing
//! - a_viewer_reads_but_cannot_create_or_stop
//! - refusals_come_in_argo_shape_with_grpc_codes
//! - stop_ends_a_running_workflow_and_its_log_streams
//! - a_watch_streams_added_then_modified_until_it_succeeds

use crate::argo_contract::Contract;
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    an_ad_hoc_workflow_runs_and_reads_back_in_argo_shapes,
    a_workflow_naming_a_config_version_is_a_run_of_it,
    a_dry_run_checks_the_workflow_and_stores_nothing,
    a_viewer_reads_but_cannot_create_or_stop,
    refusals_come_in_argo_shape_with_grpc_codes,
    stop_ends_a_running_workflow_and_its_log_streams,
    a_watch_streams_added_then_modified_until_it_succeeds,
);

pub(crate) const WORKFLOWS: &str = "/api/v1/workflows/{namespace}";
pub(crate) const WORKFLOW: &str = "/api/v1/workflows/{namespace}/{name}";

/// A request to `/argo{path}`: status and body (JSON, else the text as a string).
pub(crate) async fn argo(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, format!("{}/argo{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

pub(crate) fn hello(command: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "hello-", "labels": {"team": "data"}},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", command]}}
        ]}
    })
}

pub(crate) fn assert_conforms(path: &str, method: &str, body: &Value) {
    let errors = Contract::get().check_response(path, method, body);
    assert!(errors.is_empty(), "{errors:#?}\n{body:#}");
}

pub(crate) async fn create(app: &TestApp, project: &str, workflow: Value) -> Value {
    let path = format!("/api/v1/workflows/{project}");
    let (status, created) = argo(
        app,
        Method::POST,
        &path,
        Some(&app.admin),
        Some(json!({"workflow": workflow})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_conforms(WORKFLOWS, "post", &created);
    created
}

/// Reads the workflow until its phase is final.
pub(crate) async fn until_ended(app: &TestApp, project: &str, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = format!("/api/v1/workflows/{project}/{name}");
        let (status, workflow) = argo(app, Method::GET, &path, Some(&app.admin), None).await;
        assert_eq!(status, StatusCode::OK, "{workflow}");
        if matches!(
            workflow["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed" | "Error")
        ) {
            assert_conforms(WORKFLOW, "get", &workflow);
            return workflow;
        }
        assert!(Instant::now() < deadline, "{workflow:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn an_ad_hoc_workflow_runs_and_reads_back_in_argo_shapes(app: TestApp) {
    let created = create(&app, "labors", hello("echo hello argo")).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert_eq!(created["metadata"]["namespace"], "labors");
    assert!(created["metadata"]["uid"].is_string(), "{created}");
    assert!(
        created["metadata"]["creationTimestamp"].is_string(),
        "{created}"
    );
    let ended = until_ended(&app, "labors", &name).await;
    assert_eq!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    assert!(ended["status"]["startedAt"].is_string() && ended["status"]["finishedAt"].is_string());
    assert!(!ended["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .is_empty());

    // Listed with a label selector and Argo's fields projection.
    let list = "/api/v1/workflows/labors?listOptions.labelSelector=team%3Ddata&fields=items.metadata.name,items.status.phase";
    let (status, listed) = argo(&app, Method::GET, list, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(
        listed["items"],
        json!([{"metadata": {"name": name}, "status": {"phase": "Succeeded"}}])
    );
    let none = "/api/v1/workflows/labors?listOptions.labelSelector=team%3Dother";
    let (_, empty) = argo(&app, Method::GET, none, Some(&app.admin), None).await;
    assert_eq!(empty["items"], json!([]), "{empty}");
    assert_conforms(WORKFLOWS, "get", &empty);

    // An ad-hoc run of the project, apart from its configs.
    let (_, runs) = app
        .get("/projects/labors/runs?workflow_type=ad-hoc", &app.admin)
        .await;
    let items = runs["items"].as_array().expect("runs");
    assert_eq!(items.len(), 1, "{runs}");
    assert_eq!(items[0]["name"], name.as_str());
    let (_, configs) = app.get("/projects/labors/configs", &app.admin).await;
    assert_eq!(
        configs["items"],
        json!([]),
        "the ad-hoc config is not listed: {configs}"
    );
}

async fn a_workflow_naming_a_config_version_is_a_run_of_it(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    let mut workflow = hello("echo for a config");
    workflow["spec"]["arguments"] = json!({"parameters": [
        {"name": "config_id", "value": config_id.to_string()},
        {"name": "version_number", "value": "1"},
    ]});
    let created = create(&app, "labors", workflow).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    until_ended(&app, "labors", &name).await;
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    let names: Vec<&str> = runs["items"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, [name.as_str()], "{runs}");
}

async fn a_dry_run_checks_the_workflow_and_stores_nothing(app: TestApp) {
    let body = json!({"workflow": hello("echo dry"), "serverDryRun": true});
    let (status, checked) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["spec"]["entrypoint"], "main");
    let (_, listed) = argo(
        &app,
        Method::GET,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    let mut broken = hello("echo");
    broken["spec"]["entrypoint"] = json!("nowhere");
    let body = json!({"workflow": broken, "serverDryRun": true});
    let (status, refused) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(3)),
        "{refused}"
    );
    let lint = json!({"workflow": hello("echo lint")});
    let (status, linted) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors/lint",
        Some(&app.admin),
        Some(lint),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linted}");
}

async fn a_viewer_reads_but_cannot_create_or_stop(app: TestApp) {
    let created = create(&app, "labors", hello("echo hi")).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let viewer = app.token("labors", Role::Viewer).await;
    let body = json!({"workflow": hello("echo no")});
    let (status, refused) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&viewer),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::FORBIDDEN, json!(7)),
        "{refused}"
    );
    let editor = app.token("labors", Role::Editor).await;
    let (status, _) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&editor),
        Some(body),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "creating needs admin, as submit does"
    );
    let path = format!("/api/v1/workflows/labors/{name}");
    let (status, read) = argo(&app, Method::GET, &path, Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let (status, refused) = argo(
        &app,
        Method::PUT,
        &format!("{path}/stop"),
        Some(&viewer),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::FORBIDDEN, json!(7)),
        "{refused}"
    );
}

async fn refusals_come_in_argo_shape_with_grpc_codes(app: TestApp) {
    let (status, body) = argo(&app, Method::GET, "/api/v1/workflows/labors", None, None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(16)),
        "{body}"
    );
    assert!(body["message"].is_string());
    let problems = Contract::get().check("grpc.gateway.runtime.Error", &body);
    assert!(problems.is_empty(), "{problems:?}");
    let other = app.token("other", Role::Admin).await;
    let (status, body) = argo(
        &app,
        Method::GET,
        "/api/v1/workflows/labors",
        Some(&other),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!(5)),
        "{body}"
    );
    let (status, body) = argo(
        &app,
        Method::GET,
        "/api/v1/workflows/labors/nope",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!(5)),
        "{body}"
    );
    for bad in [json!({}), json!({"workflow": 7}), json!("text")] {
        let (status, body) = argo(
            &app,
            Method::POST,
            "/api/v1/workflows/labors",
            Some(&app.admin),
            Some(bad),
        )
        .await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(3)),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("workflow") || m.contains("body")),
            "{body}"
        );
    }
    // Operations Polyphemus does not implement, and a method a path does not take, answer as
    // grpc-gateway does, not with the v1 API's problem document.
    for (method, path, want) in [
        (Method::GET, "/api/v1/userinfo", (StatusCode::NOT_FOUND, 5)),
        (Method::GET, "/api/v1/info", (StatusCode::NOT_FOUND, 5)),
        (
            Method::PATCH,
            "/api/v1/workflows/labors",
            (StatusCode::NOT_IMPLEMENTED, 12),
        ),
    ] {
        let (status, body) = argo(&app, method, path, Some(&app.admin), None).await;
        assert_eq!(
            (status, body["code"].clone()),
            (want.0, json!(want.1)),
            "{body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(path)),
            "{body}"
        );
        let problems = Contract::get().check("grpc.gateway.runtime.Error", &body);
        assert!(problems.is_empty(), "{problems:?}");
    }
    let mut half = hello("echo");
    half["spec"]["arguments"] = json!({"parameters": [{"name": "config_id", "value": "1"}]});
    let (status, body) = argo(
        &app,
        Method::POST,
        "/api/v1/workflows/labors",
        Some(&app.admin),
        Some(json!({"workflow": half})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(3)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("version_number")),
        "{body}"
    );
}

async fn stop_ends_a_running_workflow_and_its_log_streams(app: TestApp) {
    let created = create(&app, "labors", hello("echo started; sleep 60")).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = format!("/api/v1/workflows/labors/{name}/log?logOptions.container=main");
    loop {
        let (status, text) = argo(&app, Method::GET, &log, Some(&app.admin), None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let text = text
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| text.to_string());
        if let Some(line) = text.lines().next() {
            let entry: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(entry["result"]["content"], "started", "{text}");
            assert!(entry["result"]["podName"].is_string(), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "no log line yet");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let editor = app.token("labors", Role::Editor).await;
    let path = format!("/api/v1/workflows/labors/{name}/stop");
    let (status, stopped) = argo(
        &app,
        Method::PUT,
        &path,
        Some(&editor),
        Some(json!({"name": name, "namespace": "labors"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    let ended = until_ended(&app, "labors", &name).await;
    assert!(
        matches!(ended["status"]["phase"].as_str(), Some("Failed" | "Error")),
        "{ended:#}"
    );
}

async fn a_watch_streams_added_then_modified_until_it_succeeds(app: TestApp) {
    let created = create(&app, "labors", hello("sleep 1; echo done")).await;
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let url = format!(
        "{}/argo/api/v1/workflow-events/labors?listOptions.fieldSelector=metadata.name%3D{name}",
        app.base
    );
    let mut response = app
        .client
        .get(url)
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("watch");
    assert_eq!(response.status(), StatusCode::OK);
    let (mut text, mut types) = (String::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while types
        .last()
        .map(|(_, phase): &(String, String)| phase.as_str())
        != Some("Succeeded")
    {
        assert!(Instant::now() < deadline, "{types:?}");
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event in time")
            .expect("chunk")
            .expect("the stream goes on");
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        while let Some(end) = text.find('\n') {
            let line: Value = serde_json::from_str(&text[..end]).expect("a JSON line");
            text.drain(..=end);
            let problems = Contract::get().check(
                "io.argoproj.workflow.v1alpha1.WorkflowWatchEvent",
                &line["result"],
            );
            assert!(problems.is_empty(), "{problems:?}");
            let event = &line["result"];
            assert_eq!(event["object"]["metadata"]["name"], name.as_str());
            let phase = event["object"]["status"]["phase"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            types.push((event["type"].as_str().unwrap_or_default().to_owned(), phase));
        }
    }
    assert_eq!(types[0].0, "ADDED", "{types:?}");
    assert!(
        types[1..].iter().all(|(kind, _)| kind == "MODIFIED"),
        "{types:?}"
    );
}
