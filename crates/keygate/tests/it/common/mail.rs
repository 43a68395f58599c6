//! Reading the email Keygate sent: `.eml` files from the file outbox or a maildir of the SMTP
//! sink (Debian's aiosmtpd, started per test), decoded enough to find a link in the text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

/// One message as a reader sees it: the headers that matter and the plain-text body, decoded.
#[derive(Clone, Debug)]
pub struct ReceivedEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub raw: String,
}

impl ReceivedEmail {
    /// The first link in the text whose path starts with `path` (e.g. `/verify-email?token=`).
    pub fn link(&self, path: &str) -> Option<String> {
        self.text
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .find(|word| word.starts_with("http") && word.contains(path))
            .map(|word| word.trim_end_matches(['.', ',', ')']).to_owned())
    }
}

/// The messages in `folder` (and its `new/` subfolder, for a maildir), oldest first.
pub fn read_all(folder: &Path) -> Vec<ReceivedEmail> {
    let mut files: Vec<PathBuf> = [folder.to_owned(), folder.join("new")]
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| parse_eml(&std::fs::read_to_string(path).unwrap()))
        .collect()
}

/// Waits until a message to `to` whose subject contains `subject` has arrived; the newest one.
pub async fn wait_for(folder: &Path, to: &str, subject: &str) -> ReceivedEmail {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = read_all(folder)
            .into_iter()
            .rev()
            .find(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject));
        if let Some(message) = found {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "no email to {to} with subject containing {subject:?} in {}; have: {:?}",
            folder.display(),
            read_all(folder).iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Parses an RFC 5322 message: unfolds headers, picks the text/plain part of a multipart body and
/// undoes its transfer encoding.
pub fn parse_eml(raw: &str) -> ReceivedEmail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let headers = unfold(head);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let text = text_part(&headers, body);
    ReceivedEmail {
        to: header("To"),
        subject: decode_words(&header("Subject")),
        text,
        raw: raw.clone(),
    }
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line.trim_start());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn text_part(headers: &[(String, String)], body: &str) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let content_type = get("Content-Type");
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .expect("a multipart message names its boundary");
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            let part = part.trim_start_matches('\n');
            let (head, content) = part.split_once("\n\n").unwrap_or((part, ""));
            let part_headers = unfold(head);
            let part_type = part_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
                .map(|(_, v)| v.to_ascii_lowercase())
                .unwrap_or_default();
            if part_type.starts_with("text/plain") || part_type.starts_with("multipart/") {
                return text_part(&part_headers, content);
            }
        }
        panic!("no text/plain part in the message");
    }
    decode_body(&get("Content-Transfer-Encoding"), body)
}

fn decode_body(encoding: &str, body: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(compact).unwrap()).unwrap()
        }
        _ => body.to_owned(),
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value.
fn decode_words(value: &str) -> String {
    value
        .split_whitespace()
        .map(|word| {
            let inner = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
            let Some(inner) = inner else { return word.to_owned() };
            let mut parts = inner.splitn(3, '?');
            let (_charset, kind, text) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match kind.to_ascii_lowercase().as_str() {
                "b" => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap(),
                _ => decode_quoted_printable(&text.replace('_', " ")),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Debian's aiosmtpd listening on a free port and storing what it receives in a maildir.
pub struct SmtpSink {
    pub url: String,
    pub maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts the sink; None (the test skips) when aiosmtpd is not installed, a failure with CI=true.
    pub async fn start() -> Option<SmtpSink> {
        let installed = Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but python3-aiosmtpd is not installed (.ci/run installs it)"
            );
            eprintln!("skipping: /usr/bin/python3 -m aiosmtpd is not available (apt-get install python3-aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("maildir"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start listening");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(SmtpSink {
            url: format!("smtp://127.0.0.1:{port}"),
            maildir,
            child,
        })
    }

    /// The folder whose messages [`wait_for`] and [`read_all`] read.
    pub fn folder(&self) -> PathBuf {
        self.maildir.path().join("maildir")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
