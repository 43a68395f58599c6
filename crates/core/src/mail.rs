//! Outgoing email: the message Keygate sends and the interface every delivery method implements
//! (SMTP, the developer's file outbox, a test capture).

use async_trait::async_trait;

use crate::email::Email;
use crate::error::BoxError;

/// One message to one recipient. Links inside are built from the issuer, never from a request's `Host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the email could not be sent")]
pub struct MailError(#[source] pub BoxError);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &OutgoingEmail) -> Result<(), MailError>;
}
