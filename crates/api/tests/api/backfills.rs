//! Backfills: a backfill of 5 windows makes 5 runs in order with their windows in the params;
//! stop then resume continues where it stopped, running no window twice; a failed window fails
//! the backfill and resume retries it; bad input is 422 naming the field; a second running
//! backfill of a config is 409 naming the first; viewers read but cannot start or stop; two
//! schedulers on one database never launch one window twice.

use crate::harness::TestApp;
use polyphemus_core::scheduler::Scheduler;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

crate::both_stores!(
    a_backfill_of_five_windows_makes_five_runs_in_order_with_their_windows_in_the_params,
    stop_then_resume_continues_where_it_stopped_and_runs_no_window_twice,
    a_failed_window_fails_the_backfill_and_resume_retries_it,
    bad_input_is_refused_naming_the_field,
    a_second_running_backfill_of_a_config_is_refused_naming_the_first,
    a_viewer_reads_backfills_but_cannot_start_or_stop_them,
    two_schedulers_never_launch_one_window_twice,
);

/// Writes the `quick` package, whose one step ends at once (exit status `exit`), and reloads.
async fn write_quick_package(app: &TestApp, exit: u8) {
    let dir = app.packages_dir.join("quick");
    std::fs::create_dir_all(&dir).expect("package dir");
    std::fs::write(
        dir.join("manifest.yaml"),
        "name: quick\ndescription: Ends at once.\nworkflow: workflow.yaml\n\
         config_schema: {type: object}\nexample_config: {}\n",
    )
    .expect("manifest");
    let workflow = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: quick-}}
spec:
  entrypoint: main
  arguments:
    parameters: [{{name: config_id}}, {{name: version_number}}, {{name: project}}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'exit {exit}']
"#
    );
    std::fs::write(dir.join("workflow.yaml"), workflow).expect("workflow");
    let (status, reloaded) = app.post("/workflows/reload", &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
}

/// A config of the `quick` package whose step succeeds.
async fn quick_config(app: &TestApp) -> i64 {
    write_quick_package(app, 0).await;
    let (status, config) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "quick", "workflow_name": "rescan", "config": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    config["config_id"].as_i64().expect("config_id")
}

async fn start(app: &TestApp, config_id: i64, from: &str, to: &str, every: &str) -> i64 {
    let (status, backfill) = start_as(app, &app.admin, config_id, from, to, every).await;
    assert_eq!(status, StatusCode::CREATED, "{backfill}");
    assert_eq!(backfill["state"], "running");
    backfill["id"].as_i64().expect("id")
}

async fn start_as(
    app: &TestApp,
    token: &str,
    config_id: i64,
    from: &str,
    to: &str,
    every: &str,
) -> (StatusCode, Value) {
    app.post(
        &format!("/projects/labors/configs/{config_id}/backfills"),
        token,
        json!({"from": from, "to": to, "every": every}),
    )
    .await
}

async fn backfill(app: &TestApp, id: i64) -> Value {
    let (status, body) = app
        .get(&format!("/projects/labors/backfills/{id}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn act(app: &TestApp, id: i64, action: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/projects/labors/backfills/{id}/{action}"),
        &app.admin,
        json!({}),
    )
    .await
}

fn scheduler(app: &TestApp) -> Scheduler {
    Scheduler::new(app.services.clone(), Duration::from_millis(100))
}

