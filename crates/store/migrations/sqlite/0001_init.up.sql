-- Keygate's initial schema (SQLite). Timestamps are INTEGER unix milliseconds, ids TEXT,
-- digests BLOB (SHA-256), lists and JSON TEXT, flags INTEGER 0/1 (sqlx's Any driver cannot
-- decode BOOLEAN on SQLite). TEXT compares byte-wise here, as in the memory backend.

CREATE TABLE users (
    id                TEXT NOT NULL PRIMARY KEY,
    email             TEXT NOT NULL,
    email_normalized  TEXT NOT NULL,
    password_hash     TEXT,
    email_verified_at INTEGER,
    disabled_at       INTEGER,
    failed_logins     INTEGER NOT NULL DEFAULT 0,
    locked_until      INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER,
    CONSTRAINT users_email_normalized_key UNIQUE (email_normalized)
);

CREATE TABLE totp_credentials (
    user_id        TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret         BLOB NOT NULL,
    enabled_at     INTEGER,
    last_used_step INTEGER,
    created_at     INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE sessions (
    id                  TEXT NOT NULL PRIMARY KEY,
    digest              BLOB NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip                  TEXT,
    user_agent          TEXT,
    amr                 TEXT NOT NULL,
    auth_time           INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    CONSTRAINT sessions_digest_key UNIQUE (digest)
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_idle_expiry_idx ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expiry_idx ON sessions (absolute_expires_at);

CREATE TABLE email_tokens (
    digest     BLOB NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('verify', 'reset')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX email_tokens_user_kind_idx ON email_tokens (user_id, kind);
CREATE INDEX email_tokens_expiry_idx ON email_tokens (expires_at);

CREATE TABLE clients (
    id                        TEXT NOT NULL PRIMARY KEY,
    secret_digest             BLOB,
    name                      TEXT NOT NULL,
    auth_method               TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    scope                     TEXT NOT NULL,
    access_token_format       TEXT NOT NULL,
    access_token_alg          TEXT,
    id_token_alg              TEXT,
    first_party               INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1)),
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_idx ON consents (client_id);

CREATE TABLE authorization_codes (
    digest                BLOB NOT NULL PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    auth_time             INTEGER NOT NULL,
    amr                   TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    family_id             TEXT
);
CREATE INDEX authorization_codes_client_idx ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_idx ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expiry_idx ON authorization_codes (expires_at);

CREATE TABLE token_families (
    id         TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX token_families_user_idx ON token_families (user_id, client_id);
CREATE INDEX token_families_client_idx ON token_families (client_id);

CREATE TABLE refresh_tokens (
    digest     BLOB NOT NULL PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    parent     BLOB,
    client_id  TEXT NOT NULL,
    user_id    TEXT,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_client_idx ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);

CREATE TABLE access_tokens (
    digest     BLOB NOT NULL PRIMARY KEY,
    jti        TEXT NOT NULL,
    family_id  TEXT REFERENCES token_families (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT access_tokens_jti_key UNIQUE (jti)
);
CREATE INDEX access_tokens_family_idx ON access_tokens (family_id);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, client_id);
CREATE INDEX access_tokens_client_idx ON access_tokens (client_id);
CREATE INDEX access_tokens_expiry_idx ON access_tokens (expires_at);

CREATE TABLE personal_access_tokens (
    id             TEXT NOT NULL PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest         BLOB NOT NULL,
    display_prefix TEXT NOT NULL,
    name           TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    last_used_at   INTEGER,
    revoked_at     INTEGER,
    CONSTRAINT personal_access_tokens_digest_key UNIQUE (digest)
);
CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id, created_at);

CREATE TABLE signing_keys (
    kid          TEXT NOT NULL PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_key  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at   INTEGER,
    remove_after INTEGER
);

-- No foreign keys: audit rows outlive the clients they name, and erased users keep theirs.
CREATE TABLE audit_events (
    id         TEXT NOT NULL PRIMARY KEY,
    at         INTEGER NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    user_id    TEXT,
    client_id  TEXT,
    ip         TEXT,
    user_agent TEXT,
    outcome    TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, id);
CREATE INDEX audit_events_client_idx ON audit_events (client_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_at_idx ON audit_events (at);

-- The SQL ephemeral store: values with a time to live and fixed-window counters.
CREATE TABLE ephemeral (
    key        TEXT NOT NULL PRIMARY KEY,
    value      BLOB,
    counter    INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ephemeral_expiry_idx ON ephemeral (expires_at);
