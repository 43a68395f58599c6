//! The pages in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! driven over WebDriver registers, follows the verification link from the outbox, signs in,
//! turns on two-step verification and signs in with it, resets the password from the emailed
//! link, and ends another device's session; an admin uses the console on a phone-sized and a wide
//! window. Without Chromium the test skips with a note; with
//! CI=true it fails instead.

use crate::common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::accounts::{Kind, PASSWORD};
use common::pages::PagesEnv;
use fantoccini::{Client, ClientBuilder, Locator};
use keygate_core::totp::{self, TotpSecret};
use keygate_core::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const EMAIL: &str = "carol@example.com";
const NEW_PASSWORD: &str = "quiet-meadow-copper-77";

/// chromedriver on a free port, stopped (by its own process id) when dropped.
pub(crate) struct Driver {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// None (skip) when Chromium or chromedriver is missing, unless CI=true.
pub(crate) async fn start_driver() -> Option<Driver> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !std::path::Path::new(path).exists())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {missing:?} is not installed (.ci/run installs chromium and chromium-driver)"
        );
        eprintln!("skipping the browser test: {missing:?} not installed (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url)).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(driver)
}

pub(crate) async fn open_browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let args = [
        "--headless".to_owned(),
        // The test runs as root in CI; Chromium's sandbox refuses root.
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        // The console (CSP violations among it) for suites that read it (`openapi`).
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session in headless Chromium")
}

