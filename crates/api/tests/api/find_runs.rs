//! Finding any run of a project: the filtered list (`GET /projects/{p}/runs`) and runs named
//! by uid, workflow name or a unique uid prefix of 8+ characters.

use crate::both_stores;
use crate::harness::{valid_config, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_stores!(
    project_runs_list_newest_first_with_phase_and_duration,
    project_runs_filter_by_phase_config_and_workflow_type,
    project_runs_filter_by_since_and_until,
    project_runs_page_with_a_cursor,
    unknown_phase_or_bad_time_is_422_naming_the_parameter,
    run_is_found_by_uid_workflow_name_or_uid_prefix,
    ambiguous_uid_prefix_is_409_listing_the_candidates,
    short_prefix_that_is_no_uid_or_name_is_404,
);

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|run| run["run_id"].as_str().expect("run_id"))
        .collect()
}

/// The run ids of one page of `GET /projects/labors/runs?{query}`.
async fn list_ids(app: &TestApp, query: String) -> Vec<String> {
    let path = format!("/projects/labors/runs?{query}");
    let (status, page) = app.get(&path, &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    ids(&page).into_iter().map(str::to_owned).collect()
}

async fn report(app: &TestApp, run_id: &str, phase: &str) {
    let body = json!({"phase": phase, "startedAt": "2026-11-25T10:00:00Z",
                      "finishedAt": "2026-11-25T10:01:30Z", "nodes": {}});
    let path = format!("/projects/labors/runs/{run_id}/metadata");
    let (status, stored) = app.put(&path, &app.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
}

async fn create_ingestion_config(app: &TestApp) -> i64 {
    let mut config = valid_config("sftp.example.org");
    let deposit = json!({"deposit_host": "deposit.example.org", "deposit_username": "ingest",
        "deposit_host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
        "deposit_root": "/deposit"});
    for (key, value) in deposit.as_object().expect("object") {
        config[key] = value.clone();
    }
    let body = json!({"workflow_type": "ingestion", "workflow_name": "deposit", "config": config});
    let (status, created) = app.post("/projects/labors/configs", &app.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["config_id"].as_i64().expect("config_id")
}

async fn project_runs_list_newest_first_with_phase_and_duration(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let other = app.create_config("other", json!({})).await;
    app.register_run("labors", "uid-a", id, 1).await;
    app.register_run("labors", "uid-b", id, 1).await;
    app.register_run("other", "uid-elsewhere", other, 1).await;
    report(&app, "uid-a", "Succeeded").await;
    let (status, page) = app.get("/projects/labors/runs", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        ids(&page),
        ["uid-b", "uid-a"],
        "newest first, this project only"
    );
    let newest = &page["items"][0];
    assert_eq!(newest["phase"], "Pending", "not reported yet");
    assert_eq!(newest["duration_s"], Value::Null);
    assert_eq!(newest["workflow_type"], "sftp-to-storage");
    assert_eq!(newest["name"], "wf-uid-b");
    let oldest = &page["items"][1];
    assert_eq!(oldest["phase"], "Succeeded");
    assert_eq!(oldest["duration_s"], 90.0);
    assert_eq!(oldest["config_id"], id);
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn project_runs_filter_by_phase_config_and_workflow_type(app: TestApp) {
    let first = app.create_config("labors", json!({})).await;
    let second = create_ingestion_config(&app).await;
    app.register_run("labors", "uid-ok", first, 1).await;
    app.register_run("labors", "uid-bad", first, 1).await;
    app.register_run("labors", "uid-new", second, 1).await;
    app.register_run("labors", "uid-going", second, 1).await;
    report(&app, "uid-ok", "Succeeded").await;
    report(&app, "uid-bad", "Failed").await;
    report(&app, "uid-going", "Running").await;
    let list = |query: &str| list_ids(&app, query.to_owned());
    assert_eq!(list("phase=Failed").await, ["uid-bad"]);
    assert_eq!(list("phase=failed").await, ["uid-bad"], "any case");
    assert_eq!(
        list("phase=Pending").await,
        ["uid-new"],
        "unreported runs are pending"
    );
    assert_eq!(list("phase=Running").await, ["uid-going"]);
    assert_eq!(
        list(&format!("config_id={first}")).await,
        ["uid-bad", "uid-ok"]
    );
    assert_eq!(
        list("workflow_type=ingestion").await,
        ["uid-going", "uid-new"]
    );
    assert_eq!(
        list(&format!(
            "workflow_type=ingestion&phase=Running&config_id={second}"
        ))
        .await,
        ["uid-going"]
    );
    assert!(list("workflow_type=no-such-type").await.is_empty());
    assert!(list(&format!("config_id={first}&phase=Running"))
        .await
        .is_empty());
}

/// A time in a query string (`+` would read as a space).
fn query_time(value: &Value) -> String {
    value.as_str().expect("a time").replace('+', "%2B")
}

async fn project_runs_filter_by_since_and_until(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-old", id, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    app.register_run("labors", "uid-new", id, 1).await;
    let (_, page) = app.get("/projects/labors/runs", &app.admin).await;
    let boundary = query_time(&page["items"][0]["created_at"]);
    let list = |query: String| list_ids(&app, query);
    assert_eq!(
        list(format!("since={boundary}")).await,
        ["uid-new"],
        "since is inclusive"
    );
    assert_eq!(
        list(format!("until={boundary}")).await,
        ["uid-old"],
        "until is exclusive"
    );
    assert_eq!(
        list("since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B02:00".into()).await,
        ["uid-new", "uid-old"]
    );
    assert!(list("since=2999-01-01T00:00:00Z".into()).await.is_empty());
}

async fn project_runs_page_with_a_cursor(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    for n in 1..=5 {
        app.register_run("labors", &format!("uid-{n}"), id, 1).await;
    }
    let (_, first) = app.get("/projects/labors/runs?limit=2", &app.admin).await;
    assert_eq!(ids(&first), ["uid-5", "uid-4"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = app
        .get(
            &format!("/projects/labors/runs?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(ids(&second), ["uid-3", "uid-2"]);
    let cursor = second["next_cursor"].as_str().expect("a last page");
    let (_, last) = app
        .get(
            &format!("/projects/labors/runs?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(ids(&last), ["uid-1"]);
    assert_eq!(last["next_cursor"], Value::Null);
    let (status, _) = app.get("/projects/labors/runs?limit=0", &app.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn unknown_phase_or_bad_time_is_422_naming_the_parameter(app: TestApp) {
    app.create_config("labors", json!({})).await;
    for (query, field) in [
        ("phase=Done", "/phase"),
        ("phase=Skipped", "/phase"),
        ("since=yesterday", "/since"),
        ("until=2026-13-01", "/until"),
        ("workflow_type=Not%20A%20Type", "/workflow_type"),
    ] {
        let (status, problem) = app
            .get(&format!("/projects/labors/runs?{query}"), &app.admin)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {problem}"
        );
        assert_eq!(problem["errors"][0]["pointer"], field, "{problem}");
    }
    let viewer = app.token("elsewhere", polyphemus_model::Role::Viewer).await;
    let (status, _) = app.get("/projects/labors/runs", &viewer).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a project the token cannot see"
    );
}

const UID: &str = "3f1c2a9b-5d7e-4c1a-9f00-0123456789ab";

async fn register_named(app: &TestApp, run_id: &str, name: &str, config_id: i64) {
    let body = json!({"run_id": run_id, "name": name, "config_id": config_id, "version_number": 1});
    let (status, run) = app.post("/projects/labors/runs", &app.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
}

async fn run_is_found_by_uid_workflow_name_or_uid_prefix(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    register_named(&app, UID, "sftp-to-storage-8ql46", id).await;
    register_named(
        &app,
        "77aa0000-0000-4000-8000-000000000000",
        "sftp-to-storage-zz001",
        id,
    )
    .await;
    report(&app, UID, "Failed").await;
    for reference in [UID, "sftp-to-storage-8ql46", "3f1c2a9b", "3f1c2a9b-5d7e"] {
        let (status, run) = app
            .get(&format!("/projects/labors/runs/{reference}"), &app.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{reference}: {run}");
        assert_eq!(run["run_id"], UID, "{reference}");
    }
    let (status, metadata) = app
        .get(
            "/projects/labors/runs/sftp-to-storage-8ql46/metadata",
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    assert_eq!(metadata["run_id"], UID);
    app.create_config("other", json!({})).await;
    let (status, _) = app.get("/projects/other/runs/3f1c2a9b", &app.admin).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "prefixes stay in their project"
    );
    let (status, _) = app.get("/projects/labors/runs/3f1c2a9bX", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn ambiguous_uid_prefix_is_409_listing_the_candidates(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    register_named(&app, "abcdef12-0000-4000-8000-000000000001", "wf-one", id).await;
    register_named(&app, "abcdef12-9999-4000-8000-000000000002", "wf-two", id).await;
    let (status, problem) = app.get("/projects/labors/runs/abcdef12", &app.admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("abcdef12-0000-4000-8000-000000000001 (wf-one)"),
        "{detail}"
    );
    assert!(
        detail.contains("abcdef12-9999-4000-8000-000000000002 (wf-two)"),
        "{detail}"
    );
    let (status, run) = app
        .get("/projects/labors/runs/abcdef12-9", &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "a longer prefix is unique: {run}");
    assert_eq!(run["name"], "wf-two");
}

async fn short_prefix_that_is_no_uid_or_name_is_404(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    register_named(&app, UID, "nightly", id).await;
    register_named(&app, "abc", "wf-abc", id).await;
    let (status, problem) = app.get("/projects/labors/runs/3f1c2a9", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "7 characters: {problem}");
    let (status, run) = app.get("/projects/labors/runs/abc", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "a short full uid: {run}");
    let (status, run) = app.get("/projects/labors/runs/nightly", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "a short workflow name: {run}");
    assert_eq!(run["run_id"], UID);
}
