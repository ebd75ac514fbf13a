//! The newest few runs of every config of a project in one query (the web UI dashboard's
//! outcome strips): per config, newest first, with phase and duration, this project only.

use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_core::CoreError;
use polyphemus_model::{ConfigId, ProjectName, Role, RunPhase};
use serde_json::json;

both_stores!(
    recent_runs_are_the_newest_of_each_config_newest_first,
    recent_runs_of_a_config_without_runs_are_absent,
    recent_runs_need_a_viewer_of_the_project,
);

async fn access(app: &TestApp, token: &str) -> polyphemus_core::Access {
    let principal = app.services.tokens.verify(token).await.expect("principal");
    principal.access(&ProjectName::parse("labors").expect("project"))
}

async fn recent_runs_are_the_newest_of_each_config_newest_first(app: TestApp) {
    let first = app.create_config("labors", json!({})).await;
    let second = app.create_config("labors", json!({})).await;
    let elsewhere = app.create_config("other", json!({})).await;
    for run in ["a1", "a2", "a3"] {
        app.register_run("labors", run, first, 1).await;
    }
    app.register_run("labors", "b1", second, 1).await;
    app.register_run("other", "x1", elsewhere, 1).await;
    app.ended_run("labors", "a3", "Failed").await;
    let recent = app
        .services
        .recent_runs_by_config(&access(&app, &app.admin).await, 2)
        .await
        .expect("recent");
    let ids = |config: i64| -> Vec<String> {
        recent[&ConfigId::new(config)]
            .iter()
            .map(|run| run.run_id.to_string())
            .collect()
    };
    assert_eq!(recent.len(), 2, "this project's configs only: {recent:?}");
    assert_eq!(ids(first), ["a3", "a2"], "the newest two, newest first");
    assert_eq!(ids(second), ["b1"]);
    let newest = &recent[&ConfigId::new(first)][0];
    assert_eq!(newest.phase, RunPhase::Failed);
    assert_eq!(newest.name, "wf-a3");
    let pending = &recent[&ConfigId::new(first)][1];
    assert_eq!(pending.phase, RunPhase::Pending, "not reported yet");
    assert_eq!(pending.duration_s, None);
}

async fn recent_runs_of_a_config_without_runs_are_absent(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    let recent = app
        .services
        .recent_runs_by_config(&access(&app, &app.admin).await, 10)
        .await
        .expect("recent");
    assert!(!recent.contains_key(&ConfigId::new(id)), "{recent:?}");
}

async fn recent_runs_need_a_viewer_of_the_project(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "a1", id, 1).await;
    let stranger = app.token("other", Role::Admin).await;
    let refused = app
        .services
        .recent_runs_by_config(&access(&app, &stranger).await, 10)
        .await;
    assert!(
        matches!(refused, Err(CoreError::NotFound(_))),
        "{refused:?}"
    );
    let viewer = app.token("labors", Role::Viewer).await;
    let recent = app
        .services
        .recent_runs_by_config(&access(&app, &viewer).await, 10)
        .await
        .expect("a viewer may");
    assert_eq!(recent[&ConfigId::new(id)].len(), 1);
}
