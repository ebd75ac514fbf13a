//! Pruning under a retention policy, on real stores and real run directories: what later runs
//! depend on stays (their watermark, unfinished runs, run metadata); the rest goes in one
//! transaction with a `retention.pruned` event, and a dry run says the same without changing
//! anything.

use crate::both_stores;
use crate::harness::TestApp;
use chrono::{DateTime, Duration, Utc};
use polyphemus_core::run_dirs::RunDirs;
use polyphemus_model::{ProjectName, PruneReport};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;

both_stores!(
    a_watermark_written_only_by_an_old_run_survives_pruning_and_a_new_run_reads_it,
    a_run_still_going_keeps_the_value_it_reads_from_before_it,
    history_limits_keep_exactly_n_succeeded_and_m_failed_runs_of_each_config,
    outputs_past_keep_output_days_are_emptied_and_their_runs_kept,
    a_running_run_is_never_touched,
    a_dry_run_changes_nothing_and_reports_what_the_prune_then_does,
    without_a_policy_nothing_is_pruned,
    two_servers_pruning_at_once_prune_each_run_once,
    a_long_history_is_pruned_in_parts_that_add_up_to_the_dry_run,
    the_run_directory_of_a_pruned_local_run_is_gone,
    pruning_a_run_deletes_its_artifacts_kept_until_deletion,
);

/// When the test's runs ended.
fn ended_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn labors() -> ProjectName {
    ProjectName::parse("labors").expect("project name")
}

