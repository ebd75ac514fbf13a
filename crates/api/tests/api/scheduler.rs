//! The scheduler: due runtime configs are launched once per due time, even with two
//! schedulers on one database, and a scheduler that was down catches up with one run.

use crate::both_stores;
use crate::harness::TestApp;
use chrono::{Duration, Utc};
use polyphemus_core::scheduler::Scheduler;
use serde_json::json;

both_stores!(two_schedulers_launch_each_due_config_exactly_once);

async fn two_schedulers_launch_each_due_config_exactly_once(app: TestApp) {
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = app.create_config("labors", json!({})).await;
        let path = format!("/projects/labors/configs/{id}/runtime");
        app.put(&path, &app.admin, json!({"run_interval_s": 3600}))
            .await;
        ids.push(id);
    }
    let disabled = app.create_config("labors", json!({})).await;
    app.put(
        &format!("/projects/labors/configs/{disabled}/runtime"),
        &app.admin,
        json!({"run_interval_s": 3600, "disabled": true}),
    )
    .await;
    // Ten hours later: each config missed ten due times while no scheduler ran.
    let later = Utc::now() + Duration::hours(10);
    let first = Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60));
    let second = Scheduler::new(
        app.second_services().await,
        std::time::Duration::from_secs(60),
    );
    let (a, b) = tokio::join!(first.tick_at(later), second.tick_at(later));
    let launched = a.expect("first scheduler") + b.expect("second scheduler");
    assert_eq!(launched, 50, "each due config launched once");
    for id in &ids {
        let (_, runs) = app
            .get(&format!("/projects/labors/configs/{id}/runs"), &app.admin)
            .await;
        assert_eq!(
            runs["items"].as_array().map(Vec::len),
            Some(1),
            "config {id}"
        );
        let (_, runtime) = app
            .get(
                &format!("/projects/labors/configs/{id}/runtime"),
                &app.admin,
            )
            .await;
        let next: chrono::DateTime<Utc> =
            serde_json::from_value(runtime["next_run_at"].clone()).expect("next_run_at");
        assert!(
            next > later,
            "the next due time is after the catch-up, not a missed tick"
        );
    }
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{disabled}/runs"),
            &app.admin,
        )
        .await;
    assert_eq!(
        runs["items"],
        json!([]),
        "disabled configs are never launched"
    );
    assert_eq!(
        first.tick_at(later).await.expect("tick"),
        0,
        "nothing due twice"
    );
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert!(status[0]["next_run_at"].is_string());
}
