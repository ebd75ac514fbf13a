//! Configs: create from a file and stdin, show, update, versions, diff, status, events; invalid input.

use crate::harness::{config_values, create_config, Server};
use serde_json::json;

#[test]
fn configs_are_created_updated_and_compared() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("config.json");
    std::fs::write(&file, config_values("raw-data")).expect("write config");
    let path = file.to_str().expect("utf-8 path");

    let out = server
        .cli(&[
            "configs",
            "create",
            "--workflow-type",
            "sftp-to-storage",
            "--name",
            "nightly",
            "--config",
            path,
            "--comment",
            "first",
        ])
        .success();
    assert!(
        out.stdout.contains("created config 1 version 1"),
        "{out:#?}"
    );
    let second = create_config(&server, "from-stdin");
    assert_eq!(second, "2");

    let out = server.cli(&["configs", "list"]).success();
    assert!(
        out.stdout.contains("nightly") && out.stdout.contains("from-stdin"),
        "{out:#?}"
    );
    let out = server.cli(&["configs", "show", "1"]).success();
    assert!(out.stdout.contains("\"bucket\": \"raw-data\""), "{out:#?}");
    assert!(out.stdout.contains("first"), "{out:#?}");

    std::fs::write(&file, config_values("raw-data-2")).expect("write config");
    let out = server
        .cli(&[
            "configs",
            "update",
            "1",
            "--config",
            path,
            "--comment",
            "new bucket",
        ])
        .success();
    assert!(out.stdout.contains("created version 2"), "{out:#?}");
    let out = server
        .cli(&["configs", "update", "1", "--name", "nightly ingest"])
        .success();
    assert!(
        out.stdout.contains("version 2 updated in place"),
        "{out:#?}"
    );

    let out = server
        .cli(&["--output", "json", "configs", "versions", "1"])
        .success();
    assert_eq!(out.json().as_array().map(Vec::len), Some(2), "{out:#?}");
    let out = server.cli(&["configs", "versions", "1"]).success();
    assert!(out.stdout.contains("new bucket"), "{out:#?}");

    let out = server.cli(&["configs", "diff", "1", "1", "2"]).success();
    assert!(out.stdout.contains("--- config 1 version 1"), "{out:#?}");
    assert!(
        out.stdout.contains("\n-  \"bucket\": \"raw-data\",\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("\n+  \"bucket\": \"raw-data-2\",\n"),
        "{out:#?}"
    );
    assert!(
        !out.stdout.contains("\x1b["),
        "no colour off a terminal: {out:#?}"
    );

    let out = server.cli(&["--output", "json", "configs", "show", "1", "--version", "1"]);
    let config = out.success().json();
    assert_eq!(config["version_number"], 1);
    assert_eq!(config["config"]["bucket"], "raw-data");

    let out = server.cli(&["status"]).success();
    assert!(
        out.stdout.contains("nightly ingest") && out.stdout.contains("pending"),
        "{out:#?}"
    );
    let out = server.cli(&["--output", "json", "status"]).success();
    assert_eq!(out.json().as_array().map(Vec::len), Some(2), "{out:#?}");

    let out = server.cli(&["events"]).success();
    assert!(out.stdout.contains("config.created"), "{out:#?}");
    assert!(out.stdout.contains("config.updated"), "{out:#?}");
    let out = server
        .cli(&["--output", "json", "events", "--config-id", "2"])
        .success();
    let events = out.json();
    let actions: Vec<&str> = events
        .as_array()
        .expect("events array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["config.created"], "{out:#?}");

    let out = server
        .cli(&["--output", "json", "workflows", "list"])
        .success();
    let names: Vec<serde_json::Value> = out
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, ["ingestion", "sftp-to-storage"]);
    let out = server
        .cli(&["--output", "json", "configs", "list", "--all"])
        .success();
    assert_eq!(out.json().as_array().map(Vec::len), Some(2), "{out:#?}");
}

#[test]
fn an_invalid_config_fails_with_the_field_pointer() {
    let server = Server::start();
    let bad = json!({"host": "", "username": "ingest", "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "root": "/in", "bucket": "raw-data"});
    let out = server.cli_with_stdin(
        &[
            "configs",
            "create",
            "--workflow-type",
            "sftp-to-storage",
            "--name",
            "bad",
            "--config",
            "-",
        ],
        Some(&bad.to_string()),
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.starts_with("error: 422 Unprocessable Entity"),
        "{out:#?}"
    );
    assert!(out.stderr.contains("/config/host"), "{out:#?}");
    assert_eq!(
        out.stderr.trim_end().lines().count(),
        1,
        "one line: {out:#?}"
    );
    assert!(out.stdout.is_empty(), "{out:#?}");

    let out = server.cli_with_stdin(
        &[
            "configs",
            "create",
            "--workflow-type",
            "sftp-to-storage",
            "--name",
            "x",
            "--config",
            "-",
        ],
        Some("{not json"),
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.contains("--config: stdin is not valid JSON"),
        "{out:#?}"
    );

    let out = server
        .cli(&["--output", "json", "configs", "list"])
        .success();
    assert_eq!(out.json(), json!([]), "nothing was stored");
    let out = server.cli(&["configs", "show", "7"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("404 Not Found"), "{out:#?}");
}
