//! Runs: list, show with state and metadata, logs, and watching a run until it ends.

use crate::harness::{block_on, command, create_config, Server};
use polyphemus_model::{PatchRun, ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn runs_show_state_metadata_and_logs() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = ProjectName::parse("default").expect("project name");
    block_on(async {
        let register = RegisterRun {
            run_id: RunId::parse("run-1").expect("run id"),
            name: "nightly-abc".to_owned(),
            config_id: id.parse().expect("id"),
            version_number: VersionNumber::FIRST,
        };
        client
            .register_run(&project, &register)
            .await
            .expect("register");
        let patch = PatchRun {
            state: json!({"last_scan": "2026-01-01"}).as_object().cloned(),
            append_output: Some("found 3 files\ncopied 3 files\n".to_owned()),
            output: None,
        };
        client
            .patch_run(&project, &register.run_id, &patch)
            .await
            .expect("patch");
        let report: RunStatusReport = serde_json::from_value(json!({
            "phase": "Succeeded", "startedAt": "2026-01-01T00:00:00Z",
            "finishedAt": "2026-01-01T00:01:30Z", "nodes": {}
        }))
        .expect("report");
        client
            .put_run_metadata(&project, &register.run_id, &report)
            .await
            .expect("metadata");
    });

    // #14: the list shows phase and duration (no longer the state keys: `runs show` has them).
    let out = server.cli(&["runs", "list", &id]).success();
    assert!(
        out.stdout.contains("run-1") && out.stdout.contains("Succeeded"),
        "{out:#?}"
    );
    let out = server.cli(&["runs", "show", "run-1"]).success();
    assert!(out.stdout.contains("Succeeded"), "{out:#?}");
    assert!(
        out.stdout.contains("\"last_scan\": \"2026-01-01\""),
        "{out:#?}"
    );
    assert!(out.stdout.contains("90.0s"), "{out:#?}");
    let out = server
        .cli(&["--output", "json", "runs", "show", "run-1"])
        .success();
    assert_eq!(out.json()["metadata"]["phase"], "Succeeded");
    let out = server.cli(&["runs", "logs", "run-1"]).success();
    assert_eq!(out.stdout, "found 3 files\ncopied 3 files\n");
    let out = server.cli(&["status"]).success();
    assert!(out.stdout.contains("succeeded"), "{out:#?}");
    let out = server.cli(&["runs", "show", "nope"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let out = server.cli(&["runs", "watch", "run-1"]).success();
    assert!(out.stdout.contains("Succeeded"), "{out:#?}");
}

#[test]
fn watching_a_run_waits_for_its_end_and_fails_with_it() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = ProjectName::parse("default").expect("project name");
    let register = RegisterRun {
        run_id: RunId::parse("run-2").expect("run id"),
        name: "nightly-def".to_owned(),
        config_id: id.parse().expect("id"),
        version_number: VersionNumber::FIRST,
    };
    block_on(client.register_run(&project, &register)).expect("register");

    let mut watch = command();
    watch
        .args(["--url", &server.url, "--data-dir"])
        .arg(&server.data_dir)
        .args(["runs", "watch", "run-2", "--poll", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = watch.spawn().expect("watch");
    std::thread::sleep(Duration::from_millis(1500));
    let report: RunStatusReport = serde_json::from_value(json!({
        "phase": "Failed", "message": "step copy failed", "nodes": {}
    }))
    .expect("report");
    block_on(client.put_run_metadata(&project, &register.run_id, &report)).expect("metadata");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim(), "error: run run-2 failed: step copy failed");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Failed"));
}
