//! The HTTP side of the Argo client: building the client (TLS, timeouts), sending a call with
//! the bearer token and retries, and turning Argo's refusals into orchestrator errors.

use super::super::node_log::TailBuffer;
use super::super::{LogPieces, NodeLog, OrchestratorError};
use super::{ArgoOrchestrator, ArgoSettings};
use futures::stream::{self, StreamExt};
use reqwest::{Method, StatusCode, Url};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::Duration;

/// A request and whether it may be sent again after a 5xx or a lost connection.
pub(super) struct Call<'a> {
    pub method: Method,
    pub path: Vec<&'a str>,
    pub query: Vec<(&'a str, String)>,
    pub body: Option<Value>,
    pub idempotent: bool,
}

impl ArgoOrchestrator {
    pub fn new(settings: ArgoSettings) -> Result<Self, OrchestratorError> {
        let base = Url::parse(&settings.url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                OrchestratorError::Invalid(format!(
                    "the Argo Server URL {:?} is not an http(s) URL",
                    settings.url
                ))
            })?;
        if settings.namespace.trim().is_empty() {
            return Err(OrchestratorError::Invalid(
                "the Argo namespace is empty".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)));
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                OrchestratorError::Invalid(format!("reading the CA file {}: {e}", path.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|found| !found.is_empty())
                .ok_or_else(|| {
                    OrchestratorError::Invalid(format!(
                        "the CA file {} holds no PEM certificate",
                        path.display()
                    ))
                })?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if settings.insecure_skip_verify {
            tracing::warn!(
                "Argo Server certificates are not verified (--argo-insecure-skip-verify)"
            );
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| OrchestratorError::Invalid(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            settings,
            base,
            http,
        })
    }

    pub fn settings(&self) -> &ArgoSettings {
        &self.settings
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1", "workflows"])
                .extend(segments);
        }
        url
    }

    /// Sends a call, retrying idempotent ones on 5xx and connection errors with backoff. A
    /// submission is sent again only when the first attempt never connected.
    pub(super) async fn send(
        &self,
        call: Call<'_>,
    ) -> Result<reqwest::Response, OrchestratorError> {
        let url = self.url(&call.path);
        let token = match &self.settings.token {
            Some(token) => Some(token.current()?),
            None => None,
        };
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(call.method.clone(), url.clone())
                .query(&call.query);
            if let Some(token) = &token {
                request = request.bearer_auth(token.expose_secret());
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let may_retry = attempt < self.settings.retries;
            match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response)
                    if response.status().is_server_error() && call.idempotent && may_retry =>
                {
                    tracing::debug!(status = %response.status(), %url, attempt, "Argo Server error, retrying");
                }
                Ok(response) => return Err(self.refusal(response).await),
                Err(error) if may_retry && (call.idempotent || error.is_connect()) => {
                    tracing::debug!(%error, attempt, "Argo Server unreachable, retrying");
                }
                Err(error) => {
                    return Err(OrchestratorError::Unavailable(format!(
                        "Argo Server at {} cannot be reached: {}",
                        self.settings.url,
                        root_cause(&error)
                    )))
                }
            }
            tokio::time::sleep(self.settings.backoff.saturating_mul(1 << attempt.min(6))).await;
            attempt += 1;
        }
    }

    /// A non-2xx answer as an error; Argo's body is a `grpc.gateway.runtime.Error`.
    async fn refusal(&self, response: reqwest::Response) -> OrchestratorError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(300).collect());
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let which = match &self.settings.token {
                    Some(token) => format!("the token from {}", token.source),
                    None => "a request without a token (set --argo-token-file or \
                             POLYPHEMUS_ARGO_TOKEN)"
                        .to_owned(),
                };
                OrchestratorError::Unavailable(format!(
                    "Argo Server refused {which} ({status}): {message}"
                ))
            }
            StatusCode::NOT_FOUND => OrchestratorError::NotFound(message),
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                OrchestratorError::Invalid(message)
            }
            _ => {
                OrchestratorError::Unavailable(format!("Argo Server answered {status}: {message}"))
            }
        }
    }

    pub(super) async fn json(&self, call: Call<'_>) -> Result<Value, OrchestratorError> {
        self.send(call)
            .await?
            .json()
            .await
            .map_err(|e| OrchestratorError::Unavailable(format!("Argo Server's answer: {e}")))
    }

    pub(super) fn get<'a>(path: Vec<&'a str>, query: Vec<(&'a str, String)>) -> Call<'a> {
        Call {
            method: Method::GET,
            path,
            query,
            body: None,
            idempotent: true,
        }
    }

    /// Workflows whose labels match `selector` (`polyphemus/project=p,polyphemus/config-id=3`).
    pub async fn list(
        &self,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Value>, OrchestratorError> {
        let list = self
            .json(Self::get(
                vec![namespace],
                vec![("listOptions.labelSelector", selector.to_owned())],
            ))
            .await?;
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// The text one pod's `main` container logged (the streamed log endpoint, one
    /// `{"result": LogEntry}` per line).
    pub(super) async fn pod_log(
        &self,
        namespace: &str,
        name: &str,
        pod: &str,
        tail_bytes: u64,
    ) -> Result<NodeLog, OrchestratorError> {
        let mut response = self
            .send(Self::get(
                vec![namespace, name, "log"],
                vec![
                    ("podName", pod.to_owned()),
                    ("logOptions.container", "main".to_owned()),
                ],
            ))
            .await?;
        let unreadable = |e: reqwest::Error| {
            OrchestratorError::Unavailable(format!("reading logs of {pod}: {e}"))
        };
        // The stream is read a chunk at a time and only its tail kept: a pod can print more
        // than the server's memory.
        let mut tail = TailBuffer::new(tail_bytes);
        let mut pending: Vec<u8> = Vec::new();
        'stream: while let Some(chunk) = response.chunk().await.map_err(unreadable)? {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if !log_line(pod, &line, &mut tail)? {
                    pending.clear();
                    break 'stream;
                }
            }
        }
        log_line(pod, &pending, &mut tail)?;
        Ok(tail.finish())
    }
}

