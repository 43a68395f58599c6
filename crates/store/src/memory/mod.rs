//! The in-memory backend: the reference implementation of every store trait.
