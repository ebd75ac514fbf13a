//! A schedule that keeps failing pauses itself, shows it, and launches again once resumed or
//! after a success; schedules firing more often than the server's minimum are refused.

use crate::harness::{Setup, TestApp};
use crate::schedules::events_named;
use chrono::{Duration, Utc};
use polyphemus_core::scheduler::Scheduler;
use reqwest::StatusCode;
use serde_json::{json, Value};

crate::both_stores!(
    three_failed_runs_in_a_row_pause_the_schedule_until_it_is_resumed,
    a_successful_run_resumes_a_paused_schedule,
    a_schedule_that_never_pauses_keeps_launching,
    a_schedule_shorter_than_the_minimum_interval_is_refused,
    bad_policies_are_refused_naming_the_field,
);

/// A server whose `--min-interval-s` is 300.
fn five_minute_minimum() -> Setup {
    Setup {
        min_interval_s: Some(300),
        ..Setup::default()
    }
}

crate::both_stores_with!(five_minute_minimum; a_cron_firing_more_often_than_the_minimum_is_refused);

fn runtime_path(config_id: i64) -> String {
    format!("/projects/labors/configs/{config_id}/runtime")
}

async fn runtime(app: &TestApp, config_id: i64) -> Value {
    app.get(&runtime_path(config_id), &app.admin).await.1
}

async fn scheduled(app: &TestApp, extra: Value) -> i64 {
    let id = app.create_config("labors", json!({})).await;
    let mut body = json!({"run_interval_s": 3600});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = app.put(&runtime_path(id), &app.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

/// Registers run `run_id` of the config and records its end in `phase`.
async fn ended_run(app: &TestApp, config_id: i64, run_id: &str, phase: &str) {
    app.register_run("labors", run_id, config_id, 1).await;
    let (status, body) = app
        .put(
            &format!("/projects/labors/runs/{run_id}/metadata"),
            &app.admin,
            json!({"phase": phase, "started_at": "2026-12-01T10:00:00Z", "nodes": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn tick_later(app: &TestApp, hours: i64) -> usize {
    Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60))
        .tick_at(Utc::now() + Duration::hours(hours))
        .await
        .expect("tick")
}

async fn three_failed_runs_in_a_row_pause_the_schedule_until_it_is_resumed(app: TestApp) {
    let id = scheduled(&app, json!({})).await;
    assert_eq!(
        runtime(&app, id).await["pause_after_failures"],
        3,
        "the default"
    );
    ended_run(&app, id, "f1", "Failed").await;
    ended_run(&app, id, "f2", "Error").await;
    assert!(
        runtime(&app, id).await["paused"].is_null(),
        "two failures do not pause"
    );
    ended_run(&app, id, "f3", "Failed").await;

    let paused = runtime(&app, id).await["paused"].clone();
    assert_eq!(paused["run_ids"], json!(["f3", "f2", "f1"]), "{paused}");
    assert_eq!(paused["reason"], "3 failed runs in a row");
    assert!(paused["at"].is_string());
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    let row = status
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["config_id"] == id))
        .cloned()
        .expect("status row");
    assert_eq!(row["pipeline_state"], "paused", "{row}");
    assert_eq!(row["paused"]["run_ids"], json!(["f3", "f2", "f1"]));
    assert_eq!(events_named(&app, id, "schedule.paused").await.len(), 1);

    assert_eq!(
        tick_later(&app, 2).await,
        0,
        "a paused schedule launches nothing"
    );
    let (status, resumed) = app
        .post(
            &format!("{}/resume", runtime_path(id)),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert!(resumed["paused"].is_null());
    let events = events_named(&app, id, "schedule.resumed").await;
    assert_eq!(events.len(), 1);
    assert_ne!(events[0]["actor"], "scheduler", "the person who resumed it");
    assert_eq!(tick_later(&app, 4).await, 1, "it launches again");
}

async fn a_successful_run_resumes_a_paused_schedule(app: TestApp) {
    let id = scheduled(&app, json!({"pause_after_failures": 2})).await;
    ended_run(&app, id, "f1", "Failed").await;
    ended_run(&app, id, "f2", "Failed").await;
    assert!(!runtime(&app, id).await["paused"].is_null());
    ended_run(&app, id, "ok", "Succeeded").await;
    assert!(runtime(&app, id).await["paused"].is_null());
    let events = events_named(&app, id, "schedule.resumed").await;
    assert!(events[0]["detail"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("run ok succeeded")));
}

async fn a_schedule_that_never_pauses_keeps_launching(app: TestApp) {
    let id = scheduled(&app, json!({"pause_after_failures": 0})).await;
    for n in 0..5 {
        ended_run(&app, id, &format!("f{n}"), "Failed").await;
    }
    assert!(runtime(&app, id).await["paused"].is_null());
    assert_eq!(tick_later(&app, 2).await, 1);
}

async fn a_schedule_shorter_than_the_minimum_interval_is_refused(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let (status, problem) = app
        .put(&runtime_path(id), &app.admin, json!({"run_interval_s": 30}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/run_interval_s");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("at least 60 seconds")));
    assert!(
        runtime(&app, id).await["run_interval_s"].is_null(),
        "nothing stored"
    );
    let (status, body) = app
        .put(&runtime_path(id), &app.admin, json!({"cron": "* * * * *"}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "every minute is the default minimum: {body}"
    );
}

async fn a_cron_firing_more_often_than_the_minimum_is_refused(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let (status, problem) = app
        .put(
            &runtime_path(id),
            &app.admin,
            json!({"cron": "*/2 * * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/cron");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("120") && m.contains("300")));
    let (status, body) = app
        .put(
            &runtime_path(id),
            &app.admin,
            json!({"cron": "*/5 * * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn bad_policies_are_refused_naming_the_field(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    for (body, pointer) in [
        (
            json!({"concurrency_policy": "Sometimes"}),
            "concurrency_policy",
        ),
        (json!({"starting_deadline_s": 0}), "/starting_deadline_s"),
        (json!({"pause_after_failures": -1}), "/pause_after_failures"),
    ] {
        let (status, problem) = app.put(&runtime_path(id), &app.admin, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert!(problem.to_string().contains(pointer), "{body}: {problem}");
    }
    let stored = runtime(&app, id).await;
    assert_eq!(stored["concurrency_policy"], "Forbid");
    assert_eq!(stored["pause_after_failures"], 3);
}
