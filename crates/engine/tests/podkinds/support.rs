//! Helpers of the pod-kind tests: free ports, processes left running, a tiny HTTP server.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback port free right now (the tests' daemons and sidecars listen on it).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The processes of this host whose command line holds `marker`.
pub fn running_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(cmdline);
            }
        }
    }
    found
}

/// The processes still holding `marker` after up to 2s (killed ones take a moment to go).
pub async fn left_running(marker: &str) -> Vec<String> {
    let mut left = running_with(marker);
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = running_with(marker);
    }
    left
}

/// Answers `/ok` (200 "hello"), `/google` (200 "... google ..."), `/created` (201),
/// `/echo` (200, the `X-Token` request header as body and `X-Echo` header), else 404;
/// returns its base URL.
pub async fn serve_http() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let reply = respond(&head);
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn respond(head: &str) -> String {
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let token = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("x-token: ")
                .or_else(|| l.strip_prefix("X-Token: "))
        })
        .unwrap_or("")
        .trim()
        .to_string();
    let (status, body, extra) = match path {
        "/ok" => ("200 OK", "hello".to_string(), String::new()),
        "/google" => ("200 OK", "<title>google</title>".to_string(), String::new()),
        "/created" => ("201 Created", "made".to_string(), String::new()),
        "/echo" => ("200 OK", token.clone(), format!("X-Echo: {token}\r\n")),
        _ => ("404 Not Found", "nope".to_string(), String::new()),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}
