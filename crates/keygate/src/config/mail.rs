//! Configuration values of outgoing email: the SMTP server URL (may carry a password), the file
//! outbox used when there is none, and the sender address.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};

use super::types::redact_password;

/// `smtps://[USER:PASSWORD@]HOST[:PORT]` (TLS from the first byte), `smtp://…?tls=required`
/// (STARTTLS) or plain `smtp://HOST:PORT` (a local relay). Printed with the password redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SmtpUrl(String);

impl SmtpUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SmtpUrl {
    type Error = String;
    fn try_from(url: String) -> Result<Self, String> {
        let parsed = url::Url::parse(&url).map_err(|e| format!("is not a valid URL ({e})"))?;
        match parsed.scheme() {
            "smtp" | "smtps" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
                // lettre's own reading of the URL (TLS parameter, credentials), checked now rather
                // than at the first email.
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
                    .map_err(|e| format!("cannot be used ({e})"))?;
                Ok(SmtpUrl(url))
            }
            "smtp" | "smtps" => Err("names no host; use smtp://HOST:PORT or smtps://HOST:PORT".to_owned()),
            other => Err(format!(
                "has scheme `{other}:`; use smtp://HOST:PORT or smtps://HOST:PORT"
            )),
        }
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

impl Serialize for SmtpUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_password(&self.0))
    }
}

/// The folder that receives one `.eml` file per message when no SMTP server is configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MailOutbox(pub PathBuf);

impl Default for MailOutbox {
    fn default() -> Self {
        MailOutbox(PathBuf::from("./outbox/"))
    }
}

/// The `From` of every message, e.g. `Keygate <no-reply@id.example.com>`; checked at start-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailFrom {
    text: String,
    mailbox: lettre::message::Mailbox,
}

impl MailFrom {
    pub fn mailbox(&self) -> &lettre::message::Mailbox {
        &self.mailbox
    }
}

impl TryFrom<String> for MailFrom {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.parse::<lettre::message::Mailbox>() {
            Ok(mailbox) => Ok(MailFrom { text, mailbox }),
            Err(e) => Err(format!(
                "`{text}` is not an email address such as `Keygate <no-reply@example.com>` ({e})"
            )),
        }
    }
}

impl Default for MailFrom {
    fn default() -> Self {
        let text = "Keygate <keygate@localhost>";
        let mailbox = lettre::message::Mailbox::new(
            Some("Keygate".to_owned()),
            // A literal that is a valid address; `new` would only re-check it.
            lettre::Address::new_dangerous("keygate", "localhost"),
        );
        MailFrom {
            text: text.to_owned(),
            mailbox,
        }
    }
}

impl From<MailFrom> for String {
    fn from(from: MailFrom) -> String {
        from.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_hide_their_password_and_need_an_smtp_scheme() {
        let url = SmtpUrl::try_from("smtps://mailer:hunter2@smtp.example.com:465".to_owned()).unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&url).unwrap().contains("hunter2"));
        assert_eq!(url.expose(), "smtps://mailer:hunter2@smtp.example.com:465");
        assert!(SmtpUrl::try_from("smtp://127.0.0.1:2525".to_owned()).is_ok());
        let err = SmtpUrl::try_from("http://smtp.example.com".to_owned()).unwrap_err();
        assert!(err.contains("scheme `http:`"), "{err}");
        assert!(SmtpUrl::try_from("smtp.example.com:25".to_owned()).is_err());
        assert!(SmtpUrl::try_from("smtp://smtp.example.com?tls=required".to_owned()).is_ok());
        let err = SmtpUrl::try_from("smtp://smtp.example.com?tls=sometimes".to_owned()).unwrap_err();
        assert!(err.starts_with("cannot be used"), "{err}");
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        let from = MailFrom::try_from("Acme Login <login@acme.example>".to_owned()).unwrap();
        assert_eq!(from.mailbox().email.to_string(), "login@acme.example");
        assert_eq!(MailFrom::default().mailbox().email.to_string(), "keygate@localhost");
        let err = MailFrom::try_from("not an address".to_owned()).unwrap_err();
        assert!(err.contains("is not an email address"), "{err}");
    }
}
