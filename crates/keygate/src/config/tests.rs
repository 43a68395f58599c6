//! Unit tests of configuration loading: precedence, `_FILE`, aliases, warnings and errors.

use std::io::Write;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn load_env(pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    Config::load(&Sources {
        env: env(pairs),
        ..Sources::default()
    })
}

fn temp_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

#[test]
fn defaults_match_the_documentation() {
    let loaded = load_env(&[]).unwrap();
    let c = &loaded.config;
    assert_eq!(c.issuer.as_str(), "http://127.0.0.1:8080");
    assert_eq!(c.bind.0.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url.expose(), "sqlite://keygate.db");
    assert!(c.redis_url.is_none() && c.admin_token.is_none());
    assert_eq!(c.log.as_str(), "info");
    assert_eq!(c.database.max_connections, 10);
    assert!(loaded.origins.values().all(|o| o == "default"));
}

#[test]
fn every_key_has_an_environment_variable() {
    let keys = Config::keys();
    assert!(keys.contains("database.max_connections"));
    assert!(keys.contains("redis_url") && keys.contains("admin_token"));
    assert_eq!(
        variable_for("database.max_connections"),
        "KEYGATE_DATABASE__MAX_CONNECTIONS"
    );
    for secret in SECRET_KEYS {
        assert!(keys.contains(*secret), "{secret}");
    }
}

#[test]
fn environment_beats_file_beats_defaults_and_flags_beat_all() {
    let file =
        temp_file("issuer = \"https://file.example\"\nbind = \"127.0.0.1:9000\"\n[database]\nmax_connections = 3\n");
    let sources = Sources {
        explicit_file: Some(file.path().to_owned()),
        env: env(&[
            ("KEYGATE_BIND", "127.0.0.1:9100"),
            ("KEYGATE_DATABASE__ACQUIRE_TIMEOUT_SECS", "9"),
        ]),
        ..Sources::default()
    };
    let loaded = Config::load(&sources).unwrap();
    assert_eq!(loaded.config.issuer.as_str(), "https://file.example");
    assert_eq!(loaded.config.bind.0.port(), 9100);
    assert_eq!(loaded.config.database.max_connections, 3);
    assert_eq!(loaded.config.database.acquire_timeout_secs, 9);
    assert_eq!(loaded.config.database.busy_timeout_secs, 5);
    assert_eq!(loaded.origins["bind"], "environment variable KEYGATE_BIND");
    assert!(loaded.origins["issuer"].starts_with("config file "));
    assert_eq!(loaded.origins["database.busy_timeout_secs"], "default");

    let with_flag = Sources {
        overrides: Overrides {
            bind: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        },
        ..sources
    };
    assert_eq!(Config::load(&with_flag).unwrap().config.bind.0.port(), 0);
}

#[test]
fn file_suffix_reads_a_secret_and_strips_the_newline() {
    let token = "t".repeat(40);
    let file = temp_file(&format!("{token}\n"));
    let loaded = load_env(&[("KEYGATE_ADMIN_TOKEN_FILE", file.path().to_str().unwrap())]).unwrap();
    assert_eq!(loaded.config.admin_token.unwrap().expose(), token);
}

