//! Alerts: a project's channels (a Slack-compatible webhook, a signed JSON webhook, email over
//! a real SMTP server) get one alert per failed run, one when the schedule pauses itself and
//! one for the first success after failures; deliveries are retried and recorded; URLs and
//! credentials are never answered.

use crate::harness::TestApp;
use crate::schedules::events_named;
use hmac::{Hmac, Mac};
use polyphemus_testkit::{SmtpServer, WebhookReceiver};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

crate::both_stores!(
    every_channel_hears_of_failures_the_pause_and_the_recovery,
    a_delivery_is_retried_and_a_dead_channel_is_recorded_as_failed,
    channels_never_show_their_urls_or_credentials_and_bad_ones_are_refused,
    a_run_past_its_expected_duration_is_reported_once,
);

const SECRET: &str = "webhook-signing-secret-0123";
const WAIT: Duration = Duration::from_secs(10);

async fn add_channel(app: &TestApp, name: &str, events: Value, settings: Value) -> Value {
    let (status, channel) = app
        .post(
            "/projects/labors/notifications",
            &app.admin,
            json!({"name": name, "events": events, "settings": settings}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    channel
}

/// Registers run `run_id` of the config and records its end in `phase`.
async fn ended_run(app: &TestApp, config_id: i64, run_id: &str, phase: &str) {
    app.register_run("labors", run_id, config_id, 1).await;
    let (status, body) = app
        .put(
            &format!("/projects/labors/runs/{run_id}/metadata"),
            &app.admin,
            json!({"phase": phase, "started_at": "2026-12-01T10:00:00Z", "nodes": {},
                   "message": "discover: connection refused"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn signature_of(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn every_channel_hears_of_failures_the_pause_and_the_recovery(app: TestApp) {
    if let Some(why) = SmtpServer::unavailable() {
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipping: {why}");
        return;
    }
    let slack = WebhookReceiver::start();
    let hook = WebhookReceiver::start();
    let smtp = SmtpServer::start();
    add_channel(
        &app,
        "chat",
        json!(["schedule_paused", "run_recovered"]),
        json!({"kind": "slack", "url": slack.url()}),
    )
    .await;
    add_channel(
        &app,
        "pager",
        json!(["schedule_paused", "run_recovered"]),
        json!({"kind": "webhook", "url": hook.url(), "secret": SECRET}),
    )
    .await;
    add_channel(
        &app,
        "mail",
        json!(["schedule_paused", "run_recovered", "run_failed"]),
        json!({"kind": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
               "from": "polyphemus@example.org", "to": ["ops@example.org"]}),
    )
    .await;

    let id = app.create_config("labors", json!({})).await;
    app.put(
        &format!("/projects/labors/configs/{id}/runtime"),
        &app.admin,
        json!({"run_interval_s": 3600}),
    )
    .await;
    for run in ["f1", "f2", "f3"] {
        ended_run(&app, id, run, "Failed").await;
    }
    // Each channel: one alert for the pause; email also one per failed run.
    let slack_bodies = slack.wait_for(1, WAIT);
    assert_eq!(slack_bodies.len(), 1, "{slack_bodies:?}");
    assert!(slack_bodies[0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("paused")));
    assert!(slack_bodies[0]["blocks"].is_array(), "Slack's payload");
    let signed = hook.requests();
    let signed = if signed.is_empty() {
        hook.wait_for(1, WAIT);
        hook.requests()
    } else {
        signed
    };
    assert_eq!(signed.len(), 1);
    assert_eq!(
        signed[0].header("x-polyphemus-signature"),
        Some(signature_of(&signed[0].body).as_str())
    );
    let alert = signed[0].json().expect("JSON");
    assert_eq!(alert["event"], "schedule_paused");
    assert_eq!(alert["config_id"], id);
    let mails = smtp.wait_for(4, WAIT);
    assert_eq!(mails.len(), 4, "three failures and the pause: {mails:?}");
    assert!(mails.iter().any(|m| m.contains("paused itself")));
    assert!(mails.iter().filter(|m| m.contains("ended Failed")).count() == 3);

    // The first success after the failures: one recovery alert each.
    ended_run(&app, id, "ok", "Succeeded").await;
    assert_eq!(slack.wait_for(2, WAIT).len(), 2);
    assert_eq!(hook.wait_for(2, WAIT)[1]["event"], "run_recovered");
    assert_eq!(smtp.wait_for(5, WAIT).len(), 5);
    ended_run(&app, id, "ok2", "Succeeded").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slack.received().len(), 2, "a second success is no news");
    let delivered = events_named(&app, id, "notification.delivered").await;
    assert_eq!(delivered.len(), 2 + 2 + 5, "{delivered:?}");
}

async fn a_delivery_is_retried_and_a_dead_channel_is_recorded_as_failed(app: TestApp) {
    let flaky = WebhookReceiver::failing_first(2);
    add_channel(
        &app,
        "flaky",
        json!(["run_failed"]),
        json!({"kind": "slack", "url": flaky.url()}),
    )
    .await;
    add_channel(
        &app,
        "dead",
        json!(["run_failed"]),
        json!({"kind": "slack", "url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    let id = app.create_config("labors", json!({})).await;
    ended_run(&app, id, "f1", "Error").await;
    assert_eq!(
        flaky.wait_for(1, WAIT).len(),
        1,
        "delivered on the third attempt"
    );
    assert_eq!(flaky.refused(), 2);
    let deadline = std::time::Instant::now() + WAIT;
    let failed = loop {
        let failed = events_named(&app, id, "notification.failed").await;
        if !failed.is_empty() || std::time::Instant::now() > deadline {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["detail"]["channel"], "dead");
    assert_eq!(failed[0]["detail"]["attempts"], 3);
    assert!(failed[0]["detail"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("cannot reach")));
    let delivered = events_named(&app, id, "notification.delivered").await;
    assert_eq!(delivered[0]["detail"]["attempts"], 3);
}

async fn channels_never_show_their_urls_or_credentials_and_bad_ones_are_refused(app: TestApp) {
    let url = "https://hooks.slack.example/services/T000/B000/sEcReTtOkEn";
    add_channel(
        &app,
        "chat",
        json!(["run_failed"]),
        json!({"kind": "slack", "url": url}),
    )
    .await;
    add_channel(
        &app,
        "mail",
        json!(["run_failed"]),
        json!({"kind": "email", "smtp_host": "smtp.example.org", "username": "u",
               "password": "pAsSwOrD-42", "from": "a@example.org", "to": ["b@example.org"]}),
    )
    .await;
    let (status, listed) = app.get("/projects/labors/notifications", &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    let text = listed.to_string();
    assert!(
        !text.contains("sEcReTtOkEn") && !text.contains("pAsSwOrD-42"),
        "{text}"
    );
    assert_eq!(listed[0]["target"], "Slack webhook at hooks.slack.example");
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    assert!(!events.to_string().contains("sEcReTtOkEn"));
    if let Some(path) = &app.sqlite_path {
        let bytes = std::fs::read(path).expect("store file");
        let raw = String::from_utf8_lossy(&bytes);
        assert!(
            !raw.contains("sEcReTtOkEn") && !raw.contains("pAsSwOrD-42"),
            "sealed at rest"
        );
    }

    let (status, _) = app.post("/projects/labors/notifications", &app.admin,
        json!({"name": "chat", "events": ["run_failed"], "settings": {"kind": "slack", "url": url}})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "names are unique in a project"
    );
    for (body, pointer) in [
        (
            json!({"name": "x", "events": [], "settings": {"kind": "slack", "url": url}}),
            "/events",
        ),
        (
            json!({"name": "x", "events": ["run_failed"], "settings": {"kind": "slack", "url": "ftp://h"}}),
            "/settings/url",
        ),
        (
            json!({"name": "x", "events": ["run_failed"], "settings": {"kind": "webhook", "url": url, "secret": "short"}}),
            "/settings/secret",
        ),
        (
            json!({"name": "x", "events": ["run_failed"], "settings": {"kind": "email", "smtp_host": "h", "from": "a@b.c", "to": ["nope"]}}),
            "/settings/to",
        ),
        (
            json!({"name": "bad name!", "events": ["run_failed"], "settings": {"kind": "slack", "url": url}}),
            "/name",
        ),
    ] {
        let (status, problem) = app
            .post("/projects/labors/notifications", &app.admin, body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert!(problem.to_string().contains(pointer), "{body}: {problem}");
    }
    let viewer = app.token("labors", polyphemus_model::Role::Viewer).await;
    let (status, _) = app.post("/projects/labors/notifications", &viewer,
        json!({"name": "v", "events": ["run_failed"], "settings": {"kind": "slack", "url": url}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = listed[0]["id"].as_i64().expect("id");
    let (status, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/projects/labors/notifications/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn a_run_past_its_expected_duration_is_reported_once(app: TestApp) {
    let hook = WebhookReceiver::start();
    add_channel(
        &app,
        "pager",
        json!(["run_overdue"]),
        json!({"kind": "webhook", "url": hook.url(), "secret": SECRET}),
    )
    .await;
    let id = app.create_config("labors", json!({})).await;
    let (status, body) = app
        .put(
            &format!("/projects/labors/configs/{id}/runtime"),
            &app.admin,
            json!({"run_interval_s": 3600, "expected_duration_s": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expected_duration_s"], 1);
    app.register_run("labors", "slow", id, 1).await;
    let unscheduled = app.create_config("labors", json!({})).await;
    app.register_run("labors", "no-limit", unscheduled, 1).await;
    let scheduler =
        polyphemus_core::scheduler::Scheduler::new(app.services.clone(), Duration::from_secs(60));
    scheduler.tick().await.expect("tick");
    assert!(hook.received().is_empty(), "not overdue yet");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    scheduler.tick().await.expect("tick");
    let alerts = hook.wait_for(1, WAIT);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["event"], "run_overdue");
    assert_eq!(alerts[0]["run_id"], "slow");
    scheduler.tick().await.expect("tick");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), 1, "reported once");
}
