DROP TRIGGER access_tokens_truncated ON access_tokens;
DROP TRIGGER access_tokens_deleted ON access_tokens;
DROP TRIGGER access_tokens_updated ON access_tokens;
DROP TRIGGER clients_truncated ON clients;
DROP TRIGGER clients_deleted ON clients;
DROP TRIGGER clients_updated ON clients;
DROP FUNCTION keygate_notify_truncate();
DROP FUNCTION keygate_notify_change();
