//! Argo Server's CronWorkflowService on the local engine (`/argo/api/v1/cron-workflows`):
//! answers are checked against Argo's swagger.json, and the schedule is driven with a chosen
//! clock through `run_due_cron_workflows(now)`.
//!
//! - crud_answers_conform_to_argo_swagger
//! - a_duplicate_name_is_409_already_exists
//! - viewers_read_editors_suspend_admins_create
//! - an_invalid_schedule_or_workflow_spec_is_400_naming_the_field

use crate::argo_contract::Contract;
use crate::both_stores;
use crate::harness::TestApp;
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    crud_answers_conform_to_argo_swagger,
    a_duplicate_name_is_409_already_exists,
    viewers_read_editors_suspend_admins_create,
    an_invalid_schedule_or_workflow_spec_is_400_naming_the_field,
);

const CRONS: &str = "/api/v1/cron-workflows/{namespace}";
pub(crate) const CRON: &str = "/api/v1/cron-workflows/{namespace}/{name}";
pub(crate) const BASE: &str = "/api/v1/cron-workflows/labors";

pub(crate) async fn argo(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, format!("{}/argo{path}", app.base))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) fn conforms(path: &str, method: &str, body: &Value) {
    let errors = Contract::get().check_response(path, method, body);
    assert!(errors.is_empty(), "{errors:#?}\n{body:#}");
}

pub(crate) fn cron(name: &str, command: &str, extra: Value) -> Value {
    let mut spec = json!({
        "schedules": ["* * * * *"],
        "workflowMetadata": {"labels": {"team": "data"}},
        "workflowSpec": {"entrypoint": "main", "templates": [
            {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", command]}}
        ]}
    });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        spec[key] = value;
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": name, "labels": {"kind": "nightly"}},
        "spec": spec,
    })
}

pub(crate) async fn create(app: &TestApp, document: Value) -> Value {
    let body = json!({"cronWorkflow": document});
    let (status, created) = argo(app, Method::POST, BASE, &app.admin, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    conforms(CRONS, "post", &created);
    created
}

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Value) {
    (answer.0, answer.1["code"].clone())
}

/// The first whole minute after now: the next tick of `* * * * *` for a new CronWorkflow.
pub(crate) fn next_minute() -> DateTime<Utc> {
    Utc::now().duration_trunc(Span::minutes(1)).expect("trunc") + Span::minutes(1)
}

/// The workflows a CronWorkflow created, found by Argo's label.
pub(crate) async fn workflows_of(app: &TestApp, name: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/workflows/labors?listOptions.labelSelector=workflows.argoproj.io/cron-workflow%3D{name}"
    );
    let (status, listed) = argo(app, Method::GET, &path, &app.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["items"].as_array().cloned().unwrap_or_default()
}

