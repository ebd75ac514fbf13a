//! `memoize` on the local engine of a server: the cache is kept in the store, per project,
//! keyed and aged as Argo does it (real processes, both stores):
//! - a_second_run_reuses_the_stored_outputs_and_another_project_does_not
//! - an_entry_older_than_max_age_is_a_miss_and_is_replaced
//! - a_failed_node_stores_nothing

use crate::both_stores;
use crate::harness::TestApp;
use chrono::{Duration, Utc};
use polyphemus_model::ProjectName;
use polyphemus_store::{Json, MemoRecord};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;

both_stores!(
    a_second_run_reuses_the_stored_outputs_and_another_project_does_not,
    an_entry_older_than_max_age_is_a_miss_and_is_replaced,
    a_failed_node_stores_nothing
);

const STAMP: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: stamp-}
spec:
  entrypoint: stamp
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: stamp
      memoize:
        key: stamp
        maxAge: 1h
        cache: {configMap: {name: stamps}}
      container: {image: busybox, command: [sh, -c, "date +%s%N; exit EXIT"]}
"#;

/// Runs the workflow in a new config of `project` to its end; its root node.
async fn run_stamp(app: &TestApp, project: &str, exit: u8) -> Value {
    let config_id = app.create_config(project, json!({})).await;
    let yaml = STAMP.replace("EXIT", &exit.to_string());
    let (status, run) = app
        .post(
            &format!("/projects/{project}/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": yaml, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let name = run["name"].as_str().expect("name").to_owned();
    let orchestrator = app.services.orchestrator().expect("orchestrator").clone();
    let started = Instant::now();
    loop {
        let workflow = orchestrator
            .workflow("local", &name)
            .await
            .expect("workflow");
        if workflow["status"]["finishedAt"].is_string() {
            return workflow["status"]["nodes"][&name].clone();
        }
        assert!(started.elapsed().as_secs() < 30, "did not end: {workflow}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn project(name: &str) -> ProjectName {
    ProjectName::parse(name).expect("project")
}

async fn a_second_run_reuses_the_stored_outputs_and_another_project_does_not(app: TestApp) {
    let first = run_stamp(&app, "labors", 0).await;
    assert_eq!(first["phase"], "Succeeded", "{first}");
    assert_eq!(
        first["memoizationStatus"],
        json!({"hit": false, "key": "stamp", "cacheName": "stamps"})
    );
    let stored = app
        .store
        .load_memo(&project("labors"), "stamps", "stamp")
        .await;
    let stored = stored.expect("load").expect("an entry");
    assert_eq!(stored.node_id, first["id"].as_str().expect("id"));
    assert_eq!(stored.outputs.0["result"], first["outputs"]["result"]);

    let second = run_stamp(&app, "labors", 0).await;
    assert_eq!(second["phase"], "Succeeded");
    assert_eq!(second["memoizationStatus"]["hit"], true, "{second}");
    assert_eq!(
        second["outputs"], first["outputs"],
        "the first run's outputs"
    );

    let elsewhere = run_stamp(&app, "hydra", 0).await;
    assert_eq!(
        elsewhere["memoizationStatus"]["hit"], false,
        "projects do not share caches"
    );
    assert_ne!(elsewhere["outputs"]["result"], first["outputs"]["result"]);
}

async fn an_entry_older_than_max_age_is_a_miss_and_is_replaced(app: TestApp) {
    let old = MemoRecord {
        node_id: "an-old-node".into(),
        outputs: Json(json!({"result": "stale"})),
        created_at: Utc::now() - Duration::hours(2),
    };
    let labors = project("labors");
    app.store
        .save_memo(&labors, "stamps", "stamp", &old)
        .await
        .expect("save");
    let node = run_stamp(&app, "labors", 0).await;
    assert_eq!(node["memoizationStatus"]["hit"], false, "{node}");
    assert_ne!(node["outputs"]["result"], "stale");
    let stored = app
        .store
        .load_memo(&labors, "stamps", "stamp")
        .await
        .expect("load");
    let stored = stored.expect("an entry");
    assert_eq!(stored.node_id, node["id"].as_str().expect("id"));
    assert!(Utc::now() - stored.created_at < Duration::minutes(1));
}

async fn a_failed_node_stores_nothing(app: TestApp) {
    let node = run_stamp(&app, "labors", 3).await;
    assert_eq!(node["phase"], "Failed", "{node}");
    assert_eq!(node["memoizationStatus"]["hit"], false);
    let stored = app
        .store
        .load_memo(&project("labors"), "stamps", "stamp")
        .await;
    assert_eq!(stored.expect("load"), None);
}
