//! Notification channels of a project: where alerts about its runs and schedules go. Their
//! URLs and credentials are sealed like secrets and never shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConfigId, InvalidValue, RunId};

/// What a channel can be told about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// A run ended `Failed` or `Error`.
    RunFailed,
    /// A schedule paused itself after failed runs.
    SchedulePaused,
    /// The first success after failed runs.
    RunRecovered,
    /// A run still going after its runtime config's `expected_duration_s`.
    RunOverdue,
}

impl AlertEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunFailed => "run_failed",
            Self::SchedulePaused => "schedule_paused",
            Self::RunRecovered => "run_recovered",
            Self::RunOverdue => "run_overdue",
        }
    }
}

/// Where a channel delivers, with its credentials (only ever sent, never answered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelSettings {
    /// A Slack-compatible incoming webhook: a JSON body with `text` and `blocks`.
    Slack { url: String },
    /// A generic JSON webhook; each body is signed with HMAC-SHA256 of `secret`, sent as
    /// `X-Polyphemus-Signature: sha256=<hex>`.
    Webhook { url: String, secret: String },
    /// Email over SMTP, with STARTTLS when the server offers it.
    Email {
        smtp_host: String,
        #[serde(default = "default_smtp_port")]
        smtp_port: u16,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        from: String,
        to: Vec<String>,
    },
}

fn default_smtp_port() -> u16 {
    587
}

impl ChannelSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Slack { .. } => "slack",
            Self::Webhook { .. } => "webhook",
            Self::Email { .. } => "email",
        }
    }
}

/// `POST /projects/{project}/notifications`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// 1-64 letters, digits, `-`, `_` or `.`; unique in the project.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")]
    pub name: String,
    /// What the channel is told about (at least one).
    #[schema(min_items = 1)]
    pub events: Vec<AlertEvent>,
    pub settings: ChannelSettings,
}

/// A channel as shown: where it delivers, without its URL's secret parts or credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub events: Vec<AlertEvent>,
    /// E.g. "Slack webhook at hooks.slack.com", "email to ops@example.org via smtp.example.org".
    pub target: String,
    pub created_at: DateTime<Utc>,
}

/// The outcome of `POST …/notifications/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelTest {
    pub delivered: bool,
    pub attempts: u32,
    /// Why it failed, without credentials.
    pub error: Option<String>,
}

/// One alert, as every channel kind renders it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub event: AlertEvent,
    pub project: String,
    pub config_id: Option<ConfigId>,
    pub run_id: Option<RunId>,
    /// One line: what happened.
    pub title: String,
    /// More lines: why, and where to look.
    pub text: String,
    pub at: DateTime<Utc>,
}

/// Checks a channel name: 1-64 of `[A-Za-z0-9._-]`.
pub fn check_channel_name(name: &str) -> Result<(), InvalidValue> {
    let fits = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if fits {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "name",
            "must be 1-64 letters, digits, '.', '_' or '-'",
        ))
    }
}
