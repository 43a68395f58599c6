//! The user administration API (/admin/users) on every backend: create, list with search,
//! filters and cursor paging, show, update, deactivate, erase; set password, unlock, sessions,
//! token revocation, TOTP reset and roles, each audited with the admin as actor; a token without
//! the admin scope gets 403 on every call.

use crate::common;

use common::accounts::{Api, Env, Kind, PASSWORD};
use keygate::config::Config;
use keygate_core::Clock;
use keygate_core::totp::{self, TotpSecret};
use serde_json::{Value, json};

backend_tests!(
    accounts_are_created_listed_updated_and_erased,
    password_lock_sessions_tokens_and_totp_are_administered,
    roles_are_granted_and_revoked,
    a_token_without_the_admin_scope_gets_403_everywhere,
);

const ADMIN_TOKEN: &str = "admin-users-test-token-0123456789abcdef";
const NEW_PASSWORD: &str = "copper-meadow-signal-77";

async fn start(kind: Kind) -> Option<(Env, Api)> {
    let mut config = Config {
        admin_token: Some(ADMIN_TOKEN.to_owned().try_into().unwrap()),
        ..Config::default()
    };
    config.accounts.lockout_threshold = 3;
    config.accounts.failure_delay_ms = 0;
    let env = Env::start_with(kind, config).await?;
    let admin = Api::with_bearer(&env.server.base, ADMIN_TOKEN);
    Some((env, admin))
}

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn audit_actions(admin: &Api, user: &str) -> Vec<(String, String)> {
    let r = admin.get(&format!("/admin/audit?user_id={user}&limit=100")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn create(admin: &Api, email: &str, verified: bool) -> String {
    let r = admin
        .post(
            "/admin/users",
            json!({ "email": email, "password": PASSWORD, "verified": verified }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_owned()
}

async fn accounts_are_created_listed_updated_and_erased(kind: Kind) {
    let Some((env, admin)) = start(kind).await else { return };
    let ann = create(&admin, "Ann@Example.com", true).await;
    create(&admin, "anna@example.com", false).await;
    let bob = create(&admin, "bob@example.com", true).await;

    let shown = admin.get(&format!("/admin/users/{ann}")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["email"], "Ann@Example.com");
    assert_eq!(shown.json["email_verified"], true);
    assert_eq!(shown.json["active"], true);
    assert_eq!(shown.json["locked"], false);
    assert!(!shown.text.contains("argon2"), "no password hash in the answer");

    let taken = admin
        .post("/admin/users", json!({ "email": "ANN@example.com", "verified": true }))
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    let weak = admin
        .post(
            "/admin/users",
            json!({ "email": "carl@example.com", "password": "password" }),
        )
        .await;
    assert_eq!(weak.status, 400, "{}", weak.text);

    // The created password works at once for a verified account.
    assert_eq!(env.client().login("ann@example.com", PASSWORD).await.status, 200);

    let all = admin.get("/admin/users").await;
    assert_eq!(
        emails(&all.json),
        ["Ann@Example.com", "anna@example.com", "bob@example.com"]
    );
    let search = admin.get("/admin/users?email=ANN").await;
    assert_eq!(emails(&search.json), ["Ann@Example.com", "anna@example.com"]);
    let unverified = admin.get("/admin/users?verified=false").await;
    assert_eq!(emails(&unverified.json), ["anna@example.com"]);
    let first = admin.get("/admin/users?limit=2").await;
    assert_eq!(emails(&first.json).len(), 2);
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    let second = admin.get(&format!("/admin/users?limit=2&cursor={cursor}")).await;
    assert_eq!(emails(&second.json), ["bob@example.com"]);
    assert_eq!(second.json["next_cursor"], Value::Null);
    assert_eq!(admin.get("/admin/users?cursor=nonsense").await.status, 400);
    assert_eq!(admin.get("/admin/audit?cursor=nonsense").await.status, 400, "not a 500");

    // A new address starts unverified unless the admin vouches for it.
    let moved = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/users/{bob}"),
            Some(json!({ "email": "robert@example.com" })),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json["email"], "robert@example.com");
    assert_eq!(moved.json["email_verified"], false);
    let clash = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/users/{bob}"),
            Some(json!({ "email": "anna@example.com" })),
        )
        .await;
    assert_eq!(clash.status, 409, "{}", clash.text);

    // Deactivation ends the session and refuses logins; reactivation allows them.
    let session = env.client();
    assert_eq!(session.login("ann@example.com", PASSWORD).await.status, 200);
    let off = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/users/{ann}"),
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(off.json["active"], false, "{}", off.text);
    assert_eq!(session.get("/api/auth/me").await.status, 401);
    assert_eq!(env.client().login("ann@example.com", PASSWORD).await.status, 403);
    assert_eq!(
        emails(&admin.get("/admin/users?active=false").await.json),
        ["Ann@Example.com"]
    );
    let on = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/users/{ann}"),
            Some(json!({ "active": true })),
        )
        .await;
    assert_eq!(on.json["active"], true);
    assert_eq!(env.client().login("ann@example.com", PASSWORD).await.status, 200);

    // Erasure: gone from the API and the listing; the address can be registered again.
    assert_eq!(admin.delete(&format!("/admin/users/{ann}")).await.status, 204);
    assert_eq!(admin.get(&format!("/admin/users/{ann}")).await.status, 404);
    assert!(!emails(&admin.get("/admin/users").await.json).contains(&"Ann@Example.com".to_owned()));
    assert_eq!(env.client().login("ann@example.com", PASSWORD).await.status, 401);

    let actions = audit_actions(&admin, &bob).await;
    assert!(
        actions.contains(&("account_updated".into(), "admin".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("user_registered".into(), "admin".into())),
        "{actions:?}"
    );
    let actions = audit_actions(&admin, &ann).await;
    for action in ["account_deactivated", "account_activated", "account_erased"] {
        assert!(
            actions.contains(&(action.into(), "admin".into())),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(admin.get("/admin/users/not-a-uuid").await.status, 404);
}

async fn password_lock_sessions_tokens_and_totp_are_administered(kind: Kind) {
    let Some((env, admin)) = start(kind).await else { return };
    let owner = env.logged_in("dee@example.com").await;
    let me = owner.get("/api/auth/me").await;
    let id = me.json["id"].as_str().unwrap().to_owned();

    let sessions = admin.get(&format!("/admin/users/{id}/sessions")).await;
    assert_eq!(sessions.json["items"].as_array().unwrap().len(), 1, "{}", sessions.text);
    let session_id = sessions.json["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        admin
            .delete(&format!("/admin/users/{id}/sessions/{session_id}"))
            .await
            .status,
        204
    );
    assert_eq!(owner.get("/api/auth/me").await.status, 401, "the ended session is gone");
    assert_eq!(
        admin
            .delete(&format!("/admin/users/{id}/sessions/{session_id}"))
            .await
            .status,
        404
    );

    // End all sessions.
    let a = env.client();
    let b = env.client();
    assert_eq!(a.login("dee@example.com", PASSWORD).await.status, 200);
    assert_eq!(b.login("dee@example.com", PASSWORD).await.status, 200);
    let ended = admin.delete(&format!("/admin/users/{id}/sessions")).await;
    assert_eq!(ended.json["ended_sessions"], 2, "{}", ended.text);
    assert_eq!(a.get("/api/auth/me").await.status, 401);
    assert_eq!(b.get("/api/auth/me").await.status, 401);

    // Setting the password ends sessions; the old password stops working.
    let c = env.client();
    assert_eq!(c.login("dee@example.com", PASSWORD).await.status, 200);
    let set = admin
        .post(
            &format!("/admin/users/{id}/password"),
            json!({ "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.text);
    assert_eq!(c.get("/api/auth/me").await.status, 401);
    assert_eq!(env.client().login("dee@example.com", PASSWORD).await.status, 401);
    assert_eq!(env.client().login("dee@example.com", NEW_PASSWORD).await.status, 200);
    let weak = admin
        .post(
            &format!("/admin/users/{id}/password"),
            json!({ "password": "12345678" }),
        )
        .await;
    assert_eq!(weak.status, 400, "{}", weak.text);

    // Lock the account with failures; the admin sees it and ends it.
    for _ in 0..3 {
        env.client().login("dee@example.com", "wrong-password-x").await;
    }
    assert_eq!(env.client().login("dee@example.com", NEW_PASSWORD).await.status, 429);
    let shown = admin.get(&format!("/admin/users/{id}")).await;
    assert_eq!(shown.json["locked"], true, "{}", shown.text);
    assert!(shown.json["locked_until"].is_string());
    assert_eq!(
        admin.post(&format!("/admin/users/{id}/unlock"), json!({})).await.status,
        204
    );
    assert_eq!(admin.get(&format!("/admin/users/{id}")).await.json["locked"], false);
    let d = env.client();
    assert_eq!(d.login("dee@example.com", NEW_PASSWORD).await.status, 200);

    // TOTP reset: the user lost the device; the next login needs the password only.
    let setup = d.post("/api/auth/totp/setup", json!({})).await;
    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, env.clock.now());
    assert_eq!(
        d.post("/api/auth/totp/enable", json!({ "code": code })).await.status,
        200
    );
    assert_eq!(env.client().login("dee@example.com", NEW_PASSWORD).await.status, 401);
    assert_eq!(
        admin.get(&format!("/admin/users/{id}")).await.json["totp_enabled"],
        true
    );
    let reset = admin.post(&format!("/admin/users/{id}/totp/reset"), json!({})).await;
    assert_eq!(reset.json["totp_removed"], true, "{}", reset.text);
    assert_eq!(env.client().login("dee@example.com", NEW_PASSWORD).await.status, 200);
    let again = admin.post(&format!("/admin/users/{id}/totp/reset"), json!({})).await;
    assert_eq!(again.json["totp_removed"], false);

    let revoked = admin.post(&format!("/admin/users/{id}/tokens/revoke"), json!({})).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.json["revoked_families"].is_u64());

    let actions = audit_actions(&admin, &id).await;
    for action in [
        "session_revoked",
        "password_reset",
        "account_unlocked",
        "totp_disabled",
        "token_revoked",
    ] {
        assert!(
            actions.contains(&(action.into(), "admin".into())),
            "{action} in {actions:?}"
        );
    }
}

async fn roles_are_granted_and_revoked(kind: Kind) {
    let Some((_env, admin)) = start(kind).await else { return };
    let id = create(&admin, "root@example.com", true).await;
    let granted = admin
        .post(&format!("/admin/users/{id}/roles"), json!({ "role": "admin" }))
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.json["roles"], json!(["admin"]));
    let bad = admin
        .post(&format!("/admin/users/{id}/roles"), json!({ "role": "Root Admin" }))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let revoked = admin.delete(&format!("/admin/users/{id}/roles/admin")).await;
    assert_eq!(revoked.json["roles"], json!([]), "{}", revoked.text);
    let actions = audit_actions(&admin, &id).await;
    assert!(
        actions.contains(&("role_granted".into(), "admin".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("role_revoked".into(), "admin".into())),
        "{actions:?}"
    );
}

async fn a_token_without_the_admin_scope_gets_403_everywhere(kind: Kind) {
    let Some((env, admin)) = start(kind).await else { return };
    let owner = env.logged_in("eve@example.com").await;
    let id = owner.get("/api/auth/me").await.json["id"].as_str().unwrap().to_owned();
    let pat = owner
        .post("/api/auth/tokens", json!({ "name": "cli", "scopes": ["account:read"] }))
        .await;
    assert_eq!(pat.status, 201, "{}", pat.text);
    let token = pat.json["token"].as_str().unwrap();
    let stranger = Api::with_bearer(&env.server.base, token);
    let user = format!("/admin/users/{id}");
    let calls: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::GET, "/admin/users".into()),
        (reqwest::Method::POST, "/admin/users".into()),
        (reqwest::Method::GET, user.clone()),
        (reqwest::Method::PATCH, user.clone()),
        (reqwest::Method::DELETE, user.clone()),
        (reqwest::Method::POST, format!("{user}/password")),
        (reqwest::Method::POST, format!("{user}/unlock")),
        (reqwest::Method::GET, format!("{user}/sessions")),
        (reqwest::Method::DELETE, format!("{user}/sessions")),
        (reqwest::Method::POST, format!("{user}/tokens/revoke")),
        (reqwest::Method::POST, format!("{user}/totp/reset")),
        (reqwest::Method::POST, format!("{user}/roles")),
        (reqwest::Method::DELETE, format!("{user}/roles/admin")),
        (reqwest::Method::GET, "/admin/clients".into()),
        (reqwest::Method::GET, "/admin/stats".into()),
        (reqwest::Method::GET, "/admin/audit".into()),
        (reqwest::Method::POST, "/admin/keys/rotate".into()),
    ];
    for (method, path) in &calls {
        let r = stranger
            .send(method.clone(), path, Some(json!({ "role": "admin" })))
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        let anonymous = env.client().send(method.clone(), path, Some(json!({}))).await;
        assert_eq!(anonymous.status, 401, "{method} {path}: {}", anonymous.text);
    }
    // Nothing changed.
    let shown = admin.get(&user).await;
    assert_eq!(shown.json["roles"], json!([]), "{}", shown.text);
    assert_eq!(shown.json["active"], true);
}
