//! Every template renders (minijinja only finds mistakes at render time), escapes what it shows,
//! and every form carries the CSRF field.

use minijinja::{Value, context};

use super::templates::{EMBEDDED, Templates};

const CSRF: &str = "kgf_test_token";

/// The fields every page gets, with hostile text where users can put text.
fn base(full: bool) -> Value {
    let hostile = "<script>alert(1)</script>";
    if full {
        context! {
            site_name => "Keygate", csrf_token => CSRF, signed_in => true,
            notice => "Saved.", form_error => "Something is wrong.",
            values => context! { email => hostile, token => "kgv_x", name => hostile, expires_in_days => "90" },
            errors => context! {
                email => "The email address is not valid.", password => "Too short.",
                password_confirmation => "No match.", code => "Wrong code.", token => "Expired.",
                totp_code => "Wrong code.", totp_password => "Wrong password.", token_name => "Empty.",
                token_scopes => "Pick one.", token_expiry => "Pick one.",
            },
        }
    } else {
        context! { site_name => "Keygate", csrf_token => CSRF, signed_in => false, values => context! {}, errors => context! {} }
    }
}

/// What each page adds to the base, fully populated.
fn page_fields(name: &str, full: bool) -> Value {
    let hostile = "<script>alert(1)</script>";
    match name {
        "login.html" | "login_totp.html" => context! { return_to => full.then_some("/oauth2/authorize?a=1&b=2") },
        "register.html" => context! { return_to => full.then_some("/x"), password_min => 8 },
        "reset_password.html" => context! { token => full.then_some("kgx_abc"), password_min => 8 },
        "verify_email.html" => context! { verified => full },
        "error.html" => context! { title => hostile, message => hostile },
        "consent.html" => context! {
            client_name => hostile,
            scopes => if full { vec![context! { name => "openid", description => "Confirm who you are" }, context! { name => "custom:x" }] } else { vec![] },
            hidden => vec![context! { name => "request", value => hostile }],
            user_email => full.then_some("ann@example.com"),
            client_uri => full.then_some("https://app.example"),
        },
        "account.html" => context! {
            email => hostile,
            sessions => vec![context! { id => "s1", current => true, ip => "127.0.0.1", user_agent => hostile, created => "2026-01-01 10:00 UTC", last_seen => "2026-01-01 10:00 UTC" },
                             context! { id => "s2", current => false, created => "x", last_seen => "y" }],
            tokens => if full { vec![context! { id => "t1", name => hostile, prefix => "kgp_AbC1dEf2", scopes => "account:read", last_used => "z" }] } else { vec![] },
            totp_enabled => false,
            totp_setup => full.then(|| context! { secret => "JBSWY3DPEHPK3PXP", otpauth_uri => "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP" }),
            new_token => full.then(|| context! { name => hostile, token => "kgp_new" }),
            recovery_codes => full.then(|| vec!["aaaa-bbbb"; 10]),
            token_scopes => vec![context! { name => "account:read", description => "Read", checked => true }],
            expiry_options => vec![context! { value => "90", label => "90 days" }],
        },
        name if name.starts_with("admin_") => admin_fields(name, full),
        _ => context! {},
    }
}

/// The admin console's pages, with hostile text wherever an account or client can put some.
fn admin_fields(name: &str, full: bool) -> Value {
    let hostile = "<script>alert(1)</script>";
    let frame = context! { admin_email => hostile, tab => "users" };
    let client_form = context! {
        client_name => hostile, redirect_uris => hostile, post_logout_redirect_uris => "",
        grant_types => vec!["authorization_code"], token_endpoint_auth_method => "none",
        scope => hostile, first_party => full, access_token_format => "jwt", id_token_signed_response_alg => "",
    };
    let choices = context! {
        grant_types => vec!["authorization_code", "refresh_token", "client_credentials"],
        auth_methods => vec!["client_secret_basic", "none"], formats => vec!["jwt", "opaque"], algs => vec!["RS256"],
    };
    let page = match name {
        "admin_home.html" => context! {
            figures => vec![context! { label => "Accounts", value => 3 }],
            rows => if full { vec![context! { table => "users", count => 3 }] } else { vec![] },
            database_bytes => full.then_some("1.5 KiB"), audit_events_dropped => 0,
        },
        "admin_users.html" => context! {
            users => if full { vec![context! { id => "u1", email => hostile, verified => true, active => false, admin => true, created => "x" }] } else { vec![] },
            next => full.then_some("/admin/console/users?cursor=u1"),
            search => context! { email => hostile, verified => "yes", active => "" },
        },
        "admin_user.html" => context! {
            user => context! {
                id => "u1", email => hostile, verified => full, active => full, admin => full, roles => hostile,
                has_password => true, created => "x", updated => "y",
                locked_until => full.then_some("2026-01-01 10:00 UTC"), totp_enabled => full,
            },
            is_self => false,
            sessions => if full { vec![context! { id => "s1", ip => "10.0.0.1", user_agent => hostile, created => "x", last_seen => "y" }] } else { vec![] },
        },
        "admin_clients.html" => context! {
            clients => if full { vec![context! { id => "c1", name => hostile, kind => "public", grant_types => "x", first_party => true, updated => "y" }] } else { vec![] },
            next => None::<String>, client_form, choices,
        },
        "admin_client.html" => context! {
            client => context! { id => "c1", name => hostile, public => !full, created => "x", updated => "y" },
            client_form, choices, secret => full.then_some("kgs_secret"),
        },
        "admin_keys.html" => context! {
            keys => vec![context! { kid => hostile, alg => "ES256", state => "active", created => "x", activated => "y" }],
        },
        "admin_audit.html" => context! {
            events => if full { vec![context! { at => "x", action => "login_failed", actor => hostile, user_id => "u1", outcome => "failure", details => hostile }] } else { vec![] },
            next => full.then_some("/admin/console/audit?cursor=a"),
            actions => vec!["login_failed"],
            search => context! { user_id => hostile, client_id => "", action => "login_failed", from => "", until => "" },
        },
        _ => context! {},
    };
    context! { ..page, ..frame }
}

