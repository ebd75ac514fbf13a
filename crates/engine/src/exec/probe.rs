//! A daemon's `readinessProbe`, checked on loopback (nodes share the host's network): an HTTP
//! GET answered with 2xx/3xx, a TCP port that accepts, or a command that exits 0.

use std::time::Duration;

use serde_json::Value;

use super::process::{self, Spec};
use crate::error::EngineError;
use crate::model::{Container, Probe};
use crate::state::Shared;

/// How one probe attempt is made.
pub(super) enum Check {
    Http {
        url: String,
    },
    Tcp {
        port: u16,
    },
    /// The probe's command, run like the daemon (its sandbox, work dir, `/tmp`).
    Exec(Box<dyn Fn() -> Spec + Send + Sync>),
}

/// A parsed readiness probe.
pub(super) struct Readiness {
    pub check: Check,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
}

/// The container's `readinessProbe`, if any; `exec_spec` builds the process of an exec probe.
pub(super) fn readiness(
    c: &Container,
    exec_spec: impl Fn(Vec<String>) -> Spec + Send + Sync + 'static,
) -> Result<Option<Readiness>, EngineError> {
    let Some(raw) = c.extra.get("readinessProbe") else {
        return Ok(None);
    };
    let p: Probe = serde_json::from_value(raw.clone())
        .map_err(|e| EngineError::Invalid(format!("readinessProbe: {e}")))?;
    let check = if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let port = port_of(c, &h.port)?;
        let path = h.path.as_deref().unwrap_or("/");
        Check::Http {
            url: format!(
                "{scheme}://127.0.0.1:{port}/{}",
                path.trim_start_matches('/')
            ),
        }
    } else if let Some(t) = &p.tcp_socket {
        Check::Tcp {
            port: port_of(c, &t.port)?,
        }
    } else if let Some(e) = &p.exec {
        let argv = e.command.clone();
        Check::Exec(Box::new(move || exec_spec(argv.clone())))
    } else {
        return Err(EngineError::unsupported(
            "readinessProbe",
            "one of httpGet, tcpSocket, exec is required",
        ));
    };
    Ok(Some(Readiness {
        check,
        initial_delay: Duration::from_secs(p.initial_delay_seconds.unwrap_or(0)),
        // Kubernetes polls every 10s by default; a local daemon is usually up within a second.
        period: Duration::from_secs(p.period_seconds.unwrap_or(1).max(1)),
        timeout: Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1)),
    }))
}

/// A probe port: a number, or the name of one of the container's `ports`.
fn port_of(c: &Container, port: &Value) -> Result<u16, EngineError> {
    let text = crate::model::value_to_string(port);
    if let Ok(n) = text.parse::<u16>() {
        return Ok(n);
    }
    let named = c
        .extra
        .get("ports")
        .and_then(Value::as_array)
        .and_then(|ports| {
            ports.iter().find_map(|p| {
                (p.get("name").and_then(Value::as_str) == Some(text.as_str()))
                    .then(|| p.get("containerPort").and_then(Value::as_u64))
                    .flatten()
            })
        });
    named
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| EngineError::Invalid(format!("readinessProbe: unknown port `{text}`")))
}

impl Readiness {
    /// One attempt: whether the daemon is ready.
    pub async fn ready(&self, shared: &std::sync::Arc<Shared>) -> bool {
        match &self.check {
            Check::Http { url } => {
                let client = reqwest::Client::builder()
                    .timeout(self.timeout)
                    .danger_accept_invalid_certs(true)
                    .build();
                match client {
                    Ok(c) => c
                        .get(url)
                        .send()
                        .await
                        .is_ok_and(|r| (200..400).contains(&r.status().as_u16())),
                    Err(_) => false,
                }
            }
            Check::Tcp { port } => {
                let connect = tokio::net::TcpStream::connect(("127.0.0.1", *port));
                matches!(tokio::time::timeout(self.timeout, connect).await, Ok(Ok(_)))
            }
            Check::Exec(spec) => {
                let run = process::run(spec(), shared.clone());
                match tokio::time::timeout(self.timeout, run).await {
                    Ok(done) => done.error.is_none() && done.exit_code == 0,
                    Err(_) => false,
                }
            }
        }
    }
}
