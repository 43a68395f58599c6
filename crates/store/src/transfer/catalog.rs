//! The tables a copy, an export or an import moves, with their columns' types and keys. The schema
//! is the same on SQLite and PostgreSQL (see `migrations/`), so one list serves both; the order
//! is the order rows can be inserted in without breaking a foreign key.

/// How a column's values are stored: the three kinds Keygate's schema uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// BIGINT / INTEGER (timestamps in unix milliseconds, counters, 0/1 flags).
    Int,
    /// TEXT (ids, JSON, space-separated lists).
    Text,
    /// BYTEA / BLOB (SHA-256 digests, sealed secrets).
    Bytes,
}

/// One column of a [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
}

/// One table: its columns in a fixed order, and the primary key that orders the keyset pages.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// Indexes into `columns` of the primary key, in key order.
    pub key: &'static [usize],
    /// Only rows with `expires_at` after the copy's start are copied (ephemeral state).
    pub live_only: bool,
}

impl Table {
    /// The index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

const fn c(name: &'static str, ty: ColType) -> Column {
    Column { name, ty }
}

use ColType::{Bytes as B, Int as I, Text as T};

/// Columns added to a table after export format version 1 was first written, with the value a
/// row from an older file takes: such a file still imports (its rows lack only these trailing
/// columns). A new column goes at the end of its table and gets a line here.
pub static ADDED_COLUMNS: &[(&str, &str, AddedDefault)] = &[("users", "roles", AddedDefault::EmptyText)];

/// The value an added column takes in rows of an older file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddedDefault {
    EmptyText,
}

impl Table {
    /// How many leading columns a file of an older build may hold for this table: its columns
    /// without the trailing ones of [`ADDED_COLUMNS`].
    pub fn oldest_column_count(&self) -> usize {
        let mut count = self.columns.len();
        while count > 0
            && ADDED_COLUMNS
                .iter()
                .any(|(t, c, _)| *t == self.name && *c == self.columns[count - 1].name)
        {
            count -= 1;
        }
        count
    }

    /// The default of added column `index`, if it is one.
    pub fn added_default(&self, index: usize) -> Option<AddedDefault> {
        let name = self.columns.get(index)?.name;
        ADDED_COLUMNS
            .iter()
            .find(|(t, c, _)| *t == self.name && *c == name)
            .map(|(_, _, d)| *d)
    }
}

/// Every durable table, parents before children. `keygate_schema_migrations` is not here: the
/// target is migrated by its own build.
pub static TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            c("id", T),
            c("email", T),
            c("email_normalized", T),
            c("password_hash", T),
            c("email_verified_at", I),
            c("disabled_at", I),
            c("failed_logins", I),
            c("locked_until", I),
            c("created_at", I),
            c("updated_at", I),
            c("deleted_at", I),
            c("roles", T),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "totp_credentials",
        columns: &[
            c("user_id", T),
            c("secret", B),
            c("enabled_at", I),
            c("last_used_step", I),
            c("created_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "recovery_codes",
        columns: &[c("user_id", T), c("digest", B), c("created_at", I), c("used_at", I)],
        key: &[0, 1],
        live_only: false,
    },
    Table {
        name: "sessions",
        columns: &[
            c("id", T),
            c("digest", B),
            c("user_id", T),
            c("ip", T),
            c("user_agent", T),
            c("amr", T),
            c("auth_time", I),
            c("created_at", I),
            c("last_seen_at", I),
            c("idle_expires_at", I),
            c("absolute_expires_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "email_tokens",
        columns: &[
            c("digest", B),
            c("user_id", T),
            c("kind", T),
            c("created_at", I),
            c("expires_at", I),
            c("used_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "clients",
        columns: &[
            c("id", T),
            c("secret_digest", B),
            c("name", T),
            c("auth_method", T),
            c("redirect_uris", T),
            c("post_logout_redirect_uris", T),
            c("grant_types", T),
            c("scope", T),
            c("access_token_format", T),
            c("access_token_alg", T),
            c("id_token_alg", T),
            c("first_party", I),
            c("created_at", I),
            c("updated_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "consents",
        columns: &[
            c("user_id", T),
            c("client_id", T),
            c("scope", T),
            c("granted_at", I),
            c("updated_at", I),
        ],
        key: &[0, 1],
        live_only: false,
    },
    Table {
        name: "authorization_codes",
        columns: &[
            c("digest", B),
            c("client_id", T),
            c("user_id", T),
            c("redirect_uri", T),
            c("scope", T),
            c("nonce", T),
            c("code_challenge", T),
            c("code_challenge_method", T),
            c("auth_time", I),
            c("amr", T),
            c("created_at", I),
            c("expires_at", I),
            c("used_at", I),
            c("family_id", T),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "token_families",
        columns: &[
            c("id", T),
            c("client_id", T),
            c("user_id", T),
            c("scope", T),
            c("auth_time", I),
            c("created_at", I),
            c("revoked_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "refresh_tokens",
        columns: &[
            c("digest", B),
            c("family_id", T),
            c("parent", B),
            c("client_id", T),
            c("user_id", T),
            c("scope", T),
            c("issued_at", I),
            c("expires_at", I),
            c("used_at", I),
            c("revoked_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "access_tokens",
        columns: &[
            c("digest", B),
            c("jti", T),
            c("family_id", T),
            c("client_id", T),
            c("user_id", T),
            c("scope", T),
            c("issued_at", I),
            c("expires_at", I),
            c("revoked_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "personal_access_tokens",
        columns: &[
            c("id", T),
            c("user_id", T),
            c("digest", B),
            c("display_prefix", T),
            c("name", T),
            c("scope", T),
            c("created_at", I),
            c("expires_at", I),
            c("last_used_at", I),
            c("revoked_at", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "signing_keys",
        columns: &[
            c("kid", T),
            c("alg", T),
            c("private_key", B),
            c("public_jwk", T),
            c("state", T),
            c("created_at", I),
            c("activated_at", I),
            c("retired_at", I),
            c("remove_after", I),
        ],
        key: &[0],
        live_only: false,
    },
    Table {
        name: "audit_events",
        columns: &[
            c("id", T),
            c("at", I),
            c("action", T),
            c("actor", T),
            c("user_id", T),
            c("client_id", T),
            c("ip", T),
            c("user_agent", T),
            c("outcome", T),
            c("details", T),
        ],
        key: &[0],
        live_only: false,
    },
    // Lockout counters, throttles, interaction state and replay tombstones: only the live ones
    // matter (an expired row is garbage the janitor would delete), and a lockout must survive
    // the move or a copy would unlock an account under attack.
    Table {
        name: "ephemeral",
        columns: &[c("key", T), c("value", B), c("counter", I), c("expires_at", I)],
        key: &[0],
        live_only: true,
    },
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_point_at_columns_and_names_are_unique() {
        for t in TABLES {
            assert!(!t.key.is_empty(), "{} has no key", t.name);
            assert!(t.key.iter().all(|k| *k < t.columns.len()), "{}", t.name);
            assert_eq!(TABLES.iter().filter(|o| o.name == t.name).count(), 1);
            if t.live_only {
                assert!(t.column_index("expires_at").is_some(), "{}", t.name);
            }
        }
    }
}
