//! Typed async client of the Polyphemus v1 HTTP API, used by the CLI and by ETL jobs.
//!
//! ```no_run
//! # async fn example() -> Result<(), polyphemus_client::Error> {
//! let client = polyphemus_client::Client::from_env()?;
//! let project = polyphemus_model::ProjectName::parse("default").expect("a project name");
//! let page = client.list_configs(&project, &Default::default()).await?;
//! # Ok(()) }
//! ```
//!
//! Idempotent calls (GET, PUT, run registration) are retried with exponential backoff on
//! connection errors, timeouts, 5xx and 429; PATCH and config creation are retried only when
//! the connection could not be made at all. The token is never logged nor displayed.

mod backfills;
mod configs;
mod error;
mod ledgers;
mod lifecycle;
mod project;
mod retention;
mod retry;
mod run_logs;
mod run_search;
mod runs;

pub use configs::ListConfigs;
pub use error::Error;
pub use project::ListEvents;
pub use retry::{is_retryable_status, Attempt, Idempotency, RetryPolicy};
pub use run_logs::RunLogs;
pub use run_search::ListProjectRuns;
pub use runs::{ListRuns, PreviousStateQuery, RunRegistration};

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// `Result` of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the server is when `POLYPHEMUS_URL` is not set.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// A client of one server with one token. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("retry", &self.retry)
            .finish()
    }
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`), sending `token`
    /// as `Authorization: Bearer` when given.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.cannot_be_a_base() || base.query().is_some() {
            return Err(invalid("expected a base URL such as http://127.0.0.1:8080"));
        }
        let token = token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if token
            .as_deref()
            .is_some_and(|t| HeaderValue::from_str(&format!("Bearer {t}")).is_err())
        {
            return Err(Error::InvalidToken);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            // Below the server's keep-alive limit (`serve --header-timeout-s`, 10 s by default):
            // a pooled connection is dropped here before the server closes it under a request.
            .pool_idle_timeout(Duration::from_secs(5))
            .user_agent(concat!("polyphemus-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Transport {
                url: base_url.to_owned(),
                source,
            })?;
        Ok(Self {
            http,
            base,
            token,
            retry: RetryPolicy::default(),
        })
    }

    /// A client configured by `POLYPHEMUS_URL` (default `http://127.0.0.1:8080`) and
    /// `POLYPHEMUS_TOKEN`.
    pub fn from_env() -> Result<Self> {
        let url = std::env::var("POLYPHEMUS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        Self::new(&url, std::env::var("POLYPHEMUS_TOKEN").ok())
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Whether a token is sent.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `<base>/api/v1/<segments…>`, each segment percent-encoded.
    pub(crate) fn url<I, S>(&self, segments: I) -> Url
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]);
            for segment in segments {
                path.push(segment.as_ref());
            }
        }
        url
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        self.send(Method::GET, url, None::<&()>, Idempotency::Idempotent)
            .await
            .map(|(_, body)| body)
    }

    /// Sends a request with retries and decodes a 2xx JSON answer; returns its status too.
    pub(crate) async fn send<B, T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<(StatusCode, T)>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_with(method, url, body, idempotency, &[]).await
    }

    /// [`Client::send`] with extra request headers (e.g. `Prefer`).
    pub(crate) async fn send_with<B, T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        idempotency: Idempotency,
        headers: &[(&'static str, &'static str)],
    ) -> Result<(StatusCode, T)>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = body
            .map(|b| serde_json::to_vec(b).map_err(Error::Encode))
            .transpose()?;
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = request.send().await;
            let seen = match &outcome {
                Ok(response) => Attempt::Answered {
                    status: response.status().as_u16(),
                    retry_after: read_retry_after(response),
                },
                Err(error) if error.is_connect() => Attempt::ConnectFailed,
                Err(_) => Attempt::TransportFailed,
            };
            if let Some(wait) = self.retry.next_delay(attempt, idempotency, seen) {
                tracing::debug!(%method, url = %url, ?seen, ?wait, attempt, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return match outcome {
                Ok(response) => decode_response(&url, response).await,
                Err(source) if source.is_connect() => Err(Error::Connect {
                    url: self.base.as_str().trim_end_matches('/').to_owned(),
                    source,
                }),
                Err(source) => Err(Error::Transport {
                    url: url.to_string(),
                    source,
                }),
            };
        }
    }
}

fn read_retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

async fn decode_response<T: DeserializeOwned>(
    url: &Url,
    response: reqwest::Response,
) -> Result<(StatusCode, T)> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|source| Error::Transport {
        url: url.to_string(),
        source,
    })?;
    if !status.is_success() {
        return Err(Error::Api {
            status: status.as_u16(),
            problem: error::parse_problem(status.as_u16(), &bytes),
        });
    }
    // An empty answer (204) reads as `null`, which `()` and `Option` accept.
    let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    let body = serde_json::from_slice(text).map_err(|source| Error::Decode {
        url: url.to_string(),
        status: status.as_u16(),
        source,
    })?;
    Ok((status, body))
}

#[cfg(test)]
mod tests;

/// Sets the query string from the parameters that have a value (none: no `?` at all).
pub(crate) fn set_query<const N: usize>(url: &mut Url, parameters: [(&str, Option<String>); N]) {
    let present: Vec<(&str, String)> = parameters
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect();
    if present.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().extend_pairs(present);
    }
}
