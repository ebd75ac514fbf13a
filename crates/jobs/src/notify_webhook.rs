//! `notify_webhook`: POSTs a JSON summary of the run (status, failed steps, files copied, bytes,
//! failures, files deposited when the workflow deposits, link) with a Slack-compatible `text`
//! and `blocks`, to the secret `webhook_url` (or, deprecated, the config's), with retries.
//! Skipped by `pre` when no URL is set. The workflow passes its status and failures
//! (`--arg workflow_status=…`, `--arg workflow_failures={{workflow.failures}}`), so it can
//! report a failed run from `onExit`. The URL never reaches a log: it may hold a token.

use crate::notify_message::{message, WebhookFormat};
use crate::{EtlJob, FailureKind, JobContext, JobError, JobOutcome};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::time::Duration;

const ATTEMPTS: u32 = 4;
const FIRST_DELAY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct NotifyWebhook {
    http: reqwest::Client,
    /// Base URL of the Polyphemus server, for the link in the summary.
    server_url: Option<String>,
}

impl Default for NotifyWebhook {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            server_url: std::env::var("POLYPHEMUS_URL").ok(),
        }
    }
}

/// Where the webhook URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlFrom {
    Secret,
    /// Configs made before the URL became a secret: still honoured, with a warning.
    Config,
}

/// The secret `webhook_url`, else the config's.
fn webhook_url(context: &JobContext) -> Option<(String, UrlFrom)> {
    let secret = context
        .secret("webhook_url")
        .map(|url| url.expose_secret().trim().to_owned())
        .filter(|url| !url.is_empty());
    match secret {
        Some(url) => Some((url, UrlFrom::Secret)),
        None => context
            .config_str("webhook_url")
            .map(|url| (url.to_owned(), UrlFrom::Config)),
    }
}

/// How many items a state value lists (an array or an object of files).
fn count(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len(),
        Value::Object(items) => items.len(),
        _ => 0,
    }
}

/// The failed steps of Argo's `{{workflow.failures}}` JSON: `[{step, phase, message}]`, the
/// step named without the retry attempt Argo appends (`discover(0)` → `discover`).
fn failed_steps(failures: Option<&String>) -> Value {
    let Some(list) = failures.and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok()) else {
        return json!([]);
    };
    list.iter()
        .map(|node| {
            json!({
                "step": node["displayName"].as_str().map(without_attempt),
                "phase": node["phase"],
                "message": node["message"],
            })
        })
        .collect()
}

fn without_attempt(name: &str) -> &str {
    match name
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once('('))
    {
        Some((step, attempt)) if attempt.bytes().all(|b| b.is_ascii_digit()) => step,
        _ => name,
    }
}

impl NotifyWebhook {
    fn summary(&self, context: &JobContext, state: &Map<String, Value>) -> Value {
        let target = &context.target;
        let link = self.server_url.as_ref().map(|base| {
            format!(
                "{}/api/v1/projects/{}/runs/{}",
                base.trim_end_matches('/'),
                target.project,
                target.run_id
            )
        });
        let mut summary = json!({
            "status": context.args.get("workflow_status"),
            "failed_steps": failed_steps(context.args.get("workflow_failures")),
            "project": target.project,
            "config_id": target.config_id,
            "version_number": target.version_number,
            "run_id": target.run_id,
            "files_copied": state.get("copied").map_or(0, count),
            "bytes_copied": state.get("bytes_copied").cloned().unwrap_or(json!(0)),
            "failures": state.get("failures").cloned().unwrap_or(json!([])),
            "run_link": link,
        });
        // Only a workflow that deposits (copy_to_sftp) reports deposits.
        if let (Some(deposited), Some(fields)) = (state.get("deposited"), summary.as_object_mut()) {
            fields.insert("files_deposited".into(), json!(count(deposited)));
            let bytes = state.get("bytes_deposited").cloned().unwrap_or(json!(0));
            fields.insert("bytes_deposited".into(), bytes);
            let failures = state.get("deposit_failures").cloned().unwrap_or(json!([]));
            fields.insert("deposit_failures".into(), failures);
        }
        summary
    }

    /// POSTs with backoff on connection errors, 408, 429 and 5xx; another 4xx is final, and
    /// permanent (the URL or the receiver's rules must change first).
    async fn deliver(&self, url: &str, body: &Value) -> Result<u16, JobError> {
        let mut delay = FIRST_DELAY;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.http.post(url).json(body).send().await {
                Ok(response) if response.status().is_success() => {
                    return Ok(response.status().as_u16())
                }
                Ok(response) => {
                    let status = response.status();
                    last = format!("the webhook answered {status}");
                    if FailureKind::of_http_status(status.as_u16()) == FailureKind::Permanent {
                        return Err(JobError::Permanent(last));
                    }
                }
                Err(error) => {
                    let error = error.without_url();
                    last = format!("the webhook could not be reached: {error}");
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(JobError::Transient(format!(
            "{last} (after {ATTEMPTS} attempts)"
        )))
    }
}

#[async_trait]
impl EtlJob for NotifyWebhook {
    fn name(&self) -> &'static str {
        "notify_webhook"
    }

    async fn pre(&self, context: &mut JobContext) -> Result<bool, JobError> {
        match webhook_url(context) {
            None => {
                context
                    .log("no webhook_url secret is set; nothing to notify")
                    .await?;
                Ok(false)
            }
            Some((_, UrlFrom::Config)) => {
                context
                    .log(
                        "webhook_url is set in the config, where whoever may read the config \
                         sees it: set it as the secret webhook_url instead",
                    )
                    .await?;
                Ok(true)
            }
            Some((_, UrlFrom::Secret)) => Ok(true),
        }
    }

    async fn process(&self, context: &mut JobContext) -> Result<(), JobError> {
        let (url, _) = webhook_url(context)
            .ok_or_else(|| JobError::Config("the secret webhook_url is not set".into()))?;
        let state = context.run_state().await?;
        let mut payload = self.summary(context, &state);
        let (text, blocks) = message(&payload);
        let format = WebhookFormat::choose(context.config_str("webhook_format"), &url);
        if format == WebhookFormat::Slack {
            payload = Value::Object(Map::new());
        }
        if let Some(fields) = payload.as_object_mut() {
            fields.insert("text".into(), json!(text));
            fields.insert("blocks".into(), blocks);
        }
        let status = self.deliver(&url, &payload).await?;
        context.values.insert("status".into(), json!(status));
        context
            .log(&format!("notified the webhook ({status})"))
            .await
    }

    async fn post(&self, context: &mut JobContext, outcome: &JobOutcome) -> Result<(), JobError> {
        // The host only: a webhook URL may carry a token in its path or query.
        let host = webhook_url(context)
            .and_then(|(url, _)| reqwest::Url::parse(&url).ok())
            .and_then(|url| url.host_str().map(str::to_owned));
        let outcome = match outcome {
            JobOutcome::Done => "sent",
            JobOutcome::Skipped => "skipped",
            JobOutcome::Failed(_) => "failed",
        };
        let mut state = Map::new();
        state.insert(
            "notification".into(),
            json!({
                "outcome": outcome,
                "host": host,
                "status": context.values.get("status"),
                "at": chrono::Utc::now(),
            }),
        );
        context.update_state(state).await
    }
}
