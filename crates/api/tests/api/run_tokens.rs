//! A run's task token ends with the run, on every path that settles it (the run ends, is
//! stopped, terminated, or settled by recovery after a restart), and lives no longer than the
//! workflow's deadline plus the exit handler's margin even if nobody records the end.

use crate::both_stores;
use crate::harness::TestApp;
use base64::Engine as _;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(
    a_run_task_token_expires_at_the_workflow_deadline_plus_the_exit_handler_margin,
    a_run_task_token_without_a_deadline_lives_a_day,
    a_run_task_token_stops_working_when_the_run_ends,
    a_run_task_token_stops_working_when_the_run_is_stopped,
    a_run_task_token_stops_working_when_the_run_is_terminated,
    a_run_task_token_stops_working_when_recovery_settles_the_run,
);

/// The exit handler margin of `crates/core/src/services/launch.rs`.
const MARGIN_S: i64 = 3_600;

/// A workflow whose one step prints its task token to its log (the steps' own /tmp is not the
/// test's), then sleeps.
fn holder(sleep_s: u32, deadline: Option<u32>) -> String {
    let deadline = deadline
        .map(|s| format!("  activeDeadlineSeconds: {s}\n"))
        .unwrap_or_default();
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: holder-}}
spec:
  entrypoint: main
{deadline}  arguments:
    parameters: [{{name: config_id}}, {{name: version_number}}, {{name: project}}]
  templates:
    - name: main
      steps:
        - - {{name: hold, template: hold}}
    - name: hold
      container:
        image: busybox
        command: [sh, -c, 'echo "token=$POLYPHEMUS_TOKEN;" && sleep {sleep_s}']
"#
    )
}

/// Submits `workflow` for a new config and waits for its step to show the task token:
/// `(run_id, token)`.
async fn launch_holding(app: &TestApp, workflow: &str) -> (String, String) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": workflow, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let name = run["name"].as_str().expect("name");
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let logs = orchestrator
            .logs("local", name, 4096)
            .await
            .unwrap_or_default();
        let shown = logs.values().find_map(|log| {
            let (_, rest) = log.text.split_once("token=")?;
            rest.split_once(';').map(|(token, _)| token.to_owned())
        });
        if let Some(token) = shown {
            break token;
        }
        assert!(
            Instant::now() < deadline,
            "the step never showed its token: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!token.is_empty(), "the local engine gives steps a token");
    (run_id, token)
}

/// The token's claims, read without checking the signature (the server checks it).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

/// What the run's token gets when it reads its run.
async fn run_read_by(app: &TestApp, run_id: &str, token: &str) -> (StatusCode, Value) {
    app.get(&format!("/projects/labors/runs/{run_id}"), token)
        .await
}

/// Waits for the run's final phase in its metadata.
async fn final_phase(app: &TestApp, run_id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        let phase = metadata["phase"].as_str().unwrap_or_default().to_owned();
        if status == StatusCode::OK && matches!(phase.as_str(), "Succeeded" | "Failed" | "Error") {
            return phase;
        }
        assert!(Instant::now() < deadline, "the run did not end: {metadata}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The token is refused as revoked. The revocation is committed with the final phase and this
/// server forgets the token at once; the loop only absorbs the instant between the two.
async fn assert_revoked(app: &TestApp, run_id: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, body) = run_read_by(app, run_id, token).await;
        if status == StatusCode::UNAUTHORIZED {
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("revoked"),
                "{body}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the ended run's token still works: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_run_task_token_expires_at_the_workflow_deadline_plus_the_exit_handler_margin(
    app: TestApp,
) {
    let (run_id, token) = launch_holding(&app, &holder(0, Some(600))).await;
    let claims = claims(&token);
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 600 + MARGIN_S, "{claims}");
    assert_eq!(claims["task"]["run_id"], run_id.as_str());
    let record = app
        .store
        .get_token(claims["jti"].as_str().expect("jti"))
        .await
        .expect("token record");
    assert_eq!(
        record.run_id.as_ref().map(|id| id.as_str()),
        Some(run_id.as_str()),
        "the store knows which run the token belongs to"
    );
    final_phase(&app, &run_id).await;
}

async fn a_run_task_token_without_a_deadline_lives_a_day(app: TestApp) {
    let (run_id, token) = launch_holding(&app, &holder(0, None)).await;
    let claims = claims(&token);
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 24 * 3_600, "not 7 days: {claims}");
    final_phase(&app, &run_id).await;
}

async fn a_run_task_token_stops_working_when_the_run_ends(app: TestApp) {
    let (run_id, token) = launch_holding(&app, &holder(1, Some(600))).await;
    let (status, body) = run_read_by(&app, &run_id, &token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the token works while the run runs: {body}"
    );
    assert_eq!(final_phase(&app, &run_id).await, "Succeeded");
    assert_revoked(&app, &run_id, &token).await;
}

/// Ends the run the way `action` says once it holds its token; the token then ends too.
async fn token_ends_when_the_run_is_ended(app: &TestApp, action: &str) {
    let (run_id, token) = launch_holding(app, &holder(60, Some(600))).await;
    let (status, body) = app
        .patch(
            &format!("/projects/labors/runs/{run_id}"),
            &token,
            json!({"state": {"seen": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let editor = app.token("labors", Role::Editor).await;
    let (status, body) = app
        .post(
            &format!("/projects/labors/runs/{run_id}/{action}"),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let phase = final_phase(app, &run_id).await;
    assert!(matches!(phase.as_str(), "Failed" | "Error"), "{phase}");
    assert_revoked(app, &run_id, &token).await;
}

async fn a_run_task_token_stops_working_when_the_run_is_stopped(app: TestApp) {
    token_ends_when_the_run_is_ended(&app, "stop").await;
}

async fn a_run_task_token_stops_working_when_the_run_is_terminated(app: TestApp) {
    token_ends_when_the_run_is_ended(&app, "terminate").await;
}

/// As after `kill -9` of the server: a run left without a final phase, holding a token bound to
/// it, is settled by the recovery the server runs at start.
async fn a_run_task_token_stops_working_when_recovery_settles_the_run(app: TestApp) {
    // Recovery settles only runs this server launched: a real one, still running, stands in
    // for a run left behind by a killed server.
    let (run_id, token) = launch_holding(&app, &holder(60, None)).await;
    let (status, body) = run_read_by(&app, &run_id, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let recovery = app.services.recover_runs().await.expect("recovery");
    assert_eq!(recovery.settled, 1, "{recovery}");
    assert!(recovery.killed_processes >= 1, "{recovery}");
    // This test's engine is still alive and may see its killed step end (`Failed`) before
    // recovery records `Error`; after a real restart nothing is left to see it.
    let phase = final_phase(&app, &run_id).await;
    assert!(["Error", "Failed"].contains(&phase.as_str()), "{phase}");
    assert_revoked(&app, &run_id, &token).await;
}
