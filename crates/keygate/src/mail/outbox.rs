//! The file outbox: each message becomes one `.eml` file in a folder, so a developer without an
//! SMTP server can open it and click the link. Files are written atomically (a hidden temporary
//! file, then a rename) under time-ordered unique names.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};
use lettre::message::Mailbox;

use super::message::to_message;
use crate::config::ConfigError;

pub struct FileOutbox {
    folder: PathBuf,
    from: Mailbox,
}

impl FileOutbox {
    /// Creates `folder` (and its parents) when missing.
    pub fn create(folder: &Path, from: Mailbox) -> Result<FileOutbox, ConfigError> {
        std::fs::create_dir_all(folder).map_err(|err| {
            ConfigError::new(format!(
                "cannot create the mail outbox `{}` ({err}); set mail_outbox to a writable folder or set smtp_url",
                folder.display()
            ))
        })?;
        Ok(FileOutbox {
            folder: folder.to_owned(),
            from,
        })
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let bytes = to_message(&self.from, email)?.formatted();
        let folder = self.folder.clone();
        let path = tokio::task::spawn_blocking(move || write_atomically(&folder, &bytes))
            .await
            .map_err(|err| MailError(Box::new(err)))?
            .map_err(|err| MailError(Box::new(err)))?;
        tracing::info!(file = %path.display(), "email written to the outbox");
        Ok(())
    }
}

/// Writes `bytes` to a new `<uuid v7>.eml` in `folder`: readers see a whole file or none, and
/// names sort in the order the messages were written.
fn write_atomically(folder: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let name = uuid::Uuid::now_v7().simple().to_string();
    let temporary = folder.join(format!(".{name}.eml.tmp"));
    let target = folder.join(format!("{name}.eml"));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, &target));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use keygate_core::Email;

    use super::*;

    fn verification(to: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: Email::parse(to).unwrap(),
            subject: "Confirm your email".to_owned(),
            text: "Hello,\n\nopen this link: http://127.0.0.1:8080/verify-email?token=kgv_short\n".to_owned(),
            html: None,
        }
    }

    fn eml_files(folder: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn each_message_is_one_parseable_eml_file_with_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("nested/outbox");
        let outbox = FileOutbox::create(&folder, "Keygate <keygate@localhost>".parse().unwrap()).unwrap();
        outbox.send(&verification("ann@example.com")).await.unwrap();
        outbox.send(&verification("bob@example.com")).await.unwrap();

        let files = eml_files(&folder);
        assert_eq!(files.len(), 2, "no temporary files stay behind: {files:?}");
        assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
        let first = std::fs::read_to_string(&files[0]).unwrap();
        let second = std::fs::read_to_string(&files[1]).unwrap();
        assert!(first.contains("To: ann@example.com\r\n"), "in the order sent: {first}");
        assert!(second.contains("To: bob@example.com\r\n"), "{second}");
        let (headers, body) = first.split_once("\r\n\r\n").expect("headers, a blank line, the body");
        assert!(headers.contains("Subject: Confirm your email"), "{headers}");
        assert!(headers.contains("From: Keygate <keygate@localhost>"), "{headers}");
        assert!(
            body.contains("http://127.0.0.1:8080/verify-email?token=kgv_short"),
            "{body}"
        );
    }

    #[test]
    fn an_outbox_that_cannot_be_created_is_a_start_up_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = FileOutbox::create(&file.path().join("outbox"), "k@localhost".parse().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("cannot create the mail outbox"), "{err}");
    }
}
