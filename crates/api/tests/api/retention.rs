//! `GET/PUT /projects/{project}/retention`: a project keeps everything until an admin sets a
//! policy; viewers read it; each value is a whole number in range or null (keep forever).

use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_stores!(
    a_project_without_a_policy_keeps_everything,
    a_project_admin_sets_the_policy_and_a_viewer_reads_it,
    a_put_changes_only_the_fields_it_gives_and_null_keeps_forever,
    a_negative_or_too_large_value_is_422_naming_each_field,
    the_policy_of_an_unknown_project_is_404,
);

const POLICY: &str = "/projects/labors/retention";

async fn a_project_without_a_policy_keeps_everything(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let viewer = app.token("labors", Role::Viewer).await;
    let (status, policy) = app.get(POLICY, &viewer).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(
        policy,
        json!({"project_name": "labors", "keep_runs_days": null, "keep_output_days": null,
               "successful_runs_history_limit": null, "failed_runs_history_limit": null,
               "updated_at": null})
    );
}

async fn a_project_admin_sets_the_policy_and_a_viewer_reads_it(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let body = json!({"keep_runs_days": 90, "keep_output_days": 30,
                      "successful_runs_history_limit": 10, "failed_runs_history_limit": 0});
    for role in [Role::Viewer, Role::Editor] {
        let token = app.token("labors", role).await;
        let (status, problem) = app.put(POLICY, &token, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}: {problem}");
    }
    let other_admin = app.token("other", Role::Admin).await;
    assert_eq!(
        app.put(POLICY, &other_admin, body.clone()).await.0,
        StatusCode::NOT_FOUND,
        "an admin of another project does not see this one"
    );
    let admin = app.token("labors", Role::Admin).await;
    let (status, policy) = app.put(POLICY, &admin, body).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["keep_runs_days"], 90);
    assert_eq!(policy["failed_runs_history_limit"], 0);
    assert!(policy["updated_at"].is_string(), "{policy}");

    let viewer = app.token("labors", Role::Viewer).await;
    let (status, read) = app.get(POLICY, &viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, policy);

    let (_, events) = app.get("/projects/labors/events", &admin).await;
    let updated = events["items"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["action"] == "retention.updated"))
        .expect("a retention.updated event");
    assert_eq!(updated["actor"], "admin-labors");
    assert_eq!(updated["detail"]["keep_output_days"], 30, "{updated}");
}

async fn a_put_changes_only_the_fields_it_gives_and_null_keeps_forever(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let (status, _) = app
        .put(
            POLICY,
            &app.admin,
            json!({"keep_runs_days": 90, "successful_runs_history_limit": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, policy) = app
        .put(
            POLICY,
            &app.admin,
            json!({"keep_runs_days": null, "keep_output_days": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["keep_runs_days"], Value::Null, "null keeps forever");
    assert_eq!(policy["keep_output_days"], 7);
    assert_eq!(
        policy["successful_runs_history_limit"], 5,
        "not given: kept"
    );
    assert_eq!(policy["failed_runs_history_limit"], Value::Null);
}

async fn a_negative_or_too_large_value_is_422_naming_each_field(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let (status, _) = app
        .put(POLICY, &app.admin, json!({"keep_output_days": 7}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = app
        .put(
            POLICY,
            &app.admin,
            json!({"keep_runs_days": -1, "keep_output_days": 3,
                   "failed_runs_history_limit": 2_000_000}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        ["/keep_runs_days", "/failed_runs_history_limit"],
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("keep_runs_days"), "{problem}");
    let (_, policy) = app.get(POLICY, &app.admin).await;
    assert_eq!(
        policy["keep_output_days"], 7,
        "nothing of a refused PUT is stored"
    );

    for (body, why) in [
        (json!({"keep_runs_days": "ten"}), "a string"),
        (json!({"keep_runs_days": 1.5}), "a fraction"),
        (json!({"keep_days": 1}), "an unknown field"),
    ] {
        let (status, problem) = app.put(POLICY, &app.admin, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {problem}");
    }
}

async fn the_policy_of_an_unknown_project_is_404(app: TestApp) {
    let (status, problem) = app.get("/projects/nowhere/retention", &app.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, problem) = app
        .put(
            "/projects/nowhere/retention",
            &app.admin,
            json!({"keep_runs_days": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("nowhere"),
        "{problem}"
    );
}
