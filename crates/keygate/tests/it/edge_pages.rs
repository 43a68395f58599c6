//! The HTML pages' form posts on memory, SQLite and PostgreSQL: a field holding a control
//! character is refused with 400 before a handler or a store sees it; passwords are exempt (they
//! are only ever hashed).

use crate::common;

use common::accounts::Kind;
use common::pages::PagesEnv;
use reqwest::StatusCode;

/// A form page to take the CSRF token from, where to post, and the fields.
type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

backend_tests!(
    page_forms_with_control_characters_are_refused_with_400,
    a_control_character_in_a_password_is_not_refused_by_the_form_rule,
);

async fn page_forms_with_control_characters_are_refused_with_400(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let browser = env.browser();
    let cases: [Case; 4] = [
        (
            "/forgot-password",
            "/forgot-password",
            &[("email", "ann\0@example.com")],
        ),
        ("/login", "/consent", &[("action", "allow"), ("consent_id", "\0")]),
        ("/login", "/login", &[("email", "ann@example.com\n"), ("password", "x")]),
        (
            "/login",
            "/login",
            &[("email", "ann@example.com"), ("password", "x"), ("return_to", "/\0")],
        ),
    ];
    for (form, target, fields) in cases {
        let page = browser.fill(form, target, fields).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{target} {fields:?}: {}",
            page.html
        );
        assert!(page.html.contains("control character"), "{}", page.html);
    }
}

async fn a_control_character_in_a_password_is_not_refused_by_the_form_rule(kind: Kind) {
    let Some(env) = PagesEnv::start(kind).await else { return };
    let page = env
        .browser()
        .fill(
            "/login",
            "/login",
            &[("email", "ann@example.com"), ("password", "pass\0word")],
        )
        .await;
    assert!(!page.html.contains("control character"), "{}", page.html);
    assert!(
        page.status.is_success() || page.status.is_client_error(),
        "{}",
        page.status
    );
}
