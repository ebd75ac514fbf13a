//! A run's output has a ceiling: appends past it are cut with a marker, the PATCH answer does
//! not echo the output, and a step printing more than the ceiling leaves a capped output while
//! its whole log stays on disk. The server runs with a 1 KiB ceiling here.

use crate::harness::{Setup, TestApp};
use polyphemus_model::OutputLimit;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LIMIT: u64 = 1024;

fn small() -> Setup {
    Setup {
        output_limit: OutputLimit::new(LIMIT).expect("limit"),
        ..Setup::default()
    }
}

crate::both_stores_with!(small;

    an_append_answers_with_the_output_length_not_the_output,
    output_past_the_limit_keeps_its_start_and_ends_with_the_marker,
    replacing_the_output_starts_again_within_the_limit,
    appends_racing_at_the_limit_never_pass_it,
    a_step_printing_past_the_limit_leaves_a_capped_output_and_its_whole_log,
);

fn marker() -> String {
    OutputLimit::new(LIMIT).expect("limit").marker()
}

async fn new_run(app: &TestApp) -> String {
    let config_id = app.create_config("labors", json!({})).await;
    app.register_run("labors", "r1", config_id, 1).await;
    "/projects/labors/runs/r1".to_owned()
}

async fn patch(app: &TestApp, run: &str, body: Value) -> Value {
    let (status, answer) = app.patch(run, &app.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn stored(app: &TestApp, run: &str) -> Value {
    let (status, body) = app.get(run, &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn an_append_answers_with_the_output_length_not_the_output(app: TestApp) {
    let run = new_run(&app).await;
    let answer = patch(
        &app,
        &run,
        json!({"state": {"a": 1}, "append_output": "one\n"}),
    )
    .await;
    assert!(answer.get("output").is_none(), "echoed: {answer}");
    assert_eq!(answer["output_bytes"], 4);
    assert_eq!(answer["output_truncated"], false);
    assert_eq!(answer["state"], json!({"a": 1}));
    let answer = patch(&app, &run, json!({"append_output": "twé\n"})).await;
    assert_eq!(answer["output_bytes"], 9, "bytes, not characters");

    let body = stored(&app, &run).await;
    assert_eq!(body["output"], "one\ntwé\n");
    assert_eq!(body["output_truncated"], false);
}

async fn output_past_the_limit_keeps_its_start_and_ends_with_the_marker(app: TestApp) {
    let run = new_run(&app).await;
    patch(&app, &run, json!({"append_output": "a".repeat(600)})).await;
    let answer = patch(&app, &run, json!({"append_output": "b".repeat(600)})).await;
    assert_eq!(answer["output_truncated"], true, "{answer}");
    assert_eq!(answer["output_bytes"], LIMIT);

    let body = stored(&app, &run).await;
    let output = body["output"].as_str().expect("output");
    assert_eq!(output.len() as u64, LIMIT);
    assert!(output.starts_with(&"a".repeat(600)));
    assert!(output.ends_with(&marker()), "{output}");
    assert_eq!(body["output_truncated"], true);

    // Later appends are dropped; the state they carry is still merged.
    let answer = patch(
        &app,
        &run,
        json!({"state": {"k": 1}, "append_output": "more\n"}),
    )
    .await;
    assert_eq!(answer["output_bytes"], LIMIT);
    let body = stored(&app, &run).await;
    assert_eq!(body["output"].as_str(), Some(output));
    assert_eq!(body["state"]["k"], 1);
}

async fn replacing_the_output_starts_again_within_the_limit(app: TestApp) {
    let run = new_run(&app).await;
    patch(&app, &run, json!({"append_output": "x".repeat(2000)})).await;
    let answer = patch(&app, &run, json!({"output": "fresh\n"})).await;
    assert_eq!(answer["output_truncated"], false, "{answer}");
    assert_eq!(stored(&app, &run).await["output"], "fresh\n");

    let answer = patch(&app, &run, json!({"output": "é".repeat(1000)})).await;
    assert_eq!(answer["output_truncated"], true, "{answer}");
    let output = stored(&app, &run).await["output"]
        .as_str()
        .expect("output")
        .to_owned();
    assert!(output.len() as u64 <= LIMIT);
    assert!(output.starts_with('é') && output.ends_with(&marker()));
}

async fn appends_racing_at_the_limit_never_pass_it(app: TestApp) {
    let run = new_run(&app).await;
    let lines: Vec<String> = (0..40)
        .map(|n| format!("{n:02}{}\n", "-".repeat(47)))
        .collect();
    let sends = lines.iter().map(|line| {
        let (app, run) = (&app, &run);
        async move {
            app.patch(run, &app.admin, json!({"append_output": line}))
                .await
                .0
        }
    });
    for status in futures::future::join_all(sends).await {
        assert_eq!(status, StatusCode::OK);
    }
    let body = stored(&app, &run).await;
    let output = body["output"].as_str().expect("output");
    assert_eq!(output.len() as u64, LIMIT, "exactly full: {output}");
    let kept = output
        .strip_suffix(&marker())
        .expect("ends with the marker");
    let whole: Vec<&str> = kept
        .split_inclusive('\n')
        .filter(|l| l.len() == 50)
        .collect();
    // Every whole line is one of the appends, once; at most one is cut before the marker.
    let mut seen = std::collections::HashSet::new();
    for line in &whole {
        assert!(lines.iter().any(|l| l == line), "not an append: {line:?}");
        assert!(seen.insert(*line), "appended twice: {line:?}");
    }
    assert_eq!(whole.len(), (LIMIT as usize - marker().len()) / 50);
}

/// A step printing 200 KiB; the server keeps 1 KiB of it as output.
const PRINTER: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: printer-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'head -c 204800 /dev/zero | tr "\0" x; echo; echo END']
"#;

async fn a_step_printing_past_the_limit_leaves_a_capped_output_and_its_whole_log(app: TestApp) {
    let config_id = app.create_config("labors", json!({})).await;
    let (status, run) = app
        .post(
            &format!("/projects/labors/configs/{config_id}/submit"),
            &app.admin,
            json!({"workflow_yaml": PRINTER, "version_number": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["run_id"].as_str().expect("run_id");
    let name = run["name"].as_str().expect("name");
    let path = format!("/projects/labors/runs/{run_id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, metadata) = app.get(&format!("{path}/metadata"), &app.admin).await;
        if metadata["phase"] == "Succeeded" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not succeed: {metadata}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let body = stored(&app, &path).await;
    let output = body["output"].as_str().expect("output");
    assert!(output.len() as u64 <= LIMIT, "{} bytes", output.len());
    assert!(output.starts_with("=== "), "{output}");
    assert!(output.contains("are left out"), "{output}");
    assert!(output.ends_with(&marker()), "{output}");
    assert_eq!(body["output_truncated"], true);

    let orchestrator = app.services.orchestrator().expect("orchestrator");
    let logs = orchestrator
        .logs(orchestrator.namespace(), name, 4)
        .await
        .expect("logs");
    let log = logs.values().next().expect("the step's log");
    assert_eq!(log.total_bytes, 204_800 + 1 + 4, "the whole log is on disk");
    assert_eq!(log.text, "END\n", "a tail is read from its end");
}
