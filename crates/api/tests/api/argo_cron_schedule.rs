//! The CronWorkflow schedule, driven with a chosen clock through
//! `run_due_cron_workflows(now)`: a due tick creates one workflow, under the concurrency
//! policy and the starting deadline, even with two servers on one database.
//!
//! - a_due_tick_creates_one_labelled_workflow_that_succeeds
//! - forbid_skips_a_tick_while_one_runs
//! - suspend_stops_ticks_and_resume_restarts_them
//! - a_tick_older_than_the_starting_deadline_is_skipped
//! - two_servers_looking_at_one_tick_create_one_workflow
//! - replace_stops_the_running_workflow_then_starts_one

use crate::argo_cron_workflows::{
    argo, conforms, create, cron, next_minute, until_ended, until_inactive, workflows_of, BASE,
    CRON,
};
use crate::both_stores;
use crate::harness::TestApp;
use chrono::{DateTime, Duration as Span, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

both_stores!(
    a_due_tick_creates_one_labelled_workflow_that_succeeds,
    forbid_skips_a_tick_while_one_runs,
    suspend_stops_ticks_and_resume_restarts_them,
    a_tick_older_than_the_starting_deadline_is_skipped,
    two_servers_looking_at_one_tick_create_one_workflow,
    replace_stops_the_running_workflow_then_starts_one,
);

async fn a_due_tick_creates_one_labelled_workflow_that_succeeds(app: TestApp) {
    create(&app, cron("nightly", "sleep 1; echo scheduled", json!({}))).await;
    let tick = next_minute();
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick - Span::seconds(1))
            .await
            .expect("look"),
        0
    );
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick + Span::seconds(5))
            .await
            .expect("look"),
        1
    );
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick + Span::seconds(20))
            .await
            .expect("look"),
        0,
        "a tick creates one workflow"
    );
    let (_, read) = argo(
        &app,
        Method::GET,
        &format!("{BASE}/nightly"),
        &app.admin,
        None,
    )
    .await;
    conforms(CRON, "get", &read);
    let last: DateTime<Utc> =
        serde_json::from_value(read["status"]["lastScheduledTime"].clone()).expect("a time");
    assert_eq!(last, tick);
    let active = read["status"]["active"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(active.len(), 1, "{read:#}");

    let workflows = workflows_of(&app, "nightly").await;
    assert_eq!(workflows.len(), 1);
    let name = workflows[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(name.starts_with("nightly-"), "{name}");
    assert_eq!(active[0]["name"], name.as_str());
    let labels = &workflows[0]["metadata"]["labels"];
    assert_eq!(labels["workflows.argoproj.io/cron-workflow"], "nightly");
    assert_eq!(labels["team"], "data", "spec.workflowMetadata's labels");
    let ended = until_ended(&app, &name).await;
    assert_eq!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    let read = until_inactive(&app, "nightly").await;
    conforms(CRON, "get", &read);
    let path = format!("{BASE}/nightly");
    let (status, _) = argo(&app, Method::DELETE, &path, &app.admin, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "deleted with its history of workflows"
    );
    assert_eq!(
        workflows_of(&app, "nightly").await.len(),
        1,
        "its workflows stay"
    );

    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    assert!(
        events.to_string().contains("cron-workflow:nightly"),
        "the event names the cron workflow: {events}"
    );
}

async fn forbid_skips_a_tick_while_one_runs(app: TestApp) {
    create(
        &app,
        cron("serial", "sleep 60", json!({"concurrencyPolicy": "Forbid"})),
    )
    .await;
    let tick = next_minute();
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick + Span::seconds(2))
            .await
            .expect("look"),
        1
    );
    let next = tick + Span::minutes(1) + Span::seconds(2);
    assert_eq!(
        app.services
            .run_due_cron_workflows(next)
            .await
            .expect("look"),
        0,
        "one still runs"
    );
    let workflows = workflows_of(&app, "serial").await;
    assert_eq!(workflows.len(), 1);
    let name = workflows[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let stop = format!("/api/v1/workflows/labors/{name}/stop");
    assert_eq!(
        argo(&app, Method::PUT, &stop, &app.admin, Some(json!({})))
            .await
            .0,
        StatusCode::OK
    );
    until_ended(&app, &name).await;
    until_inactive(&app, "serial").await;
    let later = tick + Span::minutes(2) + Span::seconds(2);
    let created = app
        .services
        .run_due_cron_workflows(later)
        .await
        .expect("look");
    assert_eq!(created, 1, "once it ended, the next tick runs");
    for workflow in workflows_of(&app, "serial").await {
        let name = workflow["metadata"]["name"].as_str().expect("name");
        argo(
            &app,
            Method::PUT,
            &format!("/api/v1/workflows/labors/{name}/stop"),
            &app.admin,
            Some(json!({})),
        )
        .await;
    }
}

