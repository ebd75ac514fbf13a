//! `notify_webhook` and the pre → process → post contract, with the API behind an in-memory
//! `RunApi` and a real HTTP receiver on a loopback port.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
mod support;

use polyphemus_jobs::{find_job, run_job, FailureKind, JobOutcome};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use support::{context, MemoryApi};

/// A webhook receiver that fails the first `failures` deliveries with `status`.
#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<Value>>>,
    failures: Arc<Mutex<u32>>,
    status: StatusCode,
}

async fn receive(State(receiver): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let mut failures = receiver.failures.lock().expect("lock");
    if *failures > 0 {
        *failures -= 1;
        return receiver.status;
    }
    receiver.received.lock().expect("lock").push(body);
    StatusCode::NO_CONTENT
}

async fn start_receiver(failures: u32) -> (String, Receiver) {
    start_receiver_failing_with(failures, StatusCode::SERVICE_UNAVAILABLE).await
}

async fn start_receiver_failing_with(failures: u32, status: StatusCode) -> (String, Receiver) {
    let receiver = Receiver {
        received: Arc::default(),
        failures: Arc::new(Mutex::new(failures)),
        status,
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, receiver)
}

#[tokio::test]
async fn summary_is_delivered_after_retries_and_recorded_in_state() {
    let (url, receiver) = start_receiver(2).await;
    let api = Arc::new(MemoryApi {
        config: json!({"webhook_url": url}),
        ..MemoryApi::default()
    });
    api.state.lock().expect("lock").extend(
        json!({"copied": {"a.fastq.gz": {}, "b.fastq.gz": {}}, "bytes_copied": 2048})
            .as_object()
            .cloned()
            .expect("object"),
    );
    let mut context = context(Arc::clone(&api), "notify_webhook").await;
    let job = find_job("notify_webhook").expect("registered");
    assert_eq!(run_job(job.as_ref(), &mut context).await, JobOutcome::Done);
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "delivered once, after two 503s");
    assert_eq!(received[0]["files_copied"], 2);
    assert_eq!(received[0]["bytes_copied"], 2048);
    assert_eq!(received[0]["run_id"], "run-1");
    let state = api.state.lock().expect("lock").clone();
    assert_eq!(state["notification"]["outcome"], "sent");
    assert_eq!(state["notification"]["host"], "127.0.0.1");
    assert!(api
        .output
        .lock()
        .expect("lock")
        .contains("[notify_webhook] notified the webhook (204)"));
}

/// The URL as a secret: the payload carries Slack's `text` and `blocks` beside the summary,
/// and neither the output nor the state shows the URL.
#[tokio::test]
async fn the_secret_url_gets_a_slack_compatible_message_and_never_shows() {
    let (url, receiver) = start_receiver(0).await;
    let url = format!("{url}?token=hook-Secret-7731");
    let api = Arc::new(MemoryApi {
        secrets: [("webhook_url".to_owned(), url)].into(),
        ..MemoryApi::default()
    });
    let mut context = context(Arc::clone(&api), "notify_webhook").await;
    context
        .args
        .insert("workflow_status".into(), "Failed".into());
    context.args.insert(
        "workflow_failures".into(),
        json!([{"displayName": "discover(1)", "phase": "Failed",
                "message": "config: neither the secret private_key nor the secret password is set"}])
        .to_string(),
    );
    let job = find_job("notify_webhook").expect("registered");
    assert_eq!(run_job(job.as_ref(), &mut context).await, JobOutcome::Done);
    let received = receiver.received.lock().expect("lock").clone();
    assert_eq!(received.len(), 1);
    let body = &received[0];
    assert_eq!(
        body["text"],
        "Failed: config 3 v2 in project labors: discover: config: neither the secret \
         private_key nor the secret password is set"
    );
    assert_eq!(body["blocks"][0]["type"], "section");
    assert_eq!(body["blocks"][0]["text"]["type"], "mrkdwn");
    assert!(body["blocks"][1]["text"]["text"]
        .as_str()
        .is_some_and(|text| text.starts_with("• *discover*: config: neither")));
    assert_eq!(
        body["status"], "Failed",
        "the summary is still there: {body}"
    );
    let output = api.output();
    let state = serde_json::to_string(&api.state()).expect("state");
    for shown in [&output, &state] {
        assert!(!shown.contains("hook-Secret-7731"), "{shown}");
    }
    assert_eq!(api.state()["notification"]["host"], "127.0.0.1");
}

