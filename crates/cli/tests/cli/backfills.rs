//! `polyphemus backfill CONFIG --from T --to T --every 1d --watch` against a real server whose
//! scheduler drives the windows: progress lines until it ends, exit 0 when done and 1 when a
//! window failed; `backfills list|show` read it back.

use crate::harness::Server;
use serde_json::Value;
use std::path::Path;

/// A package whose one step ends at once with `exit`.
fn write_quick_package(dir: &Path, exit: u8) {
    let package = dir.join("quick");
    std::fs::create_dir_all(&package).expect("package dir");
    std::fs::write(
        package.join("manifest.yaml"),
        "name: quick\ndescription: Ends at once.\nworkflow: workflow.yaml\n\
         config_schema: {type: object}\nexample_config: {}\n",
    )
    .expect("manifest");
    let workflow = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{generateName: quick-}}\n\
         spec:\n  entrypoint: main\n  arguments:\n    parameters: [{{name: config_id}}, \
         {{name: version_number}}, {{name: project}}]\n  templates:\n    - name: main\n      \
         container:\n        image: busybox\n        command: [sh, -c, 'exit {exit}']\n"
    );
    std::fs::write(package.join("workflow.yaml"), workflow).expect("workflow");
}

fn quick_server(exit: u8) -> (Server, tempfile::TempDir) {
    let packages = tempfile::tempdir().expect("temp dir");
    write_quick_package(packages.path(), exit);
    let dir = packages.path().display().to_string();
    let server = Server::start_with_env(&[
        ("POLYPHEMUS_WORKFLOWS_DIR", dir.as_str()),
        ("POLYPHEMUS_SCHEDULER_TICK_S", "1"),
    ]);
    (server, packages)
}

fn create_quick_config(server: &Server) -> String {
    let created = server
        .cli_with_stdin(
            &[
                "--output",
                "json",
                "configs",
                "create",
                "--workflow-type",
                "quick",
                "--name",
                "rescan",
                "--config",
                "-",
            ],
            Some("{}"),
        )
        .success()
        .json();
    created["config_id"].to_string()
}

#[test]
fn backfill_watch_prints_each_window_and_ends_when_done() {
    let (server, _packages) = quick_server(0);
    let config_id = create_quick_config(&server);
    let watched = server
        .cli(&[
            "backfill",
            &config_id,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-04T00:00:00Z",
            "--every",
            "1d",
            "--watch",
            "--poll-seconds",
            "1",
        ])
        .success();
    assert!(
        watched.stdout.contains("backfill 1 of config")
            && watched.stdout.contains("3 window(s) of 1d"),
        "{watched:#?}"
    );
    assert!(watched.stdout.contains("3/3 done, done"), "{watched:#?}");
    assert!(
        watched.stdout.contains("window 1/3 2026-11-01 00:00:00Z"),
        "{watched:#?}"
    );

    let shown = server
        .cli(&["backfills", "show", "1", "--output", "json"])
        .success()
        .json();
    assert_eq!(shown["state"], "done");
    let windows = shown["window_runs"].as_array().map(Vec::len);
    assert_eq!(windows, Some(3), "{shown}");
    let listed: Value = server
        .cli(&["backfills", "list", &config_id, "--output", "json"])
        .success()
        .json();
    assert_eq!(listed[0]["id"], 1);
}

#[test]
fn backfill_watch_exits_non_zero_when_a_window_fails() {
    let (server, _packages) = quick_server(1);
    let config_id = create_quick_config(&server);
    let watched = server.cli(&[
        "backfill",
        &config_id,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
        "--every",
        "1d",
        "--watch",
        "--poll-seconds",
        "1",
    ]);
    assert_ne!(watched.code, 0, "{watched:#?}");
    assert!(
        watched.stderr.contains("backfill 1 failed") && watched.stderr.contains("window 1/2"),
        "{watched:#?}"
    );

    let refused = server.cli(&[
        "backfill",
        &config_id,
        "--from",
        "2026-11-03",
        "--to",
        "2026-11-01",
        "--every",
        "1d",
    ]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("to"), "{refused:#?}");
    let bad_date = server.cli(&[
        "backfill",
        &config_id,
        "--from",
        "soon",
        "--to",
        "2026-11-01",
        "--every",
        "1d",
    ]);
    assert_ne!(bad_date.code, 0);
    assert!(bad_date.stderr.contains("RFC 3339"), "{bad_date:#?}");
}
