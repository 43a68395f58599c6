//! The emails the account service sends. Links are built from the issuer, never from a request.

use std::time::Duration;

use crate::email::Email;
use crate::mail::OutgoingEmail;

fn human(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    if minutes >= 120 {
        format!("{} hours", minutes / 60)
    } else {
        format!("{minutes} minutes")
    }
}

pub(super) fn verification(to: &Email, issuer: &str, token: &str, valid_for: Duration) -> OutgoingEmail {
    let link = format!("{issuer}/verify-email?token={token}");
    OutgoingEmail {
        to: to.clone(),
        subject: "Verify your email address".to_owned(),
        text: format!(
            "Welcome to {issuer}.\n\nOpen this link to verify your email address:\n\n{link}\n\nThe link works once and expires in {}. If you did not create an account, ignore this email.\n",
            human(valid_for)
        ),
        html: None,
    }
}

pub(super) fn already_registered(to: &Email, issuer: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: to.clone(),
        subject: "Someone tried to register with your email address".to_owned(),
        text: format!(
            "Someone (perhaps you) tried to create an account at {issuer} with this email address, which already has one. Nothing was changed.\n\nIf you forgot your password, reset it at:\n\n{issuer}/forgot-password\n"
        ),
        html: None,
    }
}

pub(super) fn reset(to: &Email, issuer: &str, token: &str, valid_for: Duration) -> OutgoingEmail {
    let link = format!("{issuer}/reset-password?token={token}");
    OutgoingEmail {
        to: to.clone(),
        subject: "Reset your password".to_owned(),
        text: format!(
            "Open this link to choose a new password for your account at {issuer}:\n\n{link}\n\nThe link works once and expires in {}. If you did not ask for it, ignore this email; your password stays as it is.\n",
            human(valid_for)
        ),
        html: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_start_with_the_issuer() {
        let to = Email::parse("ann@example.com").unwrap();
        let m = verification(&to, "https://id.example.com", "kgv_x", Duration::from_secs(86400));
        assert!(m.text.contains("https://id.example.com/verify-email?token=kgv_x"));
        assert!(m.text.contains("24 hours"));
        let m = reset(&to, "https://id.example.com", "kgx_y", Duration::from_secs(1800));
        assert!(m.text.contains("https://id.example.com/reset-password?token=kgx_y"));
        assert!(m.text.contains("30 minutes"));
    }
}
