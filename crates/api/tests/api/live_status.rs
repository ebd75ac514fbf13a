//! A local-engine run's status is recorded while it goes: its metadata and the status page
//! show it Running with its running step, then the final record of its end.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_stores!(a_running_run_shows_its_running_step_then_its_end);

const NAPPER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: napper-}
spec:
  entrypoint: main
  onExit: goodbye
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: nap, template: nap}
    - name: nap
      container: {image: busybox, command: [sleep, "3"]}
    - name: goodbye
      container: {image: busybox, command: [sh, -c, "echo bye"]}
"#;

/// Submits `yaml` for a new config of project labors; the run's API path.
pub(crate) async fn submit(app: &TestApp, yaml: &str) -> String {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": yaml, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id");
    format!("/projects/labors/runs/{run_id}")
}

/// Polls the run's metadata until `done` holds of it (or fails after 30 s).
async fn metadata_until(app: &TestApp, run: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, metadata) = app.get(&format!("{run}/metadata"), &app.admin).await;
        if status == StatusCode::OK && done(&metadata) {
            return metadata;
        }
        assert!(Instant::now() < deadline, "never reached: {metadata}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn node_phase(metadata: &Value, display_name: &str) -> Option<String> {
    metadata["nodes"].as_object()?.values().find_map(|node| {
        (node["display_name"] == display_name).then(|| node["phase"].as_str().map(str::to_owned))?
    })
}

async fn a_running_run_shows_its_running_step_then_its_end(app: TestApp) {
    let run = submit(&app, NAPPER).await;
    let running = metadata_until(&app, &run, |m| {
        node_phase(m, "nap").as_deref() == Some("Running")
    })
    .await;
    assert_eq!(running["phase"], "Running", "{running}");
    assert!(running["started_at"].is_string(), "{running}");

    let (status, page) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page[0]["last_run"]["phase"], "Running", "{page}");
    assert!(page[0]["last_run"]["started_at"].is_string(), "{page}");

    let ended = metadata_until(&app, &run, |m| m["phase"] != "Running").await;
    assert_eq!(ended["phase"], "Succeeded", "{ended}");
    assert_eq!(node_phase(&ended, "nap").as_deref(), Some("Succeeded"));
    assert!(ended["finished_at"].is_string(), "{ended}");
    // The final record stays: no running status lands after it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, later) = app.get(&format!("{run}/metadata"), &app.admin).await;
    assert_eq!(later["phase"], "Succeeded", "{later}");
}

/// Argo's runs the same, from Argo: the status read at the poll interval is recorded while the
/// workflow runs, and the end is seen by that same look (no second poll of Argo).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_argo_run_shows_its_running_step_then_its_end() {
    use crate::argo::{app_with, final_metadata, launch, settings, TOKEN};
    use crate::argo_double::{ArgoDouble, Outcome};
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({"password": "pw"})).await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let name = run["name"].as_str().expect("name");
    let path = format!("/projects/labors/runs/{run_id}");

    double.start_first_step(name);
    let running = metadata_until(&app, &path, |m| {
        node_phase(m, "discover").as_deref() == Some("Running")
    })
    .await;
    assert_eq!(running["phase"], "Running", "{running}");
    let (status, page) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page[0]["last_run"]["phase"], "Running", "{page}");

    // Over a second at a 100 ms poll: about ten looks at the workflow, not twice that.
    let gets = || {
        double
            .requests()
            .iter()
            .filter(|r| r.method == "get" && r.path.ends_with(name))
            .count()
    };
    let before = gets();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let looks = gets() - before;
    assert!((1..=14).contains(&looks), "{looks} looks in a second");

    double.finish(name, Outcome::Succeeded);
    let ended = final_metadata(&app, run_id).await;
    assert_eq!(ended["phase"], "Succeeded", "{ended}");
    assert_eq!(node_phase(&ended, "discover").as_deref(), Some("Succeeded"));
    double.assert_contract_kept();
}
