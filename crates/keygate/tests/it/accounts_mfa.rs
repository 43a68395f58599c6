//! TOTP on the account API: enabling needs a valid code, login then needs a code, a code works
//! once (replay refused), a recovery code works once, and disabling needs the password.

use crate::common;

use std::time::Duration;

use common::accounts::{Api, Env, Kind, PASSWORD};
use keygate_core::Clock;
use keygate_core::totp::{self, TotpSecret};
use serde_json::{Value, json};

backend_tests!(
    totp_login_needs_a_code_and_a_replayed_code_is_refused,
    a_recovery_code_works_once_in_place_of_a_code,
    totp_is_enabled_only_with_a_valid_code_and_disabled_only_with_the_password,
);

/// Turns TOTP on for the logged-in `api`; returns the secret and the recovery codes.
async fn enable_totp(env: &Env, api: &Api) -> (TotpSecret, Vec<String>) {
    let setup = api.post("/api/auth/totp/setup", json!({})).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let uri = setup.json["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, env.clock.now());
    let enabled = api.post("/api/auth/totp/enable", json!({ "code": code })).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let codes: Vec<String> = enabled.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn login_with(api: &Api, email: &str, totp: &str) -> common::accounts::Resp {
    api.post(
        "/api/auth/login",
        json!({ "email": email, "password": PASSWORD, "totp": totp }),
    )
    .await
}

async fn totp_login_needs_a_code_and_a_replayed_code_is_refused(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let owner = env.logged_in("vic@example.com").await;
    let (secret, _) = enable_totp(&env, &owner).await;
    assert_eq!(owner.get("/api/auth/me").await.json["totp_enabled"], true);

    let api = env.client();
    let r = api.login("vic@example.com", PASSWORD).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.problem_type().ends_with("mfa-required"), "{}", r.text);
    assert!(api.cookie().is_none(), "no session before the second factor");

    env.advance(Duration::from_secs(60));
    let code = totp::code_at(&secret, env.clock.now());
    let r = login_with(&api, "vic@example.com", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["session"]["amr"], json!(["pwd", "otp", "mfa"]));

    // The same code again (same time step): refused.
    let replay = env.client();
    let r = login_with(&replay, "vic@example.com", &code).await;
    assert_eq!(r.status, 401, "a replayed code must fail: {}", r.text);
    assert!(r.problem_type().ends_with("mfa-required"));
    assert!(replay.cookie().is_none());

    let r = login_with(&replay, "vic@example.com", "000000").await;
    assert_eq!(r.status, 401);
    env.advance(Duration::from_secs(30));
    let next = totp::code_at(&secret, env.clock.now());
    assert_eq!(login_with(&replay, "vic@example.com", &next).await.status, 200);
}

async fn a_recovery_code_works_once_in_place_of_a_code(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let owner = env.logged_in("wes@example.com").await;
    let (_, codes) = enable_totp(&env, &owner).await;
    let api = env.client();
    let r = login_with(&api, "wes@example.com", &codes[3]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = env.client();
    let r = login_with(&again, "wes@example.com", &codes[3]).await;
    assert_eq!(r.status, 401, "a recovery code works once: {}", r.text);
    let me: Value = api.get("/api/auth/me").await.json;
    assert_eq!(me["recovery_codes_left"], 9);
    // Typed in upper case without dashes it still works.
    let typed = codes[4].replace('-', "").to_uppercase();
    assert_eq!(login_with(&again, "wes@example.com", &typed).await.status, 200);
}

async fn totp_is_enabled_only_with_a_valid_code_and_disabled_only_with_the_password(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("xia@example.com").await;
    let setup = api.post("/api/auth/totp/setup", json!({})).await;
    assert_eq!(setup.status, 200);
    let r = api.post("/api/auth/totp/enable", json!({ "code": "123456" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(api.get("/api/auth/me").await.json["totp_enabled"], false);
    assert_eq!(env.client().login("xia@example.com", PASSWORD).await.status, 200);

    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, env.clock.now());
    assert_eq!(
        api.post("/api/auth/totp/enable", json!({ "code": code })).await.status,
        200
    );

    let r = api
        .post("/api/auth/totp/disable", json!({ "password": "not-my-password" }))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(api.get("/api/auth/me").await.json["totp_enabled"], true);
    let r = api
        .post("/api/auth/totp/disable", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(env.client().login("xia@example.com", PASSWORD).await.status, 200);
    let activity = api.get("/api/auth/activity").await.text;
    assert!(
        activity.contains("totp_enabled") && activity.contains("totp_disabled"),
        "{activity}"
    );
}