/// Waits until the browser shows `path_and_query` (after a form's 303).
async fn wait_for(browser: &Client, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url().await.unwrap();
        let shown = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        if shown == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the browser is at {shown}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types into the named fields of the form posting to `action`, then presses its button.
async fn submit(browser: &Client, action: &str, fields: &[(&str, &str)]) {
    let form = browser
        .find(Locator::Css(&format!("form[action='{action}']")))
        .await
        .unwrap_or_else(|_| panic!("no form posting to {action}"));
    for (name, value) in fields {
        let input = form.find(Locator::Css(&format!("[name='{name}']"))).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    form.find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for an element that the next page shows (when the address stays the same).
async fn appears(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("{css} did not appear: {err}"))
}

async fn text(browser: &Client, css: &str) -> String {
    browser.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_registers_signs_in_with_totp_resets_the_password_and_ends_a_session() {
    let Some(driver) = start_driver().await else { return };
    let Some(env) = PagesEnv::start(Kind::Sqlite).await else {
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let browser = open_browser(&driver, profile.path()).await;
    let base = env.server.base.clone();

    // Register, then follow the link from the outbox.
    browser.goto(&format!("{base}/register")).await.unwrap();
    submit(
        &browser,
        "/register",
        &[
            ("email", EMAIL),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
    )
    .await;
    wait_for(&browser, "/login?notice=check-email").await;
    assert!(text(&browser, ".notice").await.contains("we sent you an email"));
    let link = env.mailed_link(EMAIL, "", "/verify-email?token=").await;
    browser.goto(&link).await.unwrap();
    wait_for(&browser, "/login?notice=email-verified").await;

    // Sign in and turn on two-step verification with a code computed from the key shown.
    submit(&browser, "/login", &[("email", EMAIL), ("password", PASSWORD)]).await;
    wait_for(&browser, "/account").await;
    assert!(browser.source().await.unwrap().contains(EMAIL));
    submit(&browser, "/account/totp/setup", &[]).await;
    let secret = appears(&browser, "#totp-secret").await.text().await.unwrap();
    let secret = TotpSecret::from_base32(&secret).unwrap();
    let code = totp::code_at(&secret, SystemClock.now());
    submit(&browser, "/account/totp/enable", &[("code", &code)]).await;
    let recovery_codes: Vec<String> = {
        appears(&browser, ".codes code").await;
        let mut codes = Vec::new();
        for element in browser.find_all(Locator::Css(".codes code")).await.unwrap() {
            codes.push(element.text().await.unwrap());
        }
        codes
    };
    assert_eq!(recovery_codes.len(), 10);

    // Sign out, and in again: now the code step follows the password. The code of the next
    // 30-second step is accepted (one step of drift) and was not used yet.
    browser.goto(&format!("{base}/logout")).await.unwrap();
    submit(&browser, "/logout", &[]).await;
    wait_for(&browser, "/login?notice=signed-out").await;
    submit(&browser, "/login", &[("email", EMAIL), ("password", PASSWORD)]).await;
    wait_for(&browser, "/login/totp").await;
    let next_step = totp::code_at(&secret, SystemClock.now().plus(Duration::from_secs(30)));
    submit(&browser, "/login/totp", &[("code", &next_step)]).await;
    wait_for(&browser, "/account").await;

    // Forgot the password: the emailed link sets a new one and signs every device out.
    browser.goto(&format!("{base}/forgot-password")).await.unwrap();
    submit(&browser, "/forgot-password", &[("email", EMAIL)]).await;
    wait_for(&browser, "/login?notice=reset-sent").await;
    let link = env.mailed_link(EMAIL, "eset", "/reset-password?token=").await;
    browser.goto(&link).await.unwrap();
    submit(
        &browser,
        "/reset-password",
        &[("password", NEW_PASSWORD), ("password_confirmation", NEW_PASSWORD)],
    )
    .await;
    wait_for(&browser, "/login?notice=password-reset").await;
    browser.goto(&format!("{base}/account")).await.unwrap();
    wait_for(&browser, "/login?return_to=%2Faccount").await;
    submit(&browser, "/login", &[("email", EMAIL), ("password", NEW_PASSWORD)]).await;
    wait_for(&browser, "/login/totp?return_to=%2Faccount").await;
    submit(&browser, "/login/totp", &[("code", &recovery_codes[0])]).await;
    wait_for(&browser, "/account").await;

    // Another device signs in; the browser sees its session and ends it.
    let phone = env.browser();
    let page = phone
        .fill("/login", "/login", &[("email", EMAIL), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(page.location(), "/login/totp");
    let step = phone.get("/login/totp").await;
    let page = phone
        .submit(&step, "/login/totp", &[("code", &recovery_codes[1])])
        .await;
    assert_eq!(page.location(), "/account");
    assert_eq!(phone.get("/account").await.status, StatusCode::OK);

    browser.goto(&format!("{base}/account")).await.unwrap();
    let rows = browser.find_all(Locator::Css("#sessions tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 2, "this browser and the phone");
    let other = browser
        .find(Locator::Css("#sessions tbody tr:not(.current) button"))
        .await
        .unwrap();
    other.click().await.unwrap();
    wait_for(&browser, "/account?notice=session-ended").await;
    assert_eq!(
        browser
            .find_all(Locator::Css("#sessions tbody tr"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        phone.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );

    browser.close().await.unwrap();
}

/// Whether the page fits the window's width (tables scroll inside their own box).
async fn fits_width(browser: &Client) -> bool {
    let fits = browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    fits.as_bool().unwrap_or(false)
}

/// Saves a screenshot into `$KEYGATE_SCREENSHOTS` when set, for a person to look at.
async fn keep_screenshot(browser: &Client, name: &str) {
    if let Ok(dir) = std::env::var("KEYGATE_SCREENSHOTS") {
        let png = browser.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_uses_the_console_on_a_phone_and_a_wide_screen() {
    let Some(driver) = start_driver().await else { return };
    let Some(env) = PagesEnv::start(Kind::Sqlite).await else {
        return;
    };
    let service = &env.server.state.accounts.service;
    let by = keygate_core::accounts::Operator::new("test", Default::default());
    for (email, admin) in [("root@example.com", true), ("dana@example.com", false)] {
        let new = keygate_core::accounts::NewUser {
            email: email.to_owned(),
            password: Some(zeroize::Zeroizing::new(PASSWORD.to_owned())),
            verified: true,
        };
        let user = service.create_user(new, &by).await.unwrap();
        if admin {
            let role = keygate_core::model::Role::admin();
            service.set_role(&user, role, true, &by).await.unwrap();
        }
    }
    let profile = tempfile::tempdir().unwrap();
    let browser = open_browser(&driver, profile.path()).await;
    let base = env.server.base.clone();

    // A phone: sent to sign in, then back to the console.
    browser.set_window_size(390, 844).await.unwrap();
    browser.goto(&format!("{base}/admin")).await.unwrap();
    wait_for(&browser, "/login?return_to=%2Fadmin").await;
    submit(
        &browser,
        "/login",
        &[("email", "root@example.com"), ("password", PASSWORD)],
    )
    .await;
    wait_for(&browser, "/admin").await;
    assert!(text(&browser, "main").await.contains("Accounts"));
    assert!(fits_width(&browser).await, "the overview fits a phone");
    keep_screenshot(&browser, "console-home-phone").await;

    // Find an account and deactivate it.
    browser.goto(&format!("{base}/admin/console/users")).await.unwrap();
    let search = browser
        .find(Locator::Css("form[action='/admin/console/users'] [name='email']"))
        .await
        .unwrap();
    search.send_keys("dan").await.unwrap();
    browser
        .find(Locator::Css("form[action='/admin/console/users'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&browser, "/admin/console/users?email=dan&verified=&active=").await;
    assert_eq!(
        browser.find_all(Locator::Css("#users tbody tr")).await.unwrap().len(),
        1
    );
    assert!(fits_width(&browser).await, "the user list fits a phone");
    keep_screenshot(&browser, "console-users-phone").await;
    browser
        .find(Locator::LinkText("dana@example.com"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    appears(&browser, "#account-state").await;
    let deactivate = browser
        .find(Locator::XPath("//button[normalize-space()='Deactivate']"))
        .await
        .unwrap();
    deactivate.click().await.unwrap();
    let notice = appears(&browser, ".notice").await;
    assert!(notice.text().await.unwrap().contains("deactivated"));
    assert_eq!(text(&browser, "#account-state").await, "deactivated");
    assert!(fits_width(&browser).await, "an account fits a phone");
    keep_screenshot(&browser, "console-user-phone").await;

    // A wide screen: register a client, one redirect URI per line, and read its secret once.
    browser.set_window_size(1280, 900).await.unwrap();
    browser.goto(&format!("{base}/admin/console/clients")).await.unwrap();
    submit(
        &browser,
        "/admin/console/clients",
        &[
            ("client_name", "Reports"),
            (
                "redirect_uris",
                "https://reports.example/cb\nhttps://reports.example/cb2",
            ),
        ],
    )
    .await;
    let secret = appears(&browser, "#client-secret").await.text().await.unwrap();
    assert!(secret.starts_with("kgs_"), "{secret}");
    let id = text(&browser, "#client-id").await;
    let uris = browser
        .find(Locator::Css("#redirect_uris"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(uris, "https://reports.example/cb\nhttps://reports.example/cb2");
    keep_screenshot(&browser, "console-client-wide").await;
    let answer = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    // The form's default grants are the code flow and refresh, so the secret authenticates and
    // the grant is refused as not the client's.
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.text().await.unwrap().contains("unauthorized_client"));

    browser.goto(&format!("{base}/admin/console/audit")).await.unwrap();
    assert!(browser.find_all(Locator::Css("#events tbody tr")).await.unwrap().len() >= 3);
    keep_screenshot(&browser, "console-audit-wide").await;
    browser.set_window_size(390, 844).await.unwrap();
    assert!(fits_width(&browser).await, "the audit log fits a phone");
    keep_screenshot(&browser, "console-audit-phone").await;
    browser.close().await.unwrap();
}
