//! Real servers for the test suites, started on free loopback ports and stopped on drop:
//! OpenSSH's `sshd` with a throwaway user ([`Sshd`]), moto's S3-compatible server ([`S3Server`]),
//! Python's `aiosmtpd` ([`SmtpServer`]), npm `oidc-provider` ([`OidcProvider`]), a webhook receiver ([`WebhookReceiver`]), a port whose
//! connections are reset ([`ResettingPort`]); a local storage directory a step may write
//! ([`storage_dir`]). Tests only: these panic on failure.
#![expect(clippy::expect_used, reason = "tests only: these panic on failure")]

mod oidc;
mod resetting;
mod s3;
mod smtp;
mod sshd;
mod storage;
mod webhook;

pub use oidc::OidcProvider;
pub use resetting::ResettingPort;
pub use s3::S3Server;
pub use smtp::SmtpServer;
pub use sshd::Sshd;
pub use storage::storage_dir;
pub use webhook::{Received, WebhookReceiver};

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Whether CI asked for every real server (then a missing one is a failure, not a skip).
pub fn required_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not listen on port {port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn random_token(len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
