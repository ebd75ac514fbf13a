//! Alerts by email over SMTP: STARTTLS when the server offers it, plain otherwise (a relay on
//! the local network), with a login when the channel has credentials.

use super::DeliveryError;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use polyphemus_model::{Alert, ChannelSettings};

pub async fn send(settings: &ChannelSettings, alert: &Alert) -> Result<(), DeliveryError> {
    let ChannelSettings::Email {
        smtp_host,
        smtp_port,
        username,
        password,
        from,
        to,
    } = settings
    else {
        return Err(DeliveryError::Settings("not an email channel".into()));
    };
    let mailbox = |address: &str| {
        address
            .parse::<Mailbox>()
            .map_err(|error| DeliveryError::Settings(format!("{address:?}: {error}")))
    };
    let mut message = Message::builder()
        .from(mailbox(from)?)
        .subject(&alert.title);
    for address in to {
        message = message.to(mailbox(address)?);
    }
    let message = message
        .body(format!("{}\n\n{}\n", alert.title, alert.text))
        .map_err(|error| DeliveryError::Settings(error.to_string()))?;
    let tls = TlsParameters::new(smtp_host.clone())
        .map_err(|error| DeliveryError::Smtp(error.to_string()))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp_host)
        .port(*smtp_port)
        .timeout(Some(std::time::Duration::from_secs(15)))
        .tls(Tls::Opportunistic(tls));
    if let (Some(username), Some(password)) = (username, password) {
        transport = transport.credentials(Credentials::new(username.clone(), password.clone()));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| DeliveryError::Smtp(format!("{smtp_host}:{smtp_port}: {error}")))
}
