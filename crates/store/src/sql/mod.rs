//! The SQL backend: one implementation for SQLite and PostgreSQL.