/// `webhook_format: slack` sends what Slack's webhooks take, and nothing else; a URL still in
/// the config is used with a warning to move it to the secret.
#[tokio::test]
async fn the_slack_format_sends_text_and_blocks_alone() {
    let (url, receiver) = start_receiver(0).await;
    let api = Arc::new(MemoryApi {
        config: json!({"webhook_url": url, "webhook_format": "slack"}),
        ..MemoryApi::default()
    });
    let mut context = context(Arc::clone(&api), "notify_webhook").await;
    context
        .args
        .insert("workflow_status".into(), "Succeeded".into());
    let job = find_job("notify_webhook").expect("registered");
    assert_eq!(run_job(job.as_ref(), &mut context).await, JobOutcome::Done);
    let received = receiver.received.lock().expect("lock").clone();
    let mut keys: Vec<&String> = received[0].as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["blocks", "text"], "{}", received[0]);
    assert!(
        api.output().contains("set it as the secret webhook_url"),
        "{}",
        api.output()
    );
}

#[tokio::test]
async fn pre_skips_without_a_url_and_post_still_records() {
    let api = Arc::new(MemoryApi {
        config: json!({}),
        ..MemoryApi::default()
    });
    let mut context = context(Arc::clone(&api), "notify_webhook").await;
    let job = find_job("notify_webhook").expect("registered");
    assert_eq!(
        run_job(job.as_ref(), &mut context).await,
        JobOutcome::Skipped
    );
    assert_eq!(
        api.state.lock().expect("lock")["notification"]["outcome"],
        "skipped"
    );
}

#[tokio::test]
async fn a_refusing_webhook_fails_the_job_and_post_records_it() {
    let api = Arc::new(MemoryApi {
        // Nothing listens on port 9 of loopback: every attempt is refused.
        config: json!({"webhook_url": "http://127.0.0.1:9/hook"}),
        ..MemoryApi::default()
    });
    let mut context = context(Arc::clone(&api), "notify_webhook").await;
    let job = find_job("notify_webhook").expect("registered");
    let outcome = run_job(job.as_ref(), &mut context).await;
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("after 4 attempts") && why.kind == FailureKind::Transient),
        "{outcome:?}"
    );
    assert_eq!(
        api.state.lock().expect("lock")["notification"]["outcome"],
        "failed"
    );
    assert!(api.output.lock().expect("lock").contains("failed:"));
}

#[tokio::test]
async fn a_webhook_answering_4xx_fails_permanently_at_once_and_5xx_transiently() {
    for (status, kind, attempts) in [
        (StatusCode::NOT_FOUND, FailureKind::Permanent, 1),
        (StatusCode::REQUEST_TIMEOUT, FailureKind::Transient, 4),
        (StatusCode::BAD_GATEWAY, FailureKind::Transient, 4),
    ] {
        let (url, receiver) = start_receiver_failing_with(10, status).await;
        let api = Arc::new(MemoryApi {
            config: json!({"webhook_url": url}),
            ..MemoryApi::default()
        });
        let mut context = context(Arc::clone(&api), "notify_webhook").await;
        let job = find_job("notify_webhook").expect("registered");
        let outcome = run_job(job.as_ref(), &mut context).await;
        let JobOutcome::Failed(why) = &outcome else {
            panic!("{status}: {outcome:?}");
        };
        assert_eq!(why.kind, kind, "{status}: {why}");
        assert!(why.message.contains(status.as_str()), "{why}");
        let left = *receiver.failures.lock().expect("lock");
        assert_eq!(10 - left, attempts, "{status}: attempts made");
    }
}

#[test]
fn unknown_jobs_are_not_found_and_known_ones_belong_to_no_workflow() {
    assert!(find_job("nope").is_none());
    assert!(find_job("notify_webhook").is_some());
}
