//! The Argo orchestrator against the Argo Server double: launch, status and logs, failures,
//! an unreachable Argo Server or one refusing the token. Every request the client sends
//! and every answer the double gives is checked against Argo's swagger.json.

use crate::argo_double::{ArgoDouble, Outcome};
use crate::harness::TestApp;
use polyphemus_core::orchestrators::argo::{ArgoOrchestrator, ArgoSettings, ArgoToken};
use polyphemus_core::orchestrators::Orchestrator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "argo-bearer-token-value";

pub fn settings(url: &str) -> ArgoSettings {
    let mut settings = ArgoSettings::new(url, "etl");
    settings.token =
        Some(ArgoToken::from_text(TOKEN, "POLYPHEMUS_ARGO_TOKEN".into()).expect("token"));
    settings.retries = 2;
    settings.backoff = Duration::from_millis(20);
    settings.poll_interval = Duration::from_millis(100);
    settings.timeout = Duration::from_secs(5);
    settings.service_account = Some("polyphemus-steps".into());
    settings.step_image = Some("registry.example.org/polyphemus:1.2.3".into());
    settings
}

pub async fn app_with(settings: ArgoSettings) -> TestApp {
    let orchestrator = ArgoOrchestrator::new(settings).expect("settings");
    TestApp::sqlite_with(Arc::new(orchestrator)).await
}

