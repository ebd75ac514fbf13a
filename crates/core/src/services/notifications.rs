//! A project's notification channels and the alerts sent to them: a run failed, a schedule
//! paused itself, the first success after failures. Settings are sealed like secrets; a
//! delivery happens in the background and is recorded as an event.

use super::Services;
use crate::alerts::{self, RetryPolicy};
use crate::{Access, CoreError};
use chrono::Utc;
use polyphemus_model::{
    check_channel_name, Alert, AlertEvent, Channel, ChannelSettings, ChannelTest, ConfigId,
    FieldError, NewChannel, ProjectName, Role, RunId, RunPhase, RunStatusReport,
};
use polyphemus_store::{ChannelRecord, NewChannelRecord, NewEvent, StoreError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

impl Services {
    pub async fn list_channels(&self, access: &Access) -> Result<Vec<Channel>, CoreError> {
        access.require(Role::Viewer)?;
        let records = self.store.list_channels(access.project()).await?;
        Ok(records.into_iter().map(to_wire).collect())
    }

    pub async fn create_channel(
        &self,
        access: &Access,
        request: NewChannel,
    ) -> Result<Channel, CoreError> {
        access.require(Role::Admin)?;
        check_channel(&request)?;
        let mut events = request.events.clone();
        events.sort();
        events.dedup();
        let settings = serde_json::to_string(&request.settings)
            .map_err(|error| CoreError::Internal(error.to_string()))?;
        let record = NewChannelRecord {
            kind: request.settings.kind().to_owned(),
            target: alerts::target_of(&request.settings),
            sealed_settings: self.keys.seal(
                &seal_name(access.project(), &request.name),
                &SecretString::from(settings),
            ),
            name: request.name.clone(),
            events: events.clone(),
        };
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "notification.channel_created",
            json!({"name": request.name, "kind": record.kind, "events": events}),
        );
        let created = self
            .store
            .create_channel(access.project(), &record, event)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => CoreError::Conflict(format!(
                    "a channel named {} exists in project {}",
                    request.name,
                    access.project()
                )),
                other => other.into(),
            })?;
        Ok(to_wire(created))
    }

    pub async fn delete_channel(&self, access: &Access, id: i64) -> Result<(), CoreError> {
        access.require(Role::Admin)?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "notification.channel_deleted",
            json!({"channel_id": id}),
        );
        self.store
            .delete_channel(access.project(), id, event)
            .await
            .map_err(|error| match error {
                StoreError::NotFound => CoreError::not_found(format!("notification channel {id}")),
                other => other.into(),
            })
    }

    /// Sends a test alert through one channel now, once, and says how it went.
    pub async fn test_channel(&self, access: &Access, id: i64) -> Result<ChannelTest, CoreError> {
        access.require(Role::Admin)?;
        let record = self
            .store
            .get_channel(access.project(), id)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("notification channel {id}")))?;
        let alert = Alert {
            event: AlertEvent::RunFailed,
            project: access.project().to_string(),
            config_id: None,
            run_id: None,
            title: format!(
                "Test alert from Polyphemus for project {}",
                access.project()
            ),
            text: format!(
                "Sent by {} to check channel {}.",
                access.actor(),
                record.name
            ),
            at: Utc::now(),
        };
        let once = RetryPolicy {
            attempts: 1,
            ..self.alert_retry
        };
        let delivered = self.deliver_to(&record, &alert, once).await;
        Ok(ChannelTest {
            delivered: delivered.error.is_none(),
            attempts: delivered.attempts,
            error: delivered.error.map(|error| error.to_string()),
        })
    }

    /// Tells every channel of `project` subscribed to the alert's event, in the background.
    pub(crate) fn alert(&self, project: &ProjectName, alert: Alert) {
        let services = self.clone();
        let project = project.clone();
        tokio::spawn(async move {
            let channels = match services.store.list_channels(&project).await {
                Ok(channels) => channels,
                Err(error) => {
                    tracing::error!(%project, %error, "listing notification channels");
                    return;
                }
            };
            for channel in channels
                .iter()
                .filter(|c| c.events.0.contains(&alert.event))
            {
                services
                    .deliver_to(channel, &alert, services.alert_retry)
                    .await;
            }
        });
    }

    async fn deliver_to(
        &self,
        channel: &ChannelRecord,
        alert: &Alert,
        retry: RetryPolicy,
    ) -> alerts::Delivered {
        let delivered = match self.open_settings(channel) {
            Ok(settings) => alerts::deliver(&self.http, &settings, alert, retry).await,
            Err(error) => alerts::Delivered {
                attempts: 0,
                error: Some(error),
            },
        };
        let (action, error) = match &delivered.error {
            None => ("notification.delivered", None),
            Some(error) => ("notification.failed", Some(error.to_string())),
        };
        let mut event = NewEvent::new(
            &channel.project_name,
            "notifier",
            action,
            json!({"channel": channel.name, "channel_id": channel.id, "event": alert.event,
                   "attempts": delivered.attempts, "error": error}),
        );
        event.config_id = alert.config_id;
        event.run_id = alert.run_id.clone();
        if let Err(failed) = self.store.record_event(&event).await {
            tracing::warn!(%failed, "recording an alert delivery");
        }
        delivered
    }

    fn open_settings(
        &self,
        channel: &ChannelRecord,
    ) -> Result<ChannelSettings, alerts::DeliveryError> {
        let name = seal_name(&channel.project_name, &channel.name);
        let opened = self
            .keys
            .open(&name, &channel.sealed_settings)
            .map_err(|error| alerts::DeliveryError::Settings(error.to_string()))?;
        serde_json::from_str(opened.expose_secret())
            .map_err(|error| alerts::DeliveryError::Settings(error.to_string()))
    }

    /// A run still going past its runtime config's expected duration.
    pub(crate) fn alert_overdue(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        run_id: &RunId,
        seconds: i64,
    ) {
        let title = format!(
            "Run {run_id} of config {config_id} is still going after {} minutes",
            seconds / 60
        );
        let why = "It is taking longer than the expected_duration_s of its runtime config.";
        self.alert(
            project,
            run_alert(
                project,
                config_id,
                run_id,
                AlertEvent::RunOverdue,
                title,
                why.into(),
            ),
        );
    }

    /// After a run's end was recorded: a failure, or a success after failures, is an alert.
    pub(crate) async fn alert_run_end(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        report: &RunStatusReport,
    ) {
        let previous = match self.store.previous_final_phase(run_id).await {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%run_id, %error, "reading the run before this one");
                return;
            }
        };
        let (config_id, before) = previous;
        let failed =
            |phase: Option<RunPhase>| matches!(phase, Some(RunPhase::Failed | RunPhase::Error));
        let (event, title) = match report.phase {
            RunPhase::Failed | RunPhase::Error => (
                AlertEvent::RunFailed,
                format!("Run {run_id} of config {config_id} ended {}", report.phase),
            ),
            RunPhase::Succeeded if failed(before) => (
                AlertEvent::RunRecovered,
                format!("Config {config_id} succeeded again (run {run_id})"),
            ),
            _ => return,
        };
        let why = report.message.clone().unwrap_or_default();
        self.alert(
            project,
            run_alert(project, config_id, run_id, event, title, why),
        );
    }
}

