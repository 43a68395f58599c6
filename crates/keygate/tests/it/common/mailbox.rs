//! A mailer that keeps every message in memory, so tests can read what Keygate sent and follow
//! the links inside.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};

#[derive(Default)]
pub struct Mailbox {
    messages: Mutex<Vec<OutgoingEmail>>,
}

impl Mailbox {
    pub fn all(&self) -> Vec<OutgoingEmail> {
        self.messages.lock().unwrap().clone()
    }

    /// Messages sent to `address` (case-insensitive), oldest first.
    pub fn to(&self, address: &str) -> Vec<OutgoingEmail> {
        let wanted = address.to_lowercase();
        self.all().into_iter().filter(|m| m.to.normalized() == wanted).collect()
    }

    /// Waits (sending runs in the background) until `address` has received `count` messages.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<OutgoingEmail> {
        for _ in 0..200 {
            let got = self.to(address);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "{address} received {} messages, expected {count}",
            self.to(address).len()
        );
    }

    /// The first link in the newest message to `address` that starts with `prefix`.
    pub async fn link(&self, address: &str, count: usize, prefix: &str) -> String {
        let messages = self.wait_for(address, count).await;
        let message = &messages[count - 1];
        let start = message
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in {:?}", message.text));
        message.text[start..].split_whitespace().next().unwrap().to_owned()
    }
}

#[async_trait]
impl Mailer for Mailbox {
    async fn send(&self, message: &OutgoingEmail) -> Result<(), MailError> {
        self.messages.lock().unwrap().push(message.clone());
        Ok(())
    }
}
