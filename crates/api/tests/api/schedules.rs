//! Schedules an incremental pipeline can trust: a due time while a run is active is skipped
//! (`Forbid`), runs anyway (`Allow`) or replaces the active run (`Replace`); a due time missed
//! past its starting deadline is skipped; a manual launch over an active run is 409 unless
//! forced; two schedulers on one database never have two runs of a config going at once.

use crate::harness::{Setup, TestApp};
use chrono::{Duration, Utc};
use polyphemus_core::scheduler::Scheduler;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;

crate::both_stores!(
    forbid_skips_a_due_time_while_a_run_is_active_and_names_it,
    allow_launches_while_a_run_is_active,
    replace_stops_the_active_run_then_launches,
    a_due_time_missed_past_its_starting_deadline_is_skipped,
    a_manual_launch_over_an_active_run_is_409_unless_forced,
);

/// With `--min-interval-s 1`, as the issue's scenario runs it.
fn short_intervals() -> Setup {
    Setup {
        min_interval_s: Some(1),
        ..Setup::default()
    }
}

crate::both_stores_with!(short_intervals; two_schedulers_never_run_two_runs_of_a_config_at_once);

fn scheduler(app: &TestApp) -> Scheduler {
    Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60))
}

/// A config scheduled hourly with `runtime`'s other fields; its id.
async fn scheduled(app: &TestApp, runtime: Value) -> i64 {
    let id = app.create_config("labors", json!({})).await;
    let mut body = json!({"run_interval_s": 3600});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), runtime.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = app
        .put(
            &format!("/projects/labors/configs/{id}/runtime"),
            &app.admin,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

pub async fn events_named(app: &TestApp, config_id: i64, action: &str) -> Vec<Value> {
    let (_, page) = app
        .get(
            &format!("/projects/labors/events?config_id={config_id}&limit=200"),
            &app.admin,
        )
        .await;
    page["items"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|e| e["action"] == action)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

async fn runs_of(app: &TestApp, config_id: i64) -> Vec<Value> {
    let (_, page) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn forbid_skips_a_due_time_while_a_run_is_active_and_names_it(app: TestApp) {
    let id = scheduled(&app, json!({})).await;
    app.register_run("labors", "active-1", id, 1).await;
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(scheduler(&app).tick_at(later).await.expect("tick"), 0);
    let skipped = events_named(&app, id, "run.skipped").await;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["run_id"], "active-1");
    assert_eq!(skipped[0]["detail"]["concurrency_policy"], "Forbid");
    assert!(skipped[0]["detail"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("active-1")));
    assert_eq!(runs_of(&app, id).await.len(), 1, "nothing launched");

    // Once the run has ended, the next due time launches.
    app.put(
        "/projects/labors/runs/active-1/metadata",
        &app.admin,
        json!({"phase": "Succeeded", "started_at": "2026-12-01T10:00:00Z", "nodes": {}}),
    )
    .await;
    let after = later + Duration::hours(2);
    assert_eq!(scheduler(&app).tick_at(after).await.expect("tick"), 1);
}

async fn allow_launches_while_a_run_is_active(app: TestApp) {
    let id = scheduled(&app, json!({"concurrency_policy": "Allow"})).await;
    app.register_run("labors", "active-1", id, 1).await;
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(scheduler(&app).tick_at(later).await.expect("tick"), 1);
    assert!(events_named(&app, id, "run.skipped").await.is_empty());
}

/// A workflow whose step sleeps `seconds`.
fn sleeper(seconds: u32) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: sleeper-}}
spec:
  entrypoint: main
  arguments:
    parameters: [{{name: config_id}}, {{name: version_number}}, {{name: project}}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'sleep {seconds}']
"#
    )
}