/// Launches the config's latest version, over any run still active (these tests run several
/// at once); returns the run.
pub async fn launch(app: &TestApp, config_id: i64) -> Value {
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/launch"),
            &app.admin,
            json!({"force": true}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    run
}

/// The run's metadata once it reaches a final phase.
pub async fn final_metadata(app: &TestApp, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        let phase = metadata["phase"].as_str().unwrap_or_default();
        if status == StatusCode::OK && matches!(phase, "Succeeded" | "Failed" | "Error") {
            return metadata;
        }
        assert!(Instant::now() < deadline, "no final metadata: {metadata}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn node_named<'a>(metadata: &'a Value, display: &str) -> Option<&'a Value> {
    metadata["nodes"]
        .as_object()?
        .values()
        .find(|n| n["display_name"] == display)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn launch_on_argo_submits_the_workflow_and_records_its_success_and_logs() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({"password": "pw"})).await;

    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let name = run["name"].as_str().expect("name");
    let submitted = double.workflow(name);
    assert_eq!(
        submitted["metadata"]["uid"], run_id,
        "the run id is Argo's uid"
    );
    let labels = &submitted["metadata"]["labels"];
    assert_eq!(labels["polyphemus/project"], "labors");
    assert_eq!(labels["polyphemus/config-id"], config_id.to_string());
    assert_eq!(labels["polyphemus/version"], "1");
    assert_eq!(submitted["metadata"]["namespace"], "etl");
    assert_eq!(submitted["spec"]["serviceAccountName"], "polyphemus-steps");
    let parameters: Vec<(String, String)> = submitted["spec"]["arguments"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("config_id", config_id.to_string()),
        ("version_number", "1".to_owned()),
        ("project", "labors".to_owned()),
        ("image", "registry.example.org/polyphemus:1.2.3".to_owned()),
    ] {
        assert!(
            parameters.contains(&(expected.0.to_owned(), expected.1.clone())),
            "{expected:?} not in {parameters:?}"
        );
    }
    let create = &double.requests()[0];
    assert_eq!(
        create.authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    let body = create.body.to_string();
    assert!(
        !body.contains("eyJ"),
        "no token travels in the Workflow object: {body}"
    );

    // Running, then Argo has a hiccup (503s are retried), then the workflow succeeds.
    let (_, listed) = app
        .get(&format!("/projects/labors/runs/{run_id}"), &app.admin)
        .await;
    assert_eq!(listed["name"], name);
    double.fail_next(2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    double.finish(name, Outcome::Succeeded);
    let metadata = final_metadata(&app, run_id).await;
    assert_eq!(metadata["phase"], "Succeeded");
    for step in ["discover", "copy", "notify"] {
        assert_eq!(
            node_named(&metadata, step).expect(step)["phase"],
            "Succeeded"
        );
    }
    assert!(node_named(&metadata, &format!("{name}.onExit")).is_some());

    // Each pod's log under its node's header, as the local engine's runs are stored.
    let (_, stored) = app
        .get(&format!("/projects/labors/runs/{run_id}"), &app.admin)
        .await;
    let output = stored["output"].as_str().expect("output");
    let discover =
        output.find("=== discover (Succeeded) ===\ndiscover: starting\ndiscover: done\n");
    let notify = output.find("=== notify (Succeeded) ===\nnotify: starting\n");
    assert!(discover.is_some() && notify.is_some(), "{output}");
    assert!(
        discover < notify,
        "nodes in the order they started: {output}"
    );

    let log_requests: Vec<_> = double
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/log"))
        .collect();
    assert!(log_requests.len() >= 4, "one log request per pod");
    assert!(log_requests
        .iter()
        .all(|r| r.query.get("logOptions.container").map(String::as_str) == Some("main")));

    // List by label.
    let client = ArgoOrchestrator::new(settings(&double.url)).expect("client");
    let found = client
        .list(
            "etl",
            &format!("polyphemus/project=labors,polyphemus/config-id={config_id}"),
        )
        .await
        .expect("list");
    assert_eq!(found.len(), 1);
    assert!(client
        .list("etl", "polyphemus/config-id=999")
        .await
        .expect("list")
        .is_empty());
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_node_fails_the_run_and_later_steps_never_ran() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    double.finish(run["name"].as_str().expect("name"), Outcome::FailAt("copy"));

    let metadata = final_metadata(&app, run_id).await;
    assert_eq!(metadata["phase"], "Failed");
    assert_eq!(metadata["message"], "child 'copy' failed");
    let copy = node_named(&metadata, "copy").expect("copy node");
    assert_eq!(copy["phase"], "Failed");
    let failed: Vec<&Value> = metadata["failed_nodes"]
        .as_array()
        .expect("failed")
        .iter()
        .collect();
    assert!(
        failed.iter().any(|n| n.to_string().contains("copy")),
        "{failed:?}"
    );
    assert!(node_named(&metadata, "notify").is_none());
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(status[0]["pipeline_state"], "failed");
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_argo_fails_the_launch_and_records_no_run() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let app = app_with(settings(&url)).await;
    let config_id = app.create_config("labors", json!({})).await;

    let (status, problem) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/launch"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("argo") && detail.contains("cannot be reached"),
        "{detail}"
    );
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    assert_eq!(runs["items"], json!([]), "no run is recorded");
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_ne!(status[0]["pipeline_state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn argo_refusing_the_token_names_where_it_came_from_never_its_value() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("argo.token");
    std::fs::write(&file, "Bearer wrong-token-value-123\n").expect("write");
    let mut wrong = settings(&double.url);
    wrong.token = Some(ArgoToken::from_file(&file).expect("token file"));
    let app = app_with(wrong).await;
    let config_id = app.create_config("labors", json!({})).await;

    let (status, problem) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/launch"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&file.display().to_string()),
        "names the file: {detail}"
    );
    assert!(detail.contains("401"), "{detail}");
    assert!(!detail.contains("wrong-token-value-123"));
    assert!(!crate::harness::captured_logs().contains("wrong-token-value-123"));
    assert_eq!(
        double.requests()[0].authorization.as_deref(),
        Some("Bearer wrong-token-value-123"),
        "the file's `Bearer ` prefix is not sent twice"
    );
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    assert_eq!(runs["items"], json!([]));

    // Kubernetes rotates mounted tokens: the file is read again on the next request.
    std::fs::write(&file, TOKEN).expect("rotate");
    launch(&app, config_id).await;
    double.assert_contract_kept();
}

#[tokio::test]
async fn the_orchestrator_answers_in_the_shape_sync_reads() {
    // A workflow read back through the trait is what `report_from_workflow` takes.
    let double = ArgoDouble::start(None).await;
    let mut open = settings(&double.url);
    open.token = None;
    let client = ArgoOrchestrator::new(open).expect("client");
    assert_eq!(client.kind(), "argo");
    let dir = tempfile::tempdir().expect("dir");
    let not_pem = dir.path().join("ca.crt");
    std::fs::write(&not_pem, "not a certificate").expect("write");
    let mut with_bad_ca = settings(&double.url);
    with_bad_ca.ca_file = Some(not_pem.clone());
    let refused = ArgoOrchestrator::new(with_bad_ca).expect_err("a CA file that is not PEM");
    assert!(
        refused.to_string().contains(&not_pem.display().to_string()),
        "{refused}"
    );
    let mut with_ca = settings(&double.url);
    with_ca.ca_file = Some(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/fixtures/argo-ca.crt"
        )
        .into(),
    );
    ArgoOrchestrator::new(with_ca).expect("a PEM CA file (a self-signed certificate, no key)");
    let refused = ArgoOrchestrator::new(settings("argo-server:2746")).expect_err("no scheme");
    assert!(
        refused.to_string().contains("not an http(s) URL"),
        "{refused}"
    );
    let error = client.workflow("etl", "missing").await.expect_err("404");
    assert!(error.to_string().contains("not found"), "{error}");
    double.assert_contract_kept();
}
