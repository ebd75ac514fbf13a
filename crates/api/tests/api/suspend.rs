//! Suspending running runs through the API (`POST /projects/{p}/runs/{id}/suspend`, `argo
//! suspend`), real processes on both stores:
//! - a_suspended_run_finishes_its_running_step_and_starts_the_next_only_when_resumed

use crate::argo::{final_metadata, node_named};
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(a_suspended_run_finishes_its_running_step_and_starts_the_next_only_when_resumed);

const TWO_STEPS: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: two-steps-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: first, template: slow}
        - - {name: second, template: say}
    - name: slow
      container: {image: busybox, command: [sh, -c, "sleep 1; echo first"]}
    - name: say
      container: {image: busybox, command: [echo, second]}
"#;

/// The run's workflow as the orchestrator has it now.
async fn workflow(app: &TestApp, name: &str) -> Value {
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    orchestrator
        .workflow("local", name)
        .await
        .expect("workflow")
}

fn phase_of(workflow: &Value, display: &str) -> Option<String> {
    workflow["status"]["nodes"]
        .as_object()?
        .values()
        .find(|n| n["displayName"] == display)
        .and_then(|n| n["phase"].as_str().map(str::to_owned))
}

async fn until_phase(app: &TestApp, name: &str, display: &str, phase: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = workflow(app, name).await;
        if phase_of(&now, display).as_deref() == Some(phase) {
            return;
        }
        assert!(Instant::now() < deadline, "{display} never {phase}: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_suspended_run_finishes_its_running_step_and_starts_the_next_only_when_resumed(
    app: TestApp,
) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": TWO_STEPS, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id");
    let name = run["name"].as_str().expect("name");
    until_phase(&app, name, "first", "Running").await;

    let suspend = format!("/projects/labors/runs/{run_id}/suspend");
    let viewer = app.token("labors", Role::Viewer).await;
    let (status, _) = app.post(&suspend, &viewer, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers cannot suspend runs");
    let editor = app.token("labors", Role::Editor).await;
    let (status, body) = app.post(&suspend, &editor, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["run_id"], run_id);

    until_phase(&app, name, "first", "Succeeded").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = workflow(&app, name).await;
    assert_eq!(held["spec"]["suspend"], true, "{held}");
    assert_eq!(held["status"]["phase"], "Running");
    let second = phase_of(&held, "second");
    assert!(
        second.is_none() || second.as_deref() == Some("Pending"),
        "nothing new starts while suspended: {held}"
    );

    let resume = format!("/projects/labors/runs/{run_id}/resume");
    let (status, body) = app.post(&resume, &editor, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let metadata = final_metadata(&app, run_id).await;
    assert_eq!(metadata["phase"], "Succeeded", "{metadata}");
    let second = node_named(&metadata, "second").expect("second ran after the resume");
    assert_eq!(second["phase"], "Succeeded");

    let (status, body) = app.post(&suspend, &editor, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "an ended run: {body}");
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "run.suspended")
        .cloned()
        .expect("an event naming who suspended the run");
    assert_eq!(event["actor"], "editor-labors");
    assert_eq!(event["run_id"], run_id);
}
