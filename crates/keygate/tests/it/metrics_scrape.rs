//! `/metrics` as an operator sees it: a real `keygate serve` (its own process, so its counters
//! hold only this test's traffic) is driven through logins of every outcome, registrations, a
//! client_credentials token, introspections, a code flow and a refresh-token reuse; the scrape
//! must show each counter moved by exactly that much, with the right labels. Then every metric
//! name the Grafana dashboard and the Prometheus alert rules in `contrib/` use must exist in a
//! scrape of a server that has seen that traffic.

use crate::common::binary::listening_base;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use keygate_core::totp::{self, TotpSecret};
use keygate_core::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Child;

use crate::common::accounts::{Api, PASSWORD};
use crate::common::binary::keygate;
use crate::common::pages::Browser;
use crate::fleet_support::{CHALLENGE, VERIFIER};

const ADMIN: &str = "metrics-admin-token-0123456789-abcdefghijkl";
const METRICS_TOKEN: &str = "metrics-scrape-token-0123456789";
const REDIRECT: &str = "https://app.example/cb";

/// A `keygate serve` process on SQLite in a temporary folder (and on Redis when given).
struct Served {
    base: String,
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    _child: Child,
}

impl Served {
    async fn start(redis: Option<(&str, &str)>) -> Served {
        Self::start_with(redis, &[]).await
    }

