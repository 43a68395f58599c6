-- Every statement that changes or removes clients or access tokens (whoever runs it: any Keygate
-- version, a copy, an operator's own SQL) tells listening instances, when it commits, to forget
-- what they keep of that table in memory (crates/store/src/near). The payload is
-- `schema.table`: instances of other schemas on the same database ignore it.
CREATE FUNCTION keygate_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('keygate_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION keygate_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keygate_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER clients_updated AFTER UPDATE ON clients REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_change();
CREATE TRIGGER clients_deleted AFTER DELETE ON clients REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_change();
CREATE TRIGGER clients_truncated AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_truncate();
CREATE TRIGGER access_tokens_updated AFTER UPDATE ON access_tokens REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_change();
CREATE TRIGGER access_tokens_deleted AFTER DELETE ON access_tokens REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_change();
CREATE TRIGGER access_tokens_truncated AFTER TRUNCATE ON access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_truncate();
