//! Runtime configs: interval, cron, disabled flag and runtime params.

use crate::harness::{create_config, Server};
use serde_json::Value;

#[test]
fn runtime_interval_is_set_and_shown() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let out = server
        .cli(&["runtime", "set", &id, "--interval", "90m"])
        .success();
    assert!(out.stdout.contains("1h30m"), "{out:#?}");
    let out = server.cli(&["runtime", "show", &id]).success();
    assert!(out.stdout.contains("1h30m"), "{out:#?}");
    let out = server
        .cli(&["--output", "json", "runtime", "show", &id])
        .success();
    let runtime = out.json();
    assert_eq!(runtime["run_interval_s"], 5400);
    assert_eq!(runtime["disabled"], false);

    let out = server.cli(&[
        "runtime",
        "set",
        &id,
        "--cron",
        "0 3 * * *",
        "--disabled",
        "true",
    ]);
    let runtime = server
        .cli(&["--output", "json", "runtime", "show", &id])
        .success()
        .json();
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(runtime["cron"], "0 3 * * *");
    assert_eq!(
        runtime["run_interval_s"],
        Value::Null,
        "cron replaced the interval"
    );
    assert_eq!(runtime["disabled"], true);

    let params = server.cli_with_stdin(
        &["runtime", "set", &id, "--params", "-"],
        Some(r#"{"max_files": 0}"#),
    );
    assert_eq!(params.code, 1, "{params:#?}");
    assert!(params.stderr.contains("422"), "{params:#?}");
}

/// Registers run `run_id` of config `id` and records its end in `phase`, as a job would.
fn ended_run(server: &Server, id: &str, run_id: &str, phase: &str) {
    let client = server.client();
    let project = &polyphemus_model::ProjectName::parse("default").expect("project");
    let config_id: polyphemus_model::ConfigId = id.parse().expect("id");
    let register = polyphemus_model::RegisterRun {
        run_id: polyphemus_model::RunId::parse(run_id).expect("run id"),
        name: format!("wf-{run_id}"),
        config_id,
        version_number: polyphemus_model::VersionNumber::new(1),
    };
    crate::harness::block_on(async {
        client
            .register_run(project, &register)
            .await
            .expect("register");
        let report: polyphemus_model::RunStatusReport = serde_json::from_value(serde_json::json!({
            "phase": phase, "startedAt": "2026-12-01T00:00:00Z", "nodes": {}
        }))
        .expect("report");
        client
            .put_run_metadata(project, &register.run_id, &report)
            .await
            .expect("metadata");
    });
}

#[test]
fn schedule_policies_are_set_shown_and_a_paused_schedule_resumes() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let out = server
        .cli(&[
            "runtime",
            "set",
            &id,
            "--interval",
            "1h",
            "--concurrency-policy",
            "Replace",
            "--starting-deadline",
            "10m",
            "--pause-after-failures",
            "2",
        ])
        .success();
    assert!(out.stdout.contains("Replace"), "{out:#?}");
    assert!(out.stdout.contains("2 failed runs in a row"), "{out:#?}");
    let bad = server.cli(&["runtime", "set", &id, "--concurrency-policy", "Sometimes"]);
    assert_eq!(bad.code, 2, "{bad:#?}");
    assert!(bad.stderr.contains("Forbid, Allow, Replace"), "{bad:#?}");
    let short = server.cli(&["runtime", "set", &id, "--interval", "30s"]);
    assert_eq!(short.code, 1, "{short:#?}");
    assert!(short.stderr.contains("at least 60 seconds"), "{short:#?}");

    ended_run(&server, &id, "f1", "Failed");
    ended_run(&server, &id, "f2", "Failed");
    let shown = server.cli(&["runtime", "show", &id]).success();
    assert!(
        shown.stdout.contains("2 failed runs in a row (f2, f1)"),
        "{shown:#?}"
    );
    assert!(
        shown.stdout.contains("polyphemus runtime resume"),
        "{shown:#?}"
    );
    let status = server.cli(&["status"]).success();
    assert!(status.stdout.contains("paused"), "{status:#?}");
    let resumed = server
        .cli(&["--output", "json", "runtime", "resume", &id])
        .success()
        .json();
    assert_eq!(resumed["paused"], Value::Null);
}

#[test]
fn a_launch_over_an_active_run_needs_force() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = polyphemus_model::ProjectName::parse("default").expect("project");
    let register = polyphemus_model::RegisterRun {
        run_id: polyphemus_model::RunId::parse("still-going").expect("run id"),
        name: "wf-still-going".into(),
        config_id: id.parse().expect("id"),
        version_number: polyphemus_model::VersionNumber::new(1),
    };
    crate::harness::block_on(client.register_run(&project, &register)).expect("register");
    let refused = server.cli(&["launch", &id]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(refused.stderr.contains("still-going"), "{refused:#?}");
    assert!(refused.stderr.contains("force"), "{refused:#?}");
    server.cli(&["launch", &id, "--force"]).success();
}