async fn suspend_stops_ticks_and_resume_restarts_them(app: TestApp) {
    create(&app, cron("paused", "echo", json!({}))).await;
    let tick = next_minute();
    let path = format!("{BASE}/paused");
    argo(
        &app,
        Method::PUT,
        &format!("{path}/suspend"),
        &app.admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick + Span::seconds(5))
            .await
            .expect("look"),
        0
    );
    let (_, resumed) = argo(
        &app,
        Method::PUT,
        &format!("{path}/resume"),
        &app.admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(resumed["spec"]["suspend"], false);
    assert_eq!(
        app.services
            .run_due_cron_workflows(tick + Span::seconds(6))
            .await
            .expect("look"),
        1
    );
    let name = workflows_of(&app, "paused").await[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    until_ended(&app, &name).await;
}

async fn a_tick_older_than_the_starting_deadline_is_skipped(app: TestApp) {
    create(
        &app,
        cron("strict", "echo", json!({"startingDeadlineSeconds": 10})),
    )
    .await;
    let tick = next_minute();
    // Down for a while: the tick is 30 s old, past its deadline, and is not caught up.
    let late = tick + Span::seconds(30);
    assert_eq!(
        app.services
            .run_due_cron_workflows(late)
            .await
            .expect("look"),
        0
    );
    // Hours of missed ticks still give no burst: only the latest, when within the deadline.
    let hours_later = tick + Span::hours(3) + Span::seconds(4);
    assert_eq!(
        app.services
            .run_due_cron_workflows(hours_later)
            .await
            .expect("look"),
        1
    );
    let (_, read) = argo(
        &app,
        Method::GET,
        &format!("{BASE}/strict"),
        &app.admin,
        None,
    )
    .await;
    let last: DateTime<Utc> =
        serde_json::from_value(read["status"]["lastScheduledTime"].clone()).expect("a time");
    assert_eq!(last, tick + Span::hours(3));
    let name = workflows_of(&app, "strict").await[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    until_ended(&app, &name).await;
}

async fn two_servers_looking_at_one_tick_create_one_workflow(app: TestApp) {
    for name in ["one", "two", "three"] {
        create(&app, cron(name, "echo", json!({}))).await;
    }
    let second = app.second_services().await;
    let now = next_minute() + Span::seconds(3);
    let (a, b) = tokio::join!(
        app.services.run_due_cron_workflows(now),
        second.run_due_cron_workflows(now)
    );
    assert_eq!(
        a.expect("first") + b.expect("second"),
        3,
        "one workflow per CronWorkflow"
    );
    let (_, runs) = app
        .get("/projects/labors/runs?workflow_type=ad-hoc", &app.admin)
        .await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(3), "{runs}");
}

async fn replace_stops_the_running_workflow_then_starts_one(app: TestApp) {
    create(
        &app,
        cron("swap", "sleep 60", json!({"concurrencyPolicy": "Replace"})),
    )
    .await;
    let tick = next_minute();
    let first = app
        .services
        .run_due_cron_workflows(tick + Span::seconds(2))
        .await;
    assert_eq!(first.expect("look"), 1);
    let old = workflows_of(&app, "swap").await[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let next = tick + Span::minutes(1) + Span::seconds(2);
    assert_eq!(
        app.services
            .run_due_cron_workflows(next)
            .await
            .expect("look"),
        1
    );
    let ended = until_ended(&app, &old).await;
    assert_ne!(ended["status"]["phase"], "Succeeded", "{ended:#}");
    let (_, read) = argo(&app, Method::GET, &format!("{BASE}/swap"), &app.admin, None).await;
    let active = read["status"]["active"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(active.len(), 1, "only the new one runs: {read:#}");
    assert_ne!(active[0]["name"], old.as_str());
    let new = active[0]["name"].as_str().expect("name").to_owned();
    let stop = format!("/api/v1/workflows/labors/{new}/stop");
    argo(&app, Method::PUT, &stop, &app.admin, Some(json!({}))).await;
    until_ended(&app, &new).await;
}
