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
    output_appended_through_the_api_is_kept_when_the_run_ends,
    a_download_has_every_byte_of_a_log_longer_than_the_tail_kept
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

const LONG_PRINTER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: long-printer-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: long, template: long}
    - name: long
      container: {image: busybox, command: [seq, "1", "100000"]}
"#;

async fn logs(app: &TestApp, run: &str, query: &str) -> String {
    let response = app
        .client
        .get(format!("{}/api/v1{run}/logs?{query}", app.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("text")
}

async fn a_download_has_every_byte_of_a_log_longer_than_the_tail_kept(app: TestApp) {
    let run = submit(&app, LONG_PRINTER).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while phase(&app, &run).await != "Succeeded" {
        assert!(Instant::now() < deadline, "the run did not succeed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let whole: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    assert!(
        whole.len() > 512 * 1024,
        "longer than the tail a look keeps"
    );
    // The logs so far keep the end of each node's log, and say what they left out.
    let tail = logs(&app, &run, "").await;
    assert!(
        tail.contains("bytes of this step's log are left out"),
        "{}",
        &tail[..200]
    );
    assert!(tail.ends_with("99999\n100000\n"));
    // A download has all of it, in one piece per node.
    let downloaded = logs(&app, &run, "download=true").await;
    assert_eq!(downloaded, format!("=== long ===\n{whole}"));
    let one_node = logs(&app, &run, "download=true&node=long").await;
    assert_eq!(one_node.len(), downloaded.len());
    let nothing = logs(&app, &run, "download=true&node=nope").await;
    assert_eq!(nothing, "", "an unknown node has no lines");
}

/// On Argo a download reads each pod's whole log from Argo Server, in start order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_argo_run_downloads_each_pods_whole_log() {
    use crate::argo::{app_with, final_metadata, launch, settings, TOKEN};
    use crate::argo_double::{ArgoDouble, Outcome};
    let double = ArgoDouble::start(Some(TOKEN)).await;
    let app = app_with(settings(&double.url)).await;
    let config_id = app
        .create_config("labors", serde_json::json!({"password": "pw"}))
        .await;
    let run = launch(&app, config_id).await;
    let run_id = run["run_id"].as_str().expect("run_id");
    double.finish(run["name"].as_str().expect("name"), Outcome::Succeeded);
    final_metadata(&app, run_id).await;
    let text = logs(
        &app,
        &format!("/projects/labors/runs/{run_id}"),
        "download=true",
    )
    .await;
    let steps: Vec<&str> = text.lines().filter(|l| l.starts_with("=== ")).collect();
    assert_eq!(
        steps[..3],
        ["=== discover ===", "=== copy ===", "=== notify ==="],
        "{text}"
    );
    assert!(
        text.contains("=== discover ===\ndiscover: starting\ndiscover: done\n"),
        "{text}"
    );
    double.assert_contract_kept();
}
