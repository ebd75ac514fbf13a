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
