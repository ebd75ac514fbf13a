//! `polyphemus run_job` as a workflow step: the notify_webhook job reads its config through the
//! API with the run's task token, POSTs the run's summary and records the outcome in state.

use crate::harness::Server;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A lone workflow submitted for a config version (workflows/examples/notify-only.yaml).
const NOTIFY_WORKFLOW: &str = include_str!("../../../../workflows/examples/notify-only.yaml");

/// A webhook receiver on a loopback port, in a thread of its own.
fn start_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&received);
    let (sender, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let app = Router::new().route(
                "/hook",
                post(move |Json(body): Json<Value>| {
                    let store = Arc::clone(&store);
                    async move {
                        store.lock().expect("lock").push(body);
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let _ = sender.send(listener.local_addr().expect("addr"));
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let address = address
        .recv_timeout(Duration::from_secs(10))
        .expect("receiver up");
    (format!("http://{address}/hook"), received)
}

#[test]
fn notify_webhook_step_posts_the_summary_and_records_it() {
    let (hook, received) = start_receiver();
    let server = Server::start();
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"host": "sftp.example.org", "username": "u", "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "root": "/in", "bucket": "raw-data", "webhook_url": "{hook}"}}"#
        ),
    )
    .expect("write");
    let created = server
        .cli(&[
            "configs",
            "create",
            "--workflow-type",
            "sftp-to-storage",
            "--name",
            "n",
            "--config",
            &config.display().to_string(),
            "--output",
            "json",
        ])
        .success()
        .json();
    let id = created["config_id"].to_string();
    let workflow = dir.path().join("notify.yaml");
    std::fs::write(&workflow, NOTIFY_WORKFLOW).expect("write");
    let submitted = server
        .cli(&[
            "submit",
            "-f",
            &workflow.display().to_string(),
            "-p",
            &format!("config_id={id}"),
            "-p",
            "version_number=1",
            "--output",
            "json",
        ])
        .success()
        .json();
    let run_id = submitted["run_id"].as_str().expect("run_id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let shown = loop {
        let shown = server
            .cli(&["runs", "show", &run_id, "--output", "json"])
            .json();
        if shown["metadata"]["phase"] == "Succeeded" || shown["metadata"]["phase"] == "Failed" {
            break shown;
        }
        assert!(Instant::now() < deadline, "the run did not end: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(shown["metadata"]["phase"], "Succeeded", "{shown}");
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["run_id"], run_id.as_str());
    assert_eq!(received[0]["config_id"].to_string(), id);
    let state = &shown["state"];
    assert_eq!(state["notification"]["outcome"], "sent", "{shown}");
    let logs = server.cli(&["runs", "logs", &run_id]).success();
    assert!(
        logs.stdout
            .contains("[notify_webhook] notified the webhook (200)"),
        "{}",
        logs.stdout
    );
}
