-- Reverts 0001_init: drops every table it created, dependents first.
DROP TABLE IF EXISTS ephemeral;
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS signing_keys;
DROP TABLE IF EXISTS personal_access_tokens;
DROP TABLE IF EXISTS access_tokens;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS token_families;
DROP TABLE IF EXISTS authorization_codes;
DROP TABLE IF EXISTS consents;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS email_tokens;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS recovery_codes;
DROP TABLE IF EXISTS totp_credentials;
DROP TABLE IF EXISTS users;
