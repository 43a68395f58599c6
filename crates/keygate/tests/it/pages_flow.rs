//! The pages end to end, through their forms only: register, confirm the email from the outbox,
//! sign in, use the account page (tokens, two-step verification, sessions), sign out, and reset
//! a forgotten password. Every successful form post answers 303.

use crate::common;

use common::accounts::{Kind, PASSWORD};
use common::pages::{Browser, PagesEnv};
use keygate_core::totp::{self, TotpSecret};
use keygate_core::{Clock, SystemClock};
use reqwest::StatusCode;

backend_tests!(
    register_verify_login_account_logout_through_the_forms,
    tokens_and_two_step_verification_from_the_account_page,
    ending_a_session_and_resetting_the_password_sign_other_devices_out,
    login_returns_to_the_local_page_it_was_sent_from,
);

const EMAIL: &str = "ann@example.com";

/// Submits the page's form and checks for a 303 to `to`.
async fn expect_redirect(page: common::pages::Page, to: &str) -> common::pages::Page {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(page.location(), to);
    page
}

/// Registers `email` and confirms it with the emailed link.
async fn register_and_verify(env: &PagesEnv, browser: &Browser, email: &str) {
    let page = browser
        .fill(
            "/register",
            "/register",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    expect_redirect(page, "/login?notice=check-email").await;
    let link = env.mailed_link(email, "", "/verify-email?token=").await;
    assert!(
        link.starts_with(&format!("{}/verify-email?token=kgv_", env.server.base)),
        "{link}"
    );
    expect_redirect(browser.get(&link).await, "/login?notice=email-verified").await;
}

async fn sign_in(browser: &Browser, email: &str, password: &str) -> common::pages::Page {
    browser
        .fill("/login", "/login", &[("email", email), ("password", password)])
        .await
}

async fn register_verify_login_account_logout_through_the_forms(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    register_and_verify(&env, &browser, EMAIL).await;
    let login = browser.get("/login?notice=email-verified").await;
    assert!(
        login.html.contains("Your email address is confirmed."),
        "{}",
        login.html
    );
    // The link works once.
    let link = env.mailed_link(EMAIL, "", "/verify-email?token=").await;
    let again = browser.get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.html.contains("invalid, used or expired"), "{}", again.html);

    let page = sign_in(&browser, EMAIL, PASSWORD).await;
    let page = expect_redirect(page, "/account").await;
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("keygate_session=kgw_") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.html.contains(EMAIL), "{}", account.html);
    assert!(account.html.contains("this device"), "the session is listed");

    let logout = browser.get("/logout").await;
    assert!(logout.html.contains("Sign out of"), "{}", logout.html);
    let page = browser.submit(&logout, "/logout", &[]).await;
    expect_redirect(page, "/login?notice=signed-out").await;
    expect_redirect(browser.get("/account").await, "/login?return_to=%2Faccount").await;
}

