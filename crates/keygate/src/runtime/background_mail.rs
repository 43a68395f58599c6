//! Sends email in the background, so the time an answer takes never depends on the mail server
//! (and so does not tell whether an email was sent, i.e. whether an address is registered).

use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};

/// Wraps a mailer: `send` returns at once; failures are logged (without the message) and counted.
pub struct BackgroundMailer {
    inner: Arc<dyn Mailer>,
}

impl BackgroundMailer {
    pub fn new(inner: Arc<dyn Mailer>) -> Self {
        BackgroundMailer { inner }
    }
}

#[async_trait]
impl Mailer for BackgroundMailer {
    async fn send(&self, message: &OutgoingEmail) -> Result<(), MailError> {
        let inner = self.inner.clone();
        let message = message.clone();
        tokio::spawn(async move {
            match inner.send(&message).await {
                Ok(()) => metrics::counter!(crate::telemetry::EMAILS_SENT, "outcome" => "sent").increment(1),
                Err(err) => {
                    metrics::counter!(crate::telemetry::EMAILS_SENT, "outcome" => "failed").increment(1);
                    tracing::error!(error = %keygate_web::error::cause_chain(&err), subject = %message.subject, "sending an email failed");
                }
            }
        });
        Ok(())
    }
}