pub(crate) async fn until_ended(app: &TestApp, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = format!("/api/v1/workflows/labors/{name}");
        let (_, workflow) = argo(app, Method::GET, &path, &app.admin, None).await;
        if matches!(
            workflow["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed" | "Error")
        ) {
            return workflow;
        }
        assert!(Instant::now() < deadline, "{workflow:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the CronWorkflow until no workflow of it is active (the run's end is recorded a
/// moment after the engine reports it).
pub(crate) async fn until_inactive(app: &TestApp, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = format!("{BASE}/{name}");
        let (_, cron) = argo(app, Method::GET, &path, &app.admin, None).await;
        if cron["status"]["active"] == json!([]) {
            return cron;
        }
        assert!(Instant::now() < deadline, "{cron:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn crud_answers_conform_to_argo_swagger(app: TestApp) {
    let dry = json!({"cronWorkflow": cron("nightly", "echo hi", json!({})),
                     "createOptions": {"dryRun": ["All"]}});
    let (status, checked) = argo(&app, Method::POST, BASE, &app.admin, Some(dry)).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    let unstored = argo(
        &app,
        Method::GET,
        &format!("{BASE}/nightly"),
        &app.admin,
        None,
    )
    .await;
    assert_eq!(
        unstored.0,
        StatusCode::NOT_FOUND,
        "a dry run stores nothing"
    );
    let created = create(&app, cron("nightly", "echo hi", json!({}))).await;
    assert_eq!(created["metadata"]["namespace"], "labors");
    assert!(created["metadata"]["uid"].is_string(), "{created}");
    assert_eq!(created["spec"]["suspend"], false);
    let version = created["metadata"]["resourceVersion"].clone();

    let (status, read) = argo(
        &app,
        Method::GET,
        &format!("{BASE}/nightly"),
        &app.admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    conforms(CRON, "get", &read);
    assert_eq!(read["metadata"]["uid"], created["metadata"]["uid"]);

    let list = format!("{BASE}?listOptions.labelSelector=kind%3Dnightly");
    let (_, listed) = argo(&app, Method::GET, &list, &app.admin, None).await;
    conforms(CRONS, "get", &listed);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let none = format!("{BASE}?listOptions.labelSelector=kind%3Dother");
    let (_, empty) = argo(&app, Method::GET, &none, &app.admin, None).await;
    assert_eq!(empty["items"], json!([]), "{empty}");

    let mut changed = read.clone();
    changed["spec"]["schedules"] = json!(["0 3 * * *"]);
    changed["spec"]["timezone"] = json!("Europe/Berlin");
    let body = json!({"cronWorkflow": changed, "name": "nightly", "namespace": "labors"});
    let path = format!("{BASE}/nightly");
    let (status, updated) = argo(&app, Method::PUT, &path, &app.admin, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    conforms(CRON, "put", &updated);
    assert_eq!(updated["spec"]["schedules"], json!(["0 3 * * *"]));
    assert_ne!(updated["metadata"]["resourceVersion"], version);
    let stale = argo(&app, Method::PUT, &path, &app.admin, Some(body)).await;
    assert_eq!(
        code_of(&stale),
        (StatusCode::CONFLICT, json!(10)),
        "{}",
        stale.1
    );

    let lint = json!({"cronWorkflow": cron("other", "echo", json!({}))});
    let (status, linted) = argo(
        &app,
        Method::POST,
        &format!("{BASE}/lint"),
        &app.admin,
        Some(lint),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linted}");
    conforms("/api/v1/cron-workflows/{namespace}/lint", "post", &linted);

    for (action, suspended) in [("suspend", true), ("resume", false)] {
        let path = format!("{BASE}/nightly/{action}");
        let body = json!({"name": "nightly", "namespace": "labors"});
        let (status, acted) = argo(&app, Method::PUT, &path, &app.admin, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{acted}");
        conforms(&format!("{CRON}/{action}"), "put", &acted);
        assert_eq!(acted["spec"]["suspend"], suspended, "{acted}");
    }

    let (status, deleted) = argo(&app, Method::DELETE, &path, &app.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    conforms(CRON, "delete", &deleted);
    let gone = argo(&app, Method::GET, &path, &app.admin, None).await;
    assert_eq!(
        code_of(&gone),
        (StatusCode::NOT_FOUND, json!(5)),
        "{}",
        gone.1
    );
    let again = argo(&app, Method::DELETE, &path, &app.admin, None).await;
    assert_eq!(code_of(&again), (StatusCode::NOT_FOUND, json!(5)));
}

async fn a_duplicate_name_is_409_already_exists(app: TestApp) {
    create(&app, cron("nightly", "echo", json!({}))).await;
    let body = json!({"cronWorkflow": cron("nightly", "echo again", json!({}))});
    let answer = argo(&app, Method::POST, BASE, &app.admin, Some(body)).await;
    assert_eq!(
        code_of(&answer),
        (StatusCode::CONFLICT, json!(6)),
        "{}",
        answer.1
    );
    let problems = Contract::get().check("grpc.gateway.runtime.Error", &answer.1);
    assert!(problems.is_empty(), "{problems:?}");
    // The same name in another project is another CronWorkflow.
    let body = json!({"cronWorkflow": cron("nightly", "echo", json!({}))});
    let (status, _) = argo(
        &app,
        Method::POST,
        "/api/v1/cron-workflows/other",
        &app.admin,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn viewers_read_editors_suspend_admins_create(app: TestApp) {
    create(&app, cron("nightly", "echo", json!({}))).await;
    let viewer = app.token("labors", Role::Viewer).await;
    let editor = app.token("labors", Role::Editor).await;
    let path = format!("{BASE}/nightly");
    assert_eq!(
        argo(&app, Method::GET, &path, &viewer, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        argo(&app, Method::GET, BASE, &viewer, None).await.0,
        StatusCode::OK
    );
    let lint = json!({"cronWorkflow": cron("x", "echo", json!({}))});
    let linted = argo(
        &app,
        Method::POST,
        &format!("{BASE}/lint"),
        &viewer,
        Some(lint),
    )
    .await;
    assert_eq!(linted.0, StatusCode::OK, "{}", linted.1);
    let body = json!({"cronWorkflow": cron("mine", "echo", json!({}))});
    for token in [&viewer, &editor] {
        let refused = argo(&app, Method::POST, BASE, token, Some(body.clone())).await;
        assert_eq!(
            code_of(&refused),
            (StatusCode::FORBIDDEN, json!(7)),
            "{}",
            refused.1
        );
        let update = json!({"cronWorkflow": cron("nightly", "echo changed", json!({}))});
        let refused = argo(&app, Method::PUT, &path, token, Some(update)).await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
        let refused = argo(&app, Method::DELETE, &path, token, None).await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    }
    let refused = argo(
        &app,
        Method::PUT,
        &format!("{path}/suspend"),
        &viewer,
        Some(json!({})),
    )
    .await;
    assert_eq!(code_of(&refused), (StatusCode::FORBIDDEN, json!(7)));
    for action in ["suspend", "resume"] {
        let acted = argo(
            &app,
            Method::PUT,
            &format!("{path}/{action}"),
            &editor,
            Some(json!({})),
        )
        .await;
        assert_eq!(acted.0, StatusCode::OK, "{}", acted.1);
    }
    let other = app.token("other", Role::Admin).await;
    let hidden = argo(&app, Method::GET, &path, &other, None).await;
    assert_eq!(code_of(&hidden), (StatusCode::NOT_FOUND, json!(5)));
}

async fn an_invalid_schedule_or_workflow_spec_is_400_naming_the_field(app: TestApp) {
    let mut no_entry = cron("bad", "echo", json!({}));
    no_entry["spec"]["workflowSpec"]["entrypoint"] = json!("nowhere");
    let mut legacy = cron("bad", "echo", json!({"schedule": "61 * * * *"}));
    legacy["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("schedules");
    for (document, field) in [
        (legacy, "spec/schedule"),
        (
            cron("bad", "echo", json!({"schedules": ["* * *"]})),
            "spec/schedules/0",
        ),
        (
            cron("bad", "echo", json!({"timezone": "Mars/Base"})),
            "spec/timezone",
        ),
        (
            cron("bad", "echo", json!({"concurrencyPolicy": "Sometimes"})),
            "spec/concurrencyPolicy",
        ),
        (no_entry, "spec/workflowSpec"),
        (cron("Bad_Name", "echo", json!({})), "metadata/name"),
    ] {
        let body = json!({"cronWorkflow": document});
        let answer = argo(&app, Method::POST, BASE, &app.admin, Some(body)).await;
        assert_eq!(
            code_of(&answer),
            (StatusCode::BAD_REQUEST, json!(3)),
            "{}",
            answer.1
        );
        let message = answer.1["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{message} names {field}");
    }
    let missing = argo(&app, Method::POST, BASE, &app.admin, Some(json!({}))).await;
    assert_eq!(code_of(&missing), (StatusCode::BAD_REQUEST, json!(3)));
    let (_, listed) = argo(&app, Method::GET, BASE, &app.admin, None).await;
    assert_eq!(listed["items"], json!([]), "nothing stored: {listed}");
}
