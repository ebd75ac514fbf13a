//! A webhook receiver: accepts POSTs on a free loopback port and keeps their headers and
//! bodies; it can answer 500 to the first few, as a receiver that is briefly down would.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver took: header names lower-cased.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub struct WebhookReceiver {
    pub port: u16,
    accepted: Arc<Mutex<Vec<Received>>>,
    refused: Arc<AtomicUsize>,
}

impl WebhookReceiver {
    pub fn start() -> WebhookReceiver {
        Self::failing_first(0)
    }

    /// Answers 500 to the first `failures` requests (not kept), 204 to the rest.
    pub fn failing_first(failures: usize) -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook receiver");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let (sink, count) = (accepted.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let refuse = count.load(Ordering::SeqCst) < failures;
                if let Some(request) = read_request(stream, refuse) {
                    if refuse {
                        count.fetch_add(1, Ordering::SeqCst);
                    } else {
                        sink.lock().expect("lock").push(request);
                    }
                }
            }
        });
        WebhookReceiver {
            port,
            accepted,
            refused,
        }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Requests accepted so far.
    pub fn requests(&self) -> Vec<Received> {
        self.accepted.lock().expect("lock").clone()
    }

    /// How many requests got 500.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// JSON bodies accepted so far.
    pub fn received(&self) -> Vec<Value> {
        self.requests().iter().filter_map(Received::json).collect()
    }

    /// Waits up to `timeout` for at least `count` accepted bodies.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= count || start.elapsed() > timeout {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Reads one HTTP/1.1 request and answers it (500 when `refuse`, else 204).
fn read_request(mut stream: TcpStream, refuse: bool) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    let mut headers = Vec::new();
    let mut first = true;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if std::mem::take(&mut first) {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let answer: &[u8] = if refuse {
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    };
    let _ = stream.write_all(answer);
    Some(Received { headers, body })
}
