//! Reloading the workflow packages without a restart: a global admin re-reads the server's
//! package directory; an invalid set is refused and the loaded one stays; a schema that no
//! longer accepts a stored config lists it and blocks its launches, by hand and by the
//! scheduler, until the config is changed.

use crate::both_stores;
use crate::harness::TestApp;
use chrono::{Duration, Utc};
use polyphemus_core::scheduler::Scheduler;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WORKFLOW: &str = "apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: load-table-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'echo loading']
";

/// A package whose config needs `table`, and `schema` too when `strict`.
fn write_package(app: &TestApp, strict: bool) {
    let required = if strict { "[table, schema]" } else { "[table]" };
    let manifest = format!(
        "name: load-table
description: Loads a table.
workflow: workflow.yaml
config_schema:
  type: object
  required: {required}
  properties:
    table: {{type: string, minLength: 1}}
    schema: {{type: string, minLength: 1}}
example_config: {{table: t, schema: s}}
"
    );
    let dir = app.packages_dir.join("load-table");
    std::fs::create_dir_all(&dir).expect("package dir");
    std::fs::write(dir.join("manifest.yaml"), manifest).expect("manifest");
    std::fs::write(dir.join("workflow.yaml"), WORKFLOW).expect("workflow");
}

async fn reload(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.post("/workflows/reload", token, json!({})).await
}

fn entry<'a>(reloaded: &'a Value, name: &str) -> &'a Value {
    reloaded["workflows"]
        .as_array()
        .and_then(|all| all.iter().find(|w| w["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {reloaded}"))
}

async fn events(app: &TestApp, config_id: i64) -> Vec<Value> {
    let (_, page) = app
        .get(
            &format!("/projects/labors/events?config_id={config_id}"),
            &app.admin,
        )
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

both_stores!(
    a_reload_adds_a_package_and_only_a_global_admin_may_reload,
    an_invalid_package_set_is_refused_and_the_loaded_one_stays,
    a_breaking_schema_lists_the_configs_and_blocks_their_launch
);

async fn a_reload_adds_a_package_and_only_a_global_admin_may_reload(app: TestApp) {
    write_package(&app, false);
    let project_admin = app.token("labors", Role::Admin).await;
    let (status, body) = reload(&app, &project_admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.get("/workflows/load-table", &app.admin).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not loaded before the reload"
    );

    let (status, reloaded) = reload(&app, &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    assert_eq!(entry(&reloaded, "load-table")["change"], "added");
    assert_eq!(entry(&reloaded, "sftp-to-storage")["change"], "unchanged");
    let (status, shown) = app.get("/workflows/load-table", &project_admin).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["digest"], entry(&reloaded, "load-table")["digest"]);
    assert_eq!(shown["broken_configs"], json!([]));

    let (status, config) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "load-table", "workflow_name": "orders", "config": {"table": "orders"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    assert_eq!(
        config["package_digest"], shown["digest"],
        "the version records the package it was validated against"
    );
}

async fn an_invalid_package_set_is_refused_and_the_loaded_one_stays(app: TestApp) {
    write_package(&app, false);
    let (_, before) = reload(&app, &app.admin).await;
    let digest = entry(&before, "load-table")["digest"].clone();
    let manifest = app.packages_dir.join("load-table/manifest.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, format!("{text}colour: blue\n")).expect("break it");

    let (status, problem) = reload(&app, &app.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the loaded ones stay")),
        "{problem}"
    );
    let named = problem["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e["pointer"]
                .as_str()
                .is_some_and(|p| p.contains("manifest.yaml"))
                && e["message"].as_str().is_some_and(|m| m.contains("colour"))
        })
    });
    assert!(named, "the problem names the file and the key: {problem}");
    let (status, shown) = app.get("/workflows/load-table", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "the loaded package is still served");
    assert_eq!(shown["digest"], digest);
    let (_, all) = app.get("/workflows", &app.admin).await;
    // The two built-in packages and load-table.
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
}

async fn a_breaking_schema_lists_the_configs_and_blocks_their_launch(app: TestApp) {
    write_package(&app, false);
    reload(&app, &app.admin).await;
    let (_, config) = app
        .post(
            "/projects/labors/configs",
            &app.admin,
            json!({"workflow_type": "load-table", "workflow_name": "orders", "config": {"table": "orders"}}),
        )
        .await;
    let config_id = config["config_id"].as_i64().expect("config_id");
    let runtime = format!("/projects/labors/configs/{config_id}/runtime");
    let (status, _) = app
        .put(&runtime, &app.admin, json!({"run_interval_s": 3600}))
        .await;
    assert_eq!(status, StatusCode::OK);

    write_package(&app, true);
    let (status, reloaded) = reload(&app, &app.admin).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a breaking schema is a valid package: {reloaded}"
    );
    assert_eq!(entry(&reloaded, "load-table")["change"], "changed");
    assert_eq!(entry(&reloaded, "load-table")["broken_configs"], 1);

    let (_, shown) = app.get("/workflows/load-table", &app.admin).await;
    let broken = shown["broken_configs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(broken.len(), 1, "{shown}");
    assert_eq!(broken[0]["config_id"], config_id);
    assert_eq!(broken[0]["project_name"], "labors");
    assert!(
        broken[0]["errors"].to_string().contains("schema"),
        "the missing field is named: {shown}"
    );
    let outsider = app.token("elsewhere", Role::Admin).await;
    let (_, theirs) = app.get("/workflows/load-table", &outsider).await;
    assert_eq!(
        theirs["broken_configs"],
        json!([]),
        "other projects' configs stay hidden"
    );

    let launch = format!("/projects/labors/configs/{config_id}/launch");
    let (status, problem) = app.post(&launch, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"].to_string().contains("schema"),
        "{problem}"
    );
    let refused = events(&app, config_id).await;
    assert!(
        refused.iter().any(|e| e["action"] == "run.refused"
            && e["detail"]["errors"].to_string().contains("schema")),
        "{refused:?}"
    );

    let scheduler = Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60));
    let launched = scheduler
        .tick_at(Utc::now() + Duration::hours(2))
        .await
        .expect("tick");
    assert_eq!(launched, 0, "the scheduler does not launch it either");
    let failed = events(&app, config_id).await;
    assert!(
        failed.iter().any(|e| e["action"] == "run.launch_failed"
            && e["detail"]["errors"].to_string().contains("schema")),
        "{failed:?}"
    );
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    assert_eq!(runs["items"], json!([]), "no run was registered");

    let (status, fixed) = app
        .patch(
            &format!("/projects/labors/configs/{config_id}"),
            &app.admin,
            json!({"config": {"table": "orders", "schema": "sales"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fixed}");
    assert_eq!(fixed["package_digest"], shown["digest"]);
    let (_, shown) = app.get("/workflows/load-table", &app.admin).await;
    assert_eq!(
        shown["broken_configs"],
        json!([]),
        "the new version matches"
    );
    let (status, run) = app.post(&launch, &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
}
