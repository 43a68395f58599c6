//! Turns Keygate's [`OutgoingEmail`] into an RFC 5322 message: plain text, plus an HTML
//! alternative when there is one.

use keygate_core::mail::{MailError, OutgoingEmail};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};

/// The message as it is sent (SMTP) or stored (outbox), with a `Date` and a `Message-ID`.
pub fn to_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MailError> {
    let to: Mailbox = email.to.as_str().parse().map_err(|err| MailError(Box::new(err)))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(None);
    let built = match &email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), html.clone())),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        ),
    };
    built.map_err(|err| MailError(Box::new(err)))
}

#[cfg(test)]
mod tests {
    use keygate_core::Email;

    use super::*;

    fn email(html: Option<&str>) -> OutgoingEmail {
        OutgoingEmail {
            to: Email::parse("Ann@Example.com").unwrap(),
            subject: "Confirm your email — Keygate".to_owned(),
            text: "Open http://127.0.0.1:8080/verify-email?token=kgv_abc\n".to_owned(),
            html: html.map(str::to_owned),
        }
    }

    #[test]
    fn a_text_message_has_the_headers_a_mail_client_needs() {
        let from: Mailbox = "Keygate <keygate@localhost>".parse().unwrap();
        let raw = String::from_utf8(to_message(&from, &email(None)).unwrap().formatted()).unwrap();
        assert!(raw.contains("From: Keygate <keygate@localhost>\r\n"), "{raw}");
        assert!(raw.contains("To: Ann@Example.com\r\n"), "{raw}");
        assert!(raw.contains("Date: "), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        assert!(raw.contains("verify-email?token=kgv_abc"), "{raw}");
        // The non-ASCII subject is encoded, not sent raw.
        assert!(!raw.contains('—'), "{raw}");
    }

    #[test]
    fn an_html_alternative_makes_a_multipart_message() {
        let from: Mailbox = "keygate@localhost".parse().unwrap();
        let raw = to_message(&from, &email(Some("<p>Hi</p>"))).unwrap().formatted();
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("<p>Hi</p>"), "{raw}");
    }
}
