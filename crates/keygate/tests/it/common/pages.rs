//! Driving the HTML pages like a browser without JavaScript: a cookie-keeping client that does
//! not follow redirects, the CSRF field read from each form, and a server wired as in production
//! (its own address as issuer, email into a file outbox).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use keygate::config::{Config, MailOutbox};
use keygate_store::testing::{self, TestDbGuard};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::TestServer;
use super::accounts::Kind;

/// One test's server, outbox folder and database.
pub struct PagesEnv {
    pub server: TestServer,
    pub outbox: tempfile::TempDir,
    _db: TestDbGuard,
}

impl PagesEnv {
    /// None when PostgreSQL is not configured (the test skips; with CI=true it fails).
    pub async fn start(kind: Kind) -> Option<PagesEnv> {
        let (backend, db) = match kind {
            Kind::Memory => testing::memory_backend(),
            Kind::Sqlite => testing::sqlite_backend().await,
            Kind::Postgres => testing::postgres_backend(&testing::postgres_test_url()?).await,
        };
        let outbox = tempfile::tempdir().unwrap();
        let config = Config {
            mail_outbox: MailOutbox(outbox.path().to_owned()),
            ..Config::default()
        };
        let server = TestServer::start_as_configured(backend, config).await;
        Some(PagesEnv {
            server,
            outbox,
            _db: db,
        })
    }

    pub fn outbox(&self) -> PathBuf {
        self.outbox.path().to_owned()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.server.base)
    }

    /// The link in the newest email to `to` whose subject contains `subject`.
    pub async fn mailed_link(&self, to: &str, subject: &str, path: &str) -> String {
        let message = super::mail::wait_for(&self.outbox(), to, subject).await;
        message
            .link(path)
            .unwrap_or_else(|| panic!("no {path} link in {:?}", message.text))
    }
}

/// One page as the client received it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.html))
    }

    /// The value of the first `<input … name="NAME" … value="…">`, HTML entities decoded.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let start = self.html.find(&marker)?;
        let tag_start = self.html[..start].rfind('<')?;
        let tag_end = start + self.html[start..].find('>')?;
        let tag = &self.html[tag_start..tag_end];
        let value = tag.split("value=\"").nth(1)?.split('"').next()?;
        Some(unescape(value))
    }

    pub fn csrf(&self) -> String {
        self.input("csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token field ({}): {}", self.status, self.html))
    }

    /// The text inside the element with `id`, e.g. `<code id="totp-secret">…</code>`.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\">");
        let start = self.html.find(&marker)? + marker.len();
        let end = start + self.html[start..].find('<')?;
        Some(unescape(&self.html[start..end]))
    }
}

/// Decodes the entities minijinja writes.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// A cookie-keeping client that does not follow redirects.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Browser {
            base: base.to_owned(),
            client,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        Self::page(response).await
    }

    /// Posts `fields` as a form, exactly as given (no CSRF field added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self.client.post(self.url(path)).form(fields).send().await.unwrap();
        Self::page(response).await
    }

    /// Posts `fields` with the CSRF token of `form_page`, like submitting that page's form.
    pub async fn submit(&self, form_page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = form_page.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// GETs `path`, then submits its form with `fields`.
    pub async fn fill(&self, path: &str, post_to: &str, fields: &[(&str, &str)]) -> Page {
        let form = self.get(path).await;
        assert_eq!(form.status, StatusCode::OK, "{path}: {}", form.html);
        self.submit(&form, post_to, fields).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        Page { status, headers, html }
    }
}
