//! Why a run failed: the metadata names the first failed leaf step and its own message,
//! and keeps the orchestrator's headline.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_stores!(
    failed_run_metadata_names_the_failed_step_and_its_message,
    succeeded_run_has_no_failure,
);

/// A steps node over a retry node with two failed attempts, then a skipped notify step.
pub fn failed_report() -> Value {
    json!({
        "phase": "Failed",
        "startedAt": "2026-11-25T10:00:00Z",
        "finishedAt": "2026-11-25T10:01:30Z",
        "message": "child 'sftp-to-storage-8ql46-451507771' failed",
        "nodes": {
            "wf-1": {"name": "wf", "displayName": "wf", "type": "Steps", "phase": "Failed",
                     "startedAt": "2026-11-25T10:00:00Z",
                     "message": "child 'sftp-to-storage-8ql46-451507771' failed",
                     "children": ["wf-2", "wf-6"]},
            "wf-2": {"name": "wf[0]", "displayName": "[0]", "type": "StepGroup", "phase": "Failed",
                     "startedAt": "2026-11-25T10:00:01Z", "children": ["wf-3"]},
            "wf-3": {"name": "wf[0].discover", "displayName": "discover", "type": "Retry",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:01Z",
                     "message": "No more retries left", "children": ["wf-5", "wf-4"]},
            "wf-4": {"name": "wf[0].discover(0)", "displayName": "discover(0)", "type": "Pod",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:01Z",
                     "finishedAt": "2026-11-25T10:00:05Z",
                     "message": "config: neither the secret private_key nor the secret password is set"},
            "wf-5": {"name": "wf[0].discover(1)", "displayName": "discover(1)", "type": "Pod",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:10Z",
                     "finishedAt": "2026-11-25T10:00:15Z", "message": "other attempt"},
            "wf-6": {"name": "wf.onExit", "displayName": "wf.onExit", "type": "Pod",
                     "phase": "Succeeded", "startedAt": "2026-11-25T10:01:00Z"}
        }
    })
}

async fn failed_run_metadata_names_the_failed_step_and_its_message(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-1", id, 1).await;
    let (status, stored) = app
        .put(
            "/projects/labors/runs/uid-1/metadata",
            &app.admin,
            failed_report(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let reason = "discover: config: neither the secret private_key nor the secret password is set";
    assert_eq!(stored["failure"], reason);
    let (_, read) = app
        .get("/projects/labors/runs/uid-1/metadata", &app.admin)
        .await;
    assert_eq!(read["failure"], reason);
    assert_eq!(
        read["message"], "child 'sftp-to-storage-8ql46-451507771' failed",
        "the orchestrator's own message is kept"
    );
    assert_eq!(read["nodes"]["wf-1"]["children"], json!(["wf-2", "wf-6"]));
}

async fn succeeded_run_has_no_failure(app: TestApp) {
    let id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "uid-1", id, 1).await;
    let mut report = failed_report();
    report["phase"] = json!("Succeeded");
    let (status, stored) = app
        .put("/projects/labors/runs/uid-1/metadata", &app.admin, report)
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert!(stored.get("failure").is_none(), "{stored}");
}
