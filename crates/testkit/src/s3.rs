//! moto's S3-compatible server (PyPI `moto[server]`) on a free loopback port.

use crate::{free_port, wait_for_port};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct S3Server {
    pub port: u16,
    child: Child,
}

impl S3Server {
    /// Whether `moto_server` is installed; `None` when it is, else why not.
    pub fn unavailable() -> Option<String> {
        match Command::new("moto_server").arg("--help").output() {
            Ok(out) if out.status.success() => None,
            _ => Some("moto_server missing (pip install 'moto[server]')".to_owned()),
        }
    }

    pub fn start() -> S3Server {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its request log (a line per request, with the time) where a benchmark asks.
            .stderr(match std::env::var_os("POLYPHEMUS_MOTO_LOG") {
                Some(path) => std::fs::File::create(path)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
                None => Stdio::null(),
            })
            .spawn()
            .expect("moto_server starts");
        wait_for_port(port, "moto_server", Duration::from_secs(30));
        S3Server { port, child }
    }

    /// `http://127.0.0.1:PORT`, the endpoint to configure.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts any credentials).
    pub fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}"));
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "create bucket: {status}"
        );
    }

    /// The status line of a bare request.
    fn request(&self, method: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("request");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_owned()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
