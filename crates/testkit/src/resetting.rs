//! A loopback port that accepts every connection and resets it as soon as the client speaks,
//! recording when each connection arrived: a server whose connections keep dropping, to
//! watch a job fail transiently and its workflow retry it with backoff.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ResettingPort {
    pub port: u16,
    accepted: Arc<Mutex<Vec<Instant>>>,
}

impl ResettingPort {
    pub fn start() -> ResettingPort {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the resetting port");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let log = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                log.lock().expect("lock").push(Instant::now());
                std::thread::spawn(move || reset_when_spoken_to(stream));
            }
        });
        ResettingPort { port, accepted }
    }

    /// When each connection arrived, in order.
    pub fn accepted(&self) -> Vec<Instant> {
        self.accepted.lock().expect("lock").clone()
    }
}

/// Waits for the client's first bytes and closes without reading them: with unread data in
/// its receive buffer the kernel answers the close with a reset, not a clean end of stream.
fn reset_when_spoken_to(stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.peek(&mut [0u8; 1]);
    drop(stream);
}
