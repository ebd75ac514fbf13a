//! The Argo orchestrator under control: stop and terminate, retries, restarts, and the project
//! task token Argo steps use, against the Argo Server double.

use crate::argo::{app_with, final_metadata, launch, node_named, settings, TOKEN};
use crate::argo_double::{ArgoDouble, Outcome};
use polyphemus_core::orchestrators::argo::ArgoOrchestrator;
use polyphemus_core::orchestrators::{Orchestrator, Submission};
use polyphemus_core::scheduler::Scheduler;
use polyphemus_core::{Registry, TaskGrant};
use polyphemus_model::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_and_terminate_reach_argo_and_name_who_asked() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    let editor = app.token("labors", Role::Editor).await;
    let viewer = app.token("labors", Role::Viewer).await;

    let stopped = launch(&app, config_id).await;
    let stopped_id = stopped["run_id"].as_str().expect("run_id");
    let (status, _) = app
        .post(
            &format!("/projects/labors/runs/{stopped_id}/stop"),
            &viewer,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers cannot stop runs");
    let (status, body) = app
        .post(
            &format!("/projects/labors/runs/{stopped_id}/stop"),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let metadata = final_metadata(&app, stopped_id).await;
    assert_eq!(metadata["phase"], "Failed");
    assert_eq!(metadata["message"], "Stopped with strategy 'Stop'");
    let exit = format!("{}.onExit", stopped["name"].as_str().expect("name"));
    assert!(
        node_named(&metadata, &exit).is_some(),
        "stop runs the exit handler"
    );

    let terminated = launch(&app, config_id).await;
    let terminated_id = terminated["run_id"].as_str().expect("run_id");
    let (status, body) = app
        .post(
            &format!("/projects/labors/runs/{terminated_id}/terminate"),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let metadata = final_metadata(&app, terminated_id).await;
    assert_eq!(metadata["message"], "Stopped with strategy 'Terminate'");
    let exit = format!("{}.onExit", terminated["name"].as_str().expect("name"));
    assert!(
        node_named(&metadata, &exit).is_none(),
        "terminate skips the exit handler"
    );
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert_eq!(status[0]["pipeline_state"], "failed", "{status}");
    assert_eq!(status[0]["last_run"]["run_id"], terminated_id);

    // Ended runs cannot be stopped again.
    let (status, _) = app
        .post(
            &format!("/projects/labors/runs/{stopped_id}/terminate"),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let paths: Vec<String> = double
        .requests()
        .iter()
        .filter(|r| r.method == "put")
        .map(|r| r.path.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with(&format!(
            "/{}/stop",
            stopped["name"].as_str().unwrap_or_default()
        ))),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.ends_with("/terminate")), "{paths:?}");
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let items = events["items"].as_array().expect("events");
    let stop_event = items
        .iter()
        .find(|e| e["action"] == "run.stopped")
        .expect("run.stopped");
    assert_eq!(stop_event["actor"], "editor-labors");
    assert_eq!(stop_event["run_id"], stopped_id);
    assert!(items
        .iter()
        .any(|e| e["action"] == "run.terminated" && e["run_id"] == terminated_id));
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_task_token_lets_argo_steps_work_on_any_config_of_their_project_only() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({"password": "pw"})).await;
    let other = app.create_config("other", json!({})).await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let grant = TaskGrant {
        project: "labors".parse().expect("project"),
        config_id: None,
        version_number: None,
        run_id: None,
    };
    let steps = app
        .services
        .tokens
        .issue_task("argo-steps", grant, chrono::Duration::hours(1))
        .await
        .expect("token")
        .token;

    let (status, secrets) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/versions/1/secrets"),
            &steps,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secrets["password"], "pw");
    double.finish(run["name"].as_str().expect("name"), Outcome::Succeeded);
    // What `polyphemus write_run_metadata` asks for in the exit handler's pod.
    let (status, metadata) = app
        .post(
            &format!("/projects/labors/runs/{run_id}/sync"),
            &steps,
            json!({"workflow_name": run["name"], "namespace": "etl"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    assert_eq!(metadata["phase"], "Succeeded");
    let (status, _) = app
        .get(
            &format!("/projects/other/configs/{other}/versions/1/secrets"),
            &steps,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another project stays out of reach"
    );
    let (status, _) = app
        .post(
            &format!("/projects/labors/runs/{run_id}/stop"),
            &steps,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "steps cannot stop runs");
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_submission_is_not_sent_twice_but_reads_are_retried() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    double.fail_next(1);
    let (status, problem) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/launch"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let creates = double
        .requests()
        .iter()
        .filter(|r| r.method == "post")
        .count();
    assert_eq!(
        creates, 1,
        "a 503 to a submission may hide a created workflow: no blind resend"
    );

    double.assert_contract_kept();

    // Reads are retried (a double of its own: no background poller shares its failures).
    let reads = ArgoDouble::start(Some(TOKEN)).await;
    let client = ArgoOrchestrator::new(settings(&reads.url)).expect("client");
    let submission = Submission {
        workflow_yaml: Registry::builtin()
            .get(&"sftp-to-storage".parse().expect("workflow type"))
            .expect("manifest")
            .workflow_yaml
            .to_owned(),
        parameters: vec![("config_id".into(), "1".into())],
        labels: Default::default(),
        task_token: None,
        uid: None,
        templates: Default::default(),
    };
    let name = client.submit(submission).await.expect("submitted").name;
    let name = name.as_str();
    let double = reads;
    double.fail_next(2);
    let before = double.requests().len();
    let workflow = client
        .workflow("etl", name)
        .await
        .expect("read after two 503s");
    assert_eq!(workflow["metadata"]["name"], name);
    assert_eq!(double.requests().len() - before, 3);
    double.fail_next(3);
    let error = client
        .workflow("etl", name)
        .await
        .expect_err("retries run out");
    assert!(error.to_string().contains("503"), "{error}");
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_restart_argo_runs_are_read_again_not_marked_error() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    let vanished = launch(&app, config_id).await;
    double.delete(vanished["name"].as_str().expect("name"));

    // A server started anew over the same store (its own Argo client, no memory of the run).
    let orchestrator = ArgoOrchestrator::new(settings(&double.url)).expect("client");
    let restarted = app
        .services
        .clone()
        .with_orchestrator(Arc::new(orchestrator));
    let interrupted = restarted
        .recover_interrupted_runs()
        .await
        .expect("recovery");
    assert_eq!(interrupted, 0, "Argo runs go on in the cluster");
    let metadata = metadata_when_recorded(&app, run_id).await;
    assert_eq!(
        metadata["phase"], "Running",
        "read from Argo, not marked Error"
    );
    // Its live status may have been recorded as Running before it vanished: wait for the end.
    let vanished_id = vanished["run_id"].as_str().expect("run_id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut gone = metadata_when_recorded(&app, vanished_id).await;
    while gone["phase"] == "Running" && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        gone = metadata_when_recorded(&app, vanished_id).await;
    }
    assert_eq!(gone["phase"], "Error", "{gone}");
    assert!(
        gone["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no longer in Argo"),
        "{gone}"
    );
    double.finish(run["name"].as_str().expect("name"), Outcome::Succeeded);
    assert_eq!(final_metadata(&app, run_id).await["phase"], "Succeeded");
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduler_submits_due_configs_to_argo() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    let (status, _) = app
        .put(
            &format!("/projects/labors/configs/{config_id}/runtime"),
            &app.admin,
            json!({"run_interval_s": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let scheduler = Scheduler::new(app.services.clone(), std::time::Duration::from_secs(60));
    let launched = scheduler
        .tick_at(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .expect("tick");
    assert_eq!(launched, 1);
    let (_, runs) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs"),
            &app.admin,
        )
        .await;
    let run_id = runs["items"][0]["run_id"].as_str().expect("a run");
    let name = runs["items"][0]["name"].as_str().expect("name");
    let submitted = double.workflow(name);
    assert_eq!(submitted["metadata"]["uid"], run_id);
    assert_eq!(
        submitted["metadata"]["labels"]["polyphemus/config-id"],
        config_id.to_string()
    );
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let launched = events["items"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "run.launched")
        .cloned()
        .expect("run.launched");
    assert_eq!(launched["detail"]["orchestrator"], "argo");
    double.assert_contract_kept();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_submission_whose_answer_was_lost_is_found_not_duplicated() {
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app.create_config("labors", json!({})).await;
    double.lose_next_answer();
    let run = launch(&app, config_id).await;
    let creates = double
        .requests()
        .iter()
        .filter(|r| r.method == "post")
        .count();
    assert_eq!(creates, 1, "found by its submission label, not sent again");
    let workflow = double.workflow(run["name"].as_str().expect("name"));
    assert_eq!(workflow["metadata"]["uid"], run["run_id"]);
    double.assert_contract_kept();
}

/// The run's metadata once something recorded it (recovery works in the background).
async fn metadata_when_recorded(app: &crate::harness::TestApp, run_id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        if status == StatusCode::OK {
            return metadata;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no metadata for {run_id}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