/// Ticks until the backfill satisfies `done`; its last view.
async fn tick_until(app: &TestApp, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let scheduler = scheduler(app);
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        scheduler.tick().await.expect("tick");
        let view = backfill(app, id).await;
        if done(&view) {
            return view;
        }
        assert!(
            Instant::now() < until,
            "the backfill did not get there: {view}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The config's runs, oldest first.
async fn runs_oldest_first(app: &TestApp, config_id: i64) -> Vec<Value> {
    let (_, page) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs?limit=100"),
            &app.admin,
        )
        .await;
    let mut runs = page["items"].as_array().cloned().unwrap_or_default();
    runs.reverse();
    runs
}

fn day(n: u32) -> String {
    format!("2026-11-{n:02}T00:00:00Z")
}

/// Each window's run ids, by window index.
fn runs_per_window(view: &Value) -> Vec<(i64, usize)> {
    view["window_runs"]
        .as_array()
        .map(|windows| {
            windows
                .iter()
                .map(|w| {
                    let runs = w["run_ids"].as_array().map_or(0, Vec::len);
                    (w["index"].as_i64().unwrap_or(-1), runs)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn a_backfill_of_five_windows_makes_five_runs_in_order_with_their_windows_in_the_params(
    app: TestApp,
) {
    let config_id = quick_config(&app).await;
    let id = start(&app, config_id, "2026-11-01", "2026-11-06", "1d").await;
    let started = backfill(&app, id).await;
    assert_eq!(started["windows"], 5, "{started}");
    assert_eq!(started["every"], "1d");
    assert_eq!(started["current_window"]["start_time"], day(1));

    let done = tick_until(&app, id, |b| b["state"] != "running").await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["done_windows"], 5);
    assert!(done.get("current_window").is_none(), "{done}");
    assert_eq!(
        runs_per_window(&done),
        (0..5).map(|i| (i, 1)).collect::<Vec<_>>()
    );

    let runs = runs_oldest_first(&app, config_id).await;
    assert_eq!(runs.len(), 5);
    for (n, run) in (1..).zip(&runs) {
        let params = &run["params"];
        assert_eq!(params["start_time"], day(n), "{run}");
        assert_eq!(params["end_time"], day(n + 1), "{run}");
        assert_eq!(params["backfill_id"], id);
        assert_eq!(
            done["window_runs"][n as usize - 1]["run_ids"][0],
            run["run_id"]
        );
    }
    let started = crate::schedules::events_named(&app, config_id, "backfill.started").await;
    assert_eq!(started.len(), 1);
    let ended = crate::schedules::events_named(&app, config_id, "backfill.done").await;
    assert_eq!(ended.len(), 1);
}

async fn stop_then_resume_continues_where_it_stopped_and_runs_no_window_twice(app: TestApp) {
    let config_id = quick_config(&app).await;
    let id = start(&app, config_id, "2026-11-01", "2026-11-05", "1d").await;
    tick_until(&app, id, |b| b["done_windows"].as_i64() >= Some(2)).await;
    let (status, stopped) = act(&app, id, "stop").await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["state"], "stopped");
    let (status, again) = act(&app, id, "stop").await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // A stopped backfill launches nothing more; its run still going ends and is counted.
    let launched = runs_oldest_first(&app, config_id).await.len();
    for _ in 0..8 {
        scheduler(&app).tick().await.expect("tick");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(runs_oldest_first(&app, config_id).await.len(), launched);
    assert_eq!(backfill(&app, id).await["state"], "stopped");

    let (status, resumed) = act(&app, id, "resume").await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["state"], "running");
    let done = tick_until(&app, id, |b| b["state"] != "running").await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(
        runs_per_window(&done),
        (0..4).map(|i| (i, 1)).collect::<Vec<_>>()
    );
    let starts: Vec<Value> = runs_oldest_first(&app, config_id)
        .await
        .iter()
        .map(|run| run["params"]["start_time"].clone())
        .collect();
    assert_eq!(starts, (1..=4).map(|n| json!(day(n))).collect::<Vec<_>>());
    for action in ["backfill.stopped", "backfill.resumed"] {
        assert_eq!(
            crate::schedules::events_named(&app, config_id, action)
                .await
                .len(),
            1
        );
    }
}

async fn a_failed_window_fails_the_backfill_and_resume_retries_it(app: TestApp) {
    let config_id = quick_config(&app).await;
    write_quick_package(&app, 1).await;
    let id = start(&app, config_id, "2026-11-01", "2026-11-03", "1d").await;
    let failed = tick_until(&app, id, |b| b["state"] != "running").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["done_windows"], 0);
    let run_id = failed["window_runs"][0]["run_ids"][0]
        .as_str()
        .expect("run")
        .to_owned();
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&run_id) && reason.contains("window 1/2"),
        "{reason}"
    );
    assert_eq!(failed["current_window"]["start_time"], day(1));
    assert_eq!(
        crate::schedules::events_named(&app, config_id, "backfill.failed")
            .await
            .len(),
        1
    );

    write_quick_package(&app, 0).await;
    let (status, resumed) = act(&app, id, "resume").await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert!(resumed.get("reason").is_none(), "{resumed}");
    let done = tick_until(&app, id, |b| b["state"] != "running").await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(
        runs_per_window(&done),
        vec![(0, 2), (1, 1)],
        "window 1 was retried"
    );
}

async fn bad_input_is_refused_naming_the_field(app: TestApp) {
    let config_id = quick_config(&app).await;
    for (from, to, every, pointer, says) in [
        ("2026-11-02", "2026-11-01", "1d", "/to", "after"),
        ("2026-11-01", "2026-11-01", "1d", "/to", "after"),
        ("yesterday", "2026-11-01", "1d", "/from", "RFC 3339"),
        ("2026-11-01", "2026-13-01", "1d", "/to", "RFC 3339"),
        ("2026-11-01", "2026-11-02", "0d", "/every", "s, m, h or d"),
        ("2026-11-01", "2026-11-02", "1w", "/every", "s, m, h or d"),
        ("2026-11-01", "2026-11-02", "1s", "/every", "at most 10000"),
    ] {
        let (status, problem) = start_as(&app, &app.admin, config_id, from, to, every).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
    }
    let (status, problem) =
        start_as(&app, &app.admin, 999_999, "2026-11-01", "2026-11-02", "1d").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, listed) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/backfills"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!([]), "nothing was stored");
}

