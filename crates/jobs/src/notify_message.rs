//! The Slack-compatible part of `notify_webhook`'s payload: `text` (the line a notification
//! shows) and `blocks` (the message), in the incoming-webhook shape Slack documents
//! (<https://api.slack.com/messaging/webhooks>); Mattermost and Rocket.Chat read `text` too.

use serde_json::{json, Value};

/// Slack refuses a section whose text is longer than this.
const SECTION_MAX_CHARS: usize = 3000;
/// Failed steps listed before "and N more".
const STEPS_LISTED: usize = 5;

/// Whether the payload is the JSON summary with the message, or the message alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The summary's fields with `text` and `blocks` beside them.
    Json,
    /// `text` and `blocks` only: what Slack's own webhooks take.
    Slack,
}

impl WebhookFormat {
    /// `webhook_format` of the config: `json`, `slack`, or `auto` (the default: Slack's hosts
    /// get the message alone, every other receiver the summary too).
    pub fn choose(setting: Option<&str>, url: &str) -> Self {
        match setting {
            Some("slack") => Self::Slack,
            Some("json") => Self::Json,
            _ => {
                let host = reqwest::Url::parse(url)
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_owned))
                    .unwrap_or_default();
                if host == "hooks.slack.com" || host.ends_with(".slack.com") {
                    Self::Slack
                } else {
                    Self::Json
                }
            }
        }
    }
}

/// Slack's mrkdwn gives `&`, `<` and `>` meaning: they are escaped in what the run reports.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn capped(text: String) -> String {
    if text.chars().count() <= SECTION_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(SECTION_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The run's one line: status, config and what was delivered, or the first failed step.
pub fn headline(summary: &Value) -> String {
    let status = summary["status"].as_str().unwrap_or("Finished");
    let what = format!(
        "config {} v{} in project {}",
        summary["config_id"],
        summary["version_number"],
        summary["project"].as_str().unwrap_or("?")
    );
    let first_failure = summary["failed_steps"]
        .as_array()
        .and_then(|steps| steps.first());
    match first_failure {
        Some(step) => format!(
            "{status}: {what}: {}: {}",
            step["step"].as_str().unwrap_or("a step"),
            step["message"].as_str().unwrap_or("failed")
        ),
        None => format!(
            "{status}: {what}: {} file(s), {} bytes copied",
            summary["files_copied"], summary["bytes_copied"]
        ),
    }
}

/// `text` and `blocks` for the summary.
pub fn message(summary: &Value) -> (String, Value) {
    let text = headline(summary);
    let status = summary["status"].as_str().unwrap_or("Finished");
    let mut lines = vec![format!(
        "*{}* — config {} v{} in project `{}`",
        escape(status),
        summary["config_id"],
        summary["version_number"],
        escape(summary["project"].as_str().unwrap_or("?"))
    )];
    lines.push(format!(
        "{} file(s) copied, {} bytes; {} not copied",
        summary["files_copied"],
        summary["bytes_copied"],
        summary["failures"].as_array().map_or(0, Vec::len)
    ));
    if let Some(deposited) = summary.get("files_deposited") {
        lines.push(format!(
            "{deposited} file(s) deposited, {} bytes",
            summary["bytes_deposited"]
        ));
    }
    let mut blocks = vec![section(lines.join("\n"))];
    if let Some(steps) = summary["failed_steps"].as_array().filter(|s| !s.is_empty()) {
        let mut failed: Vec<String> = steps
            .iter()
            .take(STEPS_LISTED)
            .map(|step| {
                format!(
                    "• *{}*: {}",
                    escape(step["step"].as_str().unwrap_or("?")),
                    escape(step["message"].as_str().unwrap_or("failed"))
                )
            })
            .collect();
        if steps.len() > STEPS_LISTED {
            failed.push(format!("and {} more", steps.len() - STEPS_LISTED));
        }
        blocks.push(section(failed.join("\n")));
    }
    let run = escape(summary["run_id"].as_str().unwrap_or("?"));
    let link = match summary["run_link"].as_str() {
        Some(url) => format!("<{url}|run {run}>"),
        None => format!("run {run}"),
    };
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]}));
    (text, Value::Array(blocks))
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": capped(text)}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_summary() -> Value {
        json!({
            "status": "Failed", "project": "labors", "config_id": 3, "version_number": 2,
            "run_id": "r-1", "files_copied": 0, "bytes_copied": 0, "failures": [],
            "failed_steps": [{"step": "discover", "phase": "Failed",
                              "message": "config: neither <password> nor private_key & so on"}],
            "run_link": "http://127.0.0.1:8080/api/v1/projects/labors/runs/r-1",
        })
    }

    #[test]
    fn the_message_names_the_failed_step_and_escapes_mrkdwn() {
        let (text, blocks) = message(&failed_summary());
        assert_eq!(
            text,
            "Failed: config 3 v2 in project labors: discover: config: neither <password> nor private_key & so on"
        );
        let sections: Vec<&str> = blocks
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|block| block["text"]["text"].as_str())
            .collect();
        assert!(
            sections[0].starts_with("*Failed* — config 3 v2"),
            "{sections:?}"
        );
        assert_eq!(
            sections[1],
            "• *discover*: config: neither &lt;password&gt; nor private_key &amp; so on"
        );
        assert_eq!(
            blocks[2]["elements"][0]["text"],
            "<http://127.0.0.1:8080/api/v1/projects/labors/runs/r-1|run r-1>"
        );
    }

    #[test]
    fn sections_stay_within_slacks_limit() {
        let mut summary = failed_summary();
        summary["failed_steps"][0]["message"] = json!("x".repeat(10_000));
        let (_, blocks) = message(&summary);
        for block in blocks.as_array().unwrap() {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_MAX_CHARS);
            }
        }
    }

    #[test]
    fn slack_hosts_get_the_message_alone_unless_told() {
        let slack = "https://hooks.slack.com/services/T0/B0/x";
        assert_eq!(WebhookFormat::choose(None, slack), WebhookFormat::Slack);
        assert_eq!(
            WebhookFormat::choose(Some("auto"), slack),
            WebhookFormat::Slack
        );
        assert_eq!(
            WebhookFormat::choose(Some("json"), slack),
            WebhookFormat::Json
        );
        let own = "https://hooks.example.org/polyphemus";
        assert_eq!(WebhookFormat::choose(None, own), WebhookFormat::Json);
        assert_eq!(
            WebhookFormat::choose(Some("slack"), own),
            WebhookFormat::Slack
        );
    }
}
