//! Resuming suspended runs through the API (`POST /projects/{p}/runs/{id}/resume`):
//! - a_suspended_local_run_goes_on_when_an_editor_resumes_it (real processes, both stores)
//! - resuming_a_run_that_is_not_suspended_is_a_conflict (both stores)
//! - resume_reaches_argo_as_its_resume_request (the Argo Server double)

use crate::argo::{app_with, final_metadata, launch, node_named, settings, TOKEN};
use crate::argo_double::{ArgoDouble, Outcome};
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    a_suspended_local_run_goes_on_when_an_editor_resumes_it,
    resuming_a_run_that_is_not_suspended_is_a_conflict
);

const APPROVAL: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: approve, template: approve}
        - - {name: release, template: release}
    - name: approve
      suspend: {}
    - name: release
      container: {image: busybox, command: [echo, released]}
"#;

const SLEEPER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sleeper-}
spec:
  entrypoint: nap
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: nap
      container: {image: busybox, command: [sleep, "60"]}
"#;

/// Submits `yaml` on a new config; the run, once its workflow shows a node `ready` says.
async fn submit_until(app: &TestApp, yaml: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": yaml, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let name = run["name"].as_str().expect("name");
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let workflow = orchestrator
            .workflow("local", name)
            .await
            .expect("workflow");
        let nodes = workflow["status"]["nodes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if nodes.values().any(&ready) {
            return run;
        }
        assert!(Instant::now() < deadline, "not ready: {workflow}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn resume(app: &TestApp, run_id: &str, token: &str) -> (StatusCode, Value) {
    let path = format!("/projects/labors/runs/{run_id}/resume");
    app.post(&path, token, json!({})).await
}

async fn a_suspended_local_run_goes_on_when_an_editor_resumes_it(app: TestApp) {
    let run = submit_until(&app, APPROVAL, |n| {
        n["type"] == "Suspend" && n["phase"] == "Running"
    })
    .await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let viewer = app.token("labors", Role::Viewer).await;
    let (status, _) = resume(&app, run_id, &viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers cannot resume runs");
    let editor = app.token("labors", Role::Editor).await;
    let (status, body) = resume(&app, run_id, &editor).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["run_id"], run_id);

    let metadata = final_metadata(&app, run_id).await;
    assert_eq!(metadata["phase"], "Succeeded", "{metadata}");
    let approve = node_named(&metadata, "approve").expect("approve");
    assert_eq!(approve["phase"], "Succeeded");
    assert_eq!(
        node_named(&metadata, "release").expect("release")["phase"],
        "Succeeded"
    );

    let (status, body) = resume(&app, run_id, &editor).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an ended run is not suspended: {body}"
    );
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "run.resumed")
        .cloned()
        .expect("an event naming who resumed the run");
    assert_eq!(event["actor"], "editor-labors");
    assert_eq!(event["run_id"], run_id);
}

async fn resuming_a_run_that_is_not_suspended_is_a_conflict(app: TestApp) {
    let run = submit_until(&app, SLEEPER, |n| n["phase"] == "Running").await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let (status, body) = resume(&app, run_id, &app.admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not suspended"),
        "{body}"
    );
    let (status, _) = resume(&app, "00000000-0000-4000-8000-000000000000", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let path = format!("/projects/labors/runs/{run_id}/terminate");
    let (status, _) = app.post(&path, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_reaches_argo_as_its_resume_request() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    let editor = app.token("labors", Role::Editor).await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let name = run["name"].as_str().expect("name");

    let (status, _) = resume(&app, run_id, &editor).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing suspended yet");
    double.suspend_at_first_step(name);
    let (status, body) = resume(&app, run_id, &editor).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let workflow = double.workflow(name);
    let suspended: Vec<&Value> = workflow["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter(|n| n["type"] == "Suspend")
        .collect();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0]["phase"], "Succeeded");
    let resumes: Vec<_> = double
        .requests()
        .into_iter()
        .filter(|r| r.method == "put" && r.path.ends_with("/resume"))
        .collect();
    assert_eq!(resumes.len(), 1, "{resumes:?}");
    assert_eq!(
        resumes[0].path,
        format!("/api/v1/workflows/etl/{name}/resume")
    );
    assert_eq!(resumes[0].body, json!({"name": name, "namespace": "etl"}));
    assert_eq!(
        resumes[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let (status, _) = resume(&app, run_id, &editor).await;
    assert_eq!(status, StatusCode::CONFLICT, "resumed already");
    double.finish(name, Outcome::Succeeded);
    assert_eq!(final_metadata(&app, run_id).await["phase"], "Succeeded");
    let (status, _) = resume(&app, run_id, &editor).await;
    assert_eq!(status, StatusCode::CONFLICT, "ended");
    double.assert_contract_kept();
}
