//! A run that reached a final phase keeps its state and output (409 for writes), while the
//! orchestrator's final report may still replace its metadata; and project task tokens reach
//! one config unless made for all of them.

use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_core::TaskGrant;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_stores!(
    writes_to_a_running_run_succeed_and_to_an_ended_run_get_409,
    an_ended_run_takes_only_a_final_report_as_metadata,
    writes_racing_the_final_report_never_land_after_it,
    a_project_task_token_bound_to_one_config_cannot_read_another_configs_secrets,
);

fn report(phase: &str) -> Value {
    json!({"phase": phase, "started_at": "2026-12-01T10:00:00Z", "nodes": {}})
}

async fn put_metadata(app: &TestApp, run_id: &str, phase: &str) -> (StatusCode, Value) {
    app.put(
        &format!("/projects/labors/runs/{run_id}/metadata"),
        &app.admin,
        report(phase),
    )
    .await
}

async fn writes_to_a_running_run_succeed_and_to_an_ended_run_get_409(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", config_id, 1).await;
    let run = "/projects/labors/runs/r1";
    assert_eq!(put_metadata(&app, "r1", "Running").await.0, StatusCode::OK);
    let (status, body) = app
        .patch(
            run,
            &app.admin,
            json!({"state": {"a": 1}, "append_output": "one\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(
        put_metadata(&app, "r1", "Succeeded").await.0,
        StatusCode::OK
    );
    for write in [
        json!({"state": {"b": 2}}),
        json!({"append_output": "late\n"}),
        json!({"output": "replaced"}),
    ] {
        let response = app
            .client
            .patch(format!("{}/api/v1{run}", app.base))
            .bearer_auth(&app.admin)
            .json(&write)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::CONFLICT, "{write}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.expect("problem");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("Succeeded"), "names the phase: {problem}");
    }
    let (_, stored) = app.get(run, &app.admin).await;
    assert_eq!(stored["state"], json!({"a": 1}), "{stored}");
    assert_eq!(stored["output"], "one\n");
}

async fn an_ended_run_takes_only_a_final_report_as_metadata(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", config_id, 1).await;
    assert_eq!(put_metadata(&app, "r1", "Failed").await.0, StatusCode::OK);
    let (status, body) = put_metadata(&app, "r1", "Running").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Failed"),
        "{body}"
    );
    // The orchestrator's last word (e.g. once the exit handler is done) still lands.
    assert_eq!(put_metadata(&app, "r1", "Error").await.0, StatusCode::OK);
    let (_, metadata) = app
        .get("/projects/labors/runs/r1/metadata", &app.admin)
        .await;
    assert_eq!(metadata["phase"], "Error");
}

/// State writes racing the final report: each one either landed before it (200, its key kept)
/// or was refused (409, its key absent); none lands after the run ended.
async fn writes_racing_the_final_report_never_land_after_it(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", config_id, 1).await;
    let writes = (0..24).map(|n| {
        let app = &app;
        async move {
            let (status, _) = app
                .patch(
                    "/projects/labors/runs/r1",
                    &app.admin,
                    json!({"state": {format!("k{n}"): n}}),
                )
                .await;
            (n, status)
        }
    });
    let (outcomes, (ended, _)) = tokio::join!(
        futures::future::join_all(writes),
        put_metadata(&app, "r1", "Succeeded")
    );
    assert_eq!(ended, StatusCode::OK);
    let (_, run) = app.get("/projects/labors/runs/r1", &app.admin).await;
    for (n, status) in outcomes {
        let kept = run["state"].get(format!("k{n}")).is_some();
        match status {
            StatusCode::OK => assert!(kept, "k{n} was accepted but lost"),
            StatusCode::CONFLICT => assert!(!kept, "k{n} was refused but stored"),
            other => panic!("k{n}: {other}"),
        }
    }
    let (status, _) = app
        .patch(
            "/projects/labors/runs/r1",
            &app.admin,
            json!({"state": {"late": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_project_task_token_bound_to_one_config_cannot_read_another_configs_secrets(
    app: TestApp,
) {
    let own = app
        .create_config("labors", json!({"password": "own"}))
        .await;
    let other = app
        .create_config("labors", json!({"password": "other"}))
        .await;
    let project_token = |config_id: Option<i64>| {
        let grant = TaskGrant {
            project: "labors".parse().expect("project"),
            config_id: config_id.map(Into::into),
            version_number: None,
            run_id: None,
        };
        let tokens = app.services.tokens.clone();
        async move {
            tokens
                .issue_task("argo-steps", grant, chrono::Duration::days(30))
                .await
                .expect("issued")
        }
    };
    let bound = project_token(Some(own)).await;
    let secrets =
        |config_id: i64| format!("/projects/labors/configs/{config_id}/versions/1/secrets");
    let (status, body) = app.get(&secrets(own), &bound.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["password"], "own");
    let (status, body) = app.get(&secrets(other), &bound.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains("other\""), "{body}");

    let everywhere = project_token(None).await;
    let (status, _) = app.get(&secrets(other), &everywhere.token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an all-configs token reads every config"
    );

    let listed = app.services.tokens.list().await.expect("list");
    for issued in [&bound, &everywhere] {
        let record = listed
            .iter()
            .find(|record| record.id == issued.id)
            .expect("project task tokens are listed");
        assert_eq!(record.kind, "task");
        assert_eq!(
            record.expires_at.map(|at| at.timestamp()),
            Some(issued.expires_at.timestamp())
        );
    }
    let bound_record = listed.iter().find(|r| r.id == bound.id).expect("listed");
    assert_eq!(bound_record.scope.0["config_id"], own);
}
