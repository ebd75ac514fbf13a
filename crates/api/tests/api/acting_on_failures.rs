//! Acting on what failed (#14): resubmitting a run, restoring a config version, archiving a
//! config. Each is for editors; each writes an event.

use crate::harness::{valid_config, TestApp};
use crate::schedules::events_named;
use chrono::{Duration, Utc};
use polyphemus_core::scheduler::Scheduler;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

crate::both_stores!(
    resubmit_makes_a_run_of_the_same_version_and_params,
    resubmit_over_an_active_run_is_409_unless_forced,
    restore_makes_the_next_version_with_the_config_of_k,
    archive_hides_the_config_stops_its_schedule_and_refuses_launch,
    viewer_may_not_resubmit_restore_or_archive,
);

/// A config with version 2 on top of version 1; its id.
async fn config_with_two_versions(app: &TestApp) -> i64 {
    let id = app
        .create_config("labors", json!({"password": "pw-0451"}))
        .await;
    let (status, body) = app
        .patch(
            &format!("/projects/labors/configs/{id}"),
            &app.admin,
            json!({"config": valid_config("other.example.org")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id
}

async fn resubmit_makes_a_run_of_the_same_version_and_params(app: TestApp) {
    let id = config_with_two_versions(&app).await;
    app.register_run("labors", "orig", id, 1).await;
    let window = r#"{"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z"}"#;
    app.raw_execute(&[&format!(
        "UPDATE runs SET params = '{window}' WHERE run_id = 'orig'"
    )])
    .await;
    app.ended_run("labors", "orig", "Failed").await;
    let (status, run) = app
        .post("/projects/labors/runs/orig/resubmit", &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_ne!(run["run_id"], "orig");
    assert_eq!(
        run["version_number"], 1,
        "the run's version, not the latest"
    );
    assert_eq!(run["config_id"], id);
    let expected: Value = serde_json::from_str(window).expect("window");
    assert_eq!(run["params"], expected);
    let events = events_named(&app, id, "run.resubmitted").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["run_id"], run["run_id"]);
    assert_eq!(events[0]["detail"]["from_run_id"], "orig");
}

async fn resubmit_over_an_active_run_is_409_unless_forced(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "orig", id, 1).await;
    let resubmit = "/projects/labors/runs/orig/resubmit";
    let (status, problem) = app.post(resubmit, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("orig")),
        "{problem}"
    );
    let (status, run) = app.post(resubmit, &app.admin, json!({"force": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (status, _) = app
        .post("/projects/labors/runs/nope/resubmit", &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn restore_makes_the_next_version_with_the_config_of_k(app: TestApp) {
    let id = config_with_two_versions(&app).await;
    let (_, first) = app
        .get(
            &format!("/projects/labors/configs/{id}/versions/1"),
            &app.admin,
        )
        .await;
    let restore = format!("/projects/labors/configs/{id}/versions/1/restore");
    let (status, restored) = app.post(&restore, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{restored}");
    assert_eq!(restored["version_number"], 3);
    assert_eq!(restored["config"], first["config"]);
    assert_eq!(restored["comment"], "restored from version 1");
    assert_eq!(restored["secrets"]["password"], "***", "secrets stay");
    let (_, latest) = app
        .get(&format!("/projects/labors/configs/{id}"), &app.admin)
        .await;
    assert_eq!(latest["version_number"], 3);
    let (status, problem) = app.post(&restore, &app.admin, json!({})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "already the latest config: {problem}"
    );
    let (status, _) = app
        .post(
            &format!("/projects/labors/configs/{id}/versions/9/restore"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let events = events_named(&app, id, "config.restored").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["version_number"], 3);
    assert_eq!(events[0]["detail"]["from_version"], 1);
}

async fn status_ids(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, rows) = app
        .get(&format!("/projects/labors/status{query}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    rows.as_array()
        .map(|rows| rows.iter().map(|row| row["config_id"].clone()).collect())
        .unwrap_or_default()
}

async fn archive_hides_the_config_stops_its_schedule_and_refuses_launch(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let kept = app.create_config("labors", json!({})).await;
    let (status, body) = app
        .put(
            &format!("/projects/labors/configs/{id}/runtime"),
            &app.admin,
            json!({"run_interval_s": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, archived) = app
        .post(
            &format!("/projects/labors/configs/{id}/archive"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert_eq!(archived["archived"], true);
    assert_eq!(status_ids(&app, "").await, [json!(kept)]);
    assert_eq!(
        status_ids(&app, "?archived=true").await,
        [json!(id), json!(kept)]
    );

    let scheduler = Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60));
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(
        scheduler.tick_at(later).await.expect("tick"),
        0,
        "off the schedule"
    );
    let launch = format!("/projects/labors/configs/{id}/launch");
    let (status, problem) = app.post(&launch, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("archived")),
        "{problem}"
    );
    let (status, versions) = app
        .get(
            &format!("/projects/labors/configs/{id}/versions"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "history is kept: {versions}");

    let (status, back) = app
        .post(
            &format!("/projects/labors/configs/{id}/unarchive"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["archived"], false);
    assert_eq!(status_ids(&app, "").await, [json!(id), json!(kept)]);
    assert_eq!(
        scheduler.tick_at(later).await.expect("tick"),
        1,
        "scheduled again"
    );
    assert_eq!(events_named(&app, id, "config.archived").await.len(), 1);
    assert_eq!(events_named(&app, id, "config.unarchived").await.len(), 1);
    let (status, _) = app
        .post(
            "/projects/labors/configs/999/archive",
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn viewer_may_not_resubmit_restore_or_archive(app: TestApp) {
    let id = config_with_two_versions(&app).await;
    app.register_run("labors", "orig", id, 1).await;
    app.ended_run("labors", "orig", "Failed").await;
    let viewer = app.token("labors", Role::Viewer).await;
    for path in [
        "/projects/labors/runs/orig/resubmit".to_owned(),
        format!("/projects/labors/configs/{id}/versions/1/restore"),
        format!("/projects/labors/configs/{id}/archive"),
        format!("/projects/labors/configs/{id}/unarchive"),
    ] {
        let (status, problem) = app.post(&path, &viewer, json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
    }
    let (_, runs) = app
        .get(&format!("/projects/labors/configs/{id}/runs"), &app.admin)
        .await;
    assert_eq!(
        runs["items"].as_array().map(Vec::len),
        Some(1),
        "nothing launched"
    );
}
