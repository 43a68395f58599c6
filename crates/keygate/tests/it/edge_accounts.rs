//! The edge of the account API on memory, SQLite and PostgreSQL: bare addr-spec emails only
//! (display-name forms refused, variants of one mailbox sharing one email cap), field limits and
//! control characters answered with 400 problems, and PAT bearer schemes in any letter case.

use crate::common;

use std::time::Duration;

use common::accounts::{Api, Env, Kind, PASSWORD};
use serde_json::json;

backend_tests!(
    display_name_addresses_are_refused_at_register_and_login_and_mail_nobody_at_forgot_and_resend,
    eight_variants_of_one_mailbox_share_the_five_an_hour_cap,
    oversized_or_control_character_fields_are_400_problems_never_5xx,
    personal_access_tokens_work_with_any_bearer_case,
);

/// Forms that name (or smuggle) attacker@evil.com besides a bare address.
const SMUGGLED: &[&str] = &[
    "x<attacker@evil.com>",
    "x <attacker@evil.com>",
    "<attacker@evil.com>",
    "\"Ann\" <attacker@evil.com>",
    "ann@example.com,attacker@evil.com",
    "attacker@evil.com (Ann)",
    "\"attacker@evil.com\"@example.com",
    "ann@example.com\u{0}attacker@evil.com",
];

async fn display_name_addresses_are_refused_at_register_and_login_and_mail_nobody_at_forgot_and_resend(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    for address in SMUGGLED {
        let r = api.register(address, PASSWORD).await;
        assert_eq!(r.status, 400, "register {address:?}: {}", r.text);
        assert_eq!(r.json["field"], "email", "{}", r.text);
        let r = api.login(address, PASSWORD).await;
        assert_eq!(r.status, 400, "login {address:?}: {}", r.text);
        for path in ["/api/auth/forgot-password", "/api/auth/resend-verification"] {
            let r = api.post(path, json!({ "email": address })).await;
            assert!(r.status == 202 || r.status == 400, "{path} {address:?}: {}", r.text);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        env.server.mailbox.all().is_empty(),
        "no mail may go out for a malformed address: {:?}",
        env.server
            .mailbox
            .all()
            .iter()
            .map(|m| m.to.as_str().to_owned())
            .collect::<Vec<_>>()
    );
}

async fn eight_variants_of_one_mailbox_share_the_five_an_hour_cap(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    let variants = [
        "victim@example.com",
        "Victim@example.com",
        "VICTIM@EXAMPLE.COM",
        "victim@Example.com",
        " victim@example.com ",
        "vIcTiM@eXaMpLe.CoM",
        "x<victim@example.com>",
        "\"V\" <victim@example.com>",
    ];
    for variant in variants {
        let r = api.register(variant, PASSWORD).await;
        assert!(r.status == 201 || r.status == 400, "{variant:?}: {}", r.text);
        assert_eq!(r.status == 400, variant.contains('<'), "{variant:?}: {}", r.text);
        api.post("/api/auth/forgot-password", json!({ "email": variant })).await;
        api.post("/api/auth/resend-verification", json!({ "email": variant }))
            .await;
    }
    env.server.mailbox.wait_for("victim@example.com", 5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all = env.server.mailbox.all();
    assert_eq!(
        all.len(),
        5,
        "one mailbox, one cap of 5 an hour: {:?}",
        all.iter().map(|m| m.to.as_str().to_owned()).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|m| m.to.normalized() == "victim@example.com"));
}

async fn oversized_or_control_character_fields_are_400_problems_never_5xx(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("dana@example.com").await;
    let anonymous = env.client();
    let cases = [
        (
            "/api/auth/login",
            json!({ "email": "dana@example.com", "password": PASSWORD, "totp": "1".repeat(65) }),
        ),
        (
            "/api/auth/login",
            json!({ "email": "da\u{0}na@example.com", "password": PASSWORD }),
        ),
        (
            "/api/auth/login",
            json!({ "email": format!("{}@example.com", "d".repeat(250)), "password": PASSWORD }),
        ),
        ("/api/auth/verify-email", json!({ "token": "kgv_\u{0}" })),
        ("/api/auth/verify-email", json!({ "token": "t".repeat(257) })),
        (
            "/api/auth/reset-password",
            json!({ "token": "kgx_\u{0}", "password": PASSWORD }),
        ),
        ("/api/auth/forgot-password", json!({ "email": "e".repeat(255) })),
        (
            "/api/auth/register",
            json!({ "email": "eve@example.com", "password": PASSWORD, "password_confirmation": PASSWORD, "extra": "x".repeat(1025) }),
        ),
    ];
    for (path, body) in cases {
        let r = anonymous.post(path, body).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    }
    let r = api
        .post(
            "/api/auth/tokens",
            json!({ "name": "n".repeat(401), "scopes": ["account:read"] }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = api
        .post(
            "/api/auth/tokens",
            json!({ "name": "ci\u{0}", "scopes": ["account:read"] }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json["detail"].as_str().unwrap().contains("control character"),
        "{}",
        r.text
    );
    for path in ["/api/auth/sessions/%00", "/api/auth/tokens/a%00b"] {
        let r = api.delete(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
    }
    let r = api.get("/api/auth/verify-email/kgv_%00").await;
    assert_eq!(r.status, 400, "{}", r.text);
    // The account still works: nothing above reached a store in a broken state.
    assert_eq!(api.get("/api/auth/me").await.status, 200);
}

async fn personal_access_tokens_work_with_any_bearer_case(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("pat@example.com").await;
    let r = api
        .post("/api/auth/tokens", json!({ "name": "ci", "scopes": ["account:read"] }))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.json["token"].as_str().unwrap().to_owned();
    let http = common::client();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = http
            .get(env.server.url("/api/auth/me"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    // A malformed bearer header is a 401, even next to a valid session cookie.
    let with_cookie = Api::new(&env.server.base);
    with_cookie.set_cookie(api.cookie());
    let request = with_cookie
        .raw(reqwest::Method::GET, "/api/auth/me")
        .header("authorization", "Bearer \tkgp_x\tkgp_y");
    let r = with_cookie.finish(request).await;
    assert_eq!(r.status, 401, "{}", r.text);
}
