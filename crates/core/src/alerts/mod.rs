//! Delivering alerts to a project's notification channels: Slack-compatible webhooks, signed
//! JSON webhooks and email. Each delivery is retried with backoff and recorded as an event
//! (`notification.delivered` / `notification.failed`, with why), never with a credential.

mod email;
mod http;

use polyphemus_model::{Alert, ChannelSettings};
use std::time::Duration;

/// Why one attempt failed; never holds a URL's secret parts or a credential.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the channel's settings are unreadable: {0}")]
    Settings(String),
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Smtp(String),
}

/// How often and how patiently a delivery is tried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_secs(1),
        }
    }
}

/// The outcome of a delivery: how many attempts, and the last error when all failed.
#[derive(Debug)]
pub struct Delivered {
    pub attempts: u32,
    pub error: Option<DeliveryError>,
}

/// Sends `alert` through `settings`, retrying with doubling backoff.
pub async fn deliver(
    client: &reqwest::Client,
    settings: &ChannelSettings,
    alert: &Alert,
    retry: RetryPolicy,
) -> Delivered {
    let mut backoff = retry.first_backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match settings {
            ChannelSettings::Slack { url } => http::slack(client, url, alert).await,
            ChannelSettings::Webhook { url, secret } => {
                http::signed_webhook(client, url, secret, alert).await
            }
            ChannelSettings::Email { .. } => email::send(settings, alert).await,
        };
        match result {
            Ok(()) => {
                return Delivered {
                    attempts: attempt,
                    error: None,
                }
            }
            Err(error) if attempt >= retry.attempts.max(1) => {
                return Delivered {
                    attempts: attempt,
                    error: Some(error),
                }
            }
            Err(error) => {
                tracing::debug!(%error, attempt, "alert delivery failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
    }
}

/// What a channel may show of where it delivers: the host of a URL, the addresses of email.
pub fn target_of(settings: &ChannelSettings) -> String {
    let host = |url: &str| {
        reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "an unreadable URL".into())
    };
    match settings {
        ChannelSettings::Slack { url } => format!("Slack webhook at {}", host(url)),
        ChannelSettings::Webhook { url, .. } => format!("signed webhook at {}", host(url)),
        ChannelSettings::Email { smtp_host, to, .. } => {
            format!("email to {} via {smtp_host}", to.join(", "))
        }
    }
}