/// An alert about one run.
pub(crate) fn run_alert(
    project: &ProjectName,
    config_id: ConfigId,
    run_id: &RunId,
    event: AlertEvent,
    title: String,
    why: String,
) -> Alert {
    Alert {
        event,
        project: project.to_string(),
        config_id: Some(config_id),
        run_id: Some(run_id.clone()),
        text: format!(
            "{why}\nSee `polyphemus runs show {run_id} --project {project}` or the run's page."
        )
        .trim_start()
        .to_owned(),
        title,
        at: Utc::now(),
    }
}

/// The sealing name of a channel's settings: a sealed value only opens under its own name.
fn seal_name(project: &ProjectName, channel: &str) -> String {
    format!("notification-channel:{project}:{channel}")
}

fn to_wire(record: ChannelRecord) -> Channel {
    Channel {
        id: record.id,
        name: record.name,
        kind: record.kind,
        events: record.events.0,
        target: record.target,
        created_at: record.created_at,
    }
}

fn check_channel(request: &NewChannel) -> Result<(), CoreError> {
    let mut errors = Vec::new();
    let mut bad = |pointer: &str, message: &str| {
        errors.push(FieldError {
            pointer: pointer.into(),
            message: message.into(),
        })
    };
    if let Err(error) = check_channel_name(&request.name) {
        bad("/name", &error.reason);
    }
    if request.events.is_empty() {
        bad("/events", "subscribe to at least one event");
    }
    let http_url =
        |url: &str| reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    match &request.settings {
        ChannelSettings::Slack { url } if !http_url(url) => {
            bad("/settings/url", "must be an http(s) URL")
        }
        ChannelSettings::Webhook { url, secret } => {
            if !http_url(url) {
                bad("/settings/url", "must be an http(s) URL");
            }
            if secret.len() < 16 {
                bad("/settings/secret", "must be at least 16 characters");
            }
        }
        ChannelSettings::Email {
            smtp_host,
            from,
            to,
            ..
        } => {
            if smtp_host.trim().is_empty() {
                bad("/settings/smtp_host", "give the SMTP server's host name");
            }
            if from.parse::<lettre::message::Mailbox>().is_err() {
                bad("/settings/from", "must be an email address");
            }
            if to.is_empty()
                || to
                    .iter()
                    .any(|a| a.parse::<lettre::message::Mailbox>().is_err())
            {
                bad("/settings/to", "give one or more email addresses");
            }
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Unprocessable {
            detail: "the notification channel is not valid".into(),
            errors,
        })
    }
}
