//! `polyphemus retention show|set` over the API, and `polyphemus prune [--dry-run]` against
//! the server's store: a dry run says what would go and changes nothing; the prune then
//! removes exactly that.

use crate::harness::{block_on, command, create_config, run, Output, Server};
use polyphemus_model::{PatchRun, ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::json;

/// `polyphemus prune ARGS…` against the server's store and data dir.
fn prune_command(server: &Server, args: &[&str]) -> Output {
    let mut prune = command();
    prune
        .args(["--database-url", &server.database_url, "--data-dir"])
        .arg(&server.data_dir)
        .args(args);
    run(prune, None)
}

/// A run of config `id` that printed `output` and succeeded on `day` (2020-01-DD).
fn ended_run(server: &Server, id: &str, run_id: &str, output: &str, day: u32) {
    let client = server.client();
    let project = ProjectName::parse("default").expect("project name");
    block_on(async {
        let register = RegisterRun {
            run_id: RunId::parse(run_id).expect("run id"),
            name: format!("nightly-{run_id}"),
            config_id: id.parse().expect("id"),
            version_number: VersionNumber::FIRST,
        };
        client
            .register_run(&project, &register)
            .await
            .expect("register");
        let patch = PatchRun {
            state: None,
            append_output: Some(output.to_owned()),
            output: None,
        };
        client
            .patch_run(&project, &register.run_id, &patch)
            .await
            .expect("patch");
        let report: RunStatusReport = serde_json::from_value(json!({
            "phase": "Succeeded", "startedAt": format!("2020-01-{day:02}T00:00:00Z"),
            "finishedAt": format!("2020-01-{day:02}T00:01:00Z"), "nodes": {}
        }))
        .expect("report");
        client
            .put_run_metadata(&project, &register.run_id, &report)
            .await
            .expect("metadata");
    });
}

fn run_ids(server: &Server, id: &str) -> Vec<String> {
    let out = server
        .cli(&["--output", "json", "runs", "list", id])
        .success();
    out.json()
        .as_array()
        .expect("a list of runs")
        .iter()
        .filter_map(|run| run["run_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn prune_dry_run_says_what_would_go_and_prune_removes_it() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    for (n, output) in ["a".repeat(100), "b".repeat(200), "c".repeat(300)]
        .iter()
        .enumerate()
    {
        ended_run(&server, &id, &format!("run-{n}"), output, n as u32 + 1);
    }

    let out = prune_command(&server, &["prune", "--dry-run"]).success();
    assert!(
        out.stdout.contains("no project has a retention policy"),
        "{out:#?}"
    );
    let out = server.cli(&["retention", "show"]).success();
    assert!(out.stdout.contains("forever"), "{out:#?}");
    let out = server
        .cli(&["retention", "set", "--successful-runs-history-limit", "1"])
        .success();
    assert!(out.stdout.contains("1 per config"), "{out:#?}");
    let refused = server.cli(&["retention", "set", "--keep-runs-days", "-3"]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("whole number"), "{refused:#?}");

    let out = prune_command(&server, &["prune", "--dry-run", "--project", "default"]).success();
    assert!(out.stderr.contains("dry run"), "{out:#?}");
    assert!(out.stdout.contains("WOULD GO"), "{out:#?}");
    assert!(
        out.stdout.contains("300 B"),
        "200 + 100 bytes of output: {out:#?}"
    );
    let out = prune_command(&server, &["--output", "json", "prune", "--dry-run"]).success();
    let dry = out.json();
    assert_eq!(dry[0]["project_name"], "default");
    assert_eq!(dry[0]["deleted_runs"], json!(["run-0", "run-1"]), "{dry}");
    assert_eq!(dry[0]["output_bytes"], 300);
    assert_eq!(
        run_ids(&server, &id),
        ["run-2", "run-1", "run-0"],
        "nothing changed"
    );

    let out = prune_command(&server, &["--output", "json", "prune"]).success();
    let done = out.json();
    assert_eq!(done[0]["deleted_runs"], dry[0]["deleted_runs"]);
    assert_eq!(done[0]["dry_run"], false);
    assert_eq!(run_ids(&server, &id), ["run-2"]);

    let unknown = prune_command(&server, &["prune", "--project", "nowhere"]);
    assert_eq!(unknown.code, 1, "{unknown:#?}");
    assert!(unknown.stderr.contains("nowhere"), "{unknown:#?}");
}
