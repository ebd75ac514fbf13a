//! Stopping and terminating runs on the local engine, with real processes: a long `sleep` step
//! is ended; `stop` still runs the exit handler, `terminate` does not.

use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    stop_ends_a_sleeping_run_and_runs_its_exit_handler,
    terminate_ends_a_sleeping_run_without_its_exit_handler
);

const SLEEPER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sleeper-}
spec:
  entrypoint: main
  onExit: goodbye
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: nap, template: nap}
    - name: nap
      container: {image: busybox, command: [sleep, "60"]}
    - name: goodbye
      container: {image: busybox, command: [sh, -c, "echo exit handler saw {{workflow.status}}"]}
"#;

/// Submits the sleeper, waits until its `nap` step runs, then stops or terminates it.
async fn end_sleeping_run(app: &TestApp, action: &str) -> (String, Value) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": SLEEPER, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let name = run["name"].as_str().expect("name").to_owned();
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let workflow = orchestrator
            .workflow("local", &name)
            .await
            .expect("workflow");
        let napping = workflow["status"]["nodes"]
            .as_object()
            .is_some_and(|nodes| {
                nodes
                    .values()
                    .any(|n| n["displayName"] == "nap" && n["phase"] == "Running")
            });
        if napping {
            break;
        }
        assert!(Instant::now() < deadline, "nap never started: {workflow}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let editor = app.token("labors", Role::Editor).await;
    let started = Instant::now();
    let (status, body) = app
        .post(
            &format!("/projects/labors/runs/{run_id}/{action}"),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let metadata = loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        if status == StatusCode::OK
            && matches!(metadata["phase"].as_str(), Some("Failed" | "Error"))
        {
            break metadata;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run did not end: {metadata}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the 60 s sleep was cut short"
    );
    let nap = metadata["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|n| n["display_name"] == "nap")
        .expect("nap");
    assert!(
        matches!(nap["phase"].as_str(), Some("Failed" | "Error")),
        "{nap}"
    );

    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let event = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| {
            e["action"]
                == if action == "stop" {
                    "run.stopped"
                } else {
                    "run.terminated"
                }
        })
        .cloned()
        .expect("event naming who ended the run");
    assert_eq!(event["actor"], "editor-labors");
    assert_eq!(event["run_id"], run_id.as_str());
    (name, metadata)
}

async fn stop_ends_a_sleeping_run_and_runs_its_exit_handler(app: TestApp) {
    let (name, metadata) = end_sleeping_run(&app, "stop").await;
    assert_eq!(metadata["phase"], "Failed");
    let exit = metadata["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|n| n["name"] == format!("{name}.onExit"))
        .expect("the exit handler ran");
    assert_eq!(exit["phase"], "Succeeded");
    let (_, run) = app
        .get(
            &format!(
                "/projects/labors/runs/{}",
                metadata["run_id"].as_str().expect("run_id")
            ),
            &app.admin,
        )
        .await;
    assert!(
        run["output"]
            .as_str()
            .unwrap_or_default()
            .contains("exit handler saw Failed"),
        "{run}"
    );
}

async fn terminate_ends_a_sleeping_run_without_its_exit_handler(app: TestApp) {
    let (name, metadata) = end_sleeping_run(&app, "terminate").await;
    assert!(
        matches!(metadata["phase"].as_str(), Some("Failed" | "Error")),
        "{metadata}"
    );
    let exit = metadata["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|n| n["name"] == format!("{name}.onExit"));
    assert!(exit.is_none(), "terminate skips the exit handler: {exit:?}");
}