async fn tokens_and_two_step_verification_from_the_account_page(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    register_and_verify(&env, &browser, EMAIL).await;
    expect_redirect(sign_in(&browser, EMAIL, PASSWORD).await, "/account").await;

    // A personal access token is shown once, then listed by its prefix, then revoked.
    let account = browser.get("/account").await;
    let page = browser
        .submit(
            &account,
            "/account/tokens",
            &[
                ("name", "nightly export"),
                ("scopes", "account:read"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    expect_redirect(page, "/account#tokens").await;
    let account = browser.get("/account").await;
    let token = account.text_of("new-token").expect("the new token is shown");
    assert!(token.starts_with("kgp_"), "{token}");
    let me = reqwest::Client::new()
        .get(format!("{}/api/auth/me", env.server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the token works");
    let account = browser.get("/account").await;
    assert_eq!(account.text_of("new-token"), None, "shown only once");
    assert!(account.html.contains("nightly export") && account.html.contains(&token[..12]));
    let token_id = account.input("token_id").expect("a revoke button");
    let page = browser
        .submit(&account, "/account/tokens/revoke", &[("token_id", &token_id)])
        .await;
    expect_redirect(page, "/account?notice=token-revoked#tokens").await;
    let after = browser.get("/account").await;
    assert!(!after.html.contains(&token[..12]), "{}", after.html);

    // Two-step verification: set up, a wrong code, the right code, recovery codes once.
    let account = browser.get("/account").await;
    expect_redirect(
        browser.submit(&account, "/account/totp/setup", &[]).await,
        "/account#totp",
    )
    .await;
    let account = browser.get("/account").await;
    let secret = account.text_of("totp-secret").expect("the key to type into the app");
    let secret = TotpSecret::from_base32(&secret).unwrap();
    let wrong = browser
        .submit(&account, "/account/totp/enable", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.html.contains(r#"id="code-error""#), "{}", wrong.html);
    assert!(
        wrong.text_of("totp-secret").is_some(),
        "the key is still there to try again"
    );
    let code = totp::code_at(&secret, SystemClock.now());
    let page = browser
        .submit(&account, "/account/totp/enable", &[("code", &code)])
        .await;
    expect_redirect(page, "/account#totp").await;
    let account = browser.get("/account").await;
    let recovery: Vec<String> = account
        .html
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", account.html);
    assert!(account.html.contains("Turn off two-step verification"));
    assert!(
        !browser.get("/account").await.html.contains(&recovery[0]),
        "shown only once"
    );

    // Signing in now takes a second step; a recovery code works in place of a code.
    let logout = browser.get("/logout").await;
    browser.submit(&logout, "/logout", &[]).await;
    expect_redirect(sign_in(&browser, EMAIL, PASSWORD).await, "/login/totp").await;
    let step = browser.get("/login/totp").await;
    let wrong = browser.submit(&step, "/login/totp", &[("code", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.html.contains("That code is not right"), "{}", wrong.html);
    expect_redirect(browser.get("/account").await, "/login?return_to=%2Faccount").await;
    let page = browser.submit(&step, "/login/totp", &[("code", &recovery[0])]).await;
    expect_redirect(page, "/account").await;

    // Turning it off needs the password.
    let account = browser.get("/account").await;
    let wrong = browser
        .submit(&account, "/account/totp/disable", &[("password", "not my password")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.html.contains(r#"id="password-error""#), "{}", wrong.html);
    let page = browser
        .submit(&account, "/account/totp/disable", &[("password", PASSWORD)])
        .await;
    expect_redirect(page, "/account?notice=totp-off#totp").await;
    assert!(
        browser
            .get("/account")
            .await
            .html
            .contains("Set up two-step verification")
    );
}

async fn ending_a_session_and_resetting_the_password_sign_other_devices_out(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let laptop = env.browser();
    let phone = env.browser();
    register_and_verify(&env, &laptop, EMAIL).await;
    expect_redirect(sign_in(&laptop, EMAIL, PASSWORD).await, "/account").await;
    expect_redirect(sign_in(&phone, EMAIL, PASSWORD).await, "/account").await;

    // The laptop sees both sessions and ends the phone's.
    let account = laptop.get("/account").await;
    assert_eq!(
        account.html.matches(r#"name="session_id""#).count(),
        2,
        "{}",
        account.html
    );
    let other = account
        .html
        .split("<tr")
        .skip(1)
        .find(|row| !row.contains("this device") && row.contains("session_id"))
        .and_then(|row| row.split(r#"name="session_id" value=""#).nth(1))
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .expect("the other session's end button");
    let page = laptop
        .submit(&account, "/account/sessions/end", &[("session_id", &other)])
        .await;
    expect_redirect(page, "/account?notice=session-ended#sessions").await;
    expect_redirect(phone.get("/account").await, "/login?return_to=%2Faccount").await;
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);

    // A reset through the emailed link signs every device out and the new password works.
    let stranger = env.browser();
    let page = stranger
        .fill("/forgot-password", "/forgot-password", &[("email", EMAIL)])
        .await;
    expect_redirect(page, "/login?notice=reset-sent").await;
    let link = env.mailed_link(EMAIL, "eset", "/reset-password?token=").await;
    let form = stranger.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.input("token").unwrap().starts_with("kgx_"));
    let mismatch = stranger
        .submit(
            &form,
            "/reset-password",
            &[
                ("token", &form.input("token").unwrap()),
                ("password", "a-new-long-passphrase"),
                ("password_confirmation", "different"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch.html.contains(r#"id="password_confirmation-error""#),
        "{}",
        mismatch.html
    );
    let new_password = "a-new-long-passphrase";
    let page = stranger
        .submit(
            &form,
            "/reset-password",
            &[
                ("token", &form.input("token").unwrap()),
                ("password", new_password),
                ("password_confirmation", new_password),
            ],
        )
        .await;
    expect_redirect(page, "/login?notice=password-reset").await;
    expect_redirect(laptop.get("/account").await, "/login?return_to=%2Faccount").await;
    let old = sign_in(&stranger, EMAIL, PASSWORD).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    expect_redirect(sign_in(&stranger, EMAIL, new_password).await, "/account").await;
    // The link worked once.
    let reused = stranger
        .submit(
            &form,
            "/reset-password",
            &[
                ("token", &form.input("token").unwrap()),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(reused.html.contains("invalid, used or expired"), "{}", reused.html);
}

async fn login_returns_to_the_local_page_it_was_sent_from(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    register_and_verify(&env, &browser, EMAIL).await;
    let target = "/oauth2/authorize?client_id=app&state=xyz";
    let form = browser
        .get("/login?return_to=%2Foauth2%2Fauthorize%3Fclient_id%3Dapp%26state%3Dxyz")
        .await;
    assert_eq!(form.input("return_to").as_deref(), Some(target));
    let page = browser
        .submit(
            &form,
            "/login",
            &[("email", EMAIL), ("password", PASSWORD), ("return_to", target)],
        )
        .await;
    expect_redirect(page, target).await;
    // Signed in, the login page sends the user straight on.
    expect_redirect(browser.get("/login?return_to=%2Faccount").await, "/account").await;
    // A foreign destination posted by hand is ignored.
    let other = env.browser();
    let form = other.get("/login").await;
    let page = other
        .submit(
            &form,
            "/login",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("return_to", "//evil.example/"),
            ],
        )
        .await;
    expect_redirect(page, "/account").await;
}
