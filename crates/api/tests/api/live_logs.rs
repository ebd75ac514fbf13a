//! A run's node logs while it goes: `follow=true` streams a step's lines as it prints them and
//! ends with the run; without it the answer is the logs so far; `node` keeps one node's. What
//! jobs appended to the output stays in it, before the steps' logs, once the run ends.

use crate::both_stores;
use crate::harness::TestApp;
use crate::live_status::submit;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

both_stores!(
    following_the_logs_shows_each_line_before_the_run_ends,
    logs_without_follow_answer_what_was_printed_and_download_as_a_file,
    output_appended_through_the_api_is_kept_when_the_run_ends
);

const TICKER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ticker-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: tick, template: tick}
        - - {name: quiet, template: quiet}
    - name: tick
      container: {image: busybox, command: [sh, -c, 'for n in 1 2 3 4; do echo "tick $n"; sleep 1; done']}
    - name: quiet
      container: {image: busybox, command: [sh, -c, 'echo from quiet']}
"#;

async fn phase(app: &TestApp, run: &str) -> String {
    let (_, metadata) = app.get(&format!("{run}/metadata"), &app.admin).await;
    metadata["phase"].as_str().unwrap_or("").to_owned()
}

async fn following_the_logs_shows_each_line_before_the_run_ends(app: TestApp) {
    let run = submit(&app, TICKER).await;
    let mut response = app
        .client
        .get(format!(
            "{}/api/v1{run}/logs?follow=true&node=tick",
            app.base
        ))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text.contains("tick 1") {
        assert!(Instant::now() < deadline, "no first line: {text:?}");
        let chunk = response
            .chunk()
            .await
            .expect("chunk")
            .expect("more before the end");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let seen_at = phase(&app, &run).await;
    assert!(
        ["Pending", "Running"].contains(&seen_at.as_str()),
        "seen at {seen_at}"
    );
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), response.chunk())
        .await
        .expect("the stream ends with the run")
        .expect("chunk")
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("=== tick ===\n"), "{text:?}");
    for n in 1..=4 {
        assert_eq!(text.matches(&format!("tick {n}\n")).count(), 1, "{text:?}");
    }
    assert!(!text.contains("from quiet"), "another node: {text:?}");
}

async fn logs_without_follow_answer_what_was_printed_and_download_as_a_file(app: TestApp) {
    let run = submit(&app, TICKER).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while phase(&app, &run).await != "Succeeded" {
        assert!(Instant::now() < deadline, "the run did not succeed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let response = app
        .client
        .get(format!("{}/api/v1{run}/logs?download=true", app.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()[reqwest::header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename="),
        "{disposition}"
    );
    let text = response.text().await.expect("text");
    assert!(text.contains("=== tick ===\ntick 1\n"), "{text:?}");
    assert!(text.contains("=== quiet ===\nfrom quiet\n"), "{text:?}");
}

async fn output_appended_through_the_api_is_kept_when_the_run_ends(app: TestApp) {
    let run = submit(&app, TICKER).await;
    let (status, answer) = app
        .patch(
            &run,
            &app.admin,
            serde_json::json!({"append_output": "from the job\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while phase(&app, &run).await != "Succeeded" {
        assert!(Instant::now() < deadline, "the run did not succeed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The final sync may run twice (exit hook, then the server's own): the logs are replaced,
    // the appended part stays once.
    let (_, body) = app
        .post(&format!("{run}/sync"), &app.admin, serde_json::json!({}))
        .await;
    assert_eq!(body["phase"], "Succeeded", "{body}");
    let (_, stored) = app.get(&run, &app.admin).await;
    let output = stored["output"].as_str().expect("output");
    assert!(output.starts_with("from the job\n=== tick"), "{output:?}");
    assert_eq!(output.matches("from the job").count(), 1, "{output:?}");
    assert_eq!(output.matches("tick 4\n").count(), 1, "{output:?}");
    assert!(output.contains("from quiet\n"), "{output:?}");
}
