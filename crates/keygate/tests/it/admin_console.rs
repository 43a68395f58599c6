//! The admin console through its pages on every backend: only accounts holding the admin role get
//! in (anonymous visitors are sent to sign in, others get 403 on every page and form), every form
//! refuses a post without its CSRF token, users are searched, viewed and acted on, clients are
//! registered with the secret shown once, edited, rotated and deleted, keys rotate, and the audit
//! log names the admin.

use crate::common;

use common::accounts::{Kind, PASSWORD};
use common::pages::{Browser, Page, PagesEnv};
use keygate_core::accounts::{NewUser, Operator};
use keygate_core::model::{Role, User};
use reqwest::StatusCode;
use zeroize::Zeroizing;

backend_tests!(
    only_admins_get_in_and_every_form_needs_its_csrf_token,
    users_are_searched_viewed_and_acted_on,
    clients_and_keys_are_managed_with_the_secret_shown_once,
);

const ADMIN: &str = "root@example.com";
const USER: &str = "pat@example.com";

async fn account(env: &PagesEnv, email: &str, admin: bool) -> User {
    let service = &env.server.state.accounts.service;
    let by = Operator::new("test", Default::default());
    let new = NewUser {
        email: email.to_owned(),
        password: Some(Zeroizing::new(PASSWORD.to_owned())),
        verified: true,
    };
    let user = service.create_user(new, &by).await.unwrap();
    if admin {
        service.set_role(&user, Role::admin(), true, &by).await.unwrap();
    }
    service.user_by_id(user.id).await.unwrap()
}

async fn signed_in(env: &PagesEnv, email: &str) -> Browser {
    let browser = env.browser();
    let page = browser
        .fill("/login", "/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    browser
}

fn see_other(page: &Page) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    page.location()
}

async fn only_admins_get_in_and_every_form_needs_its_csrf_token(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let admin = account(&env, ADMIN, true).await;
    let user = account(&env, USER, false).await;
    let pages = [
        "/admin".to_owned(),
        "/admin/console/users".to_owned(),
        format!("/admin/console/users/{}", user.id),
        "/admin/console/clients".to_owned(),
        "/admin/console/keys".to_owned(),
        "/admin/console/audit".to_owned(),
    ];
    let forms = [
        format!("/admin/console/users/{}/action", user.id),
        "/admin/console/clients".to_owned(),
        "/admin/console/keys/rotate".to_owned(),
    ];

    let anonymous = env.browser();
    let page = anonymous.get("/admin/console/users?email=a").await;
    assert_eq!(
        see_other(&page),
        "/login?return_to=%2Fadmin%2Fconsole%2Fusers%3Femail%3Da"
    );

    let member = signed_in(&env, USER).await;
    let account_page = member.get("/account").await;
    for path in &pages {
        let page = member.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.html);
        assert!(page.html.contains("for administrators"), "{path}");
    }
    for path in &forms {
        let page = member
            .submit(&account_page, path, &[("action", "grant_admin"), ("immediately", "on")])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.html);
    }
    let still = env.server.state.accounts.service.user_by_id(user.id).await.unwrap();
    assert!(!still.roles.is_admin(), "a refused form changed nothing");

    let root = signed_in(&env, ADMIN).await;
    for path in &pages {
        let page = root.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert!(page.html.contains("Signed in as root@example.com (admin)"), "{path}");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert!(page.headers.contains_key("content-security-policy"), "{path}");
    }
    for path in &forms {
        let page = root.post_raw(path, &[("action", "grant_admin")]).await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{path} without a token: {}",
            page.html
        );
        let page = root
            .post_raw(path, &[("csrf_token", "kgf_forged"), ("action", "grant_admin")])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with a forged token");
    }
    let still = env.server.state.accounts.service.user_by_id(user.id).await.unwrap();
    assert!(!still.roles.is_admin());
    assert_ne!(admin.id, user.id);
}

