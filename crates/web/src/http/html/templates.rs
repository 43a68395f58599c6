//! The page templates: minijinja with HTML auto-escaping, sources embedded in the binary at build
//! time, optionally overridden one by one from an operator's folder (rebranding without a
//! rebuild). Templates compile on first use and stay cached.

use std::path::PathBuf;

use minijinja::{Environment, UndefinedBehavior, Value};

/// Every template and its embedded source. A test renders each one.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/base.html")),
    ("macros.html", include_str!("../../../templates/macros.html")),
    ("login.html", include_str!("../../../templates/login.html")),
    ("login_totp.html", include_str!("../../../templates/login_totp.html")),
    ("register.html", include_str!("../../../templates/register.html")),
    (
        "forgot_password.html",
        include_str!("../../../templates/forgot_password.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../../templates/reset_password.html"),
    ),
    (
        "verify_email.html",
        include_str!("../../../templates/verify_email.html"),
    ),
    ("account.html", include_str!("../../../templates/account.html")),
    ("logout.html", include_str!("../../../templates/logout.html")),
    ("consent.html", include_str!("../../../templates/consent.html")),
    ("error.html", include_str!("../../../templates/error.html")),
    ("admin_base.html", include_str!("../../../templates/admin_base.html")),
    (
        "admin_macros.html",
        include_str!("../../../templates/admin_macros.html"),
    ),
    ("admin_home.html", include_str!("../../../templates/admin_home.html")),
    ("admin_users.html", include_str!("../../../templates/admin_users.html")),
    ("admin_user.html", include_str!("../../../templates/admin_user.html")),
    (
        "admin_clients.html",
        include_str!("../../../templates/admin_clients.html"),
    ),
    (
        "admin_client.html",
        include_str!("../../../templates/admin_client.html"),
    ),
    ("admin_keys.html", include_str!("../../../templates/admin_keys.html")),
    ("admin_audit.html", include_str!("../../../templates/admin_audit.html")),
];

/// The template environment, built once at start-up.
pub struct Templates {
    env: Environment<'static>,
}

#[derive(Debug, thiserror::Error)]
#[error("template {name} failed to render")]
pub struct RenderError {
    pub name: String,
    #[source]
    pub source: minijinja::Error,
}

impl Templates {
    /// `override_dir`: a folder whose files replace embedded templates of the same name.
    pub fn new(override_dir: Option<PathBuf>) -> Templates {
        let mut env = Environment::new();
        // Printing a missing variable is an error (caught by the render tests); testing one with
        // `if` is fine.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        // Every page is HTML, whatever an override file is called.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_loader(move |name| {
            if let Some(dir) = &override_dir
                && let Some(file) = safe_file_name(name)
            {
                match std::fs::read_to_string(dir.join(file)) {
                    Ok(source) => return Ok(Some(source)),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read the template override {file}: {err}"),
                        ));
                    }
                }
            }
            Ok(EMBEDDED
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        Templates { env }
    }

    pub fn render(&self, name: &str, context: Value) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(context))
            .map_err(|source| RenderError {
                name: name.to_owned(),
                source,
            })
    }
}

/// Only plain names like `login.html`: an override never reads outside its folder.
fn safe_file_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plain.then_some(name)
}