fn pages() -> impl Iterator<Item = &'static str> {
    EMBEDDED
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !["base.html", "macros.html", "admin_base.html", "admin_macros.html"].contains(name))
}

#[test]
fn every_template_renders_with_full_and_minimal_data() {
    let templates = Templates::new(None);
    for full in [true, false] {
        for name in pages() {
            let context = context! { ..page_fields(name, full), ..base(full) };
            let html = templates
                .render(name, context)
                .unwrap_or_else(|err| panic!("{name} (full: {full}): {:#}", err.source));
            assert!(html.starts_with("<!doctype html>"), "{name}");
            assert!(
                html.contains(r#"<link rel="stylesheet" href="/static/keygate.css">"#),
                "{name}"
            );
            assert!(!html.contains("<script"), "{name} shows unescaped text: {html}");
            assert!(!html.contains("style="), "{name}: inline styles break the CSP");
            if html.contains("<form") {
                // A GET form (a search) changes nothing and carries no token.
                let forms = html.matches("<form").count() - html.matches(r#"<form method="get""#).count();
                let tokens = html
                    .matches(&format!(r#"<input type="hidden" name="csrf_token" value="{CSRF}">"#))
                    .count();
                assert_eq!(forms, tokens, "{name}: every form needs its csrf_token");
            }
        }
    }
}

#[test]
fn the_account_page_shows_the_totp_setup_and_once_only_secrets() {
    let templates = Templates::new(None);
    let html = templates
        .render(
            "account.html",
            context! { ..page_fields("account.html", true), ..base(true) },
        )
        .unwrap();
    assert!(
        html.contains(r#"<code id="totp-secret">JBSWY3DPEHPK3PXP</code>"#),
        "{html}"
    );
    assert!(html.contains(r#"<code id="new-token">kgp_new</code>"#), "{html}");
    assert_eq!(html.matches("aaaa-bbbb").count(), 10);
    assert!(html.contains(r#"name="session_id" value="s2""#), "{html}");
}

#[test]
fn the_consent_page_has_allow_and_deny_and_sends_the_hidden_fields_back() {
    let templates = Templates::new(None);
    let html = templates
        .render(
            "consent.html",
            context! { ..page_fields("consent.html", true), ..base(false) },
        )
        .unwrap();
    assert!(
        html.contains(r#"<button type="submit" name="action" value="allow">"#),
        "{html}"
    );
    assert!(html.contains(r#"name="action" value="deny""#), "{html}");
    assert!(
        html.contains(r#"<input type="hidden" name="request" value="&lt;script&gt;"#),
        "{html}"
    );
    assert!(html.contains(r#"action="&#x2f;consent""#), "{html}");
}

#[test]
fn an_operator_folder_overrides_one_template_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("error.html"),
        "{% extends \"base.html\" %}{% block content %}<h1>Acme: {{ title }}</h1>{% endblock %}",
    )
    .unwrap();
    let templates = Templates::new(Some(dir.path().to_owned()));
    let html = templates
        .render("error.html", context! { title => "<b>", message => "m", ..base(false) })
        .unwrap();
    assert!(html.contains("<h1>Acme: &lt;b&gt;</h1>"), "{html}");
    assert!(
        html.contains("/static/keygate.css"),
        "the embedded base is still used: {html}"
    );
}