async fn users_are_searched_viewed_and_acted_on(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let admin = account(&env, ADMIN, true).await;
    let user = account(&env, USER, false).await;
    account(&env, "paula@example.com", false).await;
    let root = signed_in(&env, ADMIN).await;

    let found = root.get("/admin/console/users?email=PAT").await;
    assert!(found.html.contains(USER), "{}", found.html);
    assert!(!found.html.contains("paula@example.com"), "prefix search");
    let all = root.get("/admin/console/users?active=yes").await;
    assert!(all.html.contains("paula@example.com") && all.html.contains(ADMIN));

    let path = format!("/admin/console/users/{}", user.id);
    let act = format!("{path}/action");
    let view = root.get(&path).await;
    assert_eq!(view.text_of("account-state").as_deref(), Some("active"));

    // Deactivate: the member's session ends at once.
    let member = signed_in(&env, USER).await;
    assert_eq!(member.get("/account").await.status, StatusCode::OK);
    let done = root.submit(&view, &act, &[("action", "deactivate")]).await;
    assert_eq!(see_other(&done), format!("{path}?notice=deactivated"));
    assert_ne!(member.get("/account").await.status, StatusCode::OK);
    let view = root.get(&format!("{path}?notice=deactivated")).await;
    assert_eq!(view.text_of("account-state").as_deref(), Some("deactivated"));
    assert!(view.html.contains("The account is deactivated"));
    root.submit(&view, &act, &[("action", "activate")]).await;

    // A locked account is unlocked.
    for _ in 0..10 {
        env.browser()
            .fill("/login", "/login", &[("email", USER), ("password", "wrong-password-1")])
            .await;
    }
    let view = root.get(&path).await;
    assert!(
        view.text_of("account-lock").unwrap().starts_with("locked until"),
        "{}",
        view.html
    );
    root.submit(&view, &act, &[("action", "unlock")]).await;
    assert_eq!(
        root.get(&path).await.text_of("account-lock").as_deref(),
        Some("not locked")
    );
    let member = signed_in(&env, USER).await;

    // End all sessions; grant the role.
    let view = root.get(&path).await;
    assert!(
        view.html.contains("name=\"session_id\""),
        "the member's session is listed"
    );
    root.submit(&view, &act, &[("action", "end_sessions")]).await;
    assert_ne!(member.get("/account").await.status, StatusCode::OK);
    root.submit(&view, &act, &[("action", "grant_admin")]).await;
    assert_eq!(root.get(&path).await.text_of("account-roles").as_deref(), Some("admin"));

    // An admin cannot lock themselves out from the console.
    let own = format!("/admin/console/users/{}", admin.id);
    let mine = root.get(&own).await;
    let done = root
        .submit(&mine, &format!("{own}/action"), &[("action", "deactivate")])
        .await;
    assert_eq!(see_other(&done), format!("{own}?notice=not-yourself"));
    let me = env.server.state.accounts.service.user_by_id(admin.id).await.unwrap();
    assert!(me.is_active());

    let audit = root.get(&format!("/admin/console/audit?user_id={}", user.id)).await;
    let actor = format!("user:{}", admin.id);
    for action in [
        "account_deactivated",
        "account_activated",
        "account_unlocked",
        "session_revoked",
        "role_granted",
    ] {
        assert!(
            audit.html.contains(&format!("<td>{action}</td>")),
            "{action} in the audit page"
        );
    }
    assert!(audit.html.contains(&actor), "the admin is the actor");
    let garbage = root.get("/admin/console/audit?cursor=nonsense").await;
    assert_eq!(garbage.status, StatusCode::OK, "a foreign cursor shows the first page");
    let bad = root.get("/admin/console/audit?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("Use YYYY-MM-DD."));
}

async fn clients_and_keys_are_managed_with_the_secret_shown_once(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    account(&env, ADMIN, true).await;
    let root = signed_in(&env, ADMIN).await;
    let list = root.get("/admin/console/clients").await;
    let created = root
        .submit(
            &list,
            "/admin/console/clients",
            &[
                ("client_name", "Billing <service>"),
                ("redirect_uris", "https://billing.example/cb\n"),
                ("grant_types", "authorization_code"),
                ("grant_types", "client_credentials"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("scope", "openid email"),
                ("access_token_format", "opaque"),
                ("id_token_signed_response_alg", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.html);
    assert!(created.html.contains("Billing &lt;service&gt;"), "escaped");
    let id = created.text_of("client-id").unwrap();
    let secret = created.text_of("client-secret").expect("the secret is shown once");
    assert_eq!(created.headers["cache-control"], "no-store");
    let token = |secret: String| {
        let base = env.server.base.clone();
        let id = id.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/oauth2/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(token(secret.clone()).await, StatusCode::OK);

    let path = format!("/admin/console/clients/{id}");
    let shown = root.get(&path).await;
    assert!(shown.text_of("client-secret").is_none(), "shown once only");
    let listed = root.get("/admin/console/clients").await;
    assert!(listed.html.contains(&id));

    let refused = root
        .submit(
            &shown,
            &path,
            &[
                ("client_name", "Billing"),
                ("redirect_uris", "http://evil.example/cb"),
                ("grant_types", "authorization_code"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("scope", "openid"),
                ("access_token_format", "jwt"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(refused.html.contains("class=\"alert\""), "the reason is shown");
    let saved = root
        .submit(
            &shown,
            &path,
            &[
                ("client_name", "Billing v2"),
                ("redirect_uris", "https://billing.example/cb"),
                ("grant_types", "authorization_code"),
                ("grant_types", "client_credentials"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("scope", "openid email"),
                ("access_token_format", "opaque"),
                ("first_party", "on"),
            ],
        )
        .await;
    assert_eq!(see_other(&saved), format!("{path}?notice=client-saved"));
    let shown = root.get(&format!("{path}?notice=client-saved")).await;
    assert!(shown.html.contains("Billing v2") && shown.html.contains("The client is saved."));

    let rotated = root.submit(&shown, &format!("{path}/secret"), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.html);
    let new_secret = rotated.text_of("client-secret").unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(token(new_secret).await, StatusCode::OK);
    assert_eq!(token(secret).await, StatusCode::UNAUTHORIZED);

    let gone = root.submit(&rotated, &format!("{path}/delete"), &[]).await;
    assert_eq!(see_other(&gone), "/admin/console/clients?notice=client-deleted");
    assert_eq!(root.get(&path).await.status, StatusCode::NOT_FOUND);

    let keys = root.get("/admin/console/keys").await;
    let before = env.server.state.oauth.keys.list().await.unwrap();
    let done = root
        .submit(&keys, "/admin/console/keys/rotate", &[("immediately", "on")])
        .await;
    assert_eq!(see_other(&done), "/admin/console/keys?notice=keys-rotated");
    let after = env.server.state.oauth.keys.list().await.unwrap();
    assert!(after.len() > before.len(), "rotation added keys");
    let page = root.get("/admin/console/keys").await;
    for key in &after {
        assert!(page.html.contains(&key.kid.0), "every kid is listed");
    }
    let audit = root.get("/admin/console/audit?action=key_rotated").await;
    assert!(audit.html.contains("<td>key_rotated</td>"), "{}", audit.html);
    assert!(!audit.html.contains("<td>client_created</td>"), "filtered by action");
    let unfiltered = root.get("/admin/console/audit").await;
    assert!(unfiltered.html.contains("<td>client_created</td>"));
}
