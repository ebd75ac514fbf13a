//! Alerts over HTTP: a Slack-compatible incoming webhook, and a JSON webhook signed with
//! HMAC-SHA256 so the receiver can tell it came from this server.

use super::DeliveryError;
use hmac::{Hmac, Mac};
use polyphemus_model::Alert;
use serde_json::json;
use sha2::Sha256;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Polyphemus-Signature";

/// Slack's incoming-webhook payload: `text` for notifications, `blocks` for the message.
pub async fn slack(
    client: &reqwest::Client,
    url: &str,
    alert: &Alert,
) -> Result<(), DeliveryError> {
    let body = json!({
        "text": alert.title,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", alert.title)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.text}},
        ],
    });
    post(
        client,
        url,
        serde_json::to_vec(&body).unwrap_or_default(),
        None,
    )
    .await
}

/// The alert as JSON, signed with `secret`.
pub async fn signed_webhook(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    alert: &Alert,
) -> Result<(), DeliveryError> {
    let body = serde_json::to_vec(alert).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|error| DeliveryError::Settings(error.to_string()))?;
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    post(client, url, body, Some(signature)).await
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> Result<(), DeliveryError> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    // The URL may hold a token (Slack's does): errors name the host only.
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let response = request.send().await.map_err(|error| {
        DeliveryError::Http(format!("cannot reach {host}: {}", error.without_url()))
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Http(format!("{host} answered {status}")))
    }
}