async fn replace_stops_the_active_run_then_launches(app: TestApp) {
    let id = scheduled(&app, json!({"concurrency_policy": "Replace"})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{id}/submit"),
            &app.admin,
            json!({"workflow_yaml": sleeper(60), "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let old = run["run_id"].as_str().expect("run_id").to_owned();
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(scheduler(&app).tick_at(later).await.expect("tick"), 1);
    let (_, metadata) = app
        .get(&format!("/projects/labors/runs/{old}/metadata"), &app.admin)
        .await;
    assert_eq!(
        metadata["phase"], "Failed",
        "the active run was stopped: {metadata}"
    );
    assert_eq!(runs_of(&app, id).await.len(), 2);
}

async fn a_due_time_missed_past_its_starting_deadline_is_skipped(app: TestApp) {
    let id = scheduled(&app, json!({"starting_deadline_s": 30})).await;
    let (_, runtime) = app
        .get(
            &format!("/projects/labors/configs/{id}/runtime"),
            &app.admin,
        )
        .await;
    assert_eq!(runtime["starting_deadline_s"], 30);
    let due: chrono::DateTime<Utc> =
        serde_json::from_value(runtime["next_run_at"].clone()).expect("next_run_at");
    assert_eq!(
        scheduler(&app)
            .tick_at(due + Duration::seconds(90))
            .await
            .expect("tick"),
        0
    );
    let skipped = events_named(&app, id, "run.skipped").await;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0]["detail"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("starting_deadline_s")));
    // Within the deadline of its next due time, it runs.
    let next = due + Duration::seconds(90) + Duration::hours(1);
    assert_eq!(
        scheduler(&app)
            .tick_at(next + Duration::seconds(10))
            .await
            .expect("tick"),
        1
    );
}

async fn a_manual_launch_over_an_active_run_is_409_unless_forced(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "active-1", id, 1).await;
    let launch = format!("/projects/labors/configs/{id}/launch");
    let (status, problem) = app.post(&launch, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|d| d.contains("active-1")));
    let (status, run) = app.post(&launch, &app.admin, json!({"force": true})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
}

/// A package whose workflow runs ten seconds.
fn write_sleeper_package(app: &TestApp) {
    let dir = app.packages_dir.join("sleeper");
    std::fs::create_dir_all(&dir).expect("package dir");
    std::fs::write(
        dir.join("manifest.yaml"),
        "name: sleeper\ndescription: Sleeps.\nworkflow: workflow.yaml\n\
         config_schema: {type: object}\nexample_config: {}\n",
    )
    .expect("manifest");
    std::fs::write(dir.join("workflow.yaml"), sleeper(10)).expect("workflow");
}

async fn two_schedulers_never_run_two_runs_of_a_config_at_once(app: TestApp) {
    write_sleeper_package(&app);
    let (status, reloaded) = app.post("/workflows/reload", &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    let (status, config) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "sleeper", "workflow_name": "nap", "config": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    let id = config["config_id"].as_i64().expect("config_id");
    let (status, body) = app
        .put(
            &format!("/projects/labors/configs/{id}/runtime"),
            &app.admin,
            json!({"run_interval_s": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let first = scheduler(&app);
    let second = Scheduler::new(
        app.second_services().await,
        std::time::Duration::from_secs(60),
    );
    let until = Instant::now() + std::time::Duration::from_secs(14);
    let mut most_active = 0;
    while Instant::now() < until {
        let (a, b) = tokio::join!(first.tick(), second.tick());
        a.expect("first scheduler");
        b.expect("second scheduler");
        let active = active_runs(&app, id).await;
        most_active = most_active.max(active);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let runs = runs_of(&app, id).await;
    assert!(!runs.is_empty(), "the schedule launched");
    assert!(
        most_active <= 1,
        "{most_active} runs of the config were active at once"
    );
    assert!(
        !events_named(&app, id, "run.skipped").await.is_empty(),
        "due times during the run were skipped"
    );
}

/// The runs of the config whose end is not recorded.
async fn active_runs(app: &TestApp, config_id: i64) -> usize {
    let mut active = 0;
    for run in runs_of(app, config_id).await {
        let run_id = run["run_id"].as_str().unwrap_or_default();
        let (_, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        let ended = matches!(
            metadata["phase"].as_str(),
            Some("Succeeded" | "Failed" | "Error")
        );
        active += usize::from(!ended);
    }
    active
}
