//! Helpers for the OAuth suites that drive the browser side (included with `#[path]`, not a test
//! of its own): the HTTP adapter for the `oauth2`/`openidconnect` crates and a cookie-keeping
//! stand-in for a browser that reads and posts the real forms.
#![allow(dead_code)]

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::common::oauth::{CHALLENGE, OAuthServer, REDIRECT};

/// The `oauth2`/`openidconnect` crates' HTTP client, over reqwest 0.13.
pub async fn http_client(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
    let mut outgoing = crate::common::client()
        .request(method, parts.uri.to_string())
        .body(body);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name.as_str(), value.as_bytes());
    }
    let response = outgoing.send().await?;
    let mut builder = oauth2::http::Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).unwrap())
}

/// The value of `name` in the query of `url` (absolute or a path).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An authorization URL for a confidential client with PKCE (S256) and `state`.
pub fn authorize_url(server: &OAuthServer, client_id: &str, scope: &str, state: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    server.url(&format!("/oauth2/authorize?{query}"))
}

/// The value attribute of the hidden input `name` in an HTML page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser stand-in: keeps cookies, follows no redirects (tests look at each step).
pub struct Browser<'a> {
    pub http: reqwest::Client,
    server: &'a OAuthServer,
}

impl<'a> Browser<'a> {
    pub fn new(server: &'a OAuthServer) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { http, server }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            self.server.url(url)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.absolute(url)).send().await.unwrap()
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.absolute(url))
            .header("origin", &self.server.base)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    fn location(response: &reqwest::Response) -> String {
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "expected a redirect from {}",
            response.url()
        );
        response.headers()[LOCATION].to_str().unwrap().to_owned()
    }

    /// Starts at `authorize`, signs in on the login page, and follows redirects up to the consent
    /// page or the client; returns the consent page's URL or the client's callback URL.
    async fn sign_in(&self, authorize: &str, email: &str, password: &str) -> String {
        let login = Self::location(&self.get(authorize).await);
        assert!(login.starts_with("/login?"), "{login}");
        let return_to = query_param(&login, "return_to").unwrap();
        let page = self.get(&login).await.text().await.unwrap();
        let csrf = hidden_value(&page, "csrf_token");
        let form = [
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("return_to", return_to.as_str()),
        ];
        let mut next = Self::location(&self.post("/login", &form).await);
        while next.starts_with("/oauth2/") {
            next = Self::location(&self.get(&next).await);
        }
        next
    }

    /// Signs in and answers the consent page with `decision` (`allow` or `deny`) if it shows.
    pub async fn sign_in_and_decide(&self, authorize: &str, email: &str, password: &str, decision: &str) -> String {
        let next = self.sign_in(authorize, email, password).await;
        if !next.starts_with("/consent") {
            return next;
        }
        let page = self.get(&next).await.text().await.unwrap();
        let csrf = hidden_value(&page, "csrf_token");
        let id = hidden_value(&page, "consent_id");
        let form = [
            ("csrf_token", csrf.as_str()),
            ("consent_id", id.as_str()),
            ("action", decision),
        ];
        Self::location(&self.post("/consent", &form).await)
    }

    /// Signs in (when the browser has no session yet) and follows redirects up to the consent
    /// page or the client; its URL.
    pub async fn sign_in_and_consent_page(&self, authorize: &str, email: &str, password: &str) -> String {
        let first = Self::location(&self.get(authorize).await);
        if !first.starts_with("/login?") {
            return first;
        }
        self.sign_in(authorize, email, password).await
    }

    pub async fn sign_in_and_consent(&self, authorize: &str, email: &str, password: &str) -> String {
        self.sign_in_and_decide(authorize, email, password, "allow").await
    }
}
