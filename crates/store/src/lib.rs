//! Keygate's storage backends: `memory` (the reference) and `sql` (one implementation for SQLite
//! and PostgreSQL), chosen by URL.

pub mod memory;
pub mod sql;
