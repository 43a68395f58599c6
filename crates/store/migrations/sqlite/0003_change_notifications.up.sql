-- PostgreSQL's 0003 adds change notifications for the in-memory cache of clients and access
-- tokens; SQLite has no notifications and no such cache (a lookup is a local read). This keeps
-- the two version lists the same.
SELECT 1;
