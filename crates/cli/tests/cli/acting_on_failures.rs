//! `configs restore|archive|unarchive` and `runs resubmit`: acting on what failed.

use crate::harness::{block_on, config_values, create_config, Server};
use polyphemus_model::{ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::json;

#[test]
fn configs_restore_archive_and_unarchive() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    server
        .cli_with_stdin(
            &["configs", "update", &id, "--config", "-"],
            Some(&config_values("other-bucket")),
        )
        .success();
    let out = server.cli(&["configs", "restore", &id, "1"]).success();
    assert!(
        out.stdout
            .contains(&format!("restored version 1 of config {id} as version 3")),
        "{out:#?}"
    );
    let shown = server
        .cli(&["--output", "json", "configs", "show", &id])
        .success()
        .json();
    assert_eq!(shown["config"]["bucket"], "raw-data");
    assert_eq!(shown["comment"], "restored from version 1");

    let out = server.cli(&["configs", "archive", &id]).success();
    assert!(out.stdout.contains("archived config"), "{out:#?}");
    let status = server.cli(&["--output", "json", "status"]).success().json();
    assert_eq!(status, json!([]), "hidden from status");
    let all = server
        .cli(&["--output", "json", "status", "--archived"])
        .success()
        .json();
    assert!(!all[0]["archived_at"].is_null(), "listed when asked: {all}");
    let out = server.cli(&["launch", &id]);
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(out.stderr.contains("archived"), "{out:#?}");
    server.cli(&["configs", "unarchive", &id]).success();
    let status = server.cli(&["--output", "json", "status"]).success().json();
    assert_eq!(status.as_array().map(Vec::len), Some(1), "{status}");
}

#[test]
fn runs_resubmit_launches_the_same_version() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = ProjectName::parse("default").expect("project name");
    let run_id = RunId::parse("run-1").expect("run id");
    let register = RegisterRun {
        run_id: run_id.clone(),
        name: "nightly-abc".to_owned(),
        config_id: id.parse().expect("id"),
        version_number: VersionNumber::FIRST,
    };
    let ended: RunStatusReport =
        serde_json::from_value(json!({"phase": "Failed", "nodes": {}})).expect("report");
    block_on(async {
        client
            .register_run(&project, &register)
            .await
            .expect("register");
        client
            .put_run_metadata(&project, &run_id, &ended)
            .await
            .expect("metadata");
    });
    let resubmitted = server
        .cli(&["--output", "json", "runs", "resubmit", "run-1"])
        .success()
        .json();
    assert_ne!(resubmitted["run_id"], "run-1");
    assert_eq!(resubmitted["version_number"], 1);
}