async fn set_policy(app: &TestApp, policy: Value) {
    let (status, body) = app
        .put("/projects/labors/retention", &app.admin, policy)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A run of `config_id` that wrote `state` and `output` and ended `minutes` after
/// [`ended_at`] with `phase`.
async fn ended_run(
    app: &TestApp,
    (config_id, run_id): (i64, &str),
    state: Value,
    output: &str,
    (phase, minutes): (&str, i64),
) {
    app.register_run("labors", run_id, config_id, 1).await;
    let run = format!("/projects/labors/runs/{run_id}");
    let mut patch = json!({"append_output": output});
    if state.as_object().is_some_and(|s| !s.is_empty()) {
        patch["state"] = state;
    }
    let (status, body) = app.patch(&run, &app.admin, patch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let finished = ended_at() + Duration::minutes(minutes);
    let report = json!({"phase": phase, "started_at": finished - Duration::minutes(1),
                        "finished_at": finished, "nodes": {}});
    let (status, body) = app
        .put(&format!("{run}/metadata"), &app.admin, report)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn prune(app: &TestApp, days_after: i64, dry_run: bool) -> PruneReport {
    app.services
        .pruner(Some(RunDirs::new(app.runs_dir())))
        .prune_project(&labors(), ended_at() + Duration::days(days_after), dry_run)
        .await
        .expect("prune")
}

/// The run ids of a config, newest first.
async fn run_ids(app: &TestApp, config_id: i64) -> Vec<String> {
    let (status, page) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/runs?limit=500"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|run| run["run_id"].as_str().map(str::to_owned))
        .collect()
}

async fn previous(app: &TestApp, config_id: i64, query: &str) -> Value {
    let (status, body) = app
        .get(
            &format!("/projects/labors/configs/{config_id}/previous_state?{query}"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn a_watermark_written_only_by_an_old_run_survives_pruning_and_a_new_run_reads_it(
    app: TestApp,
) {
    let config_id = app.create_config("labors", json!({})).await;
    let watermark = json!({"watermark": "2026-01-01T00:00:00Z"});
    ended_run(
        &app,
        (config_id, "r0"),
        watermark,
        "scan\n",
        ("Succeeded", 0),
    )
    .await;
    for n in 1..=5 {
        let state = json!({"files_seen": n});
        let run = (config_id, format!("r{n}"));
        ended_run(&app, (run.0, &run.1), state, "copy\n", ("Succeeded", n)).await;
    }
    set_policy(
        &app,
        json!({"keep_runs_days": 1, "successful_runs_history_limit": 1}),
    )
    .await;
    let report = prune(&app, 30, false).await;

    assert_eq!(report.deleted_runs.len(), 4, "{report:?}");
    assert_eq!(
        run_ids(&app, config_id).await,
        ["r5", "r0"],
        "r0 holds the watermark"
    );
    let found = previous(&app, config_id, "keys=watermark,files_seen").await;
    assert_eq!(
        found,
        json!({"watermark": "2026-01-01T00:00:00Z", "files_seen": 5})
    );

    app.register_run("labors", "r6", config_id, 1).await;
    let task = app.task_token_of("labors", config_id, 1, Some("r6")).await;
    let (status, read) = app
        .get(
            &format!(
                "/projects/labors/configs/{config_id}/previous_state?keys=watermark&before_run_id=r6"
            ),
            &task,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["watermark"], "2026-01-01T00:00:00Z");

    let again = prune(&app, 60, false).await;
    assert!(again.deleted_runs.is_empty(), "r6 is unfinished: {again:?}");
    let (_, status) = app.get("/projects/labors/status", &app.admin).await;
    assert!(
        status[0]["last_success_at"].is_string(),
        "the metadata of deleted runs stays: {status}"
    );
}

async fn a_run_still_going_keeps_the_value_it_reads_from_before_it(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    ended_run(
        &app,
        (config_id, "old"),
        json!({"cursor": 1}),
        "",
        ("Succeeded", 0),
    )
    .await;
    // A run that overlaps the next one (concurrency Allow) and has not ended.
    app.register_run("labors", "going", config_id, 1).await;
    ended_run(
        &app,
        (config_id, "new"),
        json!({"cursor": 2}),
        "",
        ("Succeeded", 2),
    )
    .await;
    set_policy(&app, json!({"keep_runs_days": 0})).await;

    prune(&app, 30, false).await;
    assert_eq!(run_ids(&app, config_id).await, ["new", "going", "old"]);
    let before_going = previous(&app, config_id, "keys=cursor&before_run_id=going").await;
    assert_eq!(before_going, json!({"cursor": 1}));

    let (status, _) = app
        .put(
            "/projects/labors/runs/going/metadata",
            &app.admin,
            json!({"phase": "Failed", "started_at": ended_at(), "finished_at": ended_at(),
                   "nodes": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let report = prune(&app, 30, false).await;
    let mut deleted: Vec<String> = report.deleted_runs.iter().map(|r| r.to_string()).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["going", "old"],
        "no reader needs cursor=1 any more"
    );
    assert_eq!(
        previous(&app, config_id, "keys=cursor").await,
        json!({"cursor": 2})
    );
}

async fn history_limits_keep_exactly_n_succeeded_and_m_failed_runs_of_each_config(app: TestApp) {
    let first = app.create_config("labors", json!({})).await;
    let second = app.create_config("labors", json!({})).await;
    let phases = [
        "Succeeded",
        "Failed",
        "Succeeded",
        "Error",
        "Succeeded",
        "Failed",
    ];
    for config_id in [first, second] {
        for (n, phase) in phases.iter().chain(&phases).enumerate() {
            let run_id = format!("c{config_id}-{n}");
            ended_run(&app, (config_id, &run_id), json!({}), "", (phase, n as i64)).await;
        }
    }
    let token_of_old_run = app
        .task_token_of("labors", first, 1, Some(&format!("c{first}-0")))
        .await;
    let token_id = token_id(&token_of_old_run);
    let record = app.store.get_token(&token_id).await.expect("token row");
    assert_eq!(
        record.run_id.map(|id| id.to_string()),
        Some(format!("c{first}-0"))
    );
    set_policy(
        &app,
        json!({"successful_runs_history_limit": 2, "failed_runs_history_limit": 1}),
    )
    .await;

    let report = prune(&app, 1, false).await;
    assert_eq!(report.deleted_runs.len(), 2 * 9, "{report:?}");
    for config_id in [first, second] {
        assert_eq!(
            run_ids(&app, config_id).await,
            [11, 10, 8].map(|n| format!("c{config_id}-{n}")),
            "the 2 newest succeeded, the newest failed"
        );
    }
    assert!(
        matches!(
            app.store.get_token(&token_id).await,
            Err(polyphemus_store::StoreError::NotFound)
        ),
        "the run's task token row is gone"
    );
    assert!(
        prune(&app, 1, false).await.is_empty(),
        "a second pass finds nothing"
    );
}

/// The id (`jti`) of a token.
fn token_id(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("claims JSON");
    claims["jti"].as_str().expect("jti").to_owned()
}

async fn outputs_past_keep_output_days_are_emptied_and_their_runs_kept(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    ended_run(
        &app,
        (config_id, "early"),
        json!({"k": 1}),
        "old log\n",
        ("Succeeded", 0),
    )
    .await;
    let late = 3 * 24 * 60;
    ended_run(
        &app,
        (config_id, "late"),
        json!({}),
        "new log\n",
        ("Failed", late),
    )
    .await;
    set_policy(&app, json!({"keep_output_days": 2})).await;

    let report = prune(&app, 4, false).await;
    assert!(report.deleted_runs.is_empty(), "{report:?}");
    assert_eq!(report.emptied_outputs.len(), 1, "{report:?}");
    assert_eq!(report.output_bytes, "old log\n".len() as u64);
    let (_, early) = app.get("/projects/labors/runs/early", &app.admin).await;
    assert_eq!(early["output"], "", "{early}");
    assert!(early["output_pruned_at"].is_string(), "{early}");
    assert_eq!(
        early["state"],
        json!({"k": 1}),
        "the run and its state stay"
    );
    let (_, late) = app.get("/projects/labors/runs/late", &app.admin).await;
    assert_eq!(late["output"], "new log\n", "ended 1 day before: kept");
    assert!(late.get("output_pruned_at").is_none(), "{late}");
    assert!(prune(&app, 4, false).await.is_empty(), "emptied once");
}

async fn a_running_run_is_never_touched(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "running", config_id, 1).await;
    let run = "/projects/labors/runs/running";
    let (status, _) = app
        .patch(
            run,
            &app.admin,
            json!({"state": {"k": 1}, "append_output": "busy\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let started = json!({"phase": "Running", "started_at": ended_at(), "nodes": {}});
    assert_eq!(
        app.put(&format!("{run}/metadata"), &app.admin, started)
            .await
            .0,
        StatusCode::OK
    );
    set_policy(
        &app,
        json!({"keep_runs_days": 0, "keep_output_days": 0,
               "successful_runs_history_limit": 0, "failed_runs_history_limit": 0}),
    )
    .await;
    assert!(prune(&app, 365, false).await.is_empty());
    let (status, body) = app.get(run, &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["output"], "busy\n");
    assert_eq!(body["state"], json!({"k": 1}));
}

async fn a_dry_run_changes_nothing_and_reports_what_the_prune_then_does(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    for n in 0..4 {
        let run = (config_id, format!("r{n}"));
        let output = "x".repeat(100 * (n + 1));
        ended_run(
            &app,
            (run.0, &run.1),
            json!({}),
            &output,
            ("Succeeded", n as i64),
        )
        .await;
    }
    set_policy(
        &app,
        json!({"successful_runs_history_limit": 2, "keep_output_days": 3}),
    )
    .await;
    let dry = prune(&app, 5, true).await;
    assert!(dry.dry_run);
    assert_eq!(dry.deleted_runs.len(), 2, "{dry:?}");
    assert_eq!(dry.emptied_outputs.len(), 2, "{dry:?}");
    assert_eq!(dry.output_bytes, 100 + 200 + 300 + 400);
    assert_eq!(run_ids(&app, config_id).await, ["r3", "r2", "r1", "r0"]);
    let (_, r0) = app.get("/projects/labors/runs/r0", &app.admin).await;
    assert_eq!(r0["output"].as_str().map(str::len), Some(100));
    assert!(!has_event(&app, "retention.pruned").await);

    let done = prune(&app, 5, false).await;
    assert!(!done.dry_run);
    assert_eq!(
        PruneReport {
            dry_run: true,
            ..done
        },
        dry
    );
    let event = pruned_event(&app).await;
    assert_eq!(
        event["detail"],
        json!({"deleted_runs": 2, "emptied_outputs": 2, "output_bytes": 1000,
               "run_dirs": 0, "run_dir_bytes": 0})
    );
    assert_eq!(event["actor"], "retention");
}

async fn without_a_policy_nothing_is_pruned(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    ended_run(&app, (config_id, "r0"), json!({}), "log\n", ("Failed", 0)).await;
    assert!(prune(&app, 10_000, false).await.is_empty());
    let every = app
        .services
        .pruner(None)
        .prune(None, ended_at() + Duration::days(10_000), false)
        .await
        .expect("prune all");
    assert!(every.is_empty(), "no project has a policy: {every:?}");
    assert_eq!(run_ids(&app, config_id).await, ["r0"]);
}

async fn two_servers_pruning_at_once_prune_each_run_once(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    for n in 0..12 {
        let run = (config_id, format!("r{n}"));
        ended_run(&app, (run.0, &run.1), json!({}), "log\n", ("Succeeded", n)).await;
    }
    set_policy(&app, json!({"successful_runs_history_limit": 3})).await;
    let second = app.second_services().await;
    let now = ended_at() + Duration::days(1);
    let (project, first, second) = (labors(), app.services.pruner(None), second.pruner(None));
    let (one, two) = tokio::join!(
        first.prune_project(&project, now, false),
        second.prune_project(&project, now, false),
    );
    let (one, two) = (one.expect("first"), two.expect("second"));
    assert_eq!(
        one.deleted_runs.len() + two.deleted_runs.len(),
        9,
        "{one:?} {two:?}"
    );
    assert_eq!(run_ids(&app, config_id).await, ["r11", "r10", "r9"]);
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let pruned: i64 = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "retention.pruned")
        .filter_map(|e| e["detail"]["deleted_runs"].as_i64())
        .sum();
    assert_eq!(pruned, 9, "the events count each run once");
}

async fn a_long_history_is_pruned_in_parts_that_add_up_to_the_dry_run(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    ended_run(
        &app,
        (config_id, "w"),
        json!({"watermark": 1}),
        "",
        ("Succeeded", 0),
    )
    .await;
    for n in 1..=8 {
        let (run, phase) = (
            format!("r{n}"),
            if n % 3 == 0 { "Failed" } else { "Succeeded" },
        );
        ended_run(&app, (config_id, &run), json!({}), "log\n", (phase, n)).await;
    }
    set_policy(
        &app,
        json!({"successful_runs_history_limit": 1, "failed_runs_history_limit": 1,
               "keep_output_days": 1}),
    )
    .await;
    let pruner = app.services.pruner(None).with_runs_per_transaction(2);
    let now = ended_at() + Duration::days(2);
    let dry = pruner
        .prune_project(&labors(), now, true)
        .await
        .expect("dry");
    let done = pruner
        .prune_project(&labors(), now, false)
        .await
        .expect("prune");
    assert_eq!(
        PruneReport {
            dry_run: true,
            ..done.clone()
        },
        dry
    );
    assert_eq!(done.deleted_runs.len(), 6, "{done:?}");
    assert_eq!(run_ids(&app, config_id).await, ["r8", "r6", "w"]);
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let parts: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "retention.pruned")
        .collect();
    assert_eq!(parts.len(), 5, "9 runs, 2 per transaction: {parts:?}");
    let deleted: i64 = parts
        .iter()
        .filter_map(|e| e["detail"]["deleted_runs"].as_i64())
        .sum();
    assert_eq!(deleted, 6);
}

async fn has_event(app: &TestApp, action: &str) -> bool {
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    events["items"]
        .as_array()
        .is_some_and(|all| all.iter().any(|e| e["action"] == action))
}

async fn pruned_event(app: &TestApp) -> Value {
    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    events["items"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["action"] == "retention.pruned"))
        .cloned()
        .expect("a retention.pruned event")
}

/// A step that leaves a log and a work file behind.
const WRITER: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: writer-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'head -c 20000 /dev/zero | tr "\0" x > scratch; echo wrote']
"#;

async fn the_run_directory_of_a_pruned_local_run_is_gone(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": WRITER, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let name = run["name"].as_str().expect("name").to_owned();
    wait_until_succeeded(&app, &run_id).await;
    let dir = app.runs_dir().join(&name);
    assert!(dir.join("status.json").is_file(), "the engine left {dir:?}");
    set_policy(&app, json!({"keep_runs_days": 0})).await;

    let now = Utc::now() + Duration::days(1);
    let pruner = app.services.pruner(Some(RunDirs::new(app.runs_dir())));
    let dry = pruner
        .prune_project(&labors(), now, true)
        .await
        .expect("dry");
    assert_eq!(dry.run_dirs, 1, "{dry:?}");
    assert!(dry.run_dir_bytes >= 20_000, "{dry:?}");
    assert!(dir.exists(), "a dry run leaves it");
    let done = pruner
        .prune_project(&labors(), now, false)
        .await
        .expect("prune");
    assert_eq!(done.deleted_runs.len(), 1);
    assert_eq!(done.run_dir_bytes, dry.run_dir_bytes);
    assert!(!dir.exists(), "the run directory is gone");
    let (status, _) = app
        .get(&format!("/projects/labors/runs/{run_id}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(pruned_event(&app).await["detail"]["run_dirs"], 1);
}

const ARTIFACT_WRITER: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: artifact-writer-}
spec:
  entrypoint: main
  artifactGC: {strategy: OnWorkflowDeletion}
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'echo kept > /tmp/kept; echo gone > /tmp/gone']
      outputs:
        artifacts:
          - {name: gone, path: /tmp/gone}
          - {name: kept, path: /tmp/kept, artifactGC: {strategy: Never}}
"#;

async fn pruning_a_run_deletes_its_artifacts_kept_until_deletion(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": ARTIFACT_WRITER, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let name = run["name"].as_str().expect("name").to_owned();
    wait_until_succeeded(&app, &run_id).await;
    // The harness's engine keeps its default repository, `<runs dir>/.artifacts`.
    let saved = app.runs_dir().join(".artifacts").join(&name);
    let pods: Vec<_> = std::fs::read_dir(&saved)
        .expect("saved")
        .flatten()
        .collect();
    let pod = pods.first().expect("the pod's artifacts").path();
    assert!(pod.join("gone.tgz").is_file() && pod.join("kept.tgz").is_file());
    set_policy(&app, json!({"keep_runs_days": 0})).await;
    let repository =
        polyphemus_engine::ArtifactRepository::local(app.runs_dir().join(".artifacts"));
    let run_dirs = RunDirs::new(app.runs_dir()).with_artifact_repository(repository);
    let done = app
        .services
        .pruner(Some(run_dirs))
        .prune_project(&labors(), Utc::now() + Duration::days(1), false)
        .await
        .expect("prune");
    assert_eq!(done.deleted_runs.len(), 1);
    assert!(
        !pod.join("gone.tgz").exists(),
        "the OnWorkflowDeletion artifact is gone"
    );
    assert!(pod.join("kept.tgz").is_file(), "the Never artifact stays");
}

async fn wait_until_succeeded(app: &TestApp, run_id: &str) {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, metadata) = app
            .get(
                &format!("/projects/labors/runs/{run_id}/metadata"),
                &app.admin,
            )
            .await;
        if metadata["phase"] == "Succeeded" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not succeed: {metadata}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
