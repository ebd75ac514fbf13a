//! The server's HTTP limits over raw TCP: a half-sent header is cut off after the header
//! timeout, an idle connection after the idle timeout, connections beyond the maximum wait
//! until one ends; and the errors the router answers for the protocol (405, 431, 404) are
//! problem+json. Store-independent, so SQLite only.

use crate::harness::TestApp;
use polyphemus_api::ServeOptions;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn short_limits() -> ServeOptions {
    ServeOptions {
        header_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(800),
        max_connections: 2,
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.base.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connect")
}

/// Reads until the server closes the connection (or `limit` passes: then `None`).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response whose body ends the connection or fits the first reads, within `limit`.
async fn read_response(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&received);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    Some(String::from_utf8_lossy(&received).into_owned())
}

fn assert_problem(response: &str, status: u16) {
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(problem["status"], status, "{problem}");
    assert_eq!(problem["type"], "about:blank");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_half_sent_header_is_cut_off_after_the_header_timeout() {
    let app = TestApp::sqlite_serving(short_limits()).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let started = Instant::now();
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection stayed open");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kept_alive_connection_without_a_next_request_is_closed() {
    let app = TestApp::sqlite_serving(short_limits()).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let response = read_response(&mut stream, Duration::from_secs(2))
        .await
        .expect("an answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the idle connection stayed open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_beyond_the_maximum_wait_until_one_ends() {
    let app = TestApp::sqlite_serving(ServeOptions {
        header_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_connections: 2,
    })
    .await;
    let mut first = connect(&app).await;
    let _second = connect(&app).await;
    // Both are served: a request on the first is answered.
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_response(&mut first, Duration::from_secs(2)).await;
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    // The third connects (the kernel's backlog takes it) but is not served yet.
    let mut third = connect(&app).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    assert!(
        read_response(&mut third, Duration::from_millis(700))
            .await
            .is_none(),
        "the third connection was served beside two open ones"
    );
    drop(first);
    let answer = read_response(&mut third, Duration::from_secs(3))
        .await
        .expect("served once a slot was free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protocol_errors_the_router_answers_are_problem_json() {
    let app = TestApp::sqlite_serving(ServeOptions::default()).await;
    let requests: Vec<(Vec<u8>, u16)> = vec![
        (b"DELETE /api/v1/projects/labors/configs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), 405),
        (b"PUT /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_vec(), 405),
        (b"GET /api/v1/no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), 404),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
                "a".repeat(40 * 1024)
            )
            .into_bytes(),
            431,
        ),
    ];
    for (request, status) in requests {
        let mut stream = connect(&app).await;
        stream.write_all(&request).await.expect("write");
        let response = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .expect("an answer");
        assert_problem(&String::from_utf8_lossy(&response), status);
    }
    // 405 keeps the methods the route takes.
    let mut stream = connect(&app).await;
    stream
        .write_all(b"DELETE /api/v1/projects/labors/configs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer");
    let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(
        response.contains("allow: get,post") || response.contains("allow: post,get"),
        "{response}"
    );
}

/// hyper answers requests it cannot parse itself, before any router sees them: a bare status
/// line with an empty body. This pins that behaviour (and that the connection is then closed),
/// so a change of hyper's that allows problem+json there is noticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_hyper_cannot_parse_get_its_bare_answer_and_a_close() {
    let app = TestApp::sqlite_serving(ServeOptions::default()).await;
    for (request, status) in [
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), "400"),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n",
                "a".repeat(70 * 1024)
            )
            .into_bytes(),
            "431",
        ),
    ] {
        let mut stream = connect(&app).await;
        // The server may close before all of a huge head is written.
        let _ = stream.write_all(&request).await;
        let response = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("not closed: {status}"));
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status} ")),
            "{response}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_closes_kept_alive_connections_and_returns() {
    let app = TestApp::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(polyphemus_api::serve(
        listener,
        polyphemus_api::app(app.services.clone()),
        ServeOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_response(&mut stream, Duration::from_secs(2)).await;
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    let _ = stop.send(());
    let finished = tokio::time::timeout(Duration::from_secs(3), server).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "serve did not return: {finished:?}"
    );
    assert!(read_until_closed(&mut stream, Duration::from_secs(1))
        .await
        .is_some());
    assert!(
        TcpStream::connect(address).await.is_err(),
        "still listening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_body_that_stalls_fails_after_the_idle_timeout() {
    let app = TestApp::sqlite_serving(ServeOptions {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_millis(500),
        max_connections: 8,
    })
    .await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/projects/labors/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"run_id\"",
        app.admin
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "answered after {waited:?}"
    );
    assert_problem(&String::from_utf8_lossy(&response), 400);
}
