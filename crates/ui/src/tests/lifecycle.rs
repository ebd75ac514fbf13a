//! The buttons that act on what failed: Restore in the history, Archive/Unarchive on a
//! config page, Resubmit and the failure headline on a failed run's page.

use super::*;
use polyphemus_core::Access;
use polyphemus_model::{PatchConfig, RegisterRun, RunId, RunStatusReport, VersionNumber};

async fn access(app: &App, token: &str) -> Access {
    let principal = app.services.tokens.verify(token).await.expect("principal");
    principal.access(&"labors".parse().expect("project"))
}

/// Config 1 with version 2 on top of version 1.
async fn two_versions(app: &App, editor: &str) {
    let csrf = app.csrf(editor);
    let (status, _) = app
        .post(CREATE, editor, &create_fields(&csrf, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let latest = app
        .services
        .latest_config(&access(app, editor).await, 1.into())
        .await
        .expect("latest");
    let mut config = latest.config.clone();
    config["root"] = json!("/elsewhere");
    let patch = PatchConfig {
        config: Some(config),
        ..PatchConfig::default()
    };
    app.services
        .patch_config(&access(app, editor).await, 1.into(), patch)
        .await
        .expect("version 2");
}

#[tokio::test]
async fn restore_in_the_history_makes_the_next_version() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    two_versions(&app, &editor).await;
    let (_, page) = app
        .get("/projects/labors/configs/1/versions", &editor)
        .await;
    assert!(page.contains("/configs/1/versions/1/restore"), "{page}");
    assert!(
        !page.contains("/configs/1/versions/2/restore"),
        "not the latest"
    );
    let csrf = app.csrf(&editor);
    let (status, _) = app
        .post(
            "/projects/labors/configs/1/versions/1/restore",
            &editor,
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let latest = app
        .services
        .latest_config(&access(&app, &editor).await, 1.into())
        .await
        .expect("latest");
    assert_eq!(latest.version_number, VersionNumber::FIRST.next().next());
    assert_eq!(latest.config["root"], "/incoming");
}

#[tokio::test]
async fn archive_hides_the_config_from_the_dashboard_until_unarchived() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    two_versions(&app, &editor).await;
    let csrf = app.csrf(&editor);
    let viewer = app.token(Role::Viewer).await;
    let viewer_csrf = app.csrf(&viewer);
    let archive = "/projects/labors/configs/1/archive";
    let (status, _) = app.post(archive, &viewer, &[("_csrf", &viewer_csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post(archive, &editor, &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get("/projects/labors/configs/1", &editor).await;
    assert!(
        page.contains("Unarchive") && page.contains("Archived on"),
        "{page}"
    );
    assert!(
        !page.contains("/configs/1/launch"),
        "no Launch while archived"
    );
    let (_, dashboard) = app.get("/projects/labors", &editor).await;
    assert!(
        !dashboard.contains("/projects/labors/configs/1\""),
        "{dashboard}"
    );
    let unarchive = "/projects/labors/configs/1/unarchive";
    let (status, _) = app.post(unarchive, &editor, &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, dashboard) = app.get("/projects/labors", &editor).await;
    assert!(
        dashboard.contains("/projects/labors/configs/1\""),
        "{dashboard}"
    );
}

#[tokio::test]
async fn a_failed_run_page_heads_with_the_reason_and_offers_resubmit() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    two_versions(&app, &editor).await;
    let access = access(&app, &editor).await;
    let run_id = RunId::parse("run-1").expect("run id");
    let register = RegisterRun {
        run_id: run_id.clone(),
        name: "wf".to_owned(),
        config_id: 1.into(),
        version_number: VersionNumber::FIRST,
    };
    app.services
        .register_run(&access, register)
        .await
        .expect("register");
    let report: RunStatusReport = serde_json::from_value(json!({
        "phase": "Failed", "message": "child 'wf-2' failed",
        "nodes": {
            "wf-1": {"name": "wf", "type": "Steps", "phase": "Failed", "children": ["wf-2"]},
            "wf-2": {"name": "wf[0].discover(0)", "displayName": "discover(0)", "type": "Pod",
                     "phase": "Failed", "message": "config: no password"}
        }
    }))
    .expect("report");
    app.services
        .put_run_metadata(&access, &run_id, report)
        .await
        .expect("metadata");
    let (_, page) = app.get("/projects/labors/runs/run-1", &editor).await;
    assert!(page.contains("discover: config: no password"), "{page}");
    assert!(page.contains("/runs/run-1/resubmit"), "{page}");
    let viewer = app.token(Role::Viewer).await;
    let (_, page) = app.get("/projects/labors/runs/run-1", &viewer).await;
    assert!(
        !page.contains("/runs/run-1/resubmit"),
        "viewers get no button"
    );
}
