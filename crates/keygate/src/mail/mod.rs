//! Outgoing email delivery: SMTP through lettre when `smtp_url` is set, otherwise a folder of
//! `.eml` files (the developer's outbox). Both implement [`keygate_core::mail::Mailer`].

mod message;
pub mod outbox;
pub mod smtp;

use std::sync::Arc;

use keygate_core::mail::Mailer;

use crate::config::{Config, ConfigError};
pub use message::to_message;
pub use outbox::FileOutbox;
pub use smtp::SmtpMailer;

/// The mailer the configuration asks for. Fails at start-up, with one sentence, when the outbox
/// folder cannot be created or the SMTP URL cannot be used.
pub fn mailer_from_config(config: &Config) -> Result<Arc<dyn Mailer>, ConfigError> {
    let from = config.mail_from.mailbox().clone();
    match &config.smtp_url {
        Some(url) => {
            let mailer = SmtpMailer::new(url, from)?;
            tracing::info!(server = ?url, "email goes out through SMTP");
            Ok(Arc::new(mailer))
        }
        None => {
            let outbox = FileOutbox::create(&config.mail_outbox.0, from)?;
            tracing::info!(folder = %config.mail_outbox.0.display(), "email goes to the file outbox");
            Ok(Arc::new(outbox))
        }
    }
}