#[test]
fn file_suffix_and_direct_value_together_are_refused() {
    let file = temp_file(&"t".repeat(40));
    let err = load_env(&[
        ("KEYGATE_ADMIN_TOKEN_FILE", file.path().to_str().unwrap()),
        ("KEYGATE_ADMIN_TOKEN", &"u".repeat(40)),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "set either KEYGATE_ADMIN_TOKEN or KEYGATE_ADMIN_TOKEN_FILE, not both"
    );
}

#[test]
fn a_missing_secret_file_is_one_sentence() {
    let err = load_env(&[("KEYGATE_DATABASE_URL_FILE", "/nonexistent/db-url")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read the file `/nonexistent/db-url` named by KEYGATE_DATABASE_URL_FILE"),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[test]
fn numeric_looking_secrets_stay_strings() {
    let digits = "1".repeat(40);
    let loaded = load_env(&[("KEYGATE_ADMIN_TOKEN", &digits)]).unwrap();
    assert_eq!(loaded.config.admin_token.unwrap().expose(), digits);
}

#[test]
fn conventional_names_apply_only_when_keygate_ones_are_unset() {
    let loaded = load_env(&[("DATABASE_URL", "postgres://a@h/db"), ("RUST_LOG", "debug")]).unwrap();
    assert_eq!(loaded.config.database_url.kind(), BackendKind::Postgres);
    assert_eq!(loaded.config.log.as_str(), "debug");
    let loaded = load_env(&[
        ("DATABASE_URL", "postgres://a@h/db"),
        ("KEYGATE_DATABASE_URL", "memory:"),
    ])
    .unwrap();
    assert_eq!(loaded.config.database_url.kind(), BackendKind::Memory);
    assert_eq!(
        loaded.origins["database_url"],
        "environment variable KEYGATE_DATABASE_URL"
    );
}

#[test]
fn unknown_keygate_variables_are_warned_about_but_test_urls_are_not() {
    let loaded = load_env(&[
        ("KEYGATE_ISUER", "https://typo.example"),
        ("KEYGATE_DATABASE__MAX_CONECTIONS", "3"),
        ("KEYGATE_TEST_POSTGRES_URL", "postgres://x@y/z"),
        ("KEYGATE_CONFIG", "keygate.toml"),
        ("KEYGATE_LOG_FORMAT", "json"),
    ])
    .unwrap();
    assert_eq!(
        loaded.warnings,
        vec![
            "ignoring unknown environment variable KEYGATE_DATABASE__MAX_CONECTIONS",
            "ignoring unknown environment variable KEYGATE_ISUER",
        ]
    );
    assert_eq!(loaded.config.log_format, LogFormat::Json);
}

#[test]
fn bad_values_give_one_sentence_naming_key_and_source() {
    let err = load_env(&[("KEYGATE_DATABASE_URL", "mysql://h/db")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("database_url names an unknown backend `mysql:`"),
        "{err}"
    );
    assert!(
        err.ends_with("(from environment variable KEYGATE_DATABASE_URL)"),
        "{err}"
    );

    let err = load_env(&[("KEYGATE_DATABASE__MAX_CONNECTIONS", "many")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("database.max_connections has an invalid value"),
        "{err}"
    );

    let err = load_env(&[("KEYGATE_ADMIN_TOKEN", "short")]).unwrap_err().to_string();
    assert!(
        err.contains("admin_token is 5 characters long") && !err.contains("short "),
        "{err}"
    );

    let err = load_env(&[("KEYGATE_ISSUER", "https://id.example/")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("ends with a slash"), "{err}");
}

#[test]
fn the_config_file_is_checked_too() {
    let missing = Sources {
        explicit_file: Some("/nonexistent/keygate.toml".into()),
        ..Sources::default()
    };
    assert_eq!(
        Config::load(&missing).unwrap_err().to_string(),
        "the config file `/nonexistent/keygate.toml` does not exist"
    );

    let typo = temp_file("isuer = \"https://x\"\n");
    let sources = Sources {
        explicit_file: Some(typo.path().to_owned()),
        ..Sources::default()
    };
    let err = Config::load(&sources).unwrap_err().to_string();
    assert!(err.starts_with("`isuer` is not a configuration key"), "{err}");

    let broken = temp_file("issuer = \n");
    let sources = Sources {
        explicit_file: Some(broken.path().to_owned()),
        ..Sources::default()
    };
    let err = Config::load(&sources).unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err}");

    // A default file that is absent is simply skipped.
    let absent = Sources {
        default_file: Some("/nonexistent/keygate.toml".into()),
        ..Sources::default()
    };
    assert!(Config::load(&absent).is_ok());
}

#[test]
fn the_readme_documents_every_key_and_its_variable() {
    let readme = include_str!("../../../../README.md");
    for key in Config::keys() {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "README.md lacks a row for `{key}`"
        );
        assert!(
            readme.contains(&format!("`{}", variable_for(&key))),
            "README.md lacks {}",
            variable_for(&key)
        );
    }
}

#[test]
fn redis_prefix_defaults_to_keygate_and_can_be_set_per_deployment() {
    assert_eq!(load_env(&[]).unwrap().config.redis.prefix, "keygate:");
    let loaded = load_env(&[("KEYGATE_REDIS__PREFIX", "shop-id:")]).unwrap();
    assert_eq!(loaded.config.redis.prefix, "shop-id:");
    let err = load_env(&[("KEYGATE_REDIS__PREFIX", "two words")]).unwrap_err();
    assert!(err.to_string().contains("redis.prefix"), "{err}");
}

#[test]
fn an_all_zero_secret_key_is_refused_with_one_sentence_naming_its_source() {
    let zeros = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let err = load_env(&[("KEYGATE_SECRET_KEY", zeros)]).unwrap_err().to_string();
    assert!(
        err.starts_with("secret_key is not random: its 32 bytes take only 1 of the 256 possible values"),
        "{err}"
    );
    assert!(err.ends_with("(from environment variable KEYGATE_SECRET_KEY)"), "{err}");
    assert!(!err.contains('\n') && !err.contains(zeros), "{err}");
}

#[test]
fn metrics_token_is_optional_read_from_a_file_and_redacted() {
    assert!(load_env(&[]).unwrap().config.metrics_token.is_none());
    let token = "m3tr1cs-t0ken-for-prometheus";
    let file = temp_file(&format!("{token}\n"));
    let loaded = load_env(&[("KEYGATE_METRICS_TOKEN_FILE", file.path().to_str().unwrap())]).unwrap();
    let config = &loaded.config;
    assert_eq!(config.metrics_token.as_ref().unwrap().expose(), token);
    assert!(!format!("{config:?}").contains(token));
    assert!(!serde_json::to_string(config).unwrap().contains(token));
    let err = load_env(&[("KEYGATE_METRICS_TOKEN", "short")]).unwrap_err().to_string();
    assert!(err.starts_with("metrics_token is 5 characters long"), "{err}");
}

#[test]
fn redis_is_optional_for_readiness_unless_required() {
    assert!(!load_env(&[]).unwrap().config.redis.required);
    let loaded = load_env(&[("KEYGATE_REDIS__REQUIRED", "true")]).unwrap();
    assert!(loaded.config.redis.required);
}
