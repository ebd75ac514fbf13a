//! Runtime configs (schedules), the project status page and the event log.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::json;

both_stores!(
    runtime_schedule_sets_next_run_and_validates,
    status_page_follows_the_last_run,
    events_record_who_did_what_and_page,
    launch_submits_to_the_orchestrator_and_registers_the_run,
    project_list_has_every_stored_project_for_star_tokens_only,
);

async fn runtime_schedule_sets_next_run_and_validates(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let path = format!("/projects/labors/configs/{id}/runtime");
    let (status, runtime) = app.get(&path, &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runtime["disabled"], false);
    assert!(runtime["next_run_at"].is_null());
    let (status, runtime) = app
        .put(
            &path,
            &app.admin,
            json!({"run_interval_s": 3600, "config": {"max_files": 10}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    assert!(runtime["next_run_at"].is_string());
    assert_eq!(runtime["config"], json!({"max_files": 10}));
    let (status, problem) = app
        .put(&path, &app.admin, json!({"cron": "0 2 * * *"}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "interval and cron together"
    );
    assert_eq!(problem["errors"][0]["pointer"], "/cron");
    let (status, runtime) = app
        .put(
            &path,
            &app.admin,
            json!({"run_interval_s": null, "cron": "30 2 * * *", "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    assert_eq!(runtime["cron"], "30 2 * * *");
    assert_eq!(
        runtime["config"],
        json!({"max_files": 10}),
        "absent fields keep their value"
    );
    for (bad, pointer) in [
        (json!({"cron": "61 * * * *"}), "/cron"),
        (json!({"timezone": "Mars/Base"}), "/timezone"),
        (json!({"config": {"max_files": 0}}), "/config/max_files"),
    ] {
        let (status, problem) = app.put(&path, &app.admin, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer);
    }
    let (_, disabled) = app.put(&path, &app.admin, json!({"disabled": true})).await;
    assert!(
        disabled["next_run_at"].is_null(),
        "a disabled config is never due"
    );
}

async fn status_page_follows_the_last_run(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let state_of = |status: &serde_json::Value| status[0]["pipeline_state"].clone();
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(state_of(&status), "pending");
    assert!(status[0]["last_run"].is_null());
    app.register_run("labors", "r1", id, 1).await;
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(state_of(&status), "running");
    let done = json!({"phase": "Succeeded", "started_at": "2026-11-25T10:00:00Z",
                      "finished_at": "2026-11-25T10:00:10Z", "nodes": {}});
    app.put("/projects/labors/runs/r1/metadata", &app.admin, done)
        .await;
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(state_of(&status), "succeeded");
    assert_eq!(status[0]["last_run"]["run_id"], "r1");
    assert_eq!(status[0]["last_success_at"], "2026-11-25T10:00:10Z");
    app.register_run("labors", "r2", id, 1).await;
    app.put(
        "/projects/labors/runs/r2/metadata",
        &app.admin,
        json!({"phase": "Failed", "nodes": {}}),
    )
    .await;
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(state_of(&status), "failed");
    assert_eq!(
        status[0]["last_success_at"], "2026-11-25T10:00:10Z",
        "last success stays"
    );
    app.put(
        &format!("/projects/labors/configs/{id}/runtime"),
        &app.admin,
        json!({"disabled": true}),
    )
    .await;
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(state_of(&status), "disabled");
    assert_eq!(
        app.get("/projects/nobody/status", &app.admin).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn events_record_who_did_what_and_page(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let config = format!("/projects/labors/configs/{id}");
    app.patch(&config, &app.admin, json!({"comment": "c"}))
        .await;
    app.put(
        &format!("{config}/runtime"),
        &app.admin,
        json!({"run_interval_s": 60}),
    )
    .await;
    app.register_run("labors", "r1", id, 1).await;
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "run.registered",
            "runtime.updated",
            "config.updated",
            "config.created"
        ]
    );
    assert_eq!(events["items"][0]["actor"], "admin-*");
    assert_eq!(events["items"][0]["run_id"], "r1");
    assert_eq!(events["items"][3]["config_id"], id);
    let (_, first) = app.get("/projects/labors/events?limit=3", &app.admin).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = app
        .get(
            &format!("/projects/labors/events?limit=3&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(second["items"][0]["action"], "config.created");
    let (_, filtered) = app
        .get(
            &format!("/projects/labors/events?config_id={}", id + 1000),
            &app.admin,
        )
        .await;
    assert_eq!(filtered["items"], json!([]));
}

async fn launch_submits_to_the_orchestrator_and_registers_the_run(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let path = format!("/projects/labors/configs/{id}/launch");
    let (status, run) = app.post(&path, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let name = run["name"].as_str().expect("name").to_owned();
    assert!(name.starts_with("sftp-to-storage-"), "{name}");
    assert_eq!(run["version_number"], 1);
    let (status, stored) = app
        .get(&format!("/projects/labors/runs/{run_id}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["config_id"], id);
    let orchestrator = app.services.orchestrator().expect("local engine");
    let workflow = orchestrator
        .workflow("local", &name)
        .await
        .expect("the engine knows it");
    assert_eq!(
        workflow["metadata"]["uid"],
        run_id.as_str(),
        "run_id is the workflow uid"
    );
    let parameters = workflow["spec"]["arguments"]["parameters"].to_string();
    assert!(
        parameters.contains(&format!("\"value\":\"{id}\"")),
        "{parameters}"
    );
    orchestrator
        .stop("local", &name, polyphemus_model::StopMode::Terminate)
        .await
        .expect("terminate");
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    assert_eq!(events["items"][0]["action"], "run.launched");
    assert_eq!(events["items"][0]["run_id"], run_id.as_str());
    let (status, _) = app
        .post(&path, &app.admin, json!({"version_number": 5}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// What the web UI's project list shows.
async fn project_list_has_every_stored_project_for_star_tokens_only(app: TestApp) {
    app.create_config("labors", json!({})).await;
    app.create_config("archive", json!({})).await;
    let admin = app.services.tokens.verify(&app.admin).await.expect("admin");
    let listed = app.services.list_projects(&admin).await.expect("list");
    assert_eq!(listed, ["archive", "labors"]);
    let viewer = app.token("fresh", polyphemus_model::Role::Viewer).await;
    let viewer = app.services.tokens.verify(&viewer).await.expect("viewer");
    let listed = app.services.list_projects(&viewer).await.expect("list");
    assert_eq!(
        listed,
        ["fresh"],
        "only the token's own, even before it has configs"
    );
}
