//! Finding runs from the command line, and the CLI's manners: `runs list --phase`, `runs show`
//! by uid prefix, `--project` from the environment in a 404, store commands on a missing data
//! dir, `token list --output json`, and JSON server logs without escape codes.

use crate::harness::{block_on, command, create_config, run, Server};
use polyphemus_model::{ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::{json, Value};

const UID: &str = "3f1c2a9b-5d7e-4c1a-9f00-0123456789ab";

/// Registers runs of config `id` in project `default`, and reports a phase for some.
fn register(server: &Server, id: &str, runs: &[(&str, &str, Option<&str>)]) {
    let client = server.client();
    let project = ProjectName::parse("default").expect("project");
    block_on(async {
        for (run_id, name, phase) in runs {
            let register = RegisterRun {
                run_id: RunId::parse(*run_id).expect("run id"),
                name: (*name).to_owned(),
                config_id: id.parse().expect("id"),
                version_number: VersionNumber::FIRST,
            };
            client
                .register_run(&project, &register)
                .await
                .expect("register");
            if let Some(phase) = phase {
                let report: RunStatusReport = serde_json::from_value(json!({
                    "phase": phase, "startedAt": "2026-01-01T00:00:00Z",
                    "finishedAt": "2026-01-01T00:01:30Z", "nodes": {}
                }))
                .expect("report");
                client
                    .put_run_metadata(&project, &register.run_id, &report)
                    .await
                    .expect("metadata");
            }
        }
    });
}

#[test]
fn runs_list_filters_by_phase_and_shows_phase_and_duration() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    register(
        &server,
        &id,
        &[
            ("uid-ok", "wf-ok", Some("Succeeded")),
            ("uid-bad", "wf-bad", Some("Failed")),
        ],
    );
    let table = server.cli(&["runs", "list"]).success();
    assert!(
        table.stdout.contains("PHASE") && table.stdout.contains("DURATION"),
        "{table:?}"
    );
    assert!(table.stdout.contains("90.0s"), "{table:?}");
    let failed = server
        .cli(&["--output", "json", "runs", "list", "--phase", "failed"])
        .success()
        .json();
    let ids: Vec<&Value> = failed
        .as_array()
        .expect("array")
        .iter()
        .map(|r| &r["run_id"])
        .collect();
    assert_eq!(ids, [&json!("uid-bad")]);
    let by_config = server.cli(&["--output", "json", "runs", "list", &id, "--since", "1d"]);
    assert_eq!(
        by_config.success().json().as_array().expect("array").len(),
        2
    );
    let bad = server.cli(&["runs", "list", "--phase", "done"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("must be one of"), "{bad:?}");
}

#[test]
fn runs_show_takes_a_uid_prefix_or_workflow_name() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    register(
        &server,
        &id,
        &[(UID, "sftp-to-storage-8ql46", Some("Failed"))],
    );
    for reference in ["3f1c2a9b", "sftp-to-storage-8ql46"] {
        let shown = server
            .cli(&["--output", "json", "runs", "show", reference])
            .success()
            .json();
        assert_eq!(shown["run_id"], UID, "{reference}");
        assert_eq!(shown["metadata"]["phase"], "Failed", "{reference}");
    }
    let short = server.cli(&["runs", "show", "3f1c2a9"]);
    assert_eq!(short.code, 1, "{short:?}");
    assert!(short.stderr.contains("run 3f1c2a9 not found"), "{short:?}");
}

#[test]
fn project_from_the_environment_is_named_in_a_404() {
    let server = Server::start();
    let mut show = command();
    show.env("POLYPHEMUS_PROJECT", "labors")
        .args(["--url", &server.url, "--data-dir"])
        .arg(&server.data_dir)
        .args(["configs", "show", "3"]);
    let output = run(show, None);
    assert_eq!(output.code, 1, "{output:?}");
    assert!(
        output.stderr.contains("in project \"labors\""),
        "{output:?}"
    );
    let flag = server.cli(&["--project", "elsewhere", "runs", "show", "uid-x"]);
    assert!(
        flag.stderr
            .contains("run uid-x not found in project \"elsewhere\""),
        "{flag:?}"
    );
}

#[test]
fn token_list_refuses_a_data_dir_that_does_not_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let mut list = command();
    list.arg("--data-dir").arg(&missing).args(["token", "list"]);
    let output = run(list, None);
    assert_ne!(output.code, 0, "{output:?}");
    assert!(
        output.stderr.contains(&missing.display().to_string()),
        "{output:?}"
    );
    assert!(!missing.exists(), "no empty data dir was made");
}

#[test]
fn token_list_prints_json() {
    let server = Server::start();
    let mut list = command();
    list.args(["--database-url", &server.database_url, "--data-dir"])
        .arg(&server.data_dir)
        .args(["--output", "json", "token", "list"]);
    let output = run(list, None).success();
    let tokens = output.json();
    assert!(
        tokens.as_array().is_some_and(|t| !t.is_empty()),
        "{output:?}"
    );
    assert!(tokens[0]["id"].is_string(), "{output:?}");
}

#[test]
fn serve_log_format_json_writes_json_lines_without_escape_codes() {
    let server = Server::start_with_env(&[("POLYPHEMUS_LOG_FORMAT", "json")]);
    server.cli(&["workflows", "list"]).success();
    let log_path = server.data_dir.parent().expect("dir").join("server.log");
    let log = std::fs::read_to_string(&log_path).expect("server log");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logged nothing");
    for line in lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
    assert!(!log.contains('\u{1b}'), "no escape codes in a file: {log}");
}
