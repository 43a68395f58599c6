//! HTML pages: every page answers with the security headers and a CSRF field, every form post
//! without the right token is refused with 403, and the pages render errors next to the field.

use crate::common;

use common::accounts::{Kind, PASSWORD};
use common::pages::PagesEnv;
use reqwest::StatusCode;

backend_tests!(
    every_page_answers_200_with_the_security_headers_and_a_csrf_field,
    a_form_post_without_the_csrf_token_or_with_a_wrong_one_is_refused_with_403,
    a_cross_site_form_post_is_refused_even_with_the_token,
    login_errors_show_next_to_the_form_and_keep_the_email,
    registration_errors_show_next_to_their_field,
    the_account_page_sends_anonymous_visitors_to_login_and_back,
);

const PAGES: &[&str] = &[
    "/login",
    "/login?return_to=%2Foauth2%2Fauthorize%3Fclient_id%3Dx",
    "/register",
    "/forgot-password",
    "/reset-password?token=kgx_from_the_link",
    "/verify-email",
];

const FORM_POSTS: &[&str] = &[
    "/login",
    "/login/totp",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/verify-email/resend",
    "/logout",
    "/account/sessions/end",
    "/account/tokens",
    "/account/tokens/revoke",
    "/account/totp/setup",
    "/account/totp/enable",
    "/account/totp/disable",
];

async fn every_page_answers_200_with_the_security_headers_and_a_csrf_field(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    for path in PAGES {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        let header = |name: &str| page.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            header("content-type").as_deref(),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        let csp = header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{path}");
        assert!(page.csrf().starts_with("kgf_"), "{path}");
        assert!(!page.html.contains("<script"), "{path}: no JavaScript needed");
    }
    // Signed out, /logout has nothing to do (the flow test signs out through its form).
    let logout = browser.get("/logout").await;
    assert_eq!(logout.status, StatusCode::OK);
    assert!(logout.html.contains("You are signed out."), "{}", logout.html);
    // The token in the forms is the one the cookie holds, so it stays stable across pages.
    let first = browser.get("/login").await.csrf();
    assert_eq!(browser.get("/register").await.csrf(), first);

    let css = browser.get("/static/keygate.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(css.html.contains("@media"), "readable on a phone");
}

async fn a_form_post_without_the_csrf_token_or_with_a_wrong_one_is_refused_with_403(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    // No cookie and no token at all.
    let stranger = env.browser();
    for path in FORM_POSTS {
        let page = stranger.post_raw(path, &[("email", "ann@example.com")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.html);
        assert!(page.html.contains("This form has expired"), "{path}");
        assert_eq!(page.headers["x-frame-options"], "DENY");
    }
    // A cookie, but the field is missing, wrong, or someone else's token.
    let browser = env.browser();
    let login = browser.get("/login").await;
    let someone_else = env.browser().get("/login").await.csrf();
    // The real token with its last character changed (to one it does not already end with).
    let real = login.csrf();
    let last = if real.ends_with('x') { "y" } else { "x" };
    let forged = format!("{}{last}", &real[..real.len() - 1]);
    for path in FORM_POSTS {
        for fields in [
            vec![("email", "ann@example.com")],
            vec![("csrf_token", someone_else.as_str())],
            vec![("csrf_token", forged.as_str())],
            vec![("csrf_token", "")],
        ] {
            let page = browser.post_raw(path, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} {fields:?}: {}", page.html);
        }
    }
    // The right token passes the check (and the login form answers about the credentials).
    let page = browser
        .submit(
            &login,
            "/login",
            &[("email", "ann@example.com"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
}

async fn a_cross_site_form_post_is_refused_even_with_the_token(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    let login = browser.get("/login").await;
    let csrf = login.csrf();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("email", "a@example.com"),
        ("password", "x"),
    ];
    for (name, value) in [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")] {
        let response = browser
            .client
            .post(format!("{}/login", env.server.base))
            .header(name, value)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // What a browser sends for a same-origin form under `Referrer-Policy: no-referrer`.
    let response = browser
        .client
        .post(format!("{}/login", env.server.base))
        .header("sec-fetch-site", "same-origin")
        .header("origin", "null")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn login_errors_show_next_to_the_form_and_keep_the_email(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    let page = browser
        .fill(
            "/login",
            "/login",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("The email or password is wrong."), "{}", page.html);
    assert_eq!(page.input("email").as_deref(), Some("nobody@example.com"));
    assert_eq!(page.input("password"), None, "a password is never sent back");
    assert!(page.csrf().starts_with("kgf_"), "the form can be sent again");

    let page = browser
        .fill("/login", "/login", &[("email", "not-an-email"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains(r#"aria-describedby="email-error""#), "{}", page.html);
    assert!(
        page.html.contains(r#"<p class="error" id="email-error">"#),
        "{}",
        page.html
    );
}

async fn registration_errors_show_next_to_their_field(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    let cases: [(&str, &str, &str, &str); 3] = [
        ("ann@example.com", "short", "short", "password-error"),
        ("ann@example.com", "password", "password", "password-error"),
        (
            "ann@example.com",
            PASSWORD,
            "something else entirely",
            "password_confirmation-error",
        ),
    ];
    for (email, password, confirmation, error_id) in cases {
        let page = browser
            .fill(
                "/register",
                "/register",
                &[
                    ("email", email),
                    ("password", password),
                    ("password_confirmation", confirmation),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{password}");
        assert!(
            page.html.contains(&format!("id=\"{error_id}\"")),
            "{password}: {}",
            page.html
        );
        assert_eq!(page.input("email").as_deref(), Some(email));
    }
    assert!(
        common::mail::read_all(&env.outbox()).is_empty(),
        "nothing was registered"
    );
}

async fn the_account_page_sends_anonymous_visitors_to_login_and_back(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?return_to=%2Faccount");
    let login = browser.get(&page.location()).await;
    assert_eq!(login.input("return_to").as_deref(), Some("/account"));
    // An open redirect is not possible: a foreign return_to is dropped.
    let login = browser.get("/login?return_to=%2F%2Fevil.example%2Fx").await;
    assert_eq!(login.input("return_to"), None);
    let totp = browser.get("/login/totp").await;
    assert_eq!(totp.status, StatusCode::SEE_OTHER, "no pending login: start again");
    assert_eq!(totp.location(), "/login?notice=start-again");
}
