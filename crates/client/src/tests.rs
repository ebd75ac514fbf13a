//! Client tests against a scripted HTTP server on a local port.

use super::*;
use polyphemus_model::{ChangeOutcome, ConfigId, PatchConfig, ProjectName, RunId};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that answers each request with the next scripted `(status, body)` (the last one
/// repeats) and records the requests it saw.
struct Scripted {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn start_scripted_server(answers: Vec<(u16, &'static str)>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        let mut served = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 64 * 1024];
            let mut read = 0;
            loop {
                let n = socket.read(&mut buffer[read..]).await.unwrap_or(0);
                read += n;
                let text = String::from_utf8_lossy(&buffer[..read]);
                if n == 0 || is_request_complete(&text) {
                    break;
                }
            }
            seen.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&buffer[..read]).into_owned());
            let (status, body) = answers[served.min(answers.len() - 1)];
            served += 1;
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    Scripted { url, requests }
}

fn is_request_complete(text: &str) -> bool {
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..end]
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    text.len() >= end + 4 + length
}

fn labors() -> ProjectName {
    ProjectName::parse("labors").expect("project name")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

const CONFIG: &str = r#"{"id": 7, "config_id": 3, "version_number": 2, "project_name": "labors",
  "workflow_type": "sftp-to-storage", "workflow_name": "nightly", "config": {"host": "h"},
  "secrets": {"password": "***"}, "comment": null,
  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}"#;

const UNAVAILABLE: &str =
    r#"{"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "busy"}"#;

#[tokio::test]
async fn gets_are_retried_until_the_server_recovers() {
    let server = start_scripted_server(vec![(503, UNAVAILABLE), (502, ""), (200, CONFIG)]).await;
    let client = Client::new(&server.url, Some("s3cret".into()))
        .expect("client")
        .with_retry(fast_retry());
    let config = client
        .get_config(&labors(), ConfigId::new(3))
        .await
        .expect("config");
    assert_eq!(config.version_number, 2.into());
    let requests = server.requests.lock().expect("lock");
    assert_eq!(requests.len(), 3);
    assert!(requests[0].starts_with("GET /api/v1/projects/labors/configs/3 HTTP/1.1"));
    assert!(requests[0]
        .to_ascii_lowercase()
        .contains("authorization: bearer s3cret"));
}

#[tokio::test]
async fn patches_are_not_retried_after_a_server_error() {
    let server = start_scripted_server(vec![(503, UNAVAILABLE), (201, CONFIG)]).await;
    let client = Client::new(&server.url, None)
        .expect("client")
        .with_retry(fast_retry());
    let error = client
        .patch_config(&labors(), ConfigId::new(3), &PatchConfig::default())
        .await
        .expect_err("503");
    assert_eq!(error.to_string(), "503 Service Unavailable: busy");
    assert_eq!(server.requests.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_patch_answered_201_made_a_new_version() {
    let server = start_scripted_server(vec![(201, CONFIG)]).await;
    let client = Client::new(&server.url, None).expect("client");
    let body = PatchConfig {
        comment: Some("x".into()),
        ..Default::default()
    };
    let (_, change) = client
        .patch_config(&labors(), ConfigId::new(3), &body)
        .await
        .expect("patch");
    assert_eq!(change, ChangeOutcome::NewVersion);
    let requests = server.requests.lock().expect("lock");
    assert!(requests[0].starts_with("PATCH /api/v1/projects/labors/configs/3 "));
    assert!(requests[0].ends_with(r#"{"comment":"x"}"#));
}

#[tokio::test]
async fn gives_up_after_the_last_attempt() {
    let server = start_scripted_server(vec![(500, "oops")]).await;
    let client = Client::new(&server.url, None)
        .expect("client")
        .with_retry(fast_retry());
    let error = client.list_workflows().await.expect_err("500");
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.to_string(), "500 Internal Server Error: oops");
    assert_eq!(server.requests.lock().expect("lock").len(), 5);
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let client = Client::new(&url, None)
        .expect("client")
        .with_retry(fast_retry());
    let error = client.list_workflows().await.expect_err("refused");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot reach the Polyphemus server at {url} — is `polyphemus serve` running?")
    );
}

#[tokio::test]
async fn a_success_with_a_wrong_body_is_a_decode_error() {
    let server = start_scripted_server(vec![(200, r#"{"unexpected": true}"#)]).await;
    let client = Client::new(&server.url, None).expect("client");
    let error = client
        .get_run(&labors(), &RunId::parse("r1").expect("run id"))
        .await
        .expect_err("decode");
    assert!(
        matches!(error, Error::Decode { status: 200, .. }),
        "{error:?}"
    );
}

#[test]
fn urls_are_built_under_the_base_path_and_encoded() {
    let client = Client::new("https://example.org/polyphemus/", None).expect("client");
    assert_eq!(
        client.url(["workflows", "a b/c"]).as_str(),
        "https://example.org/polyphemus/api/v1/workflows/a%20b%2Fc"
    );
    let client = Client::new("http://127.0.0.1:8080", None).expect("client");
    assert_eq!(
        client.url(["projects", "p", "runs"]).as_str(),
        "http://127.0.0.1:8080/api/v1/projects/p/runs"
    );
}

#[test]
fn bad_urls_are_rejected() {
    for url in ["127.0.0.1:8080", "ftp://x", "not a url", "http://x/?a=b"] {
        assert!(
            matches!(Client::new(url, None), Err(Error::InvalidUrl { .. })),
            "{url}"
        );
    }
}

#[test]
fn the_token_is_never_shown() {
    let client = Client::new("http://127.0.0.1:8080", Some("s3cret-token".into())).expect("ok");
    let debug = format!("{client:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("***"));
    let error = Client::new("http://x", Some("bad\ntoken".into())).expect_err("invalid");
    assert!(!error.to_string().contains("bad"), "{error}");
}
