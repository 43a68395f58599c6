//! Delivery through an SMTP server with lettre (pooled connections, STARTTLS or implicit TLS over
//! rustls with the aws-lc-rs provider).

use std::time::Duration;

use async_trait::async_trait;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::to_message;
use crate::config::{ConfigError, SmtpUrl};

/// How long one SMTP command may take before the send fails.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Nothing connects yet: the first message opens the pool's first connection.
    pub fn new(url: &SmtpUrl, from: Mailbox) -> Result<SmtpMailer, ConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|err| ConfigError::new(format!("smtp_url cannot be used ({err})")))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = to_message(&self.from, email)?;
        self.transport
            .send(message)
            .await
            .map_err(|err| MailError(Box::new(err)))?;
        tracing::debug!("email handed to the SMTP server");
        Ok(())
    }
}