    /// With `settings` (environment variables) over the defaults below.
    async fn start_with(redis: Option<(&str, &str)>, settings: &[(&'static str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![
            (
                "KEYGATE_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("k.db").display()),
            ),
            ("KEYGATE_BIND", "127.0.0.1:0".to_owned()),
            ("KEYGATE_ADMIN_TOKEN", ADMIN.to_owned()),
            ("KEYGATE_METRICS_TOKEN", METRICS_TOKEN.to_owned()),
            ("KEYGATE_MAIL_OUTBOX", dir.path().join("outbox").display().to_string()),
            ("KEYGATE_ACCOUNTS__LOCKOUT_THRESHOLD", "5".to_owned()),
            ("KEYGATE_ACCOUNTS__FAILURE_DELAY_MS", "1".to_owned()),
            ("KEYGATE_PASSWORD_HASHING__MAX_CONCURRENT", "2".to_owned()),
            ("KEYGATE_DATABASE__MAX_CONNECTIONS", "4".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        env.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
        if let Some((url, prefix)) = redis {
            env.push(("KEYGATE_REDIS_URL", url.to_owned()));
            env.push(("KEYGATE_REDIS__PREFIX", prefix.to_owned()));
        }
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let mut child = keygate(dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let log = dir.path().join("serve.log");
        let base = listening_base(&mut child, || std::fs::read_to_string(&log).unwrap_or_default()).await;
        Served {
            base,
            dir,
            env,
            _child: child,
        }
    }

    /// `keygate user create` on the server's database, as an operator would.
    async fn create_user(&self, email: &str, verified: bool) {
        let mut command = keygate(self.dir.path());
        command
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["user", "create", "--email", email, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if verified {
            command.arg("--verified");
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{PASSWORD}\n").as_bytes()).await.unwrap();
        drop(stdin);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("user create within 60 s")
            .unwrap();
        assert!(
            output.status.success(),
            "user create: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    async fn scrape(&self) -> Scrape {
        let response = crate::common::client()
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Scrape::parse(&response.text().await.unwrap())
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        let response = crate::common::client()
            .post(self.url(path))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
        body
    }

    async fn token(&self, client: &(String, String), form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = crate::common::client()
            .post(self.url("/oauth2/token"))
            .basic_auth(&client.0, Some(&client.1))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn introspect(&self, client: &(String, String), token: &str) -> bool {
        let response = crate::common::client()
            .post(self.url("/oauth2/introspect"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["active"].as_bool().unwrap()
    }
}

/// One scrape: every series (name and sorted labels) with its value, and the declared types.
struct Scrape {
    series: BTreeMap<(String, Vec<(String, String)>), f64>,
    text: String,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut series = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (key, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match key.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (key, Vec::new()),
            };
            series.insert((name.to_owned(), labels), value.parse::<f64>().unwrap());
        }
        Scrape {
            series,
            text: text.to_owned(),
        }
    }

    /// The sum of the series named `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|((n, ls), _)| {
                n == name && labels.iter().all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    fn names(&self) -> BTreeSet<&str> {
        self.series.keys().map(|(n, _)| n.as_str()).collect()
    }
}

/// `a="x",b="y"` (values hold no `"` or `,` here: every label value is a fixed word or an id).
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = text
        .split("\",")
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect();
    labels.sort();
    labels
}

/// What the traffic produced that the assertions need.
struct Driven {
    client_id: String,
}

/// Logins of every outcome, registrations, tokens of three grants, introspections and one
/// refresh-token reuse; each step checks its answer so the counts below are the known ones.
async fn drive(server: &Served) -> Driven {
    for (email, verified) in [
        ("ann@example.com", true),
        ("bob@example.com", false),
        ("mia@example.com", true),
        ("lou@example.com", true),
    ] {
        server.create_user(email, verified).await;
    }
    let api = Api::new(&server.base);
    // success, bad_password, unverified
    assert_eq!(api.login("ann@example.com", PASSWORD).await.status, 200);
    assert_eq!(api.login("ann@example.com", "wrong-password-1").await.status, 401);
    assert_eq!(api.login("bob@example.com", PASSWORD).await.status, 403);
    // success, then TOTP on: mfa_required without a code, bad_code with a wrong one
    let mia = Api::new(&server.base);
    assert_eq!(mia.login("mia@example.com", PASSWORD).await.status, 200);
    let setup = mia.post("/api/auth/totp/setup", json!({})).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, SystemClock.now());
    let enabled = mia.post("/api/auth/totp/enable", json!({ "code": code })).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let no_code = api.login("mia@example.com", PASSWORD).await;
    assert_eq!(no_code.status, 401);
    assert!(no_code.problem_type().ends_with("mfa-required"), "{}", no_code.text);
    let right = totp::code_at(&secret, SystemClock.now());
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let bad_code = api
        .post(
            "/api/auth/login",
            json!({ "email": "mia@example.com", "password": PASSWORD, "totp": wrong }),
        )
        .await;
    assert_eq!(bad_code.status, 401, "{}", bad_code.text);
    // Threshold 5: four bad_password, the fifth sets the lock (locked), the sixth is locked.
    // (Each login above counted its attempt too; mia's two stay below the threshold.)
    for expected in [401, 401, 401, 401, 429, 429] {
        assert_eq!(api.login("lou@example.com", "wrong-password-2").await.status, expected);
    }
    // registrations: created, already_registered (same answer), rejected (breached password)
    assert_eq!(api.register("new@example.com", PASSWORD).await.status, 201);
    assert_eq!(api.register("new@example.com", PASSWORD).await.status, 201);
    assert_eq!(api.register("weak@example.com", "password").await.status, 400);

    let created = server
        .admin(
            "/admin/clients",
            json!({
                "client_name": "Metrics app", "redirect_uris": [REDIRECT], "first_party": true,
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": "openid email offline_access api:read",
            }),
        )
        .await;
    let client = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    let (status, body) = server.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(server.introspect(&client, body["access_token"].as_str().unwrap()).await);
    assert!(!server.introspect(&client, "not-a-token").await);

    // A code flow through the pages (a page login: success), its refresh token rotated once,
    // then the rotated one presented again: reuse.
    let code = authorization_code(server, &client.0, "ann@example.com").await;
    let (status, body) = server
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["refresh_token"].as_str().expect("a refresh token").to_owned();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", first.as_str())];
    let (status, body) = server.token(&client, &refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.token(&client, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    Driven { client_id: client.0 }
}

/// Signs in on the login page and returns the code the authorization redirect carries.
async fn authorization_code(server: &Served, client_id: &str, email: &str) -> String {
    let browser = Browser::new(&server.base);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "metrics")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let login = browser.get(&format!("/oauth2/authorize?{query}")).await.location();
    let form = browser.get(&login).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let return_to = form.input("return_to").unwrap_or_default();
    let mut next = browser
        .submit(
            &form,
            "/login",
            &[("email", email), ("password", PASSWORD), ("return_to", &return_to)],
        )
        .await
        .location();
    while !next.starts_with(REDIRECT) {
        assert!(next.starts_with("/oauth2/"), "unexpected step {next}");
        next = browser.get(&next).await.location();
    }
    crate::oauth_support::query_param(&next, "code").expect("a code")
}

fn eml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_with_the_traffic_and_carry_its_labels() {
    let server = Served::start(None).await;
    let before = server.scrape().await;
    assert_eq!(before.sum("keygate_logins_total", &[]), 0.0, "registered at zero");
    assert!(
        before.text.contains("keygate_logins_total{outcome=\"locked\"} 0"),
        "each outcome is listed before the first login"
    );
    let driven = drive(&server).await;
    // The emails go out in the background: wait for the verification and the notice.
    let mut after = server.scrape().await;
    for _ in 0..100 {
        if after.sum("keygate_emails_sent_total", &[("outcome", "sent")]) >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = server.scrape().await;
    }
    let logins = |outcome| after.sum("keygate_logins_total", &[("outcome", outcome)]);
    // ann (API), mia before TOTP, ann on the login page
    assert_eq!(logins("success"), 3.0);
    assert_eq!(logins("bad_password"), 5.0);
    assert_eq!(logins("unverified"), 1.0);
    assert_eq!(logins("mfa_required"), 1.0);
    assert_eq!(logins("bad_code"), 1.0);
    assert_eq!(logins("locked"), 2.0);
    assert_eq!(after.sum("keygate_logins_total", &[]), 13.0, "nothing else counted");
    // Cross-check with the request counter: every 401 at the API login is one of the above.
    assert_eq!(
        after.sum(
            "keygate_http_requests_total",
            &[("route", "/api/auth/login"), ("status", "401")]
        ),
        7.0
    );
    assert_eq!(after.sum("keygate_lockouts_total", &[("scope", "account")]), 1.0);
    assert_eq!(after.sum("keygate_lockouts_total", &[("scope", "ip")]), 0.0);

    let registrations = |outcome| after.sum("keygate_registrations_total", &[("outcome", outcome)]);
    assert_eq!(registrations("created"), 1.0);
    assert_eq!(registrations("already_registered"), 1.0);
    assert_eq!(registrations("rejected"), 1.0);
    assert_eq!(
        after.sum("keygate_emails_sent_total", &[("outcome", "sent")]),
        eml_files(&server.outbox()) as f64,
        "one count per email written to the outbox"
    );
    assert_eq!(after.sum("keygate_emails_sent_total", &[("outcome", "sent")]), 2.0);
    assert_eq!(after.sum("keygate_emails_sent_total", &[("outcome", "failed")]), 0.0);

    let client = driven.client_id.as_str();
    let issued = |grant| {
        after.sum(
            "keygate_tokens_issued_total",
            &[("grant", grant), ("client_id", client)],
        )
    };
    assert_eq!(issued("client_credentials"), 1.0);
    assert_eq!(issued("authorization_code"), 1.0);
    assert_eq!(issued("refresh_token"), 1.0, "the reused token issued nothing");
    assert_eq!(after.sum("keygate_introspections_total", &[("result", "active")]), 1.0);
    assert_eq!(
        after.sum("keygate_introspections_total", &[("result", "inactive")]),
        1.0
    );
    assert_eq!(
        after.sum("keygate_token_reuse_detected_total", &[("grant", "refresh_token")]),
        1.0
    );
    assert_eq!(
        after.sum("keygate_token_reuse_detected_total", &[("grant", "authorization_code")]),
        0.0
    );

    // The pools, as configured and as used.
    assert_eq!(after.sum("keygate_db_pool_max_connections", &[]), 4.0);
    let open = after.sum("keygate_db_pool_connections", &[]);
    assert!((1.0..=4.0).contains(&open), "open SQL connections: {open}");
    assert_eq!(after.sum("keygate_password_hash_slots", &[]), 2.0);
    assert_eq!(after.sum("keygate_password_hash_queue_capacity", &[]), 256.0);
    assert_eq!(
        after.sum("keygate_password_hash_queue_depth", &[]),
        0.0,
        "nothing waits now"
    );
    // At least two registrations (the breached password is refused before hashing), eleven
    // password checks at the API (the attempt past the lock is never checked) and the page
    // login, plus the admin-created users: each hash recorded its wait and its time once.
    let hashes = after.sum("keygate_password_hash_wait_seconds_count", &[]);
    assert_eq!(hashes, after.sum("keygate_password_hash_duration_seconds_count", &[]));
    assert!(hashes >= 14.0, "hashes recorded: {hashes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_shows_in_the_argon2_queue_wait_times_and_refusals() {
    let server = Served::start_with(
        None,
        &[
            // In memory, so that what comes before the hash is quick and the logins pile up at it.
            ("KEYGATE_DATABASE_URL", "memory:"),
            ("KEYGATE_PASSWORD_HASHING__MAX_CONCURRENT", "1"),
            ("KEYGATE_PASSWORD_HASHING__MAX_WAITING", "3"),
        ],
    )
    .await;
    // Unknown addresses, each once: every login costs one (dummy) hash and no lock applies.
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let api = Api::new(&server.base);
            tokio::spawn(async move {
                api.login(&format!("nobody{i}@example.com"), "a-wrong-guess")
                    .await
                    .status
            })
        })
        .collect();
    let mut deepest: f64 = 0.0;
    while flood.iter().any(|task| !task.is_finished()) {
        deepest = deepest.max(server.scrape().await.sum("keygate_password_hash_queue_depth", &[]));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut statuses = Vec::new();
    for task in flood {
        statuses.push(task.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count() as f64;
    let refused = statuses.iter().filter(|s| **s == 503).count() as f64;
    assert_eq!(checked + refused, 24.0, "{statuses:?}");
    eprintln!("deepest queue seen: {deepest}; checked {checked}, refused {refused}");

    let after = server.scrape().await;
    assert!(deepest >= 1.0, "24 logins on one slot must queue");
    assert!(deepest <= 3.0, "never more waiting than max_waiting: {deepest}");
    assert_eq!(after.sum("keygate_password_hash_queue_depth", &[]), 0.0);
    assert_eq!(after.sum("keygate_password_hash_queue_capacity", &[]), 3.0);
    assert_eq!(after.sum("keygate_password_hash_refused_total", &[]), refused);
    assert_eq!(after.sum("keygate_logins_total", &[("outcome", "busy")]), refused);
    assert_eq!(
        after.sum("keygate_logins_total", &[("outcome", "bad_password")]),
        checked
    );
    // Each checked guess waited once for its slot (zero when it was free), and some waited.
    assert_eq!(after.sum("keygate_password_hash_wait_seconds_count", &[]), checked);
    assert!(after.sum("keygate_password_hash_wait_seconds_sum", &[]) > 0.0);
    assert!(
        after.sum("keygate_password_hash_wait_seconds_bucket", &[("le", "0.001")]) < checked,
        "not every hash found a free slot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_its_errors_and_the_fallbacks_are_counted() {
    // Nothing listens on port 1: every Redis command fails at once.
    let server = Served::start(Some(("redis://127.0.0.1:1", "keygate-dead:"))).await;
    let ready = crate::common::client()
        .get(server.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["degraded"], json!(["redis"]));
    let created = server
        .admin(
            "/admin/clients",
            json!({ "client_name": "Backend", "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"], "scope": "api:read" }),
        )
        .await;
    let client = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    // Served from the database: the client lookups fall back.
    for _ in 0..3 {
        let (status, body) = server.token(&client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let after = server.scrape().await;
    assert_eq!(
        after.sum("keygate_ready_degraded_total", &[("component", "redis")]),
        1.0
    );
    let errors = after.sum("keygate_cache_errors_total", &[]);
    let bypassed = after.sum("keygate_cache_bypassed_total", &[]);
    eprintln!("Redis errors {errors}, lookups that bypassed Redis {bypassed}");
    assert!(errors + bypassed >= 3.0, "errors {errors}, bypassed {bypassed}");
    assert_eq!(after.sum("keygate_cache_requests_total", &[("result", "hit")]), 0.0);
    assert!(
        after.sum(
            "keygate_cache_requests_total",
            &[("kind", "client"), ("result", "miss")]
        ) >= 3.0
    );
    assert_eq!(
        after.sum(
            "keygate_tokens_issued_total",
            &[("grant", "client_credentials"), ("client_id", &client.0)]
        ),
        3.0
    );
}

/// Every `keygate_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("keygate_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

fn contrib(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Every `expr` (and variable query) of the dashboard, walking the JSON.
fn dashboard_queries(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_queries(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alert_rules_use_only_exported_names() {
    let dashboard: Value = serde_json::from_str(&contrib("grafana/keygate.json")).expect("valid JSON");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 20, "the dashboard has its panels: {}", queries.len());
    let rules = contrib("prometheus/keygate-alerts.yml");
    assert!(rules.matches("- alert: ").count() >= 10, "the alert rules are there");
    assert_eq!(
        rules.matches("- alert: ").count(),
        rules.matches("        expr: ").count(),
        "one expression per alert"
    );
    let mut used = metric_names(&queries.join("\n"));
    assert!(used.contains("keygate_logins_total"), "{used:?}");
    used.extend(metric_names(&rules));

    // With Redis the cache's metrics exist too; without it they cannot be checked.
    let redis = keygate_store::testing::redis_test_url();
    let guard = redis.as_deref().map(keygate_store::testing::fresh_redis_prefix);
    let server = Served::start(redis.as_deref().zip(guard.as_ref().map(|g| g.prefix()))).await;
    drive(&server).await;
    let scrape = server.scrape().await;
    let exported = scrape.names();
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(name.as_str()))
        .filter(|name| redis.is_some() || !name.starts_with("keygate_cache_"))
        .collect();
    assert!(
        missing.is_empty(),
        "used in contrib/ but not exported: {missing:?}\nexported: {exported:?}"
    );
    if redis.is_none() {
        eprintln!("note: without Redis the keygate_cache_* names were not checked");
    }
}
