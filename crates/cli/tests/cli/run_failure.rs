//! `runs show` of a failed run: the reason first, then the node tree in start order with
//! children indented under their parent (as `argo get` prints it).

use crate::harness::{block_on, create_config, Server};
use polyphemus_model::{ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::json;

fn failed_report() -> RunStatusReport {
    serde_json::from_value(json!({
        "phase": "Failed",
        "startedAt": "2026-11-25T10:00:00Z",
        "finishedAt": "2026-11-25T10:01:30Z",
        "message": "child 'wf-3' failed",
        "nodes": {
            "wf-1": {"name": "wf", "displayName": "wf", "type": "Steps", "phase": "Failed",
                     "startedAt": "2026-11-25T10:00:00Z", "children": ["wf-6", "wf-3"]},
            "wf-3": {"name": "wf[0].discover", "displayName": "discover", "type": "Retry",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:01Z",
                     "children": ["wf-5", "wf-4"]},
            "wf-4": {"name": "wf[0].discover(0)", "displayName": "discover(0)", "type": "Pod",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:01Z",
                     "finishedAt": "2026-11-25T10:00:05Z", "message": "config: no password"},
            "wf-5": {"name": "wf[0].discover(1)", "displayName": "discover(1)", "type": "Pod",
                     "phase": "Failed", "startedAt": "2026-11-25T10:00:10Z",
                     "finishedAt": "2026-11-25T10:00:12Z", "message": "config: no password"},
            "wf-6": {"name": "wf.onExit", "displayName": "wf.onExit", "type": "Pod",
                     "phase": "Succeeded", "startedAt": "2026-11-25T10:01:00Z"}
        }
    }))
    .expect("report")
}

#[test]
fn runs_show_prints_the_reason_then_the_node_tree_in_start_order() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = ProjectName::parse("default").expect("project name");
    let register = RegisterRun {
        run_id: RunId::parse("run-1").expect("run id"),
        name: "wf".to_owned(),
        config_id: id.parse().expect("id"),
        version_number: VersionNumber::FIRST,
    };
    block_on(async {
        client
            .register_run(&project, &register)
            .await
            .expect("register");
        client
            .put_run_metadata(&project, &register.run_id, &failed_report())
            .await
            .expect("metadata");
    });

    let out = server.cli(&["runs", "show", "run-1"]).success();
    let first = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, "failed: discover: config: no password", "{out:#?}");
    // The name cell of each node row, with its indentation.
    let names: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|line| *line != "nodes:")
        .filter_map(|line| line.strip_prefix("│ "))
        .filter_map(|row| row.split(" ┆").next())
        .map(str::trim_end)
        .filter(|name| *name != "NODE")
        .collect();
    assert_eq!(
        names,
        [
            "wf",
            "  discover",
            "    discover(0)",
            "    discover(1)",
            "  wf.onExit"
        ],
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("4.0s"), "a node's duration: {out:#?}");
    let out = server
        .cli(&["--output", "json", "runs", "show", "run-1"])
        .success();
    assert_eq!(
        out.json()["metadata"]["failure"],
        "discover: config: no password"
    );
}
