//! Single-use tokens mailed to a user: email verification and password reset.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::UserId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailTokenKind {
    Verify,
    Reset,
}

impl EmailTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailTokenKind::Verify => "verify",
            EmailTokenKind::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verify" => Some(EmailTokenKind::Verify),
            "reset" => Some(EmailTokenKind::Reset),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EmailToken {
    pub digest: TokenDigest,
    pub user_id: UserId,
    pub kind: EmailTokenKind,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}