impl ArgoOrchestrator {
    /// A pod's whole log as Argo Server streams it, a line at a time.
    pub(super) async fn pod_log_pieces(
        &self,
        namespace: &str,
        name: &str,
        pod: &str,
    ) -> Result<LogPieces, OrchestratorError> {
        let response = self
            .send(Self::get(
                vec![namespace, name, "log"],
                vec![
                    ("podName", pod.to_owned()),
                    ("logOptions.container", "main".to_owned()),
                ],
            ))
            .await?;
        let pod = pod.to_owned();
        let start = (response, Vec::<u8>::new(), pod);
        Ok(stream::unfold(Some(start), |reading| async move {
            let (mut response, mut pending, pod) = reading?;
            loop {
                if let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    match parse_log_line(&pod, &line) {
                        Ok(LogLine::Content(piece)) => {
                            return Some((Ok(piece), Some((response, pending, pod))))
                        }
                        Ok(LogLine::Nothing) => {}
                        Ok(LogLine::End) => return None,
                        Err(error) => return Some((Err(error), None)),
                    }
                    continue;
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => pending.extend_from_slice(&chunk),
                    // A last line without its newline.
                    Ok(None) if !pending.is_empty() => pending.push(b'\n'),
                    Ok(None) => return None,
                    Err(error) => {
                        let error = OrchestratorError::Unavailable(format!(
                            "reading logs of {pod}: {error}"
                        ));
                        return Some((Err(error), None));
                    }
                }
            }
        })
        .boxed())
    }
}

/// One line of Argo Server's log stream (`{"result": {"content": …}}`).
enum LogLine {
    Content(String),
    /// Nothing to print (a blank line, an entry without content).
    Nothing,
    /// The server ended the stream with an error.
    End,
}

fn parse_log_line(pod: &str, line: &[u8]) -> Result<LogLine, OrchestratorError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(LogLine::Nothing);
    }
    let entry: Value = serde_json::from_slice(line).map_err(|e| {
        OrchestratorError::Unavailable(format!("a log line of {pod} is not JSON: {e}"))
    })?;
    if let Some(error) = entry.get("error") {
        tracing::warn!(%pod, message = %error["message"], "Argo Server ended a log stream with an error");
        return Ok(LogLine::End);
    }
    Ok(match entry["result"]["content"].as_str() {
        Some(content) => LogLine::Content(format!("{content}\n")),
        None => LogLine::Nothing,
    })
}

/// One line of the stream into `tail`; false when the server ended the stream with an error.
fn log_line(pod: &str, line: &[u8], tail: &mut TailBuffer) -> Result<bool, OrchestratorError> {
    match parse_log_line(pod, line)? {
        LogLine::Content(content) => tail.push(&content),
        LogLine::Nothing => {}
        LogLine::End => return Ok(false),
    }
    Ok(true)
}

/// The innermost cause of a reqwest error (e.g. "Connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if std::ptr::eq(cause, error) {
        error.to_string()
    } else {
        format!("{error}: {cause}")
    }
}