async fn a_second_running_backfill_of_a_config_is_refused_naming_the_first(app: TestApp) {
    let config_id = quick_config(&app).await;
    let first = start(&app, config_id, "2026-11-01", "2026-11-03", "1d").await;
    let (status, problem) = start_as(
        &app,
        &app.admin,
        config_id,
        "2026-12-01",
        "2026-12-03",
        "1d",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!("backfill {first}")));

    let (status, _) = act(&app, first, "stop").await;
    assert_eq!(status, StatusCode::OK);
    let second = start(&app, config_id, "2026-12-01", "2026-12-03", "1d").await;
    let (status, problem) = act(&app, first, "resume").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!("backfill {second}")));
    let (_, listed) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/backfills"),
            &app.admin,
        )
        .await;
    let ids: Vec<Value> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(second), json!(first)], "newest first");
}

async fn a_viewer_reads_backfills_but_cannot_start_or_stop_them(app: TestApp) {
    let config_id = quick_config(&app).await;
    let viewer = app.token("labors", Role::Viewer).await;
    let (status, problem) =
        start_as(&app, &viewer, config_id, "2026-11-01", "2026-11-02", "1d").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let id = start(&app, config_id, "2026-11-01", "2026-11-02", "1d").await;
    let (status, _) = app
        .get(&format!("/projects/labors/backfills/{id}"), &viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, listed) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/backfills"),
            &viewer,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    for action in ["stop", "resume"] {
        let (status, _) = app
            .post(
                &format!("/projects/labors/backfills/{id}/{action}"),
                &viewer,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let other = app.token("hydra", Role::Admin).await;
    let (status, _) = app
        .get(&format!("/projects/labors/backfills/{id}"), &other)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another project's token sees nothing"
    );
}

async fn two_schedulers_never_launch_one_window_twice(app: TestApp) {
    let config_id = quick_config(&app).await;
    let id = start(&app, config_id, "2026-11-01", "2026-11-04", "1d").await;
    let first = scheduler(&app);
    let second = Scheduler::new(app.second_services().await, Duration::from_millis(100));
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let (a, b) = tokio::join!(first.tick(), second.tick());
        a.expect("first scheduler");
        b.expect("second scheduler");
        let view = backfill(&app, id).await;
        if view["state"] != "running" {
            assert_eq!(view["state"], "done", "{view}");
            assert_eq!(runs_per_window(&view), vec![(0, 1), (1, 1), (2, 1)]);
            break;
        }
        assert!(Instant::now() < until, "not done: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(runs_oldest_first(&app, config_id).await.len(), 3);
}
