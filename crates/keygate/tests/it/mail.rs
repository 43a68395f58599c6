//! Outgoing email end to end: the mailer the configuration selects delivers a message whose link
//! a reader can follow, through the file outbox and through a real SMTP server.

use crate::common;

use common::mail::{SmtpSink, read_all, wait_for};
use keygate::config::{Config, MailFrom, MailOutbox, SmtpUrl};
use keygate::mail::mailer_from_config;
use keygate_core::Email;
use keygate_core::mail::OutgoingEmail;

/// A reset email like the account service sends: a link long enough to need wrapping.
fn reset_email(to: &str) -> (OutgoingEmail, String) {
    let link = format!(
        "http://127.0.0.1:8080/reset-password?token=kgx_{}",
        "A1b2C3d4".repeat(6)
    );
    let email = OutgoingEmail {
        to: Email::parse(to).unwrap(),
        subject: "Reset your password — Keygate".to_owned(),
        text: format!("Someone asked to reset your password.\n\n{link}\n\nThe link works once, for 30 minutes.\n"),
        html: Some(format!("<p><a href=\"{link}\">Reset your password</a></p>")),
    };
    (email, link)
}

#[tokio::test]
async fn without_smtp_the_configured_outbox_receives_an_eml_with_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        mail_outbox: MailOutbox(dir.path().join("outbox")),
        mail_from: MailFrom::try_from("Acme Login <login@acme.example>".to_owned()).unwrap(),
        ..Config::default()
    };
    let mailer = mailer_from_config(&config).unwrap();
    let (email, link) = reset_email("ann@example.com");
    mailer.send(&email).await.unwrap();

    let message = wait_for(&dir.path().join("outbox"), "ann@example.com", "Reset your password").await;
    assert_eq!(message.subject, "Reset your password — Keygate");
    assert!(
        message.raw.contains("From: \"Acme Login\" <login@acme.example>"),
        "{}",
        message.raw
    );
    assert_eq!(message.link("/reset-password?token="), Some(link));
    assert_eq!(read_all(&dir.path().join("outbox")).len(), 1);
}

#[tokio::test]
async fn with_smtp_the_message_and_its_link_arrive_at_the_server() {
    let Some(sink) = SmtpSink::start().await else { return };
    let config = Config {
        smtp_url: Some(SmtpUrl::try_from(sink.url.clone()).unwrap()),
        ..Config::default()
    };
    let mailer = mailer_from_config(&config).unwrap();
    let (email, link) = reset_email("bob@example.com");
    mailer.send(&email).await.unwrap();
    let (second, _) = reset_email("carol@example.com");
    mailer.send(&second).await.unwrap();

    let message = wait_for(&sink.folder(), "bob@example.com", "Reset your password").await;
    assert!(
        message.raw.contains("From: Keygate <keygate@localhost>"),
        "{}",
        message.raw
    );
    assert_eq!(message.link("/reset-password?token="), Some(link));
    wait_for(&sink.folder(), "carol@example.com", "Reset your password").await;
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_an_error_not_a_silent_loss() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config {
        smtp_url: Some(SmtpUrl::try_from(format!("smtp://127.0.0.1:{port}")).unwrap()),
        ..Config::default()
    };
    let mailer = mailer_from_config(&config).unwrap();
    let (email, _) = reset_email("dan@example.com");
    assert!(mailer.send(&email).await.is_err());
}
